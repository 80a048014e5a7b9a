"""Photos sent to the service: their limits, decoding, and detection on a pool of detectors.

The limits are the service's own, checked before any pixel is decoded: the body's bytes
(``max_upload_bytes``), then the pixels the image's header announces (``max_pixels``), so that
a small file that would decode into gigabytes is refused in microseconds. The photo is then
decoded by the library's loader (:func:`maskdet.images.decode_image`), whose one-line reason
is the answer to anything that is not an image.

Face detectors are not thread-safe, so photos are detected by a pool of
:class:`~maskdet.MaskDetector` objects (one per worker, the model shared): a request takes one,
or waits for one.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..detections import Detections
from ..errors import ImageReadError, ImageTooLargeError, MaskdetError
from ..images import decode_image, image_size, sniff_image_format
from ..pipeline import MaskDetector


class PhotoError(MaskdetError):
    """A photo the service will not detect; ``status`` is the HTTP status that says why."""

    status = 422


class PhotoTooLarge(PhotoError):
    status = 413


class NotAnImage(PhotoError):
    status = 415


def parse_min_confidence(text: str, classes: tuple[str, ...]) -> float | dict[str, float]:
    """``?min_confidence=``: ``C`` for every label, or ``LABEL=C[,LABEL=C]``.

    Raises:
        PhotoError: not a number in [0, 1], or a label the model does not have.
    """
    def value(item: str, what: str) -> float:
        try:
            number = float(item)
        except ValueError:
            raise PhotoError(f"min_confidence: {what} must be a number, got {item!r}") from None
        if not 0.0 <= number <= 1.0:
            raise PhotoError(f"min_confidence must be between 0 and 1, got {item}")
        return number

    if "=" not in text:
        return value(text, "the value")
    out = {}
    for part in text.split(","):
        label, _, number = part.partition("=")
        label = label.strip()
        if label not in classes:
            raise PhotoError(f"min_confidence names {label!r}, which the model does not have "
                             f"(its classes: {', '.join(classes)})")
        out[label] = value(number.strip(), label)
    return out


def keep_confident(faces: Detections, floors: float | Mapping[str, float]) -> Detections:
    """The classified faces whose confidence reaches the floor of their label."""
    if not len(faces):
        return faces
    if isinstance(floors, Mapping):
        floor = np.array([floors.get(str(label), 0.0) for label in faces.labels])
    else:
        floor = np.full(len(faces), float(floors))
    return faces[faces.confidences >= floor]


class PhotoDetector:
    """Checks, decodes and detects photos; thread-safe (a pool of ``workers`` detectors).

    Args:
        classifier: the fitted model.
        face_detector: the face detector's name (each worker makes its own).
        min_confidence: the default floor (None: the model's operating point).
        workers: detectors in the pool (photos detected at once).
        max_pixels: the largest photo decoded.
    """

    def __init__(self, classifier: Classifier, face_detector: str = "yunet",
                 min_confidence: Any = None, workers: int = 1,
                 max_pixels: int = 40_000_000) -> None:
        self.workers = max(1, workers)
        self.max_pixels = max_pixels
        self._pool: queue.SimpleQueue[MaskDetector] = queue.SimpleQueue()
        for _ in range(self.workers):
            self._pool.put(MaskDetector(classifier, face_detector=face_detector,
                                        min_confidence=min_confidence))
        first = self._pool.get()
        self.classes = first.classes
        self._pool.put(first)

    def decode(self, data: bytes, name: str = "upload") -> np.ndarray:
        """The photo as a BGR array, within the limits.

        Raises:
            PhotoTooLarge, NotAnImage, PhotoError: with the one-line reason.
        """
        if not data:
            raise PhotoError(f"{name}: empty body: send the photo's bytes")
        if sniff_image_format(data[:16]) is None:
            raise NotAnImage(f"{name}: not an image (unrecognised file content)")
        size = image_size(data)  # from the header, before any pixel is decoded
        if size is not None and size[0] * size[1] > self.max_pixels:
            width, height = size
            raise PhotoTooLarge(f"{name}: {width} x {height} pixels ({width * height / 1e6:.1f} "
                                f"MP) is more than the {self.max_pixels / 1e6:g} MP this "
                                "service decodes")
        try:
            image = decode_image(data, name, max_pixels=self.max_pixels)
        except ImageTooLargeError as exc:  # the file is too large for any image in the limit
            raise PhotoTooLarge(str(exc)) from None
        except ImageReadError as exc:
            raise PhotoError(str(exc)) from None
        return image

    def detect(self, image: np.ndarray, min_confidence: float | Mapping[str, float] | None = None
               ) -> tuple[Detections, Detections]:
        """The faces of a decoded photo (``min_confidence``: this request's floor), and
        every face found, sure or not (the faces a picture of it must hide)."""
        detector = self._pool.get()
        try:
            found = detector.classify(image, detector.find_faces(image))
            if min_confidence is None:
                return detector.keep_confident(found), found
            return keep_confident(found, min_confidence), found
        finally:
            self._pool.put(detector)
