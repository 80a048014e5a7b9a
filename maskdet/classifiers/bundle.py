"""The model bundle file format: one zip file holding ``manifest.json`` and weight files.

This module knows the container only -- the manifest's format and version, the weight files
and the checksums -- not what the fields mean (:class:`~maskdet.classifiers.info.ModelInfo`)
nor how a backend is built from them (:func:`~maskdet.classifiers.registry.load_classifier`).

**Every byte is checked.** The manifest records the sha256 of every weight file and of itself
(``manifest_sha256``: of its canonical JSON without that field), so a truncated, damaged or
edited bundle -- a class order swapped, an operating point changed, a weight file replaced --
is refused with one line naming it. This protects against damage and accidental edits, not
against a forger who rewrites the checksums too; that one is harmless because no weight file
can run code: the CNN is an ONNX graph (and Keras weights), HOG+SVM is stored with
``skops.io`` and only a fixed list of scikit-learn types is let in.

Formats: 3 (this one). 2 and 1 (settings among the metrics, HOG+SVM as a pickle, the CNN
without an ONNX graph) are refused with a message saying how to convert them
(``maskdet upgrade``); their manifests can still be read (:func:`read_manifest`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BundleError
from ..files import atomic_path

FORMAT_NAME = "maskdet-bundle"
FORMAT_VERSION = 3
#: The oldest format whose weights are loaded; older ones need ``maskdet upgrade``.
OLDEST_LOADED_FORMAT = 3
MANIFEST = "manifest.json"
WEIGHTS_DIR = "weights"
CHECKSUM_FIELD = "manifest_sha256"
#: The manifest fields every readable bundle has.
REQUIRED_FIELDS = ("backend", "params", "classes", "preprocessing", "files")


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's canonical JSON (sorted keys, no spaces), its own checksum
    field left out: the same for the same content, however the file is laid out."""
    content = {k: v for k, v in manifest.items() if k != CHECKSUM_FIELD}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_bundle(path: str | os.PathLike, manifest: dict[str, Any],
                 write_weights: Callable[[Path], None]) -> Path:
    """Write a bundle atomically (temporary file, then rename).

    Args:
        path: the bundle file.
        manifest: the manifest's fields (JSON-ready); the format, its version and the
            checksums of the weight files and of the manifest are added here.
        write_weights: writes the weight files into the folder it is given.
    """
    path = Path(path)
    if path.is_dir():
        raise BundleError(f"{path}: is a folder; give a file name for the model bundle")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maskdet-save-") as tmp:
        weights = Path(tmp) / WEIGHTS_DIR
        weights.mkdir()
        write_weights(weights)
        files = sorted(p for p in weights.rglob("*") if p.is_file())
        manifest = {
            **manifest,
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "files": {p.relative_to(tmp).as_posix(): {
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "bytes": p.stat().st_size} for p in files},
        }
        manifest[CHECKSUM_FIELD] = manifest_digest(manifest)
        with atomic_path(path) as tmp_zip, zipfile.ZipFile(tmp_zip, "w",
                                                           zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for p in files:
                zf.write(p, p.relative_to(tmp).as_posix())
    return path


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a bundle, checked for its format, version and (format 3) checksum;
    the weights are not read. Manifests of older formats are read too."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _manifest(zf, path)


@contextlib.contextmanager
def open_bundle(path: str | os.PathLike, oldest: int = OLDEST_LOADED_FORMAT
                ) -> Iterator[tuple[dict[str, Any], Path]]:
    """The checked manifest of a bundle and a temporary folder holding its weight files, each
    verified against its checksum; the folder is removed when the block ends.

    Args:
        oldest: the oldest format accepted (``maskdet upgrade`` opens older ones).

    Raises:
        BundleError: missing, not a bundle, truncated, altered, an old format (with how to
            convert it) or a newer one.
    """
    path = Path(path)
    with _open_zip(path) as zf, tempfile.TemporaryDirectory(prefix="maskdet-load-") as tmp:
        manifest = _manifest(zf, path)
        if manifest["format_version"] < oldest:
            why = _OLD_WEIGHTS.get(manifest["backend"], "are in an older form")
            raise BundleError(
                f"{path}: bundle format {manifest['format_version']} is no longer loaded (its "
                f"{manifest['backend']} weights {why}); convert it: maskdet upgrade {path} "
                "--out NEW.maskdet")
        names = set(zf.namelist())
        root = Path(tmp).resolve()
        for name, info in manifest["files"].items():
            if not isinstance(info, dict):
                raise BundleError(f"{path}: bundle manifest entry of {name} is not an object")
            if name not in names:
                raise BundleError(f"{path}: bundle is missing {name}")
            try:
                data = zf.read(name)
            except _ZIP_ERRORS as exc:
                raise BundleError(f"{path}: damaged bundle member {name} ({exc})") from None
            if hashlib.sha256(data).hexdigest() != info.get("sha256"):
                raise BundleError(f"{path}: {name} does not match its checksum (altered or "
                                  "damaged bundle)")
            target = root / name
            if not target.resolve().is_relative_to(root):
                raise BundleError(f"{path}: unsafe file name in bundle: {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield manifest, root / WEIGHTS_DIR


#: What zipfile raises on damaged input besides BadZipFile: a cut stream, bad deflate data,
#: a name that is not UTF-8 (ValueError), an unknown zip version or compression
#: (NotImplementedError), an encrypted member (RuntimeError), sizes out of range.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError,
               NotImplementedError, RuntimeError, OverflowError)

#: Why the weights of bundles before format 3 are not loaded, by backend.
_OLD_WEIGHTS = {"hog-svm": "are a pickle, which can run code when loaded",
                "cnn": "lack the ONNX graph maskdet runs"}


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
    except _ZIP_ERRORS as exc:
        raise BundleError(f"{path}: damaged bundle ({type(exc).__name__}: {exc})") from None


def _manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise BundleError(f"{path}: not a maskdet model bundle (no {MANIFEST})") from None
    except (*_ZIP_ERRORS, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise BundleError(f"{path}: damaged bundle manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BundleError(f"{path}: not a maskdet model bundle (wrong manifest format)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{path}: bundle manifest has no valid format_version")
    if version > FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {version} is newer than this maskdet reads "
                          f"({FORMAT_VERSION}); upgrade maskdet")
    if version >= 3:
        try:
            intact = manifest.get(CHECKSUM_FIELD) == manifest_digest(manifest)
        except ValueError:  # NaN or infinity: not what write_bundle writes
            intact = False
        if not intact:
            raise BundleError(f"{path}: {MANIFEST} does not match its checksum (altered or "
                              "damaged bundle)")
    for key in REQUIRED_FIELDS:
        if key not in manifest:
            raise BundleError(f"{path}: bundle manifest lacks {key!r}")
    if not isinstance(manifest["files"], dict):
        raise BundleError(f"{path}: bundle manifest lists no files")
    return manifest
