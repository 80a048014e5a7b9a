"""The YuNet face-detection model file.

It ships inside the package (``maskdet/faces/yunet/``, MIT licence, from OpenCV Zoo), so face
detection never needs the network. An explicit path or the ``MASKDET_YUNET_MODEL`` environment
variable may point at another copy, or at another YuNet release (with a warning: the score
threshold and the box adjustment were chosen on this one).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..errors import DetectorUnavailableError

logger = logging.getLogger(__name__)

YUNET_FILENAME = "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
#: Where the packaged file comes from (for its licence notice; nothing is downloaded).
YUNET_SOURCE = ("https://github.com/opencv/opencv_zoo/tree/main/models/face_detection_yunet/"
                + YUNET_FILENAME)
YUNET_ENV = "MASKDET_YUNET_MODEL"

#: The copy inside the package.
PACKAGED_YUNET = Path(__file__).resolve().parent / "yunet" / YUNET_FILENAME

_warned: set[Path] = set()


def find_yunet_model(path: str | os.PathLike | None = None) -> Path:
    """The YuNet model file: ``path``, else ``$MASKDET_YUNET_MODEL``, else the packaged copy.

    Raises:
        DetectorUnavailableError: the file named is missing, or the packaged copy is missing
            or damaged (a broken installation).
    """
    if path is not None:
        return _check(Path(path).expanduser(), "given path")
    if os.environ.get(YUNET_ENV):
        return _check(Path(os.environ[YUNET_ENV]).expanduser(), f"${YUNET_ENV}")
    if not PACKAGED_YUNET.is_file():
        raise DetectorUnavailableError(
            f"{PACKAGED_YUNET}: the YuNet model that ships with maskdet is missing; reinstall "
            "maskdet")
    if _sha256(PACKAGED_YUNET) != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"{PACKAGED_YUNET}: the YuNet model that ships with maskdet is damaged; reinstall "
            "maskdet")
    return PACKAGED_YUNET


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise DetectorUnavailableError(f"{path}: YuNet model not found ({origin})")
    digest = _sha256(path)
    if digest != YUNET_SHA256 and path not in _warned:
        _warned.add(path)
        logger.warning("%s: not the YuNet model maskdet was tuned with (sha256 %s..., expected "
                       "%s...); its score threshold and box adjustment may not fit it", path,
                       digest[:12], YUNET_SHA256[:12])
    return path
