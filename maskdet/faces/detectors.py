"""Face detectors: find the faces of a photo, by name (:func:`create_face_detector`).

* ``yunet`` (the default; ``auto`` is another name for it) -- OpenCV's ``FaceDetectorYN`` with
  OpenCV Zoo's YuNet model, which ships with maskdet (:mod:`maskdet.faces.model_file`):
  accurate on masked and small faces.
* ``haar`` -- the frontal-face Haar cascade shipped with opencv-python 4.x; it misses most
  masked faces, and is used only when asked for by name.
"""

from __future__ import annotations

import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..detections import Detections
from ..errors import DetectorUnavailableError, opencv_reason
from .model_file import find_yunet_model

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

#: YuNet finds faces of about 10 to 300 px (OpenCV Zoo's notes on the model).
YUNET_LARGEST_FACE = 300

#: YuNet networks a detector keeps, one per input size: a video's frames and their smaller
#: copy, and a few sizes of photos.
YUNET_NETWORKS = 4


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
        model_path: the ONNX file; None: ``$MASKDET_YUNET_MODEL``, else the packaged one (see
            :func:`~maskdet.faces.model_file.find_yunet_model`).
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
        large_face_sides: YuNet finds faces of about 10 to 300 px; a face larger than that (a
            close-up, a selfie, a door camera) is scored low or missed. So it also looks at
            smaller copies of a photo whose shorter side exceeds 300 px, copies whose shorter
            side is each of these sizes (those at least 20 % smaller than the photo), and
            merges what it finds at every scale (non-maximum suppression, the best score
            kept). One copy of 160 px found a face in 97.5 % of the 594 mask-faces photos of
            500 px or more (75.3 % at one scale), for 13 % more pixels to look at; 320 and
            160 px, 97.8 %. An empty tuple looks at one scale only.
        box_adjustment: ``(dx, dy, sx, sy)`` applied to every box (see :func:`adjust_boxes`):
            by default :data:`YUNET_BOX_ADJUSTMENT`, which turns YuNet's boxes into boxes as
            people draw them (brow to chin); None keeps YuNet's own.
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
        large_face_sides: tuple[int, ...] = (160,),
    ) -> None:
        self.box_adjustment = None if box_adjustment is None else tuple(box_adjustment)
        self.model_path = find_yunet_model(model_path)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.upscale_to = upscale_to
        self.max_upscale = max_upscale
        self.max_side = max_side
        self.large_face_sides = tuple(int(side) for side in large_face_sides)
        self.top_k = top_k
        # One network per input size, the most recent kept: changing a network's input size
        # re-plans it, which made a frame's two passes (its own size, the small copy for
        # large faces) cost twice one pass; two networks cost 1.08 times one.
        self._nets: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._new_net((320, 320))  # fails now if the model cannot be loaded

    def _new_net(self, size: tuple[int, int]) -> Any:
        try:
            net = cv2.FaceDetectorYN.create(str(self.model_path), "", size,
                                            self.score_threshold, self.nms_threshold, self.top_k)
        except cv2.error as exc:
            raise DetectorUnavailableError(f"{self.model_path}: OpenCV cannot load the YuNet "
                                           f"model ({opencv_reason(exc)})") from None
        self._nets[size] = net
        return net

    def _net_for(self, size: tuple[int, int]) -> Any:
        """The network planned for images of ``size``; the least recently used one is
        re-planned when :data:`YUNET_NETWORKS` are in use."""
        net = self._nets.get(size)
        if net is not None:
            self._nets.move_to_end(size)
            return net
        if len(self._nets) < YUNET_NETWORKS:
            return self._new_net(size)
        _, net = self._nets.popitem(last=False)
        net.setInputSize(size)
        self._nets[size] = net
        return net

    def scale_for(self, height: int, width: int) -> float:
        """The factor an image of this size is resized by before detection."""
        longest = max(height, width)
        if self.max_side > 0 and longest > self.max_side:
            return self.max_side / longest
        if self.upscale_to <= 0 or longest >= self.upscale_to:
            return 1.0
        return min(self.max_upscale, self.upscale_to / longest)

    def scales_for(self, height: int, width: int) -> list[float]:
        """Every factor an image of this size is resized by, one detection pass each: the
        main one (:meth:`scale_for`), then the smaller copies for large faces."""
        scales = [self.scale_for(height, width)]
        shorter = min(height, width)
        if shorter > YUNET_LARGEST_FACE:  # smaller photos cannot hold a face too large
            scales += [side / shorter for side in self.large_face_sides
                       if side <= 0.8 * shorter]
        return scales

    def detect(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        found = [self._detect_at(image, scale) for scale in self.scales_for(h, w)]
        found = [f for f in found if f is not None]
        if not found:
            return Detections.empty()
        faces = np.concatenate(found)
        if len(found) > 1:  # one face seen at several scales: keep its best view
            keep = cv2.dnn.NMSBoxes(faces[:, :4].tolist(), faces[:, 14].tolist(), 0.0,
                                    self.nms_threshold)
            faces = faces[np.asarray(keep, int).reshape(-1)]
        boxes = faces[:, :4]
        if self.box_adjustment is not None:
            boxes = adjust_boxes(boxes, self.box_adjustment)
        return Detections(boxes=boxes, face_scores=faces[:, 14],
                          landmarks=faces[:, 4:14].reshape(-1, 5, 2)).clip(w, h)

    def _detect_at(self, image: np.ndarray, scale: float) -> np.ndarray | None:
        """YuNet's rows (n, 15) on ``image`` resized by ``scale``, in ``image``'s pixels."""
        if scale != 1.0:
            h, w = image.shape[:2]
            interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=interpolation)
        _, faces = self._net_for((image.shape[1], image.shape[0])).detect(image)
        if faces is None or len(faces) == 0:
            return None
        return faces / np.array([scale] * 14 + [1.0], np.float32)

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


#: Face detectors by name.
DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "yunet": YuNetDetector,
    "haar": HaarDetector,
}

#: Other names of face detectors (``auto`` chose between YuNet and Haar when YuNet's model
#: had to be downloaded; it ships with maskdet now).
ALIASES = {"auto": "yunet"}


def available_detectors() -> list[str]:
    return list(DETECTORS)


def create_face_detector(name: str | FaceDetector = "yunet", **params) -> FaceDetector:
    """Create a face detector by name: ``yunet`` (the default) or ``haar``; a
    :class:`FaceDetector` is returned as it is.

    Raises:
        DetectorUnavailableError: an unknown name, or a detector that cannot be created here
            (a model file that OpenCV cannot load, an OpenCV without Haar cascades).
    """
    if isinstance(name, FaceDetector):
        return name
    name = ALIASES.get(name, name)
    if name not in DETECTORS:
        raise DetectorUnavailableError(
            f"unknown face detector {name!r}; choose from {', '.join(available_detectors())}")
    return DETECTORS[name](**params)
