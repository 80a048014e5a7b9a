"""Face detectors: find the faces of a photo, by name (:func:`create_face_detector`).

* ``yunet`` -- OpenCV's ``FaceDetectorYN`` with OpenCV Zoo's YuNet model: accurate on masked
  and small faces (its model file: :mod:`maskdet.faces.model_file`).
* ``haar`` -- the frontal-face Haar cascade shipped with opencv-python 4.x; no download, but it
  misses most masked faces.
* ``auto`` -- YuNet where its model can be had, else Haar with a one-time warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..detections import Detections
from ..errors import DetectorUnavailableError
from .model_file import YUNET_ENV, find_yunet_model

logger = logging.getLogger(__name__)


class FaceDetector(ABC):
    """Finds faces in a BGR image. Subclasses implement :meth:`detect`."""

    name: str = "base"

    @abstractmethod
    def detect(self, image: np.ndarray) -> Detections:
        """Return the faces of ``image`` (``uint8`` BGR, H x W x 3) with boxes and scores."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: How YuNet's boxes differ from hand-drawn face boxes: the median offset of the centre (x, y;
#: fractions of the box's width and height) and the median scale (width, height) of the
#: labelled box relative to YuNet's, over 780 faces of the mask-scenes training photos
#: (``python -m recipes.default_models DATA --box-stats``). YuNet's box reaches up over the
#: forehead; a drawn one sits lower and ends at the chin. Adjusted, the median IoU of a
#: detection with its face rose from 0.68 to 0.81 there, and 30 % fewer detections missed
#: their face at IoU 0.5.
YUNET_BOX_ADJUSTMENT = (0.02, 0.13, 1.03, 0.88)


def adjust_boxes(boxes: np.ndarray, adjustment: tuple[float, float, float, float]
                 ) -> np.ndarray:
    """Move and scale ``x, y, w, h`` boxes (n, 4): centre by ``(dx * w, dy * h)``, size by
    ``(sx, sy)``, for ``adjustment = (dx, dy, sx, sy)``."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    dx, dy, sx, sy = adjustment
    w, h = boxes[:, 2] * sx, boxes[:, 3] * sy
    cx = boxes[:, 0] + boxes[:, 2] * (0.5 + dx)
    cy = boxes[:, 1] + boxes[:, 3] * (0.5 + dy)
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


class YuNetDetector(FaceDetector):
    """OpenCV's YuNet (``cv2.FaceDetectorYN``).

    Args:
        model_path: the ONNX file; None looks it up (see :func:`find_yunet_model`).
        score_threshold: minimum face confidence. 0.75 was chosen on the mask-scenes training
            photos: against 0.6 it drops 37 % of the detections that match no labelled face
            (mostly unlabelled people in crowds, also statues and patterns) for 3 points of
            masked-face recall (0.88 -> 0.85) and 1 of unmasked (0.95 -> 0.94), faces >= 20 px.
        nms_threshold: overlap above which the weaker of two boxes is dropped.
        upscale_to: images whose longer side is below this are enlarged (at most
            ``max_upscale`` times) before detection: small faces are then found far more
            often (masked-face recall 0.63 -> 0.80 with 2x on real scenes). 0 disables.
        max_upscale: the largest enlargement factor.
        max_side: images whose longer side is above this are shrunk to it before detection
            (the boxes are given in the image's own pixels): YuNet's memory grows with the
            pixels it sees -- 1.9 GB on a 24 MP photo, 10.7 GB on 12000 x 12000, against
            0.4 GB at 2048 px -- and faces big enough to classify stay big enough to find.
            0 disables.
        box_adjustment: ``(dx, dy, sx, sy)`` applied to every box (see :func:`adjust_boxes`):
            by default :data:`YUNET_BOX_ADJUSTMENT`, which turns YuNet's boxes into boxes as
            people draw them (brow to chin); None keeps YuNet's own.
        download: whether a missing model may be downloaded.
    """

    name = "yunet"

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        score_threshold: float = 0.75,
        nms_threshold: float = 0.3,
        upscale_to: int = 800,
        max_upscale: float = 2.0,
        max_side: int = 2048,
        top_k: int = 5000,
        box_adjustment: tuple[float, float, float, float] | None = YUNET_BOX_ADJUSTMENT,
        download: bool = True,
    ) -> None:
        self.box_adjustment = None if box_adjustment is None else tuple(box_adjustment)
        self.model_path = find_yunet_model(model_path, download=download)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.upscale_to = upscale_to
        self.max_upscale = max_upscale
        self.max_side = max_side
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), score_threshold, nms_threshold, top_k)
        except cv2.error as exc:
            raise DetectorUnavailableError(
                f"{self.model_path}: OpenCV cannot load the YuNet model ({exc.err})") from None
        self._input_size: tuple[int, int] | None = None

    def scale_for(self, height: int, width: int) -> float:
        """The factor an image of this size is resized by before detection."""
        longest = max(height, width)
        if self.max_side > 0 and longest > self.max_side:
            return self.max_side / longest
        if self.upscale_to <= 0 or longest >= self.upscale_to:
            return 1.0
        return min(self.max_upscale, self.upscale_to / longest)

    def detect(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        scale = self.scale_for(h, w)
        if scale != 1.0:
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
        size = (image.shape[1], image.shape[0])
        if size != self._input_size:
            self._net.setInputSize(size)
            self._input_size = size
        _, faces = self._net.detect(image)
        if faces is None or len(faces) == 0:
            return Detections.empty()
        faces = faces / np.array([scale] * 14 + [1.0], np.float32)
        boxes = faces[:, :4]
        if self.box_adjustment is not None:
            boxes = adjust_boxes(boxes, self.box_adjustment)
        return Detections(boxes=boxes, face_scores=faces[:, 14],
                          landmarks=faces[:, 4:14].reshape(-1, 5, 2)).clip(w, h)

    def __repr__(self) -> str:
        return (f"YuNetDetector(score_threshold={self.score_threshold}, "
                f"upscale_to={self.upscale_to})")


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade (opencv-python 4.x ships the file).

    Scores are the cascade's level weights squashed to (0, 1): a ranking, not a probability.
    """

    name = "haar"

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size: int = 20) -> None:
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
            raise DetectorUnavailableError(
                f"this OpenCV ({cv2.__version__}) has no Haar cascades (OpenCV 5 dropped them); "
                "install opencv-python<5 or use --detector yunet")
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorUnavailableError(f"{path}: cannot load the Haar cascade")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def detect(self, image: np.ndarray) -> Detections:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size), outputRejectLevels=True)
        if len(boxes) == 0:
            return Detections.empty()
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, np.float32).ravel()))
        return Detections(boxes=np.asarray(boxes), face_scores=scores)


