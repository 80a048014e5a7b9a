"""`MaskDetector`: face detection + mask classification of whole photos and video frames."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

import cv2
import numpy as np

from .classifiers import Classifier
from .detections import Detections
from .draw import annotate
from .faces import ALIASES, FaceDetector, create_face_detector, crop_face
from .pretrained import load_model


class MaskDetector:
    """Finds faces in a photo and tells, for each, whether it wears a mask.

    Args:
        model: a fitted :class:`~maskdet.classifiers.Classifier`, the path of a model bundle,
            a bundled model's name (``"cnn"``, ``"hog-svm"``), or None for the bundled
            default model (see :func:`~maskdet.pretrained.load_model`).
        face_detector: a :class:`~maskdet.faces.FaceDetector` or a name (``"yunet"``,
            ``"haar"``). YuNet by name is created with the model's face score
            (``settings_.face_score``, chosen with its operating point), if it has one.
        min_face: ignore faces whose shorter side is below this many pixels.
        min_face_score: ignore faces the face detector is less sure of than this.
        min_confidence: drop classified faces whose confidence (face score times the
            label's probability, :attr:`Detections.confidences`) is below this: one value
            for every label, or a value per label (``{"without_mask": 0.8}``; labels not
            named keep everything). None: the model's operating point, stored in its bundle
            (``model.settings_.min_confidence``), else nothing is dropped. 0 keeps every face.
        max_not_a_face: for a model with the hidden ``not_a_face`` output (trained on crops
            that are no faces), drop the faces it gives at least this probability of being
            none. None: the model's setting (``settings_.not_a_face``), else 0.5. A model
            without that output drops nothing.

    Attributes:
        classifier: the fitted classifier ``model`` named.
        not_faces_dropped: how many faces the ``not_a_face`` output has dropped so far.

    Example:
        >>> mask_detector = MaskDetector()  # doctest: +SKIP
        >>> faces = mask_detector.detect(maskdet.read_image("street.jpg"))  # doctest: +SKIP
        >>> faces[faces.labels == "without_mask"].boxes  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Classifier | str | os.PathLike | None = None,
        face_detector: FaceDetector | str = "yunet",
        min_face: int = 0,
        min_face_score: float = 0.0,
        min_confidence: float | Mapping[str, float] | None = None,
        max_not_a_face: float | None = None,
    ) -> None:
        self.classifier = load_model(model)
        self.face_detector = create_face_detector(
            face_detector, **_face_detector_params(self.classifier, face_detector))
        self.min_face = min_face
        self.min_face_score = min_face_score
        if min_confidence is None:
            min_confidence = self.classifier.settings_.min_confidence
        self.min_confidence = _per_label(min_confidence, self.classes)
        if max_not_a_face is None:
            max_not_a_face = self.classifier.settings_.not_a_face
        self.max_not_a_face = 0.5 if max_not_a_face is None else float(max_not_a_face)
        if not 0.0 < self.max_not_a_face <= 1.0:
            raise ValueError(f"max_not_a_face must be above 0 and at most 1, got "
                             f"{max_not_a_face}")
        self.not_faces_dropped = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.classifier.classes_)

    def find_faces(self, image: np.ndarray, scale: float = 1.0) -> Detections:
        """The faces of ``image`` that pass the size and score filters, unclassified.

        Args:
            scale: detect on the image resized by this factor (0.5: faster, misses small
                faces); the boxes are given in ``image``'s pixels either way.
        """
        h, w = image.shape[:2]
        seen = image
        if scale != 1.0:
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            seen = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                              interpolation=interpolation)
        faces = self.face_detector.detect(seen)
        if scale != 1.0 and len(faces):
            faces = replace(faces, boxes=faces.boxes / scale,
                            landmarks=None if faces.landmarks is None else faces.landmarks / scale)
        faces = faces.clip(w, h)
        if len(faces):
            keep = (faces.boxes[:, 2:].min(axis=1) >= self.min_face) & (
                faces.face_scores >= self.min_face_score)
            faces = faces[keep]
        return faces

    def probabilities(self, image: np.ndarray, faces: Detections
                      ) -> tuple[np.ndarray, np.ndarray]:
        """For each of the given faces of ``image``, in one batch call: the class
        probabilities (given a face), shape (n, len(classes)), and the probability that it
        is no face at all (the model's hidden ``not_a_face`` output; zeros without it)."""
        margin = self.classifier.preprocessing.margin
        crops = [crop_face(image, box, margin) for box in faces.boxes]
        if not self.classifier.has_not_a_face:
            return self.classifier.predict_proba(crops), np.zeros(len(crops), np.float32)
        return self.classifier.predict_face_proba(crops)

    def classify(self, image: np.ndarray, faces: Detections) -> Detections:
        """Classify the given faces of ``image`` (:meth:`probabilities`); those the model
        calls no face (``max_not_a_face``) are dropped and counted (``not_faces_dropped``)."""
        if len(faces) == 0:
            return faces.with_classification(np.zeros((0, len(self.classes))), self.classes)
        proba, not_a_face = self.probabilities(image, faces)
        face = not_a_face < self.max_not_a_face
        if not face.all():
            self.not_faces_dropped += int((~face).sum())
            faces, proba = faces[face], proba[face]
        return faces.with_classification(proba, self.classes)

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
        """A copy of ``image`` with labelled boxes; see :func:`maskdet.draw.annotate`."""
        return annotate(image, detections, **kwargs)


def _face_detector_params(classifier: Classifier, face_detector: FaceDetector | str) -> dict:
    """What :func:`~maskdet.faces.create_face_detector` gets besides the name: the model's
    face score (``settings_.face_score``) as YuNet's score threshold, when ``face_detector``
    names YuNet and the model has one."""
    score = classifier.settings_.face_score
    if (isinstance(face_detector, str) and ALIASES.get(face_detector, face_detector) == "yunet"
            and score is not None):
        return {"score_threshold": score}
    return {}


def framing_detector(classifier: Classifier) -> FaceDetector | None:
    """The face detector that framed the classifier's face-folder images in training
    (``settings_.framing``), created again, so that its input is framed alike; None when they
    were used whole.

    Raises:
        DetectorUnavailableError: the face detector cannot be created here (no YuNet model).
    """
    name = classifier.settings_.framing
    return None if name is None else create_face_detector(name)


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
