"""`MaskDetector`: face detection + mask classification on whole photos, and drawing results."""

from __future__ import annotations

import os
from collections.abc import Mapping

import cv2
import numpy as np

from .classifiers import Classifier
from .detections import Detections
from .faces import FaceDetector, create_face_detector, crop_face
from .pretrained import load_model

#: Box colours (BGR) by label; other labels get ``OTHER_COLOR``.
DEFAULT_COLORS: dict[str, tuple[int, int, int]] = {
    "with_mask": (0, 200, 0),
    "without_mask": (0, 0, 230),
    "mask_weared_incorrect": (0, 165, 255),
}
OTHER_COLOR = (255, 160, 0)
UNCLASSIFIED_COLOR = (200, 200, 200)


class MaskDetector:
    """Finds faces in a photo and tells, for each, whether it wears a mask.

    Args:
        classifier: a fitted :class:`~maskdet.classifiers.Classifier`, the path of a model
            bundle, a bundled model's name (``"cnn"``, ``"hog-svm"``), or None for the bundled
            default model (see :func:`~maskdet.pretrained.load_model`).
        face_detector: a :class:`~maskdet.faces.FaceDetector` or a name (``"auto"``,
            ``"yunet"``, ``"haar"``).
        min_face: ignore faces whose shorter side is below this many pixels.
        min_face_score: ignore faces the detector is less sure of than this.
        min_confidence: drop classified faces whose confidence (face score times the
            label's probability, :attr:`Detections.confidences`) is below this: one value
            for every label, or a value per label (``{"without_mask": 0.8}``; labels not
            named keep everything). None: the model's recommended operating point, stored in
            its bundle (see :func:`operating_point`), else nothing is dropped. 0 keeps every
            face.

    Example:
        >>> detector = MaskDetector()  # doctest: +SKIP
        >>> faces = detector.detect(maskdet.read_image("street.jpg"))  # doctest: +SKIP
        >>> faces[faces.labels == "without_mask"].boxes  # doctest: +SKIP
    """

    def __init__(
        self,
        classifier: Classifier | str | os.PathLike | None = None,
        face_detector: FaceDetector | str = "auto",
        min_face: int = 0,
        min_face_score: float = 0.0,
        min_confidence: float | Mapping[str, float] | None = None,
    ) -> None:
        self.classifier = load_model(classifier)
        self.face_detector = create_face_detector(face_detector)
        self.min_face = min_face
        self.min_face_score = min_face_score
        if min_confidence is None:
            min_confidence = operating_point(self.classifier)
        self.min_confidence = _per_label(min_confidence, self.classes)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.classifier.classes_)

    def find_faces(self, image: np.ndarray) -> Detections:
        """The faces of ``image`` that pass the size and score filters, unclassified."""
        faces = self.face_detector.detect(image).clip(image.shape[1], image.shape[0])
        if len(faces):
            keep = (faces.boxes[:, 2:].min(axis=1) >= self.min_face) & (
                faces.face_scores >= self.min_face_score)
            faces = faces[keep]
        return faces

    def classify(self, image: np.ndarray, faces: Detections) -> Detections:
        """Classify the given faces of ``image`` in one batch call."""
        if len(faces) == 0:
            return faces.with_classification(np.zeros((0, len(self.classes))), self.classes)
        margin = self.classifier.preprocessing.margin
        crops = [crop_face(image, box, margin) for box in faces.boxes]
        return faces.with_classification(self.classifier.predict_proba(crops), self.classes)

    def detect(self, image: np.ndarray) -> Detections:
        """Faces of a BGR ``uint8`` image with their boxes, labels and scores."""
        if (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3
                or image.shape[2] != 3):
            raise ValueError("image must be a uint8 BGR array of shape (H, W, 3)")
        return self.keep_confident(self.classify(image, self.find_faces(image)))

    def keep_confident(self, faces: Detections) -> Detections:
        """The classified ``faces`` whose confidence reaches ``min_confidence`` for their label."""
        if not self.min_confidence or not len(faces):
            return faces
        floor = np.array([self.min_confidence.get(str(label), 0.0) for label in faces.labels])
        return faces[faces.confidences >= floor]

    def annotate(self, image: np.ndarray, detections: Detections, **kwargs) -> np.ndarray:
        """A copy of ``image`` with labelled boxes; see :func:`annotate`."""
        return annotate(image, detections, **kwargs)


def operating_point(classifier: Classifier) -> dict[str, float]:
    """The minimum confidence per label that a model's bundle recommends (empty: none).

    The recipe of the bundled models chooses it on validation photos for a precision of
    unmasked faces (see MODEL_CARD.md) and stores it in the manifest's
    ``metrics.operating_point.min_confidence``.
    """
    point = getattr(classifier, "metrics_", {}).get("operating_point") or {}
    return {str(k): float(v) for k, v in (point.get("min_confidence") or {}).items()}


def _per_label(min_confidence: float | Mapping[str, float],
               classes: tuple[str, ...]) -> dict[str, float]:
    if isinstance(min_confidence, Mapping):
        values = {str(k): float(v) for k, v in min_confidence.items()}
        unknown = sorted(set(values) - set(classes))
        if unknown:
            raise ValueError(f"min_confidence names labels the model does not have: {unknown} "
                             f"(its classes: {list(classes)})")
    else:
        values = dict.fromkeys(classes, float(min_confidence))
    for label, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {value} for {label!r}")
    return {k: v for k, v in values.items() if v > 0}


def annotate(
    image: np.ndarray,
    detections: Detections,
    colors: Mapping[str, tuple[int, int, int]] | None = None,
    thickness: int | None = None,
    show_score: bool = True,
) -> np.ndarray:
    """Draw labelled boxes on a copy of ``image``: green with mask, red without (by default).

    Args:
        colors: BGR colour per label, merged over :data:`DEFAULT_COLORS`.
        thickness: line thickness; None scales with the image size.
        show_score: write the label's probability next to it.
    """
    palette = {**DEFAULT_COLORS, **(colors or {})}
    out = image.copy()
    h, w = out.shape[:2]
    thickness = thickness or max(1, round(min(h, w) / 300))
    font_scale = max(0.35, min(h, w) / 1000)
    for face in detections:
        x, y, bw, bh = face.box
        color = (palette.get(face.label, OTHER_COLOR) if face.label is not None
                 else UNCLASSIFIED_COLOR)
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thickness)
        text = face.label or f"face {face.face_score:.2f}"
        if face.label is not None and show_score:
            text = f"{face.label} {face.score:.2f}"
        if face.track_id is not None:
            text = f"#{face.track_id} {text}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = y - 2 if y - th - base - 2 >= 0 else min(h - 1, y + bh + th + base)
        cv2.rectangle(out, (x, ty - th - base), (x + tw + 2, ty + 1), color, cv2.FILLED)
        cv2.putText(out, text, (x + 1, ty - base + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out
