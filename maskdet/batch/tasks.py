"""What a worker does with a chunk of files: read each one's bytes, run the mask detector, and
turn the result into one JSON-ready record per file, a failure included.

Nothing here knows about Dask: the same functions run in the client's process (no cluster)
and inside a Dask worker (:mod:`~maskdet.batch.cluster`), so both give the same records.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..classifiers import Classifier, load_classifier
from ..errors import ImageReadError, MaskdetError
from ..images import decode_image, max_pixels, read_image
from ..pipeline import MaskDetector
from ..pretrained import default_model_name, load_model, model_path
from .inputs import is_url, open_url

Record = dict[str, Any]


@dataclass(frozen=True)
class DetectorSpec:
    """Everything a worker needs to build the same :class:`~maskdet.pipeline.MaskDetector` as
    the client: the model bundle's bytes (so that workers need no access to the client's
    files, and every worker runs the very same model) and the detector's settings.

    Build one with :meth:`create` (from what ``MaskDetector`` takes) or :meth:`of` (from a
    ``MaskDetector``).
    """

    bundle: bytes = field(repr=False)
    face_detector: str = "yunet"
    min_face: int = 0
    min_face_score: float = 0.0
    min_confidence: float | Mapping[str, float] | None = None
    #: The pixel limit workers read images under: the client's when the spec was made
    #: (``maskdet --max-megapixels``, :func:`~maskdet.images.pixel_limit`).
    max_pixels: int = field(default_factory=max_pixels)

    @classmethod
    def create(cls, model: Classifier | str | os.PathLike | None = None,
               face_detector: str = "yunet", min_face: int = 0, min_face_score: float = 0.0,
               min_confidence: float | Mapping[str, float] | None = None
               ) -> tuple[DetectorSpec, MaskDetector]:
        """The spec, and the detector it builds here, checked (a bad model, face detector or
        threshold is a one-line error now, before any worker starts on it)."""
        if model is None:
            model = default_model_name()
        classifier = load_model(model)
        detector = MaskDetector(classifier, face_detector=face_detector, min_face=min_face,
                                min_face_score=min_face_score, min_confidence=min_confidence)
        if isinstance(model, (str, os.PathLike)):
            bundle = model_path(model).read_bytes()
        else:
            bundle = _bundle_bytes(classifier)
        return cls(bundle, face_detector, min_face, min_face_score, min_confidence), detector

    @classmethod
    def of(cls, mask_detector: MaskDetector) -> DetectorSpec:
        """The spec of an existing detector (its face detector by name, its thresholds as
        resolved per label)."""
        return cls(_bundle_bytes(mask_detector.classifier), mask_detector.face_detector.name,
                   mask_detector.min_face, mask_detector.min_face_score,
                   dict(mask_detector.min_confidence))

    def build(self) -> MaskDetector:
        """The mask detector (loads the model: once per worker, not once per task)."""
        with tempfile.TemporaryDirectory(prefix="maskdet-") as folder:
            path = Path(folder) / "model.maskdet"
            path.write_bytes(self.bundle)
            classifier = load_classifier(path)
        return MaskDetector(classifier, face_detector=self.face_detector,
                            min_face=self.min_face, min_face_score=self.min_face_score,
                            min_confidence=self.min_confidence)


def _bundle_bytes(classifier: Classifier) -> bytes:
    with tempfile.TemporaryDirectory(prefix="maskdet-") as folder:
        path = Path(folder) / "model.maskdet"
        classifier.save(path)
        return path.read_bytes()


def read_item(item: str):
    """The image a path or an fsspec URL names, decoded (the bytes are read here, by the
    worker)."""
    if is_url(item):
        return decode_image(open_url(item), item)
    path = Path(item)
    if path.exists() and not path.is_file() and not path.is_dir():
        # A pipe or a device would block the worker, or never end.
        raise ImageReadError(f"{item}: not a regular file")
    return read_image(path)


def _failure(item: str, exc: Exception) -> Record:
    if isinstance(exc, MaskdetError):
        reason = str(exc)
    else:  # not a user error, but one file must not stop the batch: say what happened
        reason = f"{item}: {type(exc).__name__}: {exc}"
    return {"path": item, "error": reason}


def detect_records(detector: MaskDetector, items: Sequence[str]) -> list[Record]:
    """``{"path", "faces"}`` per file, as ``maskdet detect --json`` prints it, or
    ``{"path", "error"}`` for a file that could not be read or processed."""
    out = []
    for item in items:
        try:
            faces = detector.detect(read_item(item))
        except Exception as exc:  # noqa: BLE001 -- batch work records a bad file, goes on
            out.append(_failure(item, exc))
            continue
        out.append({"path": item, "faces": faces.to_dicts()})
    return out


def evaluate_records(detector: MaskDetector, items: Sequence[str]) -> list[Record]:
    """Per photo, what end-to-end scoring needs
    (:func:`~maskdet.evaluation.scene_results`): the faces kept at the detector's
    ``min_confidence`` with their exact ``confidence``, and the boxes of every face found
    (``found``); ``{"path", "error"}`` for a photo that could not be read."""
    out = []
    for item in items:
        try:
            image = read_item(item)
            found = detector.classify(image, detector.find_faces(image))
            faces = detector.keep_confident(found)
        except Exception as exc:  # noqa: BLE001 -- batch work records a bad file, goes on
            out.append(_failure(item, exc))
            continue
        kept = [{**face, "confidence": float(confidence)}
                for face, confidence in zip(faces.to_dicts(), faces.confidences)]
        out.append({"path": item, "faces": kept, "found": found.boxes.tolist()})
    return out


#: The kinds of batch work, by name (tasks name their function, so that nothing but a name
#: and a list of paths travels with each task).
TASKS: dict[str, Callable[[MaskDetector, Sequence[str]], list[Record]]] = {
    "detect": detect_records,
    "evaluate": evaluate_records,
}
