"""The model report: a classifier's probabilities on labelled face crops drawn as a confusion
matrix, ROC and precision-recall curves, a grid of the misclassified crops with their scores,
and training curves when the classifier kept a per-epoch history (the CNN). Files:
``report.html``, ``metrics.json`` and one PNG per figure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..evaluation import classification_metrics
from ..faces import FaceCrops
from .html import Report, grid_figure, html_table, image_tile, new_figure

#: At most this many misclassified crops are drawn (the most confident mistakes first).
MAX_MISCLASSIFIED = 48

MODEL_FIGURES = ("training_curves.png", "confusion_matrix.png", "roc_curves.png",
                 "pr_curves.png", "misclassified.png")


def write_model_report(
    out_dir: str | os.PathLike,
    classes: Sequence[str],
    y_true: Sequence[str] | None = None,
    proba: np.ndarray | None = None,
    images: Sequence[np.ndarray] | None = None,
    samples: Sequence[Any] | None = None,
    history: dict[str, Sequence[float]] | None = None,
    metrics: dict[str, Any] | None = None,
    title: str = "Model report",
    max_misclassified: int = MAX_MISCLASSIFIED,
) -> Path:
    """Write the figures, ``metrics.json`` and ``report.html`` of a classifier on labelled data.

    Args:
        out_dir: the report folder (created).
        classes: the classifier's classes, the columns of ``proba``.
        y_true: true labels, shape (n,); None for a report of the training curves only.
        proba: predicted probabilities, shape (n, len(classes)).
        images: the face crops (BGR), for the grid of misclassified ones.
        samples: the :class:`~maskdet.data.Sample` of each crop, to name its file.
        history: per-epoch lists (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
            ``lr``) -- the CNN's ``metrics_["history"]``; training curves are drawn if given.
        metrics: extra numbers to keep in ``metrics.json`` (e.g. ``ms_per_face``).

    Returns:
        The path of ``report.html``.
    """
    classes = [str(c) for c in classes]
    rep = Report(out_dir, title, MODEL_FIGURES)
    numbers: dict[str, Any] = {"classes": classes}
    history = {k: [float(x) for x in v] for k, v in (history or {}).items()
               if isinstance(v, (list, tuple, np.ndarray)) and len(v)}
    if history:
        _training_curves(rep, history)
        numbers["history"] = history
    if y_true is not None and proba is not None and len(y_true):
        y = np.asarray([str(v) for v in y_true], dtype=object)
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape != (len(y), len(classes)):
            raise ValueError(f"proba must have shape {(len(y), len(classes))}, got {proba.shape}")
        pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        m = {**classification_metrics(y, pred, classes, proba), **(metrics or {})}
        numbers["metrics"] = m
        numbers["n"] = int(len(y))
        _metrics_section(rep, m)
        _confusion_figure(rep, m["confusion_matrix"])
        numbers["roc"], numbers["pr"] = _curves(rep, y, proba, classes)
        numbers["misclassified"] = _misclassified(rep, y, pred, proba, classes, images, samples,
                                                  max_misclassified)
    elif metrics:
        numbers["metrics"] = metrics
    if not rep.figures:
        rep.add("<p>Nothing to show: no labelled test data and no training history.</p>")
    return rep.write("metrics.json", numbers, [])


def write_classifier_report(
    out_dir: str | os.PathLike,
    classifier: Classifier,
    crops: FaceCrops | None = None,
    proba: np.ndarray | None = None,
    metrics: dict[str, Any] | None = None,
    title: str = "Model report",
) -> Path:
    """:func:`write_model_report` for a classifier and the face crops it was measured on.

    Args:
        classifier: a fitted :class:`~maskdet.Classifier`; its ``metrics_["history"]`` (the
            CNN's per-epoch history, also kept in bundles) gives the training curves.
        crops: the :class:`~maskdet.faces.FaceCrops` measured, or None (curves only).
        proba: the probabilities of the crops whose label the classifier knows, in order, as
            :func:`~maskdet.evaluation.evaluate_with_predictions` returns them; computed here
            when None.
        metrics: the metrics measured, kept in ``metrics.json``.

    Example:
        >>> result = maskdet.train(["data/faces"], out="m.maskdet")  # doctest: +SKIP
        >>> write_classifier_report("report", result.classifier, result.test_crops,
        ...                         result.test_proba, result.test_metrics)  # doctest: +SKIP
    """
    classes = [str(c) for c in classifier.classes_]
    history = (getattr(classifier, "metrics_", None) or {}).get("history")
    if crops is None or not len(crops):
        return write_model_report(out_dir, classes, history=history, metrics=metrics,
                                  title=title)
    keep = [str(label) in classes for label in crops.labels]
    images = [im for im, k in zip(crops.images, keep) if k]
    samples = [s for s, k in zip(crops.samples, keep) if k]
    labels = [str(label) for label, k in zip(crops.labels, keep) if k]
    if proba is None:
        proba = classifier.predict_proba(images)
    return write_model_report(out_dir, classes, labels, proba, images=images, samples=samples,
                              history=history, metrics=metrics, title=title)


def _training_curves(rep: Report, history: dict[str, list[float]]) -> None:
    panels = [(k, t) for k, t in (("accuracy", "Accuracy"), ("loss", "Loss"),
                                  ("lr", "Learning rate")) if k in history or f"val_{k}" in history]
    if not panels:
        return
    fig = new_figure(4.2 * len(panels), 3.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    best = int(np.argmin(history["val_loss"])) + 1 if "val_loss" in history else None
    for ax, (key, name) in zip(axes, panels):
        for k, label, style in ((key, "training", "-o"), (f"val_{key}", "validation", "-s")):
            if k in history:
                epochs = np.arange(1, len(history[k]) + 1)
                ax.plot(epochs, history[k], style, markersize=3, label=label)
        if best is not None and key != "lr":
            ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend(fontsize=8)
    rep.add("<h2>Training</h2>")
    rep.figure("training_curves.png", fig, "Training and validation accuracy and loss per epoch")


def _metrics_section(rep: Report, m: dict[str, Any]) -> None:
    head = [["faces", m["n"]], ["accuracy", m["accuracy"]],
            ["balanced accuracy", m["balanced_accuracy"]]]
    if "roc_auc" in m:
        head.append(["ROC-AUC", m["roc_auc"]])
    rep.add("<h2>Metrics</h2>" + html_table(["", "value"], head) + html_table(
        ["class", "precision", "recall", "F1", "support"],
        [[c, v["precision"], v["recall"], v["f1"], v["support"]]
         for c, v in m["per_class"].items()]))
    cm = m["confusion_matrix"]
    rep.add("<p>Confusion matrix (rows: true class, columns: predicted class)</p>" + html_table(
        ["true \\ predicted", *cm["labels"]],
        [[c, *row] for c, row in zip(cm["labels"], cm["matrix"])]))


def _confusion_figure(rep: Report, cm: dict[str, Any]) -> None:
    labels = cm["labels"]
    matrix = np.asarray(cm["matrix"], dtype=np.int64)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    k = len(labels)
    fig = new_figure(1.4 * k + 2.6, 1.2 * k + 1.8)
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{matrix[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=9)
    ax.set_xticks(range(k), labels, rotation=20, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (count, share of the true class)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    rep.figure("confusion_matrix.png", fig, "Confusion matrix")


def _curves(rep: Report, y: np.ndarray, proba: np.ndarray,
            classes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    roc: dict[str, Any] = {}
    pr: dict[str, Any] = {}
    fig_roc = new_figure(4.6, 4.2)
    fig_pr = new_figure(4.6, 4.2)
    ax_roc, ax_pr = fig_roc.add_subplot(), fig_pr.add_subplot()
    for i, c in enumerate(classes):
        positive = y == c
        if positive.all() or not positive.any():
            continue  # a curve needs both positives and negatives
        fpr, tpr, _ = roc_curve(positive, proba[:, i])
        precision, recall, _ = precision_recall_curve(positive, proba[:, i])
        roc[c] = {"auc": float(auc(fpr, tpr))}
        pr[c] = {"average_precision": float(average_precision_score(positive, proba[:, i])),
                 "prevalence": float(positive.mean())}
        ax_roc.plot(fpr, tpr, color=f"C{i}", label=f"{c} (AUC {roc[c]['auc']:.3f})")
        ax_pr.plot(recall, precision, color=f"C{i}",
                   label=f"{c} (AP {pr[c]['average_precision']:.3f})")
        ax_pr.axhline(positive.mean(), color=f"C{i}", linestyle=":", linewidth=0.8)
    if not roc:
        return roc, pr
    ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    for ax, (xl, yl, t) in ((ax_roc, ("false positive rate", "true positive rate",
                                      "ROC, one class vs the rest")),
                            (ax_pr, ("recall", "precision",
                                     "Precision-recall, one class vs the rest"))):
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(t, fontsize=10)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8, loc="lower right" if ax is ax_roc else "lower left")
    rep.figure("roc_curves.png", fig_roc, "ROC curves (one class against the rest)")
    rep.figure("pr_curves.png", fig_pr, "Precision-recall curves (dotted: the class's share)")
    return roc, pr


def _misclassified(rep: Report, y: np.ndarray, pred: np.ndarray, proba: np.ndarray,
                   classes: list[str], images: Sequence[np.ndarray] | None,
                   samples: Sequence[Any] | None, limit: int) -> dict[str, Any]:
    wrong = np.flatnonzero(y != pred)
    score = proba.max(axis=1)
    order = wrong[np.argsort(-score[wrong], kind="stable")]  # the most confident mistakes first
    items = []
    for i in order:
        item: dict[str, Any] = {
            "index": int(i), "true": str(y[i]), "predicted": str(pred[i]),
            "score": round(float(score[i]), 4),
            "true_score": round(float(proba[i, classes.index(str(y[i]))]), 4)
            if str(y[i]) in classes else None}
        if samples is not None:
            s = samples[i]
            item["path"] = str(getattr(s, "path", s))
            box = getattr(s, "box", None)
            item["box"] = list(box) if box is not None else None
        items.append(item)
    shown = items[:limit] if images is not None else []
    out = {"total": len(items), "shown": len(shown), "items": items[:max(limit, 200)]}
    rep.add(f"<h2>Misclassified ({len(items)} of {len(y)})</h2>")
    if not shown:
        if items:
            rep.add("<p>(No images were given to show them.)</p>")
        return out
    tiles = [image_tile(images[it["index"]]) for it in shown]
    caps = [f"{it['true'][:14]}\n→ {it['predicted'][:14]} {it['score']:.2f}" for it in shown]
    cols = min(8, max(4, len(tiles)))  # a few tiles still make a figure wide enough to read
    fig = grid_figure(tiles, caps, cols, caption_lines=2)
    rep.figure("misclassified.png", fig, f"Misclassified faces, the most confident mistakes "
                                         f"first ({len(shown)} of {len(items)}): true class, "
                                         "→ predicted class and its probability")
    rep.add(html_table(["#", "file", "true", "predicted", "score"],
                       [[k + 1, it.get("path", it["index"]), it["true"], it["predicted"],
                         it["score"]] for k, it in enumerate(shown)], 2))
    return out
