"""The YuNet face-detection model file: where it is found, and its download into the cache.

Looked up in order: an explicit path, the ``MASKDET_YUNET_MODEL`` environment variable, the
user cache directory; else downloaded from OpenCV Zoo into the cache, its sha256 checked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DetectorUnavailableError
from ..files import AtomicFile

logger = logging.getLogger(__name__)

YUNET_FILENAME = "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
YUNET_URL = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/" + YUNET_FILENAME
)
YUNET_ENV = "MASKDET_YUNET_MODEL"
CACHE_ENV = "MASKDET_CACHE_DIR"


def cache_dir() -> Path:
    """maskdet's cache folder: ``$MASKDET_CACHE_DIR``, else ``$XDG_CACHE_HOME/maskdet``, else
    ``~/.cache/maskdet`` (``%LOCALAPPDATA%\\maskdet`` on Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "maskdet"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maskdet"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_model(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise DetectorUnavailableError(f"{path}: YuNet model not found ({origin})")
    digest = _sha256(path)
    if digest != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"{path}: not the expected YuNet model (sha256 {digest[:12]}..., expected "
            f"{YUNET_SHA256[:12]}...); delete it or point {YUNET_ENV} at a good copy")
    return path


def download_yunet_model(destination: Path | None = None, timeout: float = 30.0) -> Path:
    """Download the YuNet model from OpenCV Zoo into the cache (atomic write, sha256 checked).

    Raises:
        DetectorUnavailableError: offline, the download failed, or the checksum differs.
    """
    destination = destination or cache_dir() / YUNET_FILENAME
    destination.parent.mkdir(parents=True, exist_ok=True)
    logger.warning("downloading the YuNet face-detection model to %s", destination)
    try:
        with urllib.request.urlopen(YUNET_URL, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DetectorUnavailableError(
            f"cannot download the YuNet model from {YUNET_URL} ({reason}); download it by hand "
            f"and set {YUNET_ENV}=/path/to/{YUNET_FILENAME}, or use --detector haar") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"downloaded YuNet model has sha256 {digest}, expected {YUNET_SHA256}; not saved")
    out = AtomicFile(destination)
    out.tmp.write_bytes(data)
    return out.commit()


def find_yunet_model(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Locate the YuNet model: ``path``, ``$MASKDET_YUNET_MODEL``, the cache, else download.

    Raises:
        DetectorUnavailableError: not found and (offline or ``download`` is False).
    """
    if path is not None:
        return _check_model(Path(path).expanduser(), "given path")
    if os.environ.get(YUNET_ENV):
        return _check_model(Path(os.environ[YUNET_ENV]).expanduser(), f"${YUNET_ENV}")
    cached = cache_dir() / YUNET_FILENAME
    if cached.is_file():
        return _check_model(cached, "cache")
    if not download:
        raise DetectorUnavailableError(
            f"YuNet model not found (no {YUNET_ENV}, not in {cached.parent}) and downloading is "
            "off")
    return download_yunet_model(cached)
