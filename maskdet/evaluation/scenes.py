"""End-to-end metrics of face detection + mask classification on labelled photos.

Detections are matched to the labelled face boxes image by image (:func:`match_detections`),
and scored per class: precision, recall, average precision, recall at fixed precisions, by
face size. :func:`scene_results` is the one loop that runs a
:class:`~maskdet.pipeline.MaskDetector` over the photos of a VOC dataset; evaluation, the
benchmarks and the recipe of the bundled models all score its results.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset
from ..detections import box_iou
from ..images import read_image
from ..pipeline import MaskDetector

#: Face-size buckets (pixels of a box's shorter side) of :func:`scene_detection_metrics`.
DEFAULT_SIZE_BUCKETS = (20, 40)


def match_detections(
    pred_boxes: np.ndarray, pred_scores: np.ndarray, gt_boxes: np.ndarray, iou: float = 0.5,
    gt_ignore: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match detections to ground-truth boxes, greedily by decreasing score.

    Each detection, most confident first, takes the unmatched, not-ignored ground-truth box it
    overlaps most, if their IoU is at least ``iou``: a true positive. Otherwise, if it overlaps
    an ignored box that much (e.g. a class left out of the evaluation), it is ignored: neither
    a true nor a false positive. Otherwise it is a false positive (a duplicate of a matched
    face included). Each ground-truth box is matched at most once.

    Args:
        pred_boxes: (n, 4) ``x, y, w, h``; pred_scores: (n,).
        gt_boxes: (m, 4); gt_ignore: bool (m,), boxes that neither count as missed nor make
            a detection false.

    Returns:
        ``(is_tp, matched_gt, ignored)``, in the order of the detections: bool (n,), the
        index of the matched (or, for ignored detections, overlapped) ground-truth box or -1,
        and bool (n,).
    """
    pred_boxes = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    n, m = len(pred_boxes), len(gt_boxes)
    ignore = (np.zeros(m, bool) if gt_ignore is None
              else np.asarray(gt_ignore, dtype=bool).reshape(-1))
    is_tp = np.zeros(n, bool)
    ignored = np.zeros(n, bool)
    matched = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return is_tp, matched, ignored
    overlaps = box_iou(pred_boxes, gt_boxes)
    taken = np.zeros(m, bool)
    for i in np.argsort(-scores, kind="stable"):
        free = np.where(~taken & ~ignore, overlaps[i], -1.0)
        j = int(np.argmax(free))
        if free[j] >= iou:
            is_tp[i], matched[i], taken[j] = True, j, True
            continue
        if ignore.any():
            ign = np.where(ignore, overlaps[i], -1.0)
            j = int(np.argmax(ign))
            if ign[j] >= iou:
                ignored[i], matched[i] = True, j
    return is_tp, matched, ignored


