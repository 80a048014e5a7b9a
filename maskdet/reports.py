"""Visual reports: figures, a self-contained HTML page and a JSON of the numbers.

Two reports, each written into one folder:

* :func:`write_dataset_report` -- from a :func:`maskdet.analysis.analyze_dataset` result:
  class distribution, image sizes and aspect ratios, formats, sample images per class,
  detection rate per class, duplicates, VOC faces per image and face sizes, unreadable files.
  Files: ``report.html``, ``analysis.json`` and one PNG per figure.
* :func:`write_model_report` -- from a classifier's probabilities on labelled face crops:
  confusion matrix, ROC and precision-recall curves, a grid of the misclassified crops with
  their scores, training curves when the classifier kept a per-epoch history (the CNN).
  Files: ``report.html``, ``metrics.json`` and one PNG per figure.

``report.html`` embeds every PNG (base64 ``data:`` URIs) so that it can be sent alone, and
links each to the PNG file beside it. Every file is written under a temporary name and renamed
into place. matplotlib is imported only here, and only its Agg canvas is used (no ``pyplot``):
nothing opens a window, no display is needed and the caller's matplotlib backend is untouched.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from .errors import ImageReadError, MaskdetError

if TYPE_CHECKING:
    from .analysis import DatasetAnalysis

logger = logging.getLogger(__name__)

#: At most this many misclassified crops are drawn (the most confident mistakes first).
MAX_MISCLASSIFIED = 48

DATASET_FIGURES = ("class_distribution.png", "image_sizes.png", "samples.png",
                   "detection_rate.png", "duplicates.png", "faces_per_image.png",
                   "face_sizes.png")
MODEL_FIGURES = ("training_curves.png", "confusion_matrix.png", "roc_curves.png",
                 "pr_curves.png", "misclassified.png")

_TILE = 96  # pixels of one image tile in the grids


# -- writing --------------------------------------------------------------------------------------
def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else list(o) if isinstance(o, (tuple, set)) else str(o)))


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _e(value: Any) -> str:
    return html.escape(str(value))


class _Report:
    """Collects figures and HTML sections, then writes the folder."""

    def __init__(self, out_dir: str | os.PathLike, title: str, known: Sequence[str]) -> None:
        self.dir = Path(out_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise MaskdetError(f"{self.dir}: exists and is not a folder; give a folder for the "
                               "report")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.known = known
        self.figures: list[str] = []
        self.parts: list[str] = []

    def figure(self, name: str, fig, caption: str) -> None:
        data = _png(fig)
        _write_atomic(self.dir / name, data)
        self.figures.append(name)
        b64 = base64.b64encode(data).decode("ascii")
        self.parts.append(
            f'<figure id="{_e(name)}"><a href="{_e(name)}"><img src="data:image/png;base64,'
            f'{b64}" alt="{_e(caption)}"></a><figcaption>{_e(caption)} '
            f'(<a href="{_e(name)}">{_e(name)}</a>)</figcaption></figure>')

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def write(self, json_name: str, numbers: dict[str, Any], warnings: Sequence[str]) -> Path:
        for name in self.known:  # figures of an earlier report that this one does not have
            if name not in self.figures and (self.dir / name).is_file():
                (self.dir / name).unlink()
        numbers = {**numbers, "figures": list(self.figures)}
        _write_atomic(self.dir / json_name,
                      json.dumps(_jsonable(numbers), indent=1, ensure_ascii=False).encode())
        warn = ""
        if warnings:
            warn = ('<div class="warnings"><h2>Warnings</h2><ul>'
                    + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul></div>")
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(self.title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; margin-top: 1.8em; }}
table {{ border-collapse: collapse; margin: .5em 0; font-size: .9em; }}
td, th {{ border: 1px solid #ccc; padding: .2em .6em; text-align: right; }}
td.l, th.l {{ text-align: left; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
figcaption {{ font-size: .85em; color: #555; }}
.warnings {{ background: #fff4e0; border: 1px solid #e0a040; padding: .2em 1em; }}
.small {{ font-size: .8em; color: #555; }}
</style></head><body>
<h1>{_e(self.title)}</h1>
{warn}
{chr(10).join(self.parts)}
<p class="small">Numbers: <a href="{_e(json_name)}">{_e(json_name)}</a>. Figures:
{", ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in self.figures)}.</p>
</body></html>
"""
        path = self.dir / "report.html"
        _write_atomic(path, page.encode("utf-8"))
        logger.info("wrote %s (%d figures)", path, len(self.figures))
        return path


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="l"' if i < left else ""
        if isinstance(v, float):
            v = f"{v:.4g}"
        return f"<{tag}{cls}>{_e(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# -- image tiles ----------------------------------------------------------------------------------
