"""The training workflow: datasets -> split -> face crops -> fit -> held-out metrics -> bundle."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .classifiers import Classifier, create_classifier
from .data import Dataset, DatasetSplit, load_dataset, merge_datasets, split_dataset
from .evaluation import dataset_summary, evaluate_with_predictions
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
            (:func:`~maskdet.faces.frame_face`; every image is kept). Recorded in the bundle,
            so that evaluating the model frames them the same way (:func:`framing_detector`).
    """
    dataset = data if isinstance(data, Dataset) else load_datasets(data, min_face, label_map)
    classifier = (create_classifier(backend, **(params or {})) if isinstance(backend, str)
                  else backend)
    split = split_dataset(dataset, test_size, validation_size, seed)
    margin = classifier.preprocessing.margin

    def crops(part: Dataset, what: str) -> FaceCrops:
        logger.info("reading %d %s faces", len(part), what)
        return extract_faces(part, margin=margin, detector=face_detector, framing=framing,
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
        "data": [dataset_summary(dataset)],
        "split": {"test_size": test_size, "validation_size": validation_size, "seed": seed,
                  "train": len(split.train), "validation": len(split.validation),
                  "test": len(split.test)},
        "fit_seconds": round(fit_seconds, 2),
    }
    if train_crops.detection_rate is not None:
        info["detection_rate"] = train_crops.detection_rate
    if framing is not None:
        info["framing"] = framing.name
    test_metrics = test_crops = test_proba = None
    if len(split.test):
        test_crops = crops(split.test, "test")
        test_metrics, test_proba, _ = evaluate_with_predictions(classifier, test_crops.images,
                                                                test_crops.labels)
    metrics = {"test": test_metrics, "training": info}
    if out is not None:
        classifier.save(out, metrics=metrics)
    else:
        classifier.metrics_ = {**classifier.metrics_, **metrics}
    return TrainingResult(classifier, split, test_metrics, info, test_crops, test_proba)


def framing_of(classifier: Classifier) -> str | None:
    """The name of the face detector the classifier's class-folder images were framed with
    in training (``metrics.training.framing``); None when they were used whole."""
    return ((getattr(classifier, "metrics_", None) or {}).get("training") or {}).get("framing")


def framing_detector(classifier: Classifier) -> FaceDetector | None:
    """That detector (:func:`framing_of`), created again; None when there is none.

    Raises:
        DetectorUnavailableError: the detector cannot be created here (no YuNet model).
    """
    from .faces import create_face_detector

    name = framing_of(classifier)
    return None if name is None else create_face_detector(name)


def _accepts_validation(classifier: Classifier) -> bool:
    import inspect

    return "validation_data" in inspect.signature(classifier.fit).parameters


# -- held-out parts that travel with a model ---------------------------------------------------
def source_split(dataset: Dataset, test_size: float, seed: int) -> tuple[DatasetSplit, dict]:
    """Split one data source for training, and describe the split for the model's manifest.

    The description (``name``, ``layout``, ``files``, ``test_size``, ``seed``,
    ``test_files``) is what :func:`held_out_part` needs to find the same test part again, so
    that a model's held-out scores can be re-measured by anyone with the same data. Split the
    source as loaded whole (no ``min_face``, no relabelling): the split is by file.
    """
    split = split_dataset(dataset, test_size, 0.0, seed)
    entry = {"name": dataset.root.name, "layout": dataset.layout,
             "files": len(set(dataset.paths)), "test_size": test_size, "seed": seed,
             "test_files": len(set(split.test.paths))}
    return split, entry


def held_out_part(dataset: Dataset, manifest: dict[str, Any]) -> Dataset:
    """The part of ``dataset`` that the model described by ``manifest`` never trained on.

    The model's manifest lists its data sources (``metrics.training.sources``, written by
    :func:`source_split`); the one named like ``dataset``'s folder is split again (the whole
    source, with the recorded seed and test size) and the samples of ``dataset`` in its test
    part are returned, so ``dataset`` may be a filtered load (``min_face``, relabelled).

    Raises:
        DatasetError: the model records no source of that name, or the folder's files differ
            from the source it was trained on.
    """
    from .errors import DatasetError

    sources = ((manifest.get("metrics") or {}).get("training") or {}).get("sources") or []
    name = dataset.root.name
    entry = next((s for s in sources if s.get("name") == name), None)
    if entry is None:
        known = ", ".join(s.get("name", "?") for s in sources) or "none recorded"
        raise DatasetError(f"the model records no held-out part of a dataset named {name!r} "
                           f"(its training sources: {known})")
    whole = load_dataset(dataset.root)
    files = len(set(whole.paths))
    if files != entry["files"]:
        raise DatasetError(f"{dataset.root}: {files} files, but the model's source {name!r} had "
                           f"{entry['files']}; its held-out part cannot be found again")
    split = split_dataset(whole, float(entry["test_size"]), 0.0, int(entry["seed"]))
    test = set(split.test.paths)
    return dataset.subset(i for i, s in enumerate(dataset.samples) if s.path in test)
