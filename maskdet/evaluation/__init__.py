"""Measuring models: metrics of labelled face crops and of detection end to end on photos.

* :mod:`~maskdet.evaluation.classification` -- a classifier on face crops;
* :mod:`~maskdet.evaluation.scenes` -- face detection + classification on labelled photos,
  matched box by box (precision, recall, AP per class and face size);
* :mod:`~maskdet.evaluation.model` -- :func:`evaluate_model`, both protocols on a dataset
  folder, as ``maskdet evaluate`` runs them;
* :mod:`~maskdet.evaluation.tracking` -- tracked faces against ground-truth tracks
  (MOTChallenge tables, IDF1 and ID switches by py-motmetrics, distinct counts per label).
"""

from .classification import (
    classification_metrics,
    evaluate_classifier,
    evaluate_with_predictions,
    format_metrics,
)
from .model import ModelEvaluation, evaluate_model
from .scenes import (
    DEFAULT_SIZE_BUCKETS,
    OPERATING_PRECISIONS,
    SceneResult,
    average_precision,
    evaluate_scenes,
    format_scene_metrics,
    match_detections,
    precision_lower_bound,
    recall_at_precision,
    scene_detection_metrics,
    scene_ground_truth,
    scene_results,
    size_bucket,
    size_bucket_names,
)
from .tracking import ClipTracks, MotRow, TrackingMetrics, evaluate_tracks, read_mot, write_mot

__all__ = [
    "ClipTracks",
    "MotRow",
    "TrackingMetrics",
    "evaluate_tracks",
    "read_mot",
    "write_mot",
    "DEFAULT_SIZE_BUCKETS",
    "OPERATING_PRECISIONS",
    "ModelEvaluation",
    "SceneResult",
    "average_precision",
    "classification_metrics",
    "evaluate_classifier",
    "evaluate_model",
    "evaluate_scenes",
    "evaluate_with_predictions",
    "format_metrics",
    "format_scene_metrics",
    "match_detections",
    "precision_lower_bound",
    "recall_at_precision",
    "scene_detection_metrics",
    "scene_ground_truth",
    "scene_results",
    "size_bucket",
    "size_bucket_names",
]