class CachedFaceDetector(FaceDetector):
    """A face detector that answers from memory for an image it has seen before (the same
    pixels): to score several models on the same photos, or frame the same images again,
    with one detection per image. At most ``max_images`` answers are kept (the oldest go
    first), so memory stays bounded.

    Example:
        >>> cached = CachedFaceDetector(create_face_detector("yunet"))  # doctest: +SKIP
        >>> for model in ("cnn", "hog-svm"):  # doctest: +SKIP
        ...     evaluate_scenes(MaskDetector(model, face_detector=cached), scenes)
    """

    def __init__(self, detector: FaceDetector, max_images: int = 10_000) -> None:
        self.detector = detector
        self.name = detector.name
        self.max_images = max_images
        self._seen: OrderedDict[bytes, Detections] = OrderedDict()

    def detect(self, image: np.ndarray) -> Detections:
        digest = hashlib.blake2b(str(image.shape).encode(), digest_size=16)
        digest.update(np.ascontiguousarray(image).data)
        key = digest.digest()
        if key in self._seen:
            self._seen.move_to_end(key)
            return self._seen[key]
        found = self._seen[key] = self.detector.detect(image)
        while len(self._seen) > self.max_images:
            self._seen.popitem(last=False)
        return found

    def __repr__(self) -> str:
        return f"CachedFaceDetector({self.detector!r})"


_haar_fallback_warned = False

#: Face detectors by name; ``auto`` is resolved by :func:`create_face_detector`.
DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "yunet": YuNetDetector,
    "haar": HaarDetector,
}


def available_detectors() -> list[str]:
    return ["auto", *DETECTORS]


def create_face_detector(name: str | FaceDetector = "auto", **params) -> FaceDetector:
    """Create a face detector by name: ``auto`` (default), ``yunet`` or ``haar``.

    ``auto`` uses YuNet where its model can be found or downloaded, else Haar, with a
    warning (once per process) that says how to get YuNet.
    """
    global _haar_fallback_warned
    if isinstance(name, FaceDetector):
        return name
    if name == "auto":
        try:
            return YuNetDetector(**params)
        except DetectorUnavailableError as exc:
            if not _haar_fallback_warned:
                # The download error already says how to get the model; don't repeat it.
                hint = "" if YUNET_ENV in str(exc) else f" Set {YUNET_ENV} to the model file."
                logger.warning("YuNet face detector unavailable (%s); using the far weaker Haar "
                               "cascade.%s", exc, hint)
                _haar_fallback_warned = True
            return HaarDetector()
    if name not in DETECTORS:
        raise DetectorUnavailableError(
            f"unknown face detector {name!r}; choose from {', '.join(available_detectors())}")
    return DETECTORS[name](**params)