def _tile(image: np.ndarray | None, size: int = _TILE) -> np.ndarray:
    """An RGB square tile: the image shrunk to fit, centred on grey."""
    tile = np.full((size, size, 3), 235, np.uint8)
    if image is None or image.size == 0:
        return tile
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                       else cv2.INTER_LINEAR)
    y, x = (size - nh) // 2, (size - nw) // 2
    tile[y:y + nh, x:x + nw] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return tile


def _load_tile(path: str, box: Sequence[int] | None = None) -> np.ndarray:
    from .faces import DEFAULT_MARGIN, crop_face
    from .images import read_image

    try:
        image = read_image(path)
        if box is not None:
            image = crop_face(image, box, DEFAULT_MARGIN)
    except (ImageReadError, ValueError):
        image = None
    return _tile(image)


def _grid_figure(tiles: Sequence[np.ndarray], captions: Sequence[str], cols: int,
                 row_titles: Sequence[str] | None = None, caption_lines: int = 1):
    """A figure of image tiles, ``cols`` per row, each with its caption above it."""
    rows = max(1, -(-len(tiles) // cols))
    fig = _new_figure(1.25 * cols + (0.3 if row_titles else 0),
                      (1.25 + 0.17 * caption_lines) * rows + 0.2)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (tile, cap) in enumerate(zip(tiles, captions)):
        r, c = divmod(k, cols)
        ax = axes[r, c]
        ax.imshow(tile)
        ax.set_title(cap, fontsize=7)
    if row_titles:
        for r, title in enumerate(row_titles):
            axes[r, 0].axis("on")
            axes[r, 0].set_xticks([])
            axes[r, 0].set_yticks([])
            for spine in axes[r, 0].spines.values():
                spine.set_visible(False)
            axes[r, 0].set_ylabel(title, fontsize=9, rotation=90)
    return fig


# -- dataset report -------------------------------------------------------------------------------
def write_dataset_report(analysis: DatasetAnalysis, out_dir: str | os.PathLike,
                         title: str | None = None) -> Path:
    """Write the figures, ``analysis.json`` and ``report.html`` of a dataset analysis.

    Returns:
        The path of ``report.html``.

    Example:
        >>> from maskdet.analysis import analyze_dataset
        >>> analysis = analyze_dataset("data/mask-faces")  # doctest: +SKIP
        >>> write_dataset_report(analysis, "reports/mask-faces")  # doctest: +SKIP
    """
    s = analysis.summary
    voc = s["layout"] == "voc"
    classes = s["classes"]
    rep = _Report(out_dir, title or f"Dataset analysis: {s['root']}", DATASET_FIGURES)
    unit = "faces" if voc else "images"

    # Overview and class distribution.
    rows = [[c, s["counts"][c]] + ([s["images_per_class"][c]] if voc else []) for c in classes]
    rep.add(f"<h2>Classes</h2><p>{_e(s['layout'])} dataset at <code>{_e(s['root'])}</code>: "
            f"{sum(s['counts'].values())} {unit} in {s['files']} files "
            f"({s['readable_files']} readable).</p>"
            + _table(["class", unit] + (["images with it"] if voc else []), rows))
    fig = _new_figure(max(4.0, 1.3 * len(classes) + 1.5), 3.2)
    ax = fig.add_subplot()
    bars = ax.bar(classes, [s["counts"][c] for c in classes],
                  color=[f"C{i}" for i in range(len(classes))])
    ax.bar_label(bars)
    ax.set_ylabel(unit)
    ax.set_title(f"{unit.capitalize()} per class")
    ax.margins(y=0.15)
    rep.figure("class_distribution.png", fig, f"{unit.capitalize()} per class")

    # Image sizes and aspect ratios.
    readable = [r for r in analysis.records if r.readable]
    groups = [("all", readable)] if voc else [(c, [r for r in readable if c in r.labels])
                                              for c in classes]
    sides = [min(r.width, r.height) for r in readable]
    if sides:
        fig = _new_figure(9, 3.2)
        ax1, ax2 = fig.subplots(1, 2)
        bins = np.linspace(0, max(sides) + 1, 30)
        abins = np.linspace(min(r.width / r.height for r in readable) - 0.01,
                            max(r.width / r.height for r in readable) + 0.01, 30)
        for name, rs in groups:
            ax1.hist([min(r.width, r.height) for r in rs], bins=bins, histtype="step",
                     label=name, linewidth=1.5)
            ax2.hist([r.width / r.height for r in rs], bins=abins, histtype="step", label=name,
                     linewidth=1.5)
        ax1.set_xlabel("shorter side (px)")
        ax1.set_ylabel("files")
        ax1.set_title("Image size")
        ax2.set_xlabel("aspect ratio (width / height)")
        ax2.set_title("Aspect ratio")
        ax1.legend(fontsize=8)
        rep.figure("image_sizes.png", fig, "Image size (shorter side) and aspect-ratio "
                                           "histograms")
    size_rows = []
    for name, st in s["images"].items():
        if st["width"]:
            size_rows.append([name, st["n"], f"{st['width']['min']:.0f}-{st['width']['max']:.0f}",
                              f"{st['height']['min']:.0f}-{st['height']['max']:.0f}",
                              st["shorter_side"]["median"], st["aspect"]["median"]])
    rep.add(_table(["files", "n", "width", "height", "median shorter side", "median aspect"],
                   size_rows))
    diff_rows = [[what, pair, ks] for what, pairs in s["class_differences"].items()
                 for pair, ks in pairs.items()]
    if diff_rows:
        rep.add("<p>Difference between the classes' distributions (Kolmogorov-Smirnov "
                "distance, 0: same, 1: no overlap; above 0.3 a model can tell the classes apart "
                "by it):</p>" + _table(["what", "classes", "KS distance"], diff_rows, 2))
    fmt_rows = [[name, ", ".join(f"{k} {v}" for k, v in f.items())]
                for name, f in s["formats"].items()]
    rep.add("<h2>File formats</h2>" + _table(["files", "formats (by content)"], fmt_rows, 2)
            + "<p>Extensions: " + _e(", ".join(f"{k} {v}" for k, v in s["extensions"].items()))
            + "</p>")
    if s["format_mismatches"]:
        rep.add("<p>Files whose extension does not match their content:</p>" + _table(
            ["file", "extension", "content"],
            [[m["path"], m["extension"], m["format"]] for m in s["format_mismatches"]], 3))

    # Sample images.
    per = max((len(v) for v in s["samples"].values()), default=0)
    if per:
        tiles, caps = [], []
        for c in classes:
            items = s["samples"][c]
            for k in range(per):
                if k < len(items):
                    tiles.append(_load_tile(items[k]["path"], items[k]["box"]))
                    caps.append(Path(items[k]["path"]).name[:18])
                else:
                    tiles.append(_tile(None))
                    caps.append("")
        fig = _grid_figure(tiles, caps, per, row_titles=classes)
        rep.add("<h2>Samples</h2>")
        rep.figure("samples.png", fig, f"Random {'face crops' if voc else 'images'} per class "
                                       "(one row per class)")

    # VOC: faces per image and face sizes.
    if voc:
        v = s["voc"]
        rep.add("<h2>Faces in the scenes</h2>")
        fig = _new_figure(5, 3.2)
        ax = fig.add_subplot()
        hist = {int(k): n for k, n in v["faces_per_image_histogram"].items()}
        ax.bar(list(hist), list(hist.values()), color="C0")
        ax.set_xlabel("labelled faces per image")
        ax.set_ylabel("images")
        ax.set_title("Faces per image")
        rep.figure("faces_per_image.png", fig, "Labelled faces per image")
        fig = _new_figure(6, 3.2)
        ax = fig.add_subplot()
        all_sizes = [x for c in classes for x in v["face_sizes"][c]]
        bins = np.geomspace(max(1, min(all_sizes)), max(all_sizes) + 1, 30)
        for c in classes:
            n = len(v["face_sizes"][c])
            ax.hist(v["face_sizes"][c], bins=bins, histtype="step", label=f"{c} ({n})",
                    linewidth=1.5, weights=np.full(n, 1.0 / max(n, 1)))
        ax.set_xscale("log")
        ax.set_xlabel("face box shorter side (px, log scale)")
        ax.set_ylabel("share of the class's faces")
        ax.set_title("Face size per class")
        ax.legend(fontsize=8)
        rep.figure("face_sizes.png", fig, "Face-size histogram per class (share of each "
                                            "class's faces)")
        rep.add(_table(["class", "faces", "median px", "p25", "p75", "below 20 px"],
                       [[c, len(v["face_sizes"][c]), v["face_size"][c]["median"],
                         v["face_size"][c]["p25"], v["face_size"][c]["p75"],
                         v["faces_below_20px"][c]] for c in classes if v["face_size"][c]]))

    # Detection rate.
    det = s["detection"]
    if det and det["rate"]:
        rep.add(f"<h2>Face detection ({_e(det['detector'])})</h2><p>Rate: {_e(det['method'])}."
                "</p>")
        names = list(det["rate"])
        fig = _new_figure(max(4.0, 1.3 * len(names) + 1.5), 3.2)
        ax = fig.add_subplot()
        bars = ax.bar(names, [det["rate"][c] for c in names],
                      color=[f"C{classes.index(c)}" for c in names])
        ax.bar_label(bars, labels=[f"{det['rate'][c]:.0%}\n({det['found'][c]}/"
                                   f"{det['searched'][c]})" for c in names], fontsize=8)
        ax.set_ylim(0, 1.25)
        ax.set_ylabel("detection rate")
        ax.set_title(f"Faces found per class ({det['detector']})")
        rep.figure("detection_rate.png", fig, "Face-detection rate per class")
        rows = [[c, det["searched"][c], det["found"][c], f"{det['rate'][c]:.1%}"]
                + ([det["multiple_faces"][c]] if "multiple_faces" in det else []) for c in names]
        rep.add(_table(["class", "searched", "found", "rate"]
                       + (["2+ faces"] if "multiple_faces" in det else []), rows))

    # Duplicates.
    d, split = s["duplicates"], s["split"]
    rep.add("<h2>Duplicates</h2>" + _table(["", "count"], [
        ["byte-identical sets (extra copies)", f"{d['exact_groups']} ({d['exact_extra_copies']})"],
        ["  of which with different labels", d["exact_with_different_labels"]],
        [f"near-duplicate pairs ({d['hash']} distance <= {d['near_threshold']}, thumbnail "
         f"correlation >= {d['near_min_correlation']})", d["near_pairs"]],
        ["  files in them", d["near_files"]],
        ["  pairs with different labels", d["near_with_different_labels"]],
    ] + ([[f"near-duplicate pairs across train/test (test_size {split['test_size']}, seed "
           f"{split['seed']})", split["near_across_pairs"]],
          ["  test files with a near-copy in train", split["near_across_test_files"]],
          ["byte-identical sets across train/test", split["exact_across"]]] if split else [])))
    shown = ([dict(p, cross=True) for p in split["near_across"]] if split else [])
    seen = {(p["a"], p["b"]) for p in shown}
    shown += [p for p in d["near"] if (p["a"], p["b"]) not in seen]
    shown = shown[:8]
    if shown:
        tiles, caps = [], []
        for p in shown:
            where = p.get("parts") or ["", ""]
            for k, path in enumerate((p["a"], p["b"])):
                tiles.append(_load_tile(path))
                label = "scene" if voc else p["labels"][k][:16]
                caps.append(f"{Path(path).name[:18]}\n{label} {where[k]}".strip()
                            + (f", d={p['distance']}" if k == 0 else ""))
        fig = _grid_figure(tiles, caps, 8, caption_lines=2)
        rep.figure("duplicates.png", fig, "Near-duplicate pairs, side by side (pairs across "
                                          "train/test first; d: hash distance in bits)")
        rep.add(_table(["file", "near-duplicate", "distance", "parts"],
                       [[p["a"], p["b"], p["distance"], " / ".join(p.get("parts") or [])]
                        for p in shown], 2))
    if d["exact"]:
        rep.add("<p>Byte-identical files (first sets):</p>" + _table(
            ["files"], [[" = ".join(g["files"])] for g in d["exact"][:20]]))

    # Unusable files.
    rep.add(f"<h2>Skipped files ({len(s['skipped'])})</h2>")
    if s["skipped"]:
        rep.add(_table(["file", "reason", "stage"],
                       [[x["path"], x["reason"], x["stage"]] for x in s["skipped"]], 3))
    else:
        rep.add("<p>None: every file was read and decoded.</p>")
    rep.add(f"<p class=\"small\">Analysed in {s['seconds']['total']:.1f} s.</p>")
    return rep.write("analysis.json", s, analysis.warnings)


# -- model report ---------------------------------------------------------------------------------
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
    from .evaluation import classification_metrics

    classes = [str(c) for c in classes]
    rep = _Report(out_dir, title, MODEL_FIGURES)
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
    classifier: Any,
    crops: Any | None = None,
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


def _training_curves(rep: _Report, history: dict[str, list[float]]) -> None:
    panels = [(k, t) for k, t in (("accuracy", "Accuracy"), ("loss", "Loss"),
                                  ("lr", "Learning rate")) if k in history or f"val_{k}" in history]
    if not panels:
        return
    fig = _new_figure(4.2 * len(panels), 3.2)
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


def _metrics_section(rep: _Report, m: dict[str, Any]) -> None:
    head = [["faces", m["n"]], ["accuracy", m["accuracy"]],
            ["balanced accuracy", m["balanced_accuracy"]]]
    if "roc_auc" in m:
        head.append(["ROC-AUC", m["roc_auc"]])
    rep.add("<h2>Metrics</h2>" + _table(["", "value"], head) + _table(
        ["class", "precision", "recall", "F1", "support"],
        [[c, v["precision"], v["recall"], v["f1"], v["support"]]
         for c, v in m["per_class"].items()]))
    cm = m["confusion_matrix"]
    rep.add("<p>Confusion matrix (rows: true class, columns: predicted class)</p>" + _table(
        ["true \\ predicted", *cm["labels"]],
        [[c, *row] for c, row in zip(cm["labels"], cm["matrix"])]))


def _confusion_figure(rep: _Report, cm: dict[str, Any]) -> None:
    labels = cm["labels"]
    matrix = np.asarray(cm["matrix"], dtype=np.int64)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    k = len(labels)
    fig = _new_figure(1.4 * k + 2.6, 1.2 * k + 1.8)
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


def _curves(rep: _Report, y: np.ndarray, proba: np.ndarray,
            classes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    roc: dict[str, Any] = {}
    pr: dict[str, Any] = {}
    fig_roc = _new_figure(4.6, 4.2)
    fig_pr = _new_figure(4.6, 4.2)
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


def _misclassified(rep: _Report, y: np.ndarray, pred: np.ndarray, proba: np.ndarray,
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
    tiles = [_tile(images[it["index"]]) for it in shown]
    caps = [f"{it['true'][:14]}\n→ {it['predicted'][:14]} {it['score']:.2f}" for it in shown]
    cols = min(8, max(4, len(tiles)))  # a few tiles still make a figure wide enough to read
    fig = _grid_figure(tiles, caps, cols, caption_lines=2)
    rep.figure("misclassified.png", fig, f"Misclassified faces, the most confident mistakes "
                                         f"first ({len(shown)} of {len(items)}): true class, "
                                         "→ predicted class and its probability")
    rep.add(_table(["#", "file", "true", "predicted", "score"],
                   [[k + 1, it.get("path", it["index"]), it["true"], it["predicted"],
                     it["score"]] for k, it in enumerate(shown)], 2))
    return out


__all__ = ["MAX_MISCLASSIFIED", "write_classifier_report", "write_dataset_report",
           "write_model_report"]
