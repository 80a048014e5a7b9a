"""Dataset analysis: the numbers to look at before training (no plotting here).

:func:`analyze_dataset` reads every file of a class-folder or VOC dataset once and measures:

* samples per class; image sizes, aspect ratios, file formats (by content, and extensions
  that lie about it); for VOC scenes, faces per image and face sizes per class -- with a
  warning where these differ strongly between classes (a model can learn the frame's shape);
* the face-detection rate per class with a chosen detector -- for class folders the fraction
  of images in which it finds a face (as :func:`maskdet.faces.extract_faces` counts it), for
  VOC scenes the fraction of labelled faces it finds (a detection with IoU >= 0.3). A rate that
  differs strongly between classes is a warning: a model trained on "crop the face if found"
  learns the detector's failures, not masks;
* exact duplicates (same bytes, sha256) and near-duplicates (see :func:`near_duplicate_pairs`),
  within the dataset and across a train/test split made with
  :func:`maskdet.data.split_dataset`. That split keeps byte-identical files in one part, so
  the near-duplicates across the parts -- the same picture re-encoded, resized or recompressed
  -- are what inflates test scores;
* the files that could not be used, and why.

Warnings go to the ``maskdet`` logger and are kept in :attr:`DatasetAnalysis.warnings`.
:func:`~maskdet.reports.dataset.write_dataset_report` turns an analysis into figures and an HTML
report.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..data import Dataset, Sample, load_dataset, split_dataset
from ..detections import box_iou
from ..errors import DatasetError, ImageReadError
from ..faces import FaceDetector
from ..images import decode_image, map_images, sniff_image_format

logger = logging.getLogger(__name__)

#: Largest Hamming distance (of 64 bits) between the perceptual hashes of near-duplicates.
#: Re-encoding a photo as JPEG at another quality or resizing it changes 0-4 bits; unrelated
#: photos differ in ~32, but tight face crops look alike to a 64-bit hash: on mask-faces about
#: half the pairs at distance 6-8 and most at 10 are different people, hence the check below.
NEAR_DUPLICATE_THRESHOLD = 10

#: Pairs within the hash distance must also correlate this well (Pearson, 16 x 16 colour
#: thumbnails) to count. On mask-faces, copies score 0.92-1.0, look-alike strangers <= 0.88.
#: Mirror images, rotations and different crops of one photo are not caught.
NEAR_DUPLICATE_CORRELATION = 0.9

#: Detection rates differing by more than this (absolute) between classes raise a warning
#: (the same rule as :func:`maskdet.faces.extract_faces`).
DETECTION_IMBALANCE = 0.15

#: Image sizes, aspect ratios (class folders) or face sizes (VOC) whose distributions differ
#: between two classes by more than this Kolmogorov-Smirnov distance (and significantly, at
#: 5 %) raise a warning: a model can tell such classes apart by the frame instead of the face
#: (mask-faces: aspect 0.41, size 0.37; mask-scenes face sizes: 0.19).
CLASS_DIFFERENCE_KS = 0.3

#: A labelled VOC face counts as found when a detection overlaps it by at least this IoU.
DETECTION_IOU = 0.3

#: Lists in the JSON (duplicate pairs, ...) are cut to this many entries; counts stay whole.
MAX_LISTED = 200

_EXTENSION_FORMATS = {
    ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".webp": "webp",
    ".bmp": "bmp", ".dib": "bmp", ".tif": "tiff", ".tiff": "tiff", ".gif": "gif",
}


# -- perceptual hashing -------------------------------------------------------------------------
def perceptual_hash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash (pHash) of an image.

    The image is turned gray, shrunk to 32 x 32, transformed with a 2-D DCT; each of the 8 x 8
    lowest-frequency coefficients gives one bit: above their median or not. Re-encoding,
    resizing and mild colour changes leave the hash (nearly) unchanged.

    Example:
        >>> h = perceptual_hash(image)  # doctest: +SKIP
        >>> small = cv2.resize(image, None, fx=0.5, fy=0.5)  # doctest: +SKIP
        >>> hamming_distance(h, perceptual_hash(small))  # doctest: +SKIP
        0
    """
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits of two hashes."""
    return bin(int(a) ^ int(b)).count("1")


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    return _POPCOUNT8[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1, dtype=np.uint8)


def hash_pairs(hashes: Sequence[int], threshold: int = NEAR_DUPLICATE_THRESHOLD,
               block: int = 512) -> list[tuple[int, int, int]]:
    """All index pairs ``(i, j, distance)`` with ``i < j`` whose hashes differ in at most
    ``threshold`` bits (vectorised; ~1 s for 10,000 hashes)."""
    h = np.array([int(v) for v in hashes], dtype=np.uint64)
    pairs: list[tuple[int, int, int]] = []
    for start in range(0, len(h), block):
        rows = h[start:start + block]
        dist = _popcount(rows[:, None] ^ h[None, :])
        ii, jj = np.nonzero(dist <= threshold)
        for i, j in zip(ii + start, jj):
            if j > i:
                pairs.append((int(i), int(j), int(dist[i - start, j])))
    return pairs


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A 16 x 16 colour thumbnail, for :func:`thumbnail_correlation`."""
    return cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA)


