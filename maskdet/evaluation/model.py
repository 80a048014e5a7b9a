"""Measure a model on a labelled dataset, as ``maskdet evaluate`` does: :func:`evaluate_model`.

Two protocols:

* **face crops** (class folders, or the labelled boxes of VOC scenes) -- the model labels each
  crop; accuracy, per-class precision and recall, confusion matrix
  (:mod:`~maskdet.evaluation.classification`). Face-folder images are framed as the model's
  were in training (``settings_.framing``).
* **end to end** (VOC scenes only) -- a face detector finds the faces of each photo and the
  model labels them, as ``maskdet detect`` does; precision, recall and AP per class against
  the labelled boxes (:mod:`~maskdet.evaluation.scenes`).

Either can be restricted to the part of the data the model never trained on (``held_out``),
as recorded in its bundle (``settings_.sources``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..data import Dataset, held_out_part, load_dataset
from ..errors import DatasetError
from ..faces import FaceCrops, FaceDetector, extract_faces
from ..files import to_jsonable
from ..pipeline import MaskDetector, framing_detector
from ..pretrained import load_model
from .classification import evaluate_with_predictions, format_metrics
from .scenes import SceneRunner, evaluate_scenes, format_scene_metrics


@dataclass
class ModelEvaluation:
    """What :func:`evaluate_model` measured.

    Attributes:
        classifier: the model evaluated.
        dataset: the data it was measured on (the held-out part, with ``held_out``).
        metrics: :func:`~maskdet.evaluation.classification.classification_metrics` of the
            crops, or, end to end, :func:`~maskdet.evaluation.scenes.scene_detection_metrics`.
        end_to_end: which of the two.
        held_out: ``{"files", "faces"}`` of the held-out part, or None for all the data.
        crops, proba: the face crops and the model's probabilities of those whose label it
            knows (crop evaluation only), e.g. for
            :func:`~maskdet.reports.write_classifier_report`.
        face_detector: the face detector's name (end to end only).
        min_confidence: the operating point applied (end to end only).
    """

    classifier: Classifier
    dataset: Dataset
    metrics: dict[str, Any]
    end_to_end: bool = False
    held_out: dict[str, int] | None = None
    crops: FaceCrops | None = None
    proba: np.ndarray | None = None
    face_detector: str | None = None
    min_confidence: dict[str, float] | None = None
    min_face: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The numbers as strict JSON types (``maskdet evaluate --json``)."""
        out: dict[str, Any] = {"data": self.dataset.summary()}
        if self.end_to_end:
            out.update(detector=self.face_detector, min_confidence=self.min_confidence)
        out.update({k: v for k, v in self.metrics.items() if k != "results"})
        if self.held_out:
            out["held_out"] = self.held_out
        return to_jsonable(out)

    def format(self, model_name: str, data_name: str) -> str:
        """A heading and the table of the metrics, for people."""
        where = [self.dataset.layout]
        if self.end_to_end:
            where[0] += f", end to end with the {self.face_detector} face detector"
        if self.held_out:
            where.append("held-out part")
        if self.min_face:
            where.append(f"faces >= {self.min_face} px")
        where += [f"{label} confidence >= {value:g}"
                  for label, value in (self.min_confidence or {}).items()]
        lines = []
        if self.held_out:
            lines.append(f"held-out part of {data_name}: {self.held_out['files']} files, "
                         f"{self.held_out['faces']} faces")
        lines.append(f"{model_name} on {data_name} ({', '.join(where)}):")
        lines.append(format_scene_metrics(self.metrics) if self.end_to_end
                     else format_metrics(self.metrics))
        return "\n".join(lines)


def evaluate_model(
    model: Classifier | str | os.PathLike | None,
    data: str | os.PathLike,
    *,
    min_face: int = 0,
    label_map: Mapping[str, str | None] | None = None,
    held_out: bool = False,
    end_to_end: bool = False,
    face_detector: FaceDetector | str = "yunet",
    iou: float = 0.5,
    min_confidence: float | Mapping[str, float] | None = None,
    unlabelled: Mapping[str, Sequence[Sequence[float]]] | None = None,
    progress: bool = False,
    scene_runner: SceneRunner | None = None,
) -> ModelEvaluation:
    """Measure ``model`` on the dataset folder ``data``.

    Args:
        model: what :func:`~maskdet.pretrained.load_model` takes (None: the default model).
        data: class folders or VOC scenes.
        min_face: crops: leave out VOC faces smaller than this; end to end: ignore labelled
            faces smaller than this and the detections on them (neither missed nor false).
        label_map: rename classes of the data (``{"mask_weared_incorrect": "with_mask"}``;
            None drops one); classes the model does not know are left out and counted.
        held_out: only the part of ``data`` the model never trained on.
        end_to_end: find the faces with ``face_detector`` instead of using the labelled boxes
            (VOC scenes only), at ``min_confidence`` (None: the model's operating point),
            matching detections at IoU >= ``iou``; ``unlabelled``: faces the annotations
            leave out, per photo (:func:`~maskdet.data.read_unlabelled`), ignored.
        scene_runner: end to end, what runs the detector over the photos (default:
            :func:`~maskdet.evaluation.scene_results`, in this process; see
            :func:`maskdet.batch.evaluate_model`).

    Raises:
        MaskdetError: missing or unusable data or model, no held-out part recorded, or a
            protocol the data does not allow (one line naming it).
    """
    if not 0 < iou <= 1:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    classifier = load_model(model)
    # End to end, small faces stay in the data to be ignored, not left out (a detection of a
    # face missing from the ground truth would be a false positive).
    dataset = load_dataset(data, min_face=0 if end_to_end else min_face)
    if end_to_end and dataset.layout != "voc":
        raise DatasetError(f"{data}: end-to-end evaluation needs VOC scenes (images/ and "
                           f"annotations/), not {dataset.layout}")
    if label_map:
        dataset = dataset.relabel(dict(label_map))
    held = None
    if held_out:
        dataset = held_out_part(dataset, classifier.settings_.sources)
        held = {"files": len(set(dataset.paths)), "faces": len(dataset)}
        if not len(dataset):
            raise DatasetError(f"{data}: the model's held-out part has no faces to evaluate")
    if end_to_end:
        mask_detector = MaskDetector(classifier, face_detector=face_detector,
                                     min_face=min_face, min_confidence=min_confidence)
        metrics = evaluate_scenes(mask_detector, dataset, iou=iou, progress=progress,
                                  runner=scene_runner, unlabelled=unlabelled)
        return ModelEvaluation(classifier, dataset, metrics, True, held,
                               face_detector=mask_detector.face_detector.name,
                               min_confidence=mask_detector.min_confidence, min_face=min_face)
    # Frame face-folder images as the model's were framed in training (if they were).
    framing = framing_detector(classifier) if dataset.layout != "voc" else None
    crops = extract_faces(dataset, margin=classifier.preprocessing.margin, framing=framing,
                          progress=progress)
    if not len(crops):
        raise DatasetError(f"{Path(data)}: no readable faces to evaluate")
    metrics, proba, _ = evaluate_with_predictions(classifier, crops.images, crops.labels)
    return ModelEvaluation(classifier, dataset, metrics, False, held, crops, proba,
                           min_face=min_face)
