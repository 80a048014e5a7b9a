"""The dataset report: the figures and tables of a dataset analysis
(:func:`~maskdet.reports.analysis.analyze_dataset`): class distribution, image sizes and aspect
ratios, formats, sample images per class, detection rate per class, duplicates, VOC faces per
image and face sizes, unreadable files. Files: ``report.html``, ``analysis.json`` and one PNG
per figure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import DatasetAnalysis
from .html import Report, escape, grid_figure, html_table, image_tile, load_tile, new_figure

DATASET_FIGURES = ("class_distribution.png", "image_sizes.png", "samples.png",
                   "detection_rate.png", "duplicates.png", "faces_per_image.png",
                   "face_sizes.png")


def write_dataset_report(analysis: DatasetAnalysis, out_dir: str | os.PathLike,
                         title: str | None = None) -> Path:
    """Write the figures, ``analysis.json`` and ``report.html`` of a dataset analysis.

    Returns:
        The path of ``report.html``.

    Example:
        >>> from maskdet.reports import analyze_dataset
        >>> analysis = analyze_dataset("data/mask-faces")  # doctest: +SKIP
        >>> write_dataset_report(analysis, "reports/mask-faces")  # doctest: +SKIP
    """
    s = analysis.summary
    voc = s["layout"] == "voc"
    rep = Report(out_dir, title or f"Dataset analysis: {s['root']}", DATASET_FIGURES)
    _classes(rep, s)
    _sizes_and_formats(rep, analysis)
    _samples(rep, s)
    if voc:
        _scene_faces(rep, s)
    _detection(rep, s)
    _duplicates(rep, s)
    _skipped(rep, s)
    rep.add(f"<p class=\"small\">Analysed in {s['seconds']['total']:.1f} s.</p>")
    return rep.write("analysis.json", s, analysis.warnings)


def _classes(rep: Report, s: dict[str, Any]) -> None:
    """Samples per class: a table and a bar chart."""
    voc = s["layout"] == "voc"
    classes = s["classes"]
    unit = "faces" if voc else "images"
    rows = [[c, s["counts"][c]] + ([s["images_per_class"][c]] if voc else []) for c in classes]
    rep.add(f"<h2>Classes</h2><p>{escape(s['layout'])} dataset at "
            f"<code>{escape(s['root'])}</code>: "
            f"{sum(s['counts'].values())} {unit} in {s['files']} files "
            f"({s['readable_files']} readable).</p>"
            + html_table(["class", unit] + (["images with it"] if voc else []), rows))
    fig = new_figure(max(4.0, 1.3 * len(classes) + 1.5), 3.2)
    ax = fig.add_subplot()
    bars = ax.bar(classes, [s["counts"][c] for c in classes],
                  color=[f"C{i}" for i in range(len(classes))])
    ax.bar_label(bars)
    ax.set_ylabel(unit)
    ax.set_title(f"{unit.capitalize()} per class")
    ax.margins(y=0.15)
    rep.figure("class_distribution.png", fig, f"{unit.capitalize()} per class")


def _sizes_and_formats(rep: Report, analysis: DatasetAnalysis) -> None:
    """Image sizes and aspect ratios (per class for class folders), their differences
    between classes, and file formats."""
    s = analysis.summary
    voc = s["layout"] == "voc"
    classes = s["classes"]
    readable = [r for r in analysis.records if r.readable]
    groups = [("all", readable)] if voc else [(c, [r for r in readable if c in r.labels])
                                              for c in classes]
    sides = [min(r.width, r.height) for r in readable]
    if sides:
        fig = new_figure(9, 3.2)
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
    rep.add(html_table(["files", "n", "width", "height", "median shorter side", "median aspect"],
                       size_rows))
    diff_rows = [[what, pair, ks] for what, pairs in s["class_differences"].items()
                 for pair, ks in pairs.items()]
    if diff_rows:
        rep.add("<p>Difference between the classes' distributions (Kolmogorov-Smirnov "
                "distance, 0: same, 1: no overlap; above 0.3 a model can tell the classes apart "
                "by it):</p>" + html_table(["what", "classes", "KS distance"], diff_rows, 2))
    fmt_rows = [[name, ", ".join(f"{k} {v}" for k, v in f.items())]
                for name, f in s["formats"].items()]
    rep.add("<h2>File formats</h2>" + html_table(["files", "formats (by content)"], fmt_rows, 2)
            + "<p>Extensions: " + escape(", ".join(f"{k} {v}" for k, v in s["extensions"].items()))
            + "</p>")
    if s["format_mismatches"]:
        rep.add("<p>Files whose extension does not match their content:</p>" + html_table(
            ["file", "extension", "content"],
            [[m["path"], m["extension"], m["format"]] for m in s["format_mismatches"]], 3))


def _samples(rep: Report, s: dict[str, Any]) -> None:
    """A grid of random samples, one row per class."""
    voc = s["layout"] == "voc"
    classes = s["classes"]
    per = max((len(v) for v in s["samples"].values()), default=0)
    if per:
        tiles, caps = [], []
        for c in classes:
            items = s["samples"][c]
            for k in range(per):
                if k < len(items):
                    tiles.append(load_tile(items[k]["path"], items[k]["box"]))
                    caps.append(Path(items[k]["path"]).name[:18])
                else:
                    tiles.append(image_tile(None))
                    caps.append("")
        fig = grid_figure(tiles, caps, per, row_titles=classes)
        rep.add("<h2>Samples</h2>")
        rep.figure("samples.png", fig, f"Random {'face crops' if voc else 'images'} per class "
                                       "(one row per class)")


def _scene_faces(rep: Report, s: dict[str, Any]) -> None:
    """VOC scenes: labelled faces per image and face sizes per class."""
    classes = s["classes"]
    v = s["voc"]
    rep.add("<h2>Faces in the scenes</h2>")
    fig = new_figure(5, 3.2)
    ax = fig.add_subplot()
    hist = {int(k): n for k, n in v["faces_per_image_histogram"].items()}
    ax.bar(list(hist), list(hist.values()), color="C0")
    ax.set_xlabel("labelled faces per image")
    ax.set_ylabel("images")
    ax.set_title("Faces per image")
    rep.figure("faces_per_image.png", fig, "Labelled faces per image")
    fig = new_figure(6, 3.2)
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
    rep.add(html_table(["class", "faces", "median px", "p25", "p75", "below 20 px"],
                       [[c, len(v["face_sizes"][c]), v["face_size"][c]["median"],
                         v["face_size"][c]["p25"], v["face_size"][c]["p75"],
                         v["faces_below_20px"][c]] for c in classes if v["face_size"][c]]))


def _detection(rep: Report, s: dict[str, Any]) -> None:
    """The face-detection rate per class."""
    classes = s["classes"]
    det = s["detection"]
    if det and det["rate"]:
        rep.add(f"<h2>Face detection ({escape(det['detector'])})</h2>"
                f"<p>Rate: {escape(det['method'])}.</p>")
        names = list(det["rate"])
        fig = new_figure(max(4.0, 1.3 * len(names) + 1.5), 3.2)
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
        rep.add(html_table(["class", "searched", "found", "rate"]
                           + (["2+ faces"] if "multiple_faces" in det else []), rows))


def _duplicates(rep: Report, s: dict[str, Any]) -> None:
    """Byte-identical and near-duplicate files, within the data and across the split."""
    voc = s["layout"] == "voc"
    d, split = s["duplicates"], s["split"]
    rep.add("<h2>Duplicates</h2>" + html_table(["", "count"], [
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
                tiles.append(load_tile(path))
                label = "scene" if voc else p["labels"][k][:16]
                caps.append(f"{Path(path).name[:18]}\n{label} {where[k]}".strip()
                            + (f", d={p['distance']}" if k == 0 else ""))
        fig = grid_figure(tiles, caps, 8, caption_lines=2)
        rep.figure("duplicates.png", fig, "Near-duplicate pairs, side by side (pairs across "
                                          "train/test first; d: hash distance in bits)")
        rep.add(html_table(["file", "near-duplicate", "distance", "parts"],
                           [[p["a"], p["b"], p["distance"], " / ".join(p.get("parts") or [])]
                            for p in shown], 2))
    if d["exact"]:
        rep.add("<p>Byte-identical files (first sets):</p>" + html_table(
            ["files"], [[" = ".join(g["files"])] for g in d["exact"][:20]]))


def _skipped(rep: Report, s: dict[str, Any]) -> None:
    """The files or boxes that could not be used."""
    rep.add(f"<h2>Skipped files ({len(s['skipped'])})</h2>")
    if s["skipped"]:
        rep.add(html_table(["file", "reason", "stage"],
                           [[x["path"], x["reason"], x["stage"]] for x in s["skipped"]], 3))
    else:
        rep.add("<p>None: every file was read and decoded.</p>")
    rep.add(f"<p class=\"small\">Analysed in {s['seconds']['total']:.1f} s.</p>")
