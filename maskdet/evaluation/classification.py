"""Metrics of a classifier on labelled face crops: accuracy, per-class precision and recall,
confusion matrix, ROC-AUC."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..errors import DatasetError


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str],
    proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class precision/recall/F1/support and the confusion
    matrix (rows: true class, columns: predicted class, both in ``classes`` order).

    Classes absent from ``y_true`` are left out of the balanced accuracy. With ``proba``
    (columns in ``classes`` order) the one-vs-rest ROC-AUC is added where defined.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    classes = [str(c) for c in classes]
    if len(y_true) == 0:
        raise ValueError("no samples to evaluate")
    cm = confusion_matrix(y_true, y_pred, labels=classes)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    present = s > 0
    out: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(np.mean(r[present])),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                "support": int(s[i])}
            for i, c in enumerate(classes)
        },
        "confusion_matrix": {"labels": classes, "matrix": cm.tolist()},
    }
    if proba is not None and present.sum() >= 2:
        try:
            if len(classes) == 2:
                out["roc_auc"] = float(roc_auc_score(y_true == classes[1], proba[:, 1]))
            else:
                cols = np.flatnonzero(present)
                sub = proba[:, cols] / np.clip(proba[:, cols].sum(1, keepdims=True), 1e-12, None)
                out["roc_auc"] = float(roc_auc_score(y_true, sub, multi_class="ovr",
                                                     labels=[classes[i] for i in cols]))
        except ValueError:
            pass
    return out


def evaluate_classifier(
    classifier: Classifier, images: Sequence[np.ndarray], labels: Sequence[str]
) -> dict[str, Any]:
    """Run ``classifier`` on face crops and compute :func:`classification_metrics`.

    Labels the classifier does not know are left out and counted in ``unknown_labels``.
    """
    return evaluate_with_predictions(classifier, images, labels)[0]


def evaluate_with_predictions(
    classifier: Classifier, images: Sequence[np.ndarray], labels: Sequence[str]
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """:func:`evaluate_classifier`, also returning the probabilities (rows: the faces whose
    label the classifier knows, columns: ``classes_``) and the boolean mask of those faces
    (shape (len(images),)), e.g. for :func:`maskdet.reports.write_model_report`."""
    labels = np.asarray(labels, dtype=object)
    known = set(map(str, classifier.classes_))
    keep = np.array([str(label) in known for label in labels], dtype=bool)
    unknown = Counter(str(label) for label in labels[~keep])
    images = [im for im, k in zip(images, keep) if k]
    if not images:
        raise DatasetError(f"none of the labels ({', '.join(sorted(unknown))}) is a class of "
                           f"the model ({', '.join(sorted(known))}); map them with --map FROM=TO")
    start = time.perf_counter()
    proba = classifier.predict_proba(images)
    seconds = time.perf_counter() - start
    pred = classifier.classes_[proba.argmax(axis=1)].astype(object)
    metrics = classification_metrics(labels[keep], pred, classifier.classes_, proba)
    metrics["unknown_labels"] = dict(unknown)
    metrics["ms_per_face"] = round(1000 * seconds / max(1, len(images)), 3)
    return metrics, proba, keep


def format_metrics(metrics: dict[str, Any]) -> str:
    """A human-readable table of :func:`classification_metrics`."""
    lines = [f"accuracy {metrics['accuracy']:.4f}   balanced accuracy "
             f"{metrics['balanced_accuracy']:.4f}   ({metrics['n']} faces)"]
    if "roc_auc" in metrics:
        lines[0] += f"   ROC-AUC {metrics['roc_auc']:.4f}"
    classes = list(metrics["per_class"])
    width = max(12, *(len(c) for c in classes))
    lines.append(f"{'class':<{width}}  precision  recall     f1  support")
    for c, m in metrics["per_class"].items():
        lines.append(f"{c:<{width}}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:5.4f}"
                     f"  {m['support']:7d}")
    cm = metrics["confusion_matrix"]
    lines.append("confusion matrix (rows: true, columns: predicted)")
    lines.append(" " * (width + 2) + "  ".join(f"{c[:12]:>12}" for c in cm["labels"]))
    for c, row in zip(cm["labels"], cm["matrix"]):
        lines.append(f"{c:<{width}}  " + "  ".join(f"{v:>12d}" for v in row))
    if metrics.get("unknown_labels"):
        left = ", ".join(f"{k} {v}" for k, v in metrics["unknown_labels"].items())
        lines.append(f"left out (classes the model does not know): {left}")
    return "\n".join(lines)