def thumbnail_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two thumbnails' pixel values (1.0: same picture)."""
    x = a.astype(np.float32).ravel()
    y = b.astype(np.float32).ravel()
    x -= x.mean()
    y -= y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom > 0 else float(np.array_equal(a, b))


def near_duplicate_pairs(
    hashes: Sequence[int], thumbnails: Sequence[np.ndarray] | None = None,
    threshold: int = NEAR_DUPLICATE_THRESHOLD,
    min_correlation: float = NEAR_DUPLICATE_CORRELATION,
) -> list[tuple[int, int, int]]:
    """Index pairs ``(i, j, distance)`` of near-duplicate pictures.

    A pair qualifies when its perceptual hashes (:func:`perceptual_hash`) differ in at most
    ``threshold`` bits and, where ``thumbnails`` are given, the thumbnails
    (:func:`thumbnail`) correlate at least ``min_correlation``.
    """
    pairs = hash_pairs(hashes, threshold)
    if thumbnails is not None:
        pairs = [p for p in pairs
                 if thumbnail_correlation(thumbnails[p[0]], thumbnails[p[1]]) >= min_correlation]
    return pairs


# -- per-file measurements ----------------------------------------------------------------------
@dataclass
class FileRecord:
    """What was measured on one file of a dataset."""

    path: Path
    labels: tuple[str, ...]
    """The classes of the file's samples (one for class folders; those present for VOC)."""
    size_bytes: int = 0
    sha256: str = ""
    extension: str = ""
    format: str | None = None
    """The image format its content announces (``jpeg``, ``png``, ...)."""
    width: int | None = None
    height: int | None = None
    phash: int | None = None
    thumbnail: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None
    faces_detected: int | None = None
    """Faces the detector found (None: no detector was run)."""
    boxes_found: list[bool] | None = None
    """VOC: for each labelled box of the file, whether the detector found it."""

    @property
    def readable(self) -> bool:
        return self.error is None


def _measure(path: Path, samples: list[Sample], detector: FaceDetector | None,
             lock: threading.Lock) -> FileRecord:
    record = FileRecord(path, tuple(sorted({s.label for s in samples})),
                        extension=path.suffix.lower())
    try:
        data = path.read_bytes()
    except OSError as exc:
        record.error = f"cannot read ({exc.strerror or exc})"
        return record
    record.size_bytes = len(data)
    record.sha256 = hashlib.sha256(data).hexdigest()
    record.format = sniff_image_format(data[:16])
    try:
        image = decode_image(data, str(path))
    except ImageReadError as exc:
        record.error = str(exc).split(": ", 1)[-1]
        return record
    record.height, record.width = image.shape[:2]
    record.phash = perceptual_hash(image)
    record.thumbnail = thumbnail(image)
    if detector is not None:
        with lock:  # a detector keeps per-call state: one call at a time
            faces = detector.detect(image).clip(image.shape[1], image.shape[0])
        record.faces_detected = len(faces)
        boxes = [s.box for s in samples if s.box is not None]
        if boxes:
            iou = box_iou(np.array(boxes), faces.boxes) if len(faces) else None
            record.boxes_found = [bool(iou is not None and iou[k].max() >= DETECTION_IOU)
                                  for k in range(len(boxes))]
    return record


