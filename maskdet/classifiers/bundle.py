"""Model bundles: one zip file holding a JSON manifest and a classifier's weight files.

``manifest.json`` records the format version, backend name and hyper-parameters, classes,
preprocessing settings, library versions, training metrics and the sha256 of every weight
file. Loading checks all of them, so a truncated or altered bundle, a missing file or a newer
format is a clear :class:`~maskdet.errors.BundleError`.

Security: scikit-learn weights are joblib (pickle) files, which run code when loaded. Load
only bundles you trust, as you would only run programs you trust.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BundleError
from ..preprocessing import Preprocessing

if TYPE_CHECKING:
    from .base import Classifier

FORMAT_NAME = "maskdet-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS_DIR = "weights"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("maskdet", "numpy", "opencv-python", "scikit-learn", "scikit-image", "joblib"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _jsonable(value: Any) -> Any:
    """Hyper-parameters and metrics as JSON (numpy scalars and tuples made plain)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else list(o) if isinstance(o, (tuple, set)) else str(o)))


def save_bundle(classifier: Classifier, path: str | os.PathLike,
                metrics: dict[str, Any] | None = None) -> Path:
    """Write ``classifier`` to ``path`` atomically (temporary file, then rename)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(classifier, "classes_")
    path = Path(path)
    if path.is_dir():
        raise BundleError(f"{path}: is a folder; give a file name for the model bundle")
    path.parent.mkdir(parents=True, exist_ok=True)
    if metrics:
        classifier.metrics_ = {**getattr(classifier, "metrics_", {}), **metrics}
    with tempfile.TemporaryDirectory(prefix="maskdet-save-") as tmp:
        weights = Path(tmp) / WEIGHTS_DIR
        weights.mkdir()
        classifier._save_weights(weights)
        files = sorted(p for p in weights.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "backend": classifier.backend_name,
            "params": _jsonable(classifier.get_params(deep=False)),
            "classes": [str(c) for c in classifier.classes_],
            "preprocessing": classifier.preprocessing.to_dict(),
            "versions": {**_versions(), **classifier._library_versions()},
            "metrics": _jsonable(getattr(classifier, "metrics_", {})),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "files": {
                p.relative_to(tmp).as_posix(): {
                    "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                    "bytes": p.stat().st_size,
                }
                for p in files
            },
        }
        fd, tmp_zip = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
                for p in files:
                    zf.write(p, p.relative_to(tmp).as_posix())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_zip, 0o666 & ~umask)  # mkstemp makes 0600; a model is not a secret
            os.replace(tmp_zip, path)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
    return path


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a bundle, checked for format and version (weights not verified)."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _manifest(zf, path)


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise BundleError(f"{path}: no such model file")
    if path.is_dir():
        raise BundleError(f"{path}: is a folder, not a maskdet model bundle")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise BundleError(f"{path}: not a maskdet model bundle (not a zip file, or truncated)") \
            from None
    except OSError as exc:
        raise BundleError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise BundleError(f"{path}: not a maskdet model bundle (no {MANIFEST})") from None
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BundleError(f"{path}: damaged bundle manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BundleError(f"{path}: not a maskdet model bundle (wrong manifest format)")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise BundleError(f"{path}: bundle manifest has no valid format_version")
    if version > FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {version} is newer than this maskdet reads "
                          f"({FORMAT_VERSION}); upgrade maskdet")
    for key in ("backend", "params", "classes", "preprocessing", "files"):
        if key not in manifest:
            raise BundleError(f"{path}: bundle manifest lacks {key!r}")
    return manifest


def load_classifier(path: str | os.PathLike) -> Classifier:
    """Load a classifier from a bundle written by :meth:`Classifier.save`.

    The backend is chosen from the manifest. Every weight file is checked against its
    recorded sha256 before it is loaded.

    Raises:
        BundleError: missing, not a bundle, truncated, altered, newer format, or a backend
            that is not installed.
    """
    from .registry import get_backend

    path = Path(path)
    with _open_zip(path) as zf:
        manifest = _manifest(zf, path)
        names = set(zf.namelist())
        with tempfile.TemporaryDirectory(prefix="maskdet-load-") as tmp:
            for name, info in manifest["files"].items():
                if name not in names:
                    raise BundleError(f"{path}: bundle is missing {name}")
                try:
                    data = zf.read(name)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise BundleError(f"{path}: damaged bundle member {name} ({exc})") from None
                if hashlib.sha256(data).hexdigest() != info.get("sha256"):
                    raise BundleError(f"{path}: {name} does not match its checksum (altered or "
                                      "damaged bundle)")
                target = Path(tmp) / name
                if not target.resolve().is_relative_to(Path(tmp).resolve()):
                    raise BundleError(f"{path}: unsafe file name in bundle: {name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            backend = get_backend(manifest["backend"], for_bundle=path)
            try:
                classifier = backend(**manifest["params"])
            except TypeError as exc:
                raise BundleError(f"{path}: bundle parameters do not fit backend "
                                  f"{manifest['backend']!r} ({exc})") from None
            import numpy as np

            classifier.classes_ = np.array(manifest["classes"])
            expected = Preprocessing.from_dict(manifest["preprocessing"])
            if classifier.preprocessing != expected:
                raise BundleError(f"{path}: preprocessing in the manifest ({expected}) does not "
                                  f"match the backend's ({classifier.preprocessing})")
            try:
                classifier._load_weights(Path(tmp) / WEIGHTS_DIR)
            except BundleError:
                raise
            except Exception as exc:  # weights that the backend library cannot read
                raise BundleError(f"{path}: cannot load the weights "
                                  f"({type(exc).__name__}: {exc})") from None
    classifier.metrics_ = manifest.get("metrics", {})
    classifier.manifest_ = manifest
    return classifier
