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

import io
import queue
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import errors
from ..classifiers import Classifier
from ..detections import Detections
from ..errors import ImageReadError, MaskdetError
from ..images import decode_image, sniff_image_format
from ..pipeline import MaskDetector


class PhotoError(MaskdetError):
    """A photo the service will not detect; ``status`` is the HTTP status that says why."""

    status = 422


class PhotoTooLarge(PhotoError):
    status = 413


class NotAnImage(PhotoError):
    status = 415


def image_pixels(data: bytes) -> tuple[int, str] | None:
    """The pixels the image's header announces, and how to say it (``"W x H pixels"``),
    read without decoding a pixel (Pillow reads the header only); None when no header can
    be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as exc:  # Pillow's own limit (~179 MP) says how many
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return (int(found.group(1)), f"{int(found.group(1))} pixels") if found else None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return width * height, f"{width} x {height} pixels"


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
        announced = image_pixels(data)
        if announced is not None and announced[0] > self.max_pixels:
            raise PhotoTooLarge(f"{name}: {announced[1]} ({announced[0] / 1e6:.1f} MP) is more "
                                f"than the {self.max_pixels / 1e6:g} MP this service decodes")
        try:
            image = decode_image(data, name)
        except ImageReadError as exc:
            too_large = getattr(errors, "ImageTooLargeError", ())  # the loader's own limit
            raise (PhotoTooLarge if isinstance(exc, too_large) else PhotoError)(
                str(exc)) from None
        if image.shape[0] * image.shape[1] > self.max_pixels:  # a header Pillow cannot read
            raise PhotoTooLarge(f"{name}: {image.shape[1]} x {image.shape[0]} pixels is more "
                                f"than the {self.max_pixels / 1e6:g} MP this service decodes")
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