# -- the analysis -------------------------------------------------------------------------------
@dataclass
class DatasetAnalysis:
    """The result of :func:`analyze_dataset`.

    Attributes:
        dataset: the analysed dataset.
        records: one :class:`FileRecord` per file, in the dataset's order.
        summary: every number, JSON-ready (see :func:`analyze_dataset` for the keys).
        warnings: the problems found, as sentences (also logged).
    """

    dataset: Dataset
    records: list[FileRecord]
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.summary


def _stats(values: Sequence[float]) -> dict[str, float] | None:
    if len(values) == 0:
        return None
    v = np.asarray(values, np.float64)
    q = np.percentile(v, [0, 25, 50, 75, 100])
    return {"min": float(q[0]), "p25": float(q[1]), "median": float(q[2]), "p75": float(q[3]),
            "max": float(q[4]), "mean": round(float(v.mean()), 3)}


def ks_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the two empirical
    distribution functions (0: same distribution, 1: no overlap)."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    if not len(a) or not len(b):
        return 0.0
    x = np.concatenate([a, b])
    gap = (np.searchsorted(a, x, side="right") / len(a)
           - np.searchsorted(b, x, side="right") / len(b))
    return float(np.abs(gap).max())


def _group_pairs(n: int, pairs: Sequence[tuple[int, int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in sorted({k for p in pairs for k in p[:2]}):
        groups[find(i)].append(i)
    return sorted(groups.values())


def analyze_dataset(
    data: str | os.PathLike | Dataset,
    face_detector: FaceDetector | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    near_threshold: int = NEAR_DUPLICATE_THRESHOLD,
    samples_per_class: int = 8,
    n_jobs: int | None = None,
    progress: bool = False,
) -> DatasetAnalysis:
    """Measure a dataset: classes, images, detection rates, duplicates, unreadable files.

    Every file is read and decoded once (with :func:`maskdet.images.decode_image`, the shared
    decoder), in threads.

    Args:
        data: a dataset folder (class folders or VOC) or a loaded :class:`Dataset`.
        face_detector: a face detector whose detection rate per class is measured, or None.
        test_size, seed: the split in which near-duplicates across train and test are looked
            for (as :func:`maskdet.data.split_dataset` makes it); ``test_size=0`` skips it.
        near_threshold: the largest perceptual-hash distance (bits) of near-duplicates.
        samples_per_class: how many samples per class to pick for a picture grid.

    Returns:
        A :class:`DatasetAnalysis`. Its ``summary`` holds ``counts`` (samples per class: images
        of class folders, faces of VOC scenes), ``readable_counts``, ``files``, ``images``
        (size statistics), ``formats``, ``extensions``, ``format_mismatches``, ``voc`` (faces
        per image, face sizes), ``class_differences``, ``detection``, ``duplicates``, ``split``,
        ``skipped``, ``samples``, ``warnings`` and ``seconds``.

    Raises:
        DatasetError: the folder is missing or holds no usable dataset.
    """
    start = time.perf_counter()
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    by_file: dict[Path, list[Sample]] = defaultdict(list)
    for s in dataset.samples:
        by_file[s.path].append(s)
    paths = list(by_file)
    lock = threading.Lock()
    records = list(map_images(lambda p: _measure(p, by_file[p], face_detector, lock), paths, n_jobs,
                             progress, "analysing images"))
    read_seconds = time.perf_counter() - start
    warnings: list[str] = []

    def warn(message: str) -> None:
        logger.warning("%s", message)
        warnings.append(message)

    voc = dataset.layout == "voc"
    classes = list(dataset.classes)
    readable = [r for r in records if r.readable]
    ok = {r.path for r in readable}
    summary: dict[str, Any] = {
        "root": str(dataset.root),
        "layout": dataset.layout,
        "classes": classes,
        "counts": dataset.counts(),
        "readable_counts": {c: sum(1 for s in dataset.samples if s.label == c and s.path in ok)
                            for c in classes},
        "files": len(records),
        "readable_files": len(readable),
    }
    if voc:
        summary["images_per_class"] = {
            c: sum(1 for r in records if c in r.labels) for c in classes}

    summary.update(_image_summary(records, classes, voc, warn))
    if voc:
        summary["voc"] = _voc_summary(dataset, by_file)
        values = {"face size": summary["voc"]["face_sizes"]}
    else:
        values = {"image size (shorter side)": {
                      c: [min(r.width, r.height) for r in readable if c in r.labels]
                      for c in classes},
                  "aspect ratio": {c: [r.width / r.height for r in readable if c in r.labels]
                                   for c in classes}}
    summary["class_differences"] = _class_differences(values, classes, warn)

    summary["detection"] = _detection_summary(dataset, records, face_detector, warn)
    summary["duplicates"], summary["split"] = _duplicates_summary(
        dataset, records, near_threshold, test_size, seed, warn)

    skipped = [{"path": p, "reason": why, "stage": "load"} for p, why in dataset.skipped]
    skipped += [{"path": str(r.path), "reason": r.error, "stage": "decode"}
                for r in records if not r.readable]
    summary["skipped"] = skipped
    if skipped:
        warn(f"{len(skipped)} files or boxes could not be used (see the skipped list)")

    rng = np.random.default_rng(seed)
    picked: dict[str, list[dict[str, Any]]] = {}
    for c in classes:
        pool = [s for s in dataset.samples if s.label == c and s.path in ok]
        chosen = sorted(rng.choice(len(pool), min(samples_per_class, len(pool)), replace=False))
        picked[c] = [{"path": str(pool[i].path),
                      "box": list(pool[i].box) if pool[i].box is not None else None}
                     for i in chosen]
    summary["samples"] = picked
    summary["warnings"] = warnings
    summary["seconds"] = {"read": round(read_seconds, 2),
                          "total": round(time.perf_counter() - start, 2)}
    return DatasetAnalysis(dataset, records, summary, warnings)


def _image_summary(records: list[FileRecord], classes: list[str], voc: bool, warn
                   ) -> dict[str, Any]:
    """Image sizes, aspect ratios and formats (per class for class folders), the most common
    sizes, extensions and the files whose extension lies about their content; a format common
    in one class and (nearly) absent from another is warned about."""
    readable = [r for r in records if r.readable]
    groups = {"all": readable}
    if not voc:
        groups.update({c: [r for r in readable if c in r.labels] for c in classes})
    out: dict[str, Any] = {}
    out["images"] = {
        name: {"n": len(rs), "width": _stats([r.width for r in rs]),
               "height": _stats([r.height for r in rs]),
               "aspect": _stats([r.width / r.height for r in rs]),
               "shorter_side": _stats([min(r.width, r.height) for r in rs])}
        for name, rs in groups.items()}
    out["image_sizes_most_common"] = [
        {"width": w, "height": h, "files": n}
        for (w, h), n in Counter((r.width, r.height) for r in readable).most_common(10)]
    out["formats"] = {
        name: dict(Counter(r.format or "unknown" for r in rs).most_common())
        for name, rs in {"all": records, **{c: [r for r in records if c in r.labels]
                                            for c in ([] if voc else classes)}}.items()}
    if not voc:  # a format common in one class and (nearly) absent from another is a cue
        shares = {c: {f: n / max(1, sum(out["formats"][c].values()))
                      for f, n in out["formats"][c].items()} for c in classes}
        for fmt in sorted({f for c in classes for f in shares[c]}):
            most = max(classes, key=lambda c: shares[c].get(fmt, 0.0))
            least = min(classes, key=lambda c: shares[c].get(fmt, 0.0))
            if shares[most].get(fmt, 0.0) >= 0.05 and shares[least].get(fmt, 0.0) < 0.01:
                warn(f"{fmt} files make up {shares[most][fmt]:.0%} of {most} but "
                     f"{shares[least].get(fmt, 0.0):.0%} of {least}: the compression differs "
                     "between the classes, and a model can learn it")
    out["extensions"] = dict(Counter(r.extension or "(none)" for r in records).most_common())
    out["format_mismatches"] = [
        {"path": str(r.path), "extension": r.extension, "format": r.format}
        for r in records
        if r.format and _EXTENSION_FORMATS.get(r.extension, r.format) != r.format]
    return out


def _class_differences(values: dict[str, dict[str, list[float]]], classes: list[str], warn
                       ) -> dict[str, dict[str, float]]:
    """The Kolmogorov-Smirnov distance of each measurement between every two classes; a
    large and significant one is warned about (a model can learn it instead of masks)."""
    differences: dict[str, dict[str, float]] = {}
    for what, per_class in values.items():
        differences[what] = {}
        for i, a in enumerate(classes):
            for b in classes[i + 1:]:
                d = ks_distance(per_class[a], per_class[b])
                differences[what][f"{a} vs {b}"] = round(d, 3)
                n, m = len(per_class[a]), len(per_class[b])
                # Small classes differ by chance: also require significance (KS test, 5 %).
                chance = 1.36 * np.sqrt((n + m) / (n * m)) if n and m else np.inf
                if d > max(CLASS_DIFFERENCE_KS, chance):
                    warn(f"the {what} differs between {a} and {b} (Kolmogorov-Smirnov distance "
                         f"{d:.2f}; medians {np.median(per_class[a]):.3g} and "
                         f"{np.median(per_class[b]):.3g}): a model can learn to tell the classes "
                         "apart by it instead of by the mask")
    return differences


def _voc_summary(dataset: Dataset, by_file: dict[Path, list[Sample]]) -> dict[str, Any]:
    per_image = [len(v) for v in by_file.values()]
    sizes = {c: [min(s.box[2], s.box[3]) for s in dataset.samples if s.label == c and s.box]
             for c in dataset.classes}
    return {
        "faces_per_image": _stats(per_image),
        "faces_per_image_histogram": {str(k): v for k, v in sorted(Counter(per_image).items())},
        "face_size": {c: _stats(v) for c, v in sizes.items()},
        "face_sizes": sizes,
        "faces_below_20px": {c: int(sum(1 for x in v if x < 20)) for c, v in sizes.items()},
    }


def _detection_summary(dataset: Dataset, records: list[FileRecord],
                       detector: FaceDetector | None, warn) -> dict[str, Any] | None:
    if detector is None:
        return None
    found: Counter = Counter()
    searched: Counter = Counter()
    multiple: Counter = Counter()
    if dataset.layout == "voc":
        method = f"labelled faces matched by a detection at IoU >= {DETECTION_IOU}"
        by_path = defaultdict(list)
        for s in dataset.samples:
            by_path[s.path].append(s)
        for r in records:
            if r.boxes_found is None:
                continue
            for s, hit in zip([s for s in by_path[r.path] if s.box is not None], r.boxes_found):
                searched[s.label] += 1
                found[s.label] += hit
    else:
        method = "images in which the detector finds at least one face"
        for r in records:
            if r.faces_detected is None:
                continue
            for label in r.labels:
                searched[label] += 1
                found[label] += r.faces_detected > 0
                multiple[label] += r.faces_detected > 1
    rate = {c: found[c] / searched[c] for c in dataset.classes if searched[c]}
    imbalance = bool(rate) and max(rate.values()) - min(rate.values()) > DETECTION_IMBALANCE
    out: dict[str, Any] = {
        "detector": getattr(detector, "name", type(detector).__name__),
        "method": method,
        "rate": rate,
        "found": {c: int(found[c]) for c in rate},
        "searched": {c: int(searched[c]) for c in rate},
        "imbalance": imbalance,
    }
    if dataset.layout != "voc":
        out["multiple_faces"] = {c: int(multiple[c]) for c in rate}
    text = ", ".join(f"{c} {r:.0%}" for c, r in rate.items())
    if rate:
        logger.info("face detection rate per class (%s): %s", out["detector"], text)
    if imbalance:
        warn(f"the {out['detector']} face detector finds faces far more often in some classes "
             f"({text}): a model trained on crops of detected faces (or on 'crop if found, "
             "else the whole image') learns the detector's failures, not masks")
    return out


def _duplicates_summary(dataset: Dataset, records: list[FileRecord], threshold: int,
                        test_size: float, seed: int, warn) -> tuple[dict, dict | None]:
    def labels(r: FileRecord) -> str:
        return "+".join(r.labels)

    # Exact duplicates: same bytes.
    by_sha: dict[str, list[FileRecord]] = defaultdict(list)
    for r in records:
        if r.sha256:
            by_sha[r.sha256].append(r)
    exact = [rs for rs in by_sha.values() if len(rs) > 1]
    exact_conflicts = [rs for rs in exact if len({labels(r) for r in rs}) > 1]
    # Near duplicates: one representative per set of identical files.
    reps = [rs[0] for rs in by_sha.values() if rs[0].phash is not None]
    pairs = near_duplicate_pairs([r.phash for r in reps], [r.thumbnail for r in reps],
                                 threshold)
    near_groups = _group_pairs(len(reps), pairs)
    near_conflicts = [(i, j, d) for i, j, d in pairs if labels(reps[i]) != labels(reps[j])]

    def pair_dict(i: int, j: int, d: int, **extra: Any) -> dict[str, Any]:
        return {"a": str(reps[i].path), "b": str(reps[j].path), "distance": d,
                "labels": [labels(reps[i]), labels(reps[j])], **extra}

    pairs.sort(key=lambda p: (p[2], p[0], p[1]))
    dup: dict[str, Any] = {
        "hash": "pHash (64-bit DCT)",
        "near_threshold": threshold,
        "near_min_correlation": NEAR_DUPLICATE_CORRELATION,
        "exact_groups": len(exact),
        "exact_extra_copies": sum(len(rs) - 1 for rs in exact),
        "exact": [{"sha256": rs[0].sha256, "files": [str(r.path) for r in rs],
                   "labels": [labels(r) for r in rs]} for rs in exact[:MAX_LISTED]],
        "exact_with_different_labels": len(exact_conflicts),
        "near_pairs": len(pairs),
        "near_groups": len(near_groups),
        "near_files": sum(len(g) for g in near_groups),
        "near": [pair_dict(i, j, d) for i, j, d in pairs[:MAX_LISTED]],
        "near_with_different_labels": len(near_conflicts),
    }
    if exact_conflicts:
        e = exact_conflicts[0]
        warn(f"{len(exact_conflicts)} sets of byte-identical files carry different labels "
             f"(e.g. {e[0].path} and {e[1].path})")
    if exact:
        logger.info("%d files are byte-identical copies of others", dup["exact_extra_copies"])
    if pairs:
        logger.info("%d pairs of near-duplicate files (pHash distance <= %d, thumbnail "
                    "correlation >= %g)", len(pairs), threshold, NEAR_DUPLICATE_CORRELATION)

    if not test_size:
        return dup, None
    try:
        split = split_dataset(dataset, test_size=test_size, seed=seed)
    except DatasetError as exc:  # too few files: the rest of the analysis still stands
        warn(f"no train/test duplicate check: {exc}")
        return dup, None
    part_of = {p: "train" for p in split.train.paths}
    part_of.update({p: "test" for p in split.test.paths})
    exact_across = [rs for rs in exact if len({part_of.get(r.path) for r in rs}) > 1]
    across = [(i, j, d) for i, j, d in pairs
              if part_of.get(reps[i].path) != part_of.get(reps[j].path)]
    split_summary = {
        "test_size": test_size, "seed": seed,
        "train_files": len(set(split.train.paths)), "test_files": len(set(split.test.paths)),
        "exact_across": len(exact_across),
        "near_across_pairs": len(across),
        "near_across_test_files": len({reps[k].path for i, j, _ in across for k in (i, j)
                                       if part_of.get(reps[k].path) == "test"}),
        "near_across": [pair_dict(i, j, d, parts=[part_of.get(reps[i].path),
                                                  part_of.get(reps[j].path)])
                        for i, j, d in across[:MAX_LISTED]],
    }
    if exact_across:
        warn(f"{len(exact_across)} sets of byte-identical files sit in both train and test")
    if across:
        a = split_summary["near_across"][0]
        warn(f"{len(across)} pairs of near-duplicate pictures sit in both train and test of "
             f"the split (test_size {test_size}, seed {seed}; "
             f"{split_summary['near_across_test_files']} test files have a near-copy in "
             f"train), e.g. {a['a']} and {a['b']}: test scores will be inflated")
    return dup, split_summary


__all__ = [
    "CLASS_DIFFERENCE_KS",
    "DETECTION_IMBALANCE",
    "DETECTION_IOU",
    "NEAR_DUPLICATE_CORRELATION",
    "NEAR_DUPLICATE_THRESHOLD",
    "DatasetAnalysis",
    "FileRecord",
    "analyze_dataset",
    "hamming_distance",
    "hash_pairs",
    "ks_distance",
    "near_duplicate_pairs",
    "perceptual_hash",
    "thumbnail",
    "thumbnail_correlation",
]
