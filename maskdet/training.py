"""The training workflow: datasets -> split -> face crops -> fit -> held-out metrics -> bundle."""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .classifiers import Classifier, create_classifier
from .data import Dataset, DatasetSplit, load_dataset, merge_datasets, split_dataset
from .evaluation import evaluate_with_predictions
from .faces import FaceCrops, FaceDetector, extract_faces

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    """What :func:`train` produced: the fitted classifier and the held-out metrics."""

    classifier: Classifier
    split: DatasetSplit
    test_metrics: dict[str, Any] | None
    info: dict[str, Any] = field(default_factory=dict)
    test_crops: FaceCrops | None = None
    """The held-out face crops the metrics were measured on (None without a test part)."""
    test_proba: np.ndarray | None = None
    """The classifier's probabilities for ``test_crops`` whose label it knows (see
    :func:`~maskdet.evaluation.evaluate_with_predictions`), columns in ``classes_`` order."""


def load_datasets(paths: Sequence[str | os.PathLike], min_face: int = 0,
                  label_map: dict[str, str | None] | None = None) -> Dataset:
    """Load and merge one or more datasets (class folders and/or VOC), relabelling classes."""
    dataset = merge_datasets([load_dataset(p, min_face=min_face) for p in paths])
    if label_map:
        dataset = dataset.relabel(label_map)
    return dataset


def train(
    data: Sequence[str | os.PathLike] | Dataset,
    backend: str | Classifier = "hog-svm",
    params: dict[str, Any] | None = None,
    test_size: float = 0.2,
    validation_size: float = 0.0,
    seed: int = 0,
    min_face: int = 0,
    label_map: dict[str, str | None] | None = None,
    face_detector: FaceDetector | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    framing: FaceDetector | None = None,
) -> TrainingResult:
    """Train a classifier on labelled faces and measure it on a held-out part.

    Args:
        data: dataset folders (class folders or VOC scenes), or a loaded :class:`Dataset`.
        backend: a backend name or an unfitted classifier.
        params: hyper-parameters for a backend given by name.
        test_size, validation_size, seed: the split (see :func:`split_dataset`); with
            ``test_size=0`` every image is used for training and no metrics are computed.
        min_face: VOC faces whose shorter side is below this are left out.
        label_map: rename (or with None drop) classes, e.g. ``{"mask_weared_incorrect": None}``.
        face_detector: crop class-folder images to their detected face instead of using them
            whole (images without a face are left out; the detection rate per class is
            reported).
        out: where to save the model bundle, if given.
        framing: frame class-folder images on the face this detector finds
            (:func:`~maskdet.faces.frame_face`; every image is kept). Recorded in the model's
            ``settings_.framing``, so that evaluating it frames them the same way.
    """
    classifier = (create_classifier(backend, **(params or {})) if isinstance(backend, str)
                  else backend)
    classifier.check_params()  # a bad hyper-parameter fails before any image is read
    dataset = data if isinstance(data, Dataset) else load_datasets(data, min_face, label_map)
    split = split_dataset(dataset, test_size, validation_size, seed)
    margin = classifier.preprocessing.margin

    def crops(part: Dataset, what: str) -> FaceCrops:
        logger.info("reading %d %s faces", len(part), what)
        return extract_faces(part, margin=margin, face_detector=face_detector, framing=framing,
                             progress=progress)

    train_crops = crops(split.train, "training")
    start = time.perf_counter()
    fit_kwargs = {}
    if validation_size > 0 and _accepts_validation(classifier):
        val = crops(split.validation, "validation")
        fit_kwargs["validation_data"] = (val.images, val.labels)
    classifier.fit(train_crops.images, train_crops.labels, **fit_kwargs)
    fit_seconds = time.perf_counter() - start
    info: dict[str, Any] = {
        "data": [dataset.summary()],
        "split": {"test_size": test_size, "validation_size": validation_size, "seed": seed,
                  "train": len(split.train), "validation": len(split.validation),
                  "test": len(split.test)},
        "fit_seconds": round(fit_seconds, 2),
    }
    if train_crops.detection_rate is not None:
        info["detection_rate"] = train_crops.detection_rate
    test_metrics = test_crops = test_proba = None
    if len(split.test):
        test_crops = crops(split.test, "test")
        test_metrics, test_proba, _ = evaluate_with_predictions(classifier, test_crops.images,
                                                                test_crops.labels)
    classifier.metrics_ = {**classifier.metrics_, "test": test_metrics, "training": info}
    if framing is not None:
        classifier.settings_ = replace(classifier.settings_, framing=framing.name)
    if out is not None:
        classifier.save(out)
    return TrainingResult(classifier, split, test_metrics, info, test_crops, test_proba)


def _accepts_validation(classifier: Classifier) -> bool:
    return "validation_data" in inspect.signature(classifier.fit).parameters


