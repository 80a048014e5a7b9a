"""Batch evaluation: ``maskdet evaluate --end-to-end`` with the photos processed here or on a
Dask cluster, and the per-photo results kept in a resumable JSON-lines file; the metrics are
the same as :func:`maskdet.evaluation.evaluate_model` computes in one process."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..data import Dataset
from ..evaluation import ModelEvaluation, SceneResult, scene_ground_truth
from ..evaluation import evaluate_model as evaluate_in_process
from ..pipeline import MaskDetector
from .engine import iter_records, write_records
from .results import Record, read_results
from .tasks import DetectorSpec


def scene_result(record: Record, gt_boxes: np.ndarray, gt_labels: np.ndarray) -> SceneResult:
    """The :class:`~maskdet.evaluation.SceneResult` of a photo's evaluation record."""
    faces = record["faces"]
    return SceneResult(
        gt_boxes, gt_labels,
        np.array([f["box"] for f in faces], dtype=np.int32).reshape(-1, 4),
        np.array([f["label"] for f in faces], dtype=object),
        np.array([f["confidence"] for f in faces], dtype=np.float64),
        np.array(record["found"], dtype=np.int32).reshape(-1, 4), record.get("path"))


def scene_runner(client: Any = None, out: str | os.PathLike | None = None,
                 resume: bool = False, chunk_size: int | None = None):
    """A ``runner`` for :func:`~maskdet.evaluation.evaluate_scenes`: the photos processed on
    ``client`` (None: here), their records kept in ``out`` when given."""

    def run(mask_detector: MaskDetector, dataset: Dataset, progress: bool
            ) -> tuple[list[SceneResult], list[tuple[str, str]]]:
        truth = scene_ground_truth(dataset)
        items = [str(path) for path, _, _ in truth]
        spec = DetectorSpec.of(mask_detector)
        if out is None:
            records = {r["path"]: r for chunk in iter_records(
                items, spec, "evaluate", client=client, chunk_size=chunk_size,
                detector=mask_detector) for r in chunk}
        else:
            write_records(items, spec, "evaluate", out, resume=resume, client=client,
                          chunk_size=chunk_size, progress=progress, detector=mask_detector,
                          desc="evaluating")
            wanted = set(items)
            records = {r["path"]: r for r in read_results(out) if r["path"] in wanted}
        results, skipped = [], []
        for (_, gt_boxes, gt_labels), item in zip(truth, items):
            record = records[item]
            if "error" in record:
                skipped.append((item, record["error"]))
            else:
                results.append(scene_result(record, gt_boxes, gt_labels))
        return results, skipped

    return run


def evaluate_model(
    model: Classifier | str | os.PathLike | None,
    data: str | os.PathLike,
    *,
    client: Any = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    min_face: int = 0,
    label_map: Mapping[str, str | None] | None = None,
    held_out: bool = False,
    face_detector: str = "yunet",
    iou: float = 0.5,
    min_confidence: float | Mapping[str, float] | None = None,
    unlabelled: Mapping[str, Sequence[Sequence[float]]] | None = None,
    progress: bool = False,
) -> ModelEvaluation:
    """End-to-end evaluation of ``model`` on the VOC scenes ``data``, as
    :func:`maskdet.evaluation.evaluate_model` with ``end_to_end=True`` does (the same
    arguments, the same metrics), with the photos processed on ``client``'s workers.

    Args:
        client: a ``dask.distributed.Client``, or None to run in this process.
        out: keep one JSON line per photo here (``{"path", "faces", "found"}``: the faces
            kept with their ``confidence``, the boxes of every face found), so that
            ``resume`` can continue a run that stopped; None keeps them in memory only.
        chunk_size: photos per task.

    Example:
        >>> from maskdet.batch import evaluate_model, open_client
        >>> with open_client(workers=2) as client:  # doctest: +SKIP
        ...     result = evaluate_model("cnn", "mask-scenes", client=client, held_out=True)
        >>> result.metrics["mean_ap"]  # doctest: +SKIP
    """
    return evaluate_in_process(
        model, data, min_face=min_face, label_map=label_map, held_out=held_out,
        end_to_end=True, face_detector=face_detector, iou=iou, min_confidence=min_confidence,
        unlabelled=unlabelled, progress=progress,
        scene_runner=scene_runner(client, out, resume, chunk_size))