def average_precision(scores: Sequence[float], is_true_positive: Sequence[bool],
                      n_ground_truth: int) -> float:
    """All-point interpolated average precision (Pascal VOC 2010 and later).

    Detections are ranked by decreasing score (ties keep their order); the area under the
    precision-recall curve is taken after making precision non-increasing in recall.

    Args:
        scores: one per detection (false positives included, ignored ones left out).
        is_true_positive: bool per detection.
        n_ground_truth: number of ground-truth boxes (missed ones included).

    Returns:
        AP in [0, 1]; NaN when there is no ground truth.

    Example:
        >>> round(average_precision([0.9, 0.8, 0.7], [True, False, True], 3), 4)
        0.5556
    """
    if n_ground_truth <= 0:
        return float("nan")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    tp = np.asarray(is_true_positive, dtype=bool).reshape(-1)[np.argsort(-scores, kind="stable")]
    if len(tp) == 0:
        return 0.0
    ctp = np.cumsum(tp)
    recall = ctp / n_ground_truth
    precision = ctp / np.arange(1, len(tp) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def size_bucket(side: float, edges: Sequence[int] = DEFAULT_SIZE_BUCKETS) -> str:
    """The name of the face-size bucket of a box whose shorter side is ``side`` pixels:
    with edges (20, 40), ``"<20"`` (below 20), ``"20-40"`` (20 up to but excluding 40) and
    ``">=40"``."""
    edges = list(edges)
    if side < edges[0]:
        return f"<{edges[0]}"
    for lo, hi in zip(edges, edges[1:]):
        if side < hi:
            return f"{lo}-{hi}"
    return f">={edges[-1]}"


def size_bucket_names(edges: Sequence[int] = DEFAULT_SIZE_BUCKETS) -> list[str]:
    edges = list(edges)
    return ([f"<{edges[0]}"] + [f"{lo}-{hi}" for lo, hi in zip(edges, edges[1:])]
            + [f">={edges[-1]}"])


@dataclass
class SceneResult:
    """Ground truth and labelled detections of one image, for :func:`scene_detection_metrics`.

    Boxes are ``x, y, w, h`` arrays of shape (n, 4); ``pred_scores`` rank the detections
    (e.g. the face score times the label's probability). ``found_boxes``: every face the
    face detector found, for its recall, when the labelled detections are fewer (a
    confidence threshold dropped some); None: the same as ``pred_boxes``. A ground-truth
    label None marks a face the annotations leave out (:meth:`with_unlabelled`): ignored.
    ``path``: the photo's, where known.
    """

    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    pred_boxes: np.ndarray
    pred_labels: np.ndarray
    pred_scores: np.ndarray
    found_boxes: np.ndarray | None = None
    path: str | None = None

    def with_unlabelled(self, unlabelled: Mapping[str, Sequence[Sequence[float]]]
                        ) -> SceneResult:
        """The result with the faces its photo's annotations leave out (``unlabelled``: per
        photo file name without its suffix, ``x, y, w, h`` boxes, as
        :func:`~maskdet.data.read_unlabelled` reads them) added as ignored ground truth: a
        detection on one is neither a true nor a false positive, as a MOTChallenge
        distractor."""
        boxes = unlabelled.get(Path(self.path).stem, ()) if self.path else ()
        if not len(boxes):
            return self
        extra = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return replace(self, gt_boxes=np.concatenate(
                           [np.asarray(self.gt_boxes, np.float64).reshape(-1, 4), extra]),
                       gt_labels=np.concatenate([np.asarray(self.gt_labels, dtype=object),
                                                 np.array([None] * len(extra), dtype=object)]))

    def above(self, min_confidence: Mapping[str, float]) -> SceneResult:
        """The result without the detections scored below ``min_confidence`` of their label
        (labels not named keep every detection): the same photo at another operating point."""
        if not min_confidence or not len(self.pred_scores):
            return self
        floor = np.array([min_confidence.get(str(label), 0.0) for label in self.pred_labels])
        keep = np.asarray(self.pred_scores) >= floor
        return replace(self, pred_boxes=np.asarray(self.pred_boxes)[keep],
                       pred_labels=np.asarray(self.pred_labels)[keep],
                       pred_scores=np.asarray(self.pred_scores)[keep])


#: Precisions at which :func:`scene_detection_metrics` reports the best reachable recall.
OPERATING_PRECISIONS = (0.8, 0.85, 0.9)


def recall_at_precision(scores: Sequence[float], is_true_positive: Sequence[bool],
                        n_ground_truth: int, min_precision: float
                        ) -> tuple[float, float | None]:
    """The highest recall reachable with precision >= ``min_precision`` by keeping only the
    detections scored at least some threshold, and that threshold: ``(recall, threshold)``,
    ``(0.0, None)`` when no threshold reaches the precision.

    Example:
        >>> recall_at_precision([0.9, 0.8, 0.7], [True, False, True], 3, 0.6)
        (0.6666666666666666, 0.7)
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    tp = np.asarray(is_true_positive, dtype=bool).reshape(-1)[order]
    if n_ground_truth <= 0 or len(tp) == 0:
        return 0.0, None
    ctp = np.cumsum(tp)
    precision = ctp / np.arange(1, len(tp) + 1)
    # Only cut between different scores: equal scores are kept or dropped together.
    last = np.r_[scores[order][1:] != scores[order][:-1], True]
    ok = np.flatnonzero((precision >= min_precision) & last)
    if not len(ok):
        return 0.0, None
    best = ok[np.argmax(ctp[ok])]
    return float(ctp[best] / n_ground_truth), float(scores[order][best])


def precision_lower_bound(tp: int, n: int, confidence: float = 0.9) -> float:
    """A one-sided lower confidence bound of a precision ``tp / n`` (Wilson score interval):
    the precision is at least this with probability ``confidence``; 0 when ``n`` is 0.

    On a few dozen validation faces a precision of 20/22 is no evidence of a precision of
    0.85 (the bound is 0.80): choosing an operating point on the bound, not on the observed
    value, keeps small validation sets from picking a threshold that holds only by luck.

    Example:
        >>> round(precision_lower_bound(18, 18), 3), round(precision_lower_bound(20, 22), 3)
        (0.916, 0.8)
    """
    from statistics import NormalDist

    if n <= 0:
        return 0.0
    z = NormalDist().inv_cdf(confidence)
    p = tp / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def _prf(scores: list[float], tp: list[bool], n_gt: int) -> dict[str, Any]:
    n_tp = int(np.sum(tp))
    n_fp = len(tp) - n_tp
    at = {}
    for p in OPERATING_PRECISIONS:
        recall, threshold = recall_at_precision(scores, tp, n_gt, p)
        at[f"{p:g}"] = {"recall": recall, "threshold": threshold}
    return {"ground_truth": int(n_gt), "detections": len(tp), "tp": n_tp, "fp": n_fp,
            "precision": n_tp / len(tp) if tp else float("nan"),
            "recall": n_tp / n_gt if n_gt else float("nan"),
            "ap": average_precision(scores, tp, n_gt), "recall_at_precision": at}


def scene_detection_metrics(
    results: Sequence[SceneResult], classes: Sequence[str], iou: float = 0.5,
    size_buckets: Sequence[int] = DEFAULT_SIZE_BUCKETS, min_face: int = 0,
) -> dict[str, Any]:
    """End-to-end metrics of a face detector + mask classifier against labelled face boxes.

    * ``detector_recall[label]``: the share of ground-truth faces of each label (every label,
      including those not in ``classes``) that some detection overlaps with IoU >= ``iou``,
      whatever its predicted label (of ``found_boxes`` where given: the face detector's
      recall before a confidence threshold); overall and by face size.
    * ``per_class[c]``: precision, recall and AP (all-point, see :func:`average_precision`) of
      the detections labelled ``c`` against the ground-truth faces of class ``c``, matched
      with :func:`match_detections` image by image. Ground-truth faces whose label is not in
      ``classes`` (``mask_weared_incorrect`` for a two-class model) are *ignored*: a detection
      that matches one is neither a true nor a false positive, and they are never missed.
    * ``by_size[bucket][c]``: the same per face-size bucket (a box's shorter side; see
      :func:`size_bucket`): ground truth by its own size, true positives and ignored
      detections by the size of the face they match, false positives by their own size.
    * Ground-truth faces labelled None (faces the annotations leave out, see
      :meth:`SceneResult.with_unlabelled`) are ignored the same way, and counted in
      ``ignored_unlabelled``.
    * ``min_face``: ground-truth faces whose shorter side is below it are *ignored* like
      faces of unknown classes (never missed, a detection that matches one is neither a true
      nor a false positive) and left out of ``ground_truth`` and ``detector_recall``; they
      are counted in ``ignored_small``. Detections below it are dropped, as
      :class:`~maskdet.pipeline.MaskDetector` with the same ``min_face`` does.

    Args:
        results: one :class:`SceneResult` per image.
        classes: the classes to score (the classifier's).
        min_face: the smallest face (shorter side, pixels) that counts; 0: every face.
    """
    classes = [str(c) for c in classes]
    buckets = size_bucket_names(size_buckets)
    gt_total: Counter = Counter()
    gt_found: Counter = Counter()
    # per (class, bucket or None): scores, tp flags, ground-truth count
    scored: dict[tuple[str, str | None], tuple[list[float], list[bool]]] = {
        (c, b): ([], []) for c in classes for b in [None, *buckets]}
    n_gt: Counter = Counter()
    ignored_small: Counter = Counter()
    n_unlabelled = 0
    for r in results:
        gt_boxes = np.asarray(r.gt_boxes, dtype=np.float64).reshape(-1, 4)
        gt_labels = np.asarray(r.gt_labels, dtype=object).reshape(-1)
        pred_boxes = np.asarray(r.pred_boxes, dtype=np.float64).reshape(-1, 4)
        pred_labels = np.asarray(r.pred_labels, dtype=object).reshape(-1)
        pred_scores = np.asarray(r.pred_scores, dtype=np.float64).reshape(-1)
        if min_face > 0 and len(pred_boxes):
            big = pred_boxes[:, 2:].min(axis=1) >= min_face
            pred_boxes, pred_labels, pred_scores = (pred_boxes[big], pred_labels[big],
                                                    pred_scores[big])
        gt_bucket = [size_bucket(min(w, h), size_buckets) for _, _, w, h in gt_boxes]
        unlabelled = np.array([g is None for g in gt_labels], dtype=bool)
        n_unlabelled += int(unlabelled.sum())
        # Too small, or left out by the annotations: ignored.
        counted = (gt_boxes[:, 2:].min(axis=1) >= min_face) & ~unlabelled
        ignored_small.update(str(label) for label in gt_labels[~counted & ~unlabelled])
        found_boxes = pred_boxes
        if r.found_boxes is not None:
            found_boxes = np.asarray(r.found_boxes, dtype=np.float64).reshape(-1, 4)
            found_boxes = found_boxes[found_boxes[:, 2:].min(axis=1) >= min_face]
        found = ((box_iou(gt_boxes, found_boxes).max(axis=1) >= iou) if len(found_boxes)
                 else np.zeros(len(gt_boxes), bool))
        for label, bucket, hit, count in zip(gt_labels, gt_bucket, found, counted):
            if not count:
                continue
            for key in ((label, None), (label, bucket)):
                gt_total[key] += 1
                gt_found[key] += int(hit)
        known = np.array([str(g) in classes for g in gt_labels], dtype=bool) & counted
        for c in classes:
            is_c = (gt_labels == c) & counted
            for b in [None, *buckets]:
                n_gt[(c, b)] += int(np.sum(is_c & (np.array(gt_bucket) == b if b else True)))
            mine = pred_labels == c
            if not mine.any():
                continue
            # Ground truth of other known classes is simply absent for class c; the rest is
            # ignored.
            cand = np.flatnonzero(is_c | ~known)
            is_tp, matched, ignored = match_detections(
                pred_boxes[mine], pred_scores[mine], gt_boxes[cand], iou, ~known[cand])
            for box, score, tp, j, ign in zip(pred_boxes[mine], pred_scores[mine], is_tp,
                                              matched, ignored):
                if ign:
                    continue
                bucket = (gt_bucket[cand[j]] if j >= 0
                          else size_bucket(min(box[2], box[3]), size_buckets))
                for b in (None, bucket):
                    scored[(c, b)][0].append(float(score))
                    scored[(c, b)][1].append(bool(tp))
    labels = sorted({label for label, _ in gt_total})

    def recall(label: str, b: str | None) -> float:
        n = gt_total[(label, b)]
        return gt_found[(label, b)] / n if n else float("nan")

    out: dict[str, Any] = {
        "iou": iou, "classes": classes, "size_buckets": buckets, "images": len(results),
        "min_face": int(min_face), "ignored_small": dict(sorted(ignored_small.items())),
        "ignored_unlabelled": n_unlabelled,
        "ground_truth": {label: gt_total[(label, None)] for label in labels},
        "detector_recall": {label: recall(label, None) for label in labels},
        "per_class": {c: _prf(*scored[(c, None)], n_gt[(c, None)]) for c in classes},
        "by_size": {b: {"ground_truth": {label: gt_total[(label, b)] for label in labels},
                        "detector_recall": {label: recall(label, b) for label in labels},
                        **{c: _prf(*scored[(c, b)], n_gt[(c, b)]) for c in classes}}
                    for b in buckets},
    }
    aps = [out["per_class"][c]["ap"] for c in classes if n_gt[(c, None)]]
    out["mean_ap"] = float(np.mean(aps)) if aps else float("nan")
    return out


def scene_results(
    mask_detector: MaskDetector, dataset: Dataset, progress: bool = False,
) -> tuple[list[SceneResult], list[tuple[str, str]]]:
    """Run ``mask_detector`` on every photo of a VOC dataset: one :class:`SceneResult` per
    readable photo (detections at its ``min_confidence``, ranked by confidence; every face it
    found before that threshold in ``found_boxes``), and ``(path, reason)`` per unreadable
    photo, skipped.

    The results can be scored again at other thresholds without rerunning the models
    (:meth:`SceneResult.above`, :func:`scene_detection_metrics`).
    """
    from tqdm.auto import tqdm

    results, skipped = [], []
    for path, gt_boxes, gt_labels in tqdm(scene_ground_truth(dataset), desc="evaluating",
                                          unit="photo", disable=not progress):
        try:
            image = read_image(path)
        except Exception as exc:  # noqa: BLE001 -- batch work skips a bad photo
            skipped.append((str(path), str(exc)))
            continue
        found = mask_detector.classify(image, mask_detector.find_faces(image))
        faces = mask_detector.keep_confident(found)
        results.append(SceneResult(gt_boxes, gt_labels, faces.boxes, faces.labels,
                                   faces.confidences, found.boxes, str(path)))
    return results, skipped


#: The signature of :func:`scene_results`: what :func:`evaluate_scenes` calls to run a detector
#: over the photos of a dataset.
SceneRunner = Callable[[MaskDetector, Dataset, bool],
                       tuple[list[SceneResult], list[tuple[str, str]]]]


def evaluate_scenes(
    mask_detector: MaskDetector, dataset: Dataset, iou: float = 0.5,
    size_buckets: Sequence[int] = DEFAULT_SIZE_BUCKETS, progress: bool = False,
    keep_results: bool = False, runner: SceneRunner | None = None,
    unlabelled: Mapping[str, Sequence[Sequence[float]]] | None = None,
) -> dict[str, Any]:
    """Run a :class:`~maskdet.pipeline.MaskDetector` on the photos of a VOC dataset
    (:func:`scene_results`) and score it with :func:`scene_detection_metrics`. Unreadable
    photos are skipped and listed in ``skipped``.

    Args:
        mask_detector: face detector + model; its ``min_face`` is the evaluation's too:
            labelled faces smaller than that are ignored (see :func:`scene_detection_metrics`).
        dataset: the VOC scenes, loaded *without* ``min_face`` (faces left out of the dataset
            would make the detections on them false positives).
        keep_results: also return the :class:`SceneResult` of every photo in ``results``.
        runner: what runs the detector over the photos, called as :func:`scene_results`
            is (the default); e.g. :mod:`maskdet.batch` runs them on a Dask cluster.
        unlabelled: faces the annotations leave out, per photo (see
            :meth:`SceneResult.with_unlabelled`): ignored, neither hits nor false.
    """
    results, skipped = (runner or scene_results)(mask_detector, dataset, progress)
    if unlabelled:
        results = [r.with_unlabelled(unlabelled) for r in results]
    out = scene_detection_metrics(results, mask_detector.classes, iou, size_buckets,
                                  mask_detector.min_face)
    out["skipped"] = skipped
    if keep_results:
        out["results"] = results
    return out


def scene_ground_truth(dataset: Dataset) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """``(image path, boxes (n, 4), labels (n,))`` per photo of a VOC dataset, in order."""
    by_path: dict[Any, list] = {}
    for s in dataset.samples:
        if s.box is not None:
            by_path.setdefault(s.path, []).append(s)
    return [(p, np.array([s.box for s in ss], dtype=np.float64).reshape(-1, 4),
             np.array([s.label for s in ss], dtype=object)) for p, ss in by_path.items()]


def format_scene_metrics(metrics: dict[str, Any]) -> str:
    """A compact table of :func:`scene_detection_metrics`: precision, recall and AP per class,
    mean AP, and the face detector's recall per ground-truth label."""

    def num(value: float, width: int) -> str:
        return f"{'-':>{width}}" if value != value else f"{value:{width}.4f}"  # NaN: no data

    classes = list(metrics["per_class"])
    width = max(12, *(len(c) for c in classes))
    lines = [f"{'class':<{width}}  precision  recall      AP  detections  faces"]
    for c, m in metrics["per_class"].items():
        lines.append(f"{c:<{width}}  {num(m['precision'], 9)}  {num(m['recall'], 6)}  "
                     f"{num(m['ap'], 6)}  {m['detections']:10d}  {m['ground_truth']:5d}")
    lines.append(f"mean AP {num(metrics['mean_ap'], 0).strip()}   (IoU >= {metrics['iou']:g}, "
                 f"{metrics['images']} photos)")
    recall = metrics["detector_recall"]
    if recall:
        lines.append("face detector recall: " + ", ".join(
            f"{label} {num(r, 0).strip()} of {metrics['ground_truth'][label]}"
            for label, r in recall.items()))
    if metrics.get("ignored_small"):
        small = ", ".join(f"{k} {v}" for k, v in metrics["ignored_small"].items())
        lines.append(f"ignored (faces below {metrics['min_face']} px): {small}")
    if metrics.get("ignored_unlabelled"):
        lines.append(f"ignored (faces the annotations leave out): "
                     f"{metrics['ignored_unlabelled']}")
    if metrics.get("skipped"):
        lines.append(f"unreadable photos skipped: {len(metrics['skipped'])}")
    return "\n".join(lines)
