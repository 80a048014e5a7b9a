"""The model bundle file format: one zip file holding ``manifest.json`` and weight files.

This module knows the container only -- the manifest's format and version, the weight files
and their checksums -- not what the fields mean (:class:`~maskdet.classifiers.info.ModelInfo`)
nor how a backend is built from them (:func:`~maskdet.classifiers.registry.load_classifier`).
A truncated or altered bundle, a missing file or a newer format is a clear
:class:`~maskdet.errors.BundleError`.

Format 2 keeps the settings that change a model's results (``settings``) apart from its
measurements (``metrics``); format 1, which kept both in ``metrics``, is still read.

Security: scikit-learn weights are joblib (pickle) files, which run code when loaded. Load
only bundles you trust, as you would only run programs you trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BundleError
from ..files import atomic_path

FORMAT_NAME = "maskdet-bundle"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
WEIGHTS_DIR = "weights"
#: The manifest fields every readable bundle has.
REQUIRED_FIELDS = ("backend", "params", "classes", "preprocessing", "files")


def write_bundle(path: str | os.PathLike, manifest: dict[str, Any],
                 write_weights: Callable[[Path], None]) -> Path:
    """Write a bundle atomically (temporary file, then rename).

    Args:
        path: the bundle file.
        manifest: the manifest's fields (JSON-ready); the format, its version and the
            checksums of the weight files are added here.
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
        with atomic_path(path) as tmp_zip, zipfile.ZipFile(tmp_zip, "w",
                                                           zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for p in files:
                zf.write(p, p.relative_to(tmp).as_posix())
    return path


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a bundle, checked for its format and version (weights not verified)."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _manifest(zf, path)


@contextlib.contextmanager
def open_bundle(path: str | os.PathLike) -> Iterator[tuple[dict[str, Any], Path]]:
    """The checked manifest of a bundle and a temporary folder holding its weight files, each
    verified against its checksum; the folder is removed when the block ends.

    Raises:
        BundleError: missing, not a bundle, truncated, altered, or a newer format.
    """
    path = Path(path)
    with _open_zip(path) as zf, tempfile.TemporaryDirectory(prefix="maskdet-load-") as tmp:
        manifest = _manifest(zf, path)
        names = set(zf.namelist())
        root = Path(tmp).resolve()
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
            target = root / name
            if not target.resolve().is_relative_to(root):
                raise BundleError(f"{path}: unsafe file name in bundle: {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield manifest, root / WEIGHTS_DIR


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
    for key in REQUIRED_FIELDS:
        if key not in manifest:
            raise BundleError(f"{path}: bundle manifest lacks {key!r}")
    if not isinstance(manifest["files"], dict):
        raise BundleError(f"{path}: bundle manifest lists no files")
    return manifest
