"""Datasets: labelled face images from disk, shared by every backend.

Two layouts are read:

* **class folders** -- ``ROOT/<class>/<image>``; the folder names, sorted, are the classes.
  Every image is taken to be a face crop (see :func:`maskdet.faces.extract_faces`).
* **Pascal VOC scenes** -- ``ROOT/images/*`` and ``ROOT/annotations/*.xml``; each object of an
  annotation is one face box with its label.

A :class:`Dataset` holds samples (file, label, optional box), not pixels: images are decoded
when faces are extracted. Bad files are skipped with a warning naming each file and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError
from .images import IMAGE_EXTENSIONS, looks_like_image, walk_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One labelled face: a whole image file (``box`` None) or a box within a scene photo."""

    path: Path
    label: str
    box: tuple[int, int, int, int] | None = None
    """Face box ``x, y, w, h`` in the image, for scene datasets."""


@dataclass
class Dataset:
    """Labelled samples read from one folder.

    Attributes:
        samples: the usable samples, in a stable order.
        classes: sorted class names.
        root: the folder the dataset was read from.
        layout: ``"folders"`` or ``"voc"``.
        skipped: ``(file, reason)`` for every file or box that was left out.
    """

    samples: list[Sample]
    classes: list[str]
    root: Path
    layout: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=object)

    @property
    def paths(self) -> list[Path]:
        return [s.path for s in self.samples]

    def counts(self) -> dict[str, int]:
        """Samples per class, every class listed."""
        c = Counter(s.label for s in self.samples)
        return {name: c.get(name, 0) for name in self.classes}

    def subset(self, indices: Iterable[int]) -> Dataset:
        """A dataset of the given samples (same classes, no skip list)."""
        return Dataset([self.samples[i] for i in indices], list(self.classes), self.root,
                       self.layout)

    def relabel(self, mapping: dict[str, str | None]) -> Dataset:
        """Rename classes (``{"mask_weared_incorrect": "with_mask"}``); None drops a class."""
        samples = []
        for s in self.samples:
            label = mapping.get(s.label, s.label)
            if label is not None:
                samples.append(Sample(s.path, label, s.box))
        classes = sorted({s.label for s in samples})
        return Dataset(samples, classes, self.root, self.layout, list(self.skipped))

    def summary(self) -> dict[str, Any]:
        """Where the dataset came from and what it holds, JSON-ready (for reports and
        manifests): ``root``, ``layout``, ``counts`` per class, ``skipped``."""
        return {"root": str(self.root), "layout": self.layout, "counts": self.counts(),
                "skipped": len(self.skipped)}

    def __repr__(self) -> str:
        return (f"Dataset({self.layout!r}, root={str(self.root)!r}, {len(self)} samples, "
                f"counts={self.counts()})")


def is_voc_layout(root: str | os.PathLike) -> bool:
    root = Path(root)
    return (root / "annotations").is_dir() and (root / "images").is_dir()


def load_dataset(root: str | os.PathLike, min_face: int = 0) -> Dataset:
    """Read a class-folder tree or a Pascal VOC scene folder, recognised by its layout.

    Args:
        root: the dataset folder.
        min_face: for VOC scenes, leave out faces whose shorter side is below this (pixels).

    Raises:
        DatasetError: missing folder, unknown layout, no usable image, or a class without one.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: no such dataset folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder (expected ROOT/<class>/<image> or a VOC folder)")
    if is_voc_layout(root):
        return load_voc(root, min_face=min_face)
    return load_image_folder(root)


def _check_file(path: Path) -> str | None:
    """A reason the file cannot be an image, found without decoding it, or None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    if size == 0:
        return "empty file (0 bytes)"
    return None


def _warn_skipped(root: Path, skipped: list[tuple[str, str]], what: str) -> None:
    for name, reason in skipped:
        logger.warning("skipped %s: %s", name, reason)
    if skipped:
        logger.warning("%s: skipped %d %s (see the warnings above)", root, len(skipped), what)


def load_image_folder(root: str | os.PathLike) -> Dataset:
    """Read ``ROOT/<class>/<image>`` (images may sit in sub-folders of a class folder).

    Files are taken as images when their extension is an image one (jpg, jpeg, png, webp,
    bmp, tif, ...) or when their first bytes are an image format's signature. Other files are
    ignored; empty files are skipped with a warning.
    """
    root = Path(root)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(
            f"{root}: no class folders (expected ROOT/<class>/<image>, e.g. "
            f"{root}/with_mask/1.jpg, or a VOC folder with images/ and annotations/)"
        )
    samples: list[Sample] = []
    skipped: list[tuple[str, str]] = []
    ignored = 0
    for class_dir in class_dirs:
        for path in walk_files(class_dir):
            if not looks_like_image(path):
                ignored += 1
                continue
            reason = _check_file(path)
            if reason:
                skipped.append((str(path), reason))
            else:
                samples.append(Sample(path, class_dir.name))
    if ignored:
        logger.info("%s: ignored %d files that are not images", root, ignored)
    _warn_skipped(root, skipped, "files")
    classes = [d.name for d in class_dirs]
    dataset = Dataset(samples, classes, root, "folders", skipped)
    _check_usable(dataset)
    return dataset


def _check_usable(dataset: Dataset) -> None:
    if not dataset.samples:
        raise DatasetError(f"{dataset.root}: no usable images in the dataset")
    empty = [name for name, n in dataset.counts().items() if n == 0]
    if empty:
        raise DatasetError(f"{dataset.root}: class {', '.join(map(repr, empty))} has no usable "
                           "image")
    if len(dataset.classes) < 2:
        raise DatasetError(f"{dataset.root}: only one class ({dataset.classes[0]!r}); "
                           "a classifier needs two or more")


@dataclass(frozen=True)
class VocAnnotation:
    """A parsed Pascal VOC annotation: image file name, size, and labelled boxes."""

    filename: str
    width: int
    height: int
    objects: list[tuple[str, tuple[int, int, int, int]]]
    """``(label, (x, y, w, h))`` per object, boxes clipped to the image."""
    problems: list[str]
    """Objects left out, and why (box outside the image, malformed, ...)."""


def parse_voc(xml_path: str | os.PathLike) -> VocAnnotation:
    """Parse one Pascal VOC XML file.

    Boxes partly outside the image are clipped; boxes wholly outside it, empty or malformed
    ones are left out and listed in ``problems``.

    Raises:
        DatasetError: the XML cannot be parsed or lacks ``filename``/``size``.
    """
    xml_path = Path(xml_path)
    try:
        tree = ET.parse(xml_path)
    except (ET.ParseError, OSError) as exc:
        raise DatasetError(f"{xml_path}: unreadable XML ({exc})") from None
    node = tree.getroot()
    try:
        filename = node.findtext("filename", "").strip()
        width = int(float(node.findtext("size/width")))
        height = int(float(node.findtext("size/height")))
    except (TypeError, ValueError, OverflowError):  # OverflowError: "inf" (found by fuzzing)
        raise DatasetError(f"{xml_path}: missing or invalid <filename>/<size>") from None
    objects, problems = [], []
    for i, obj in enumerate(node.iter("object")):
        label = (obj.findtext("name") or "").strip()
        try:
            x1, y1, x2, y2 = (float(obj.findtext(f"bndbox/{k}"))
                              for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            problems.append(f"object {i}: missing or invalid <bndbox>")
            continue
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):  # nan, inf: found by fuzzing
            problems.append(f"object {i}: <bndbox> coordinates must be finite numbers")
            continue
        if not label:
            problems.append(f"object {i}: no <name>")
            continue
        if width > 0 and height > 0:
            cx1, cy1 = max(0.0, x1), max(0.0, y1)
            cx2, cy2 = min(float(width), x2), min(float(height), y2)
        else:
            cx1, cy1, cx2, cy2 = x1, y1, x2, y2
        if cx2 - cx1 < 1 or cy2 - cy1 < 1:
            problems.append(f"object {i} ({label}): box {x1:g},{y1:g},{x2:g},{y2:g} is empty or "
                            f"outside the {width}x{height} image")
            continue
        box = (int(round(cx1)), int(round(cy1)), int(round(cx2 - cx1)), int(round(cy2 - cy1)))
        objects.append((label, box))
    return VocAnnotation(filename, width, height, objects, problems)


def load_voc(root: str | os.PathLike, min_face: int = 0) -> Dataset:
    """Read a Pascal VOC folder: ``ROOT/images/*`` and ``ROOT/annotations/*.xml``.

    Each object becomes one :class:`Sample` with its box. Annotations whose image is missing,
    unreadable XML and bad boxes are skipped with a warning; faces whose shorter side is below
    ``min_face`` pixels are left out (counted, not warned about).
    """
    root = Path(root)
    images_dir, ann_dir = root / "images", root / "annotations"
    by_name = {p.name: p for p in walk_files(images_dir)}
    by_stem = {p.stem: p for p in by_name.values()}
    samples: list[Sample] = []
    skipped: list[tuple[str, str]] = []
    too_small = 0
    xml_paths = sorted(p for p in ann_dir.iterdir() if p.suffix.lower() == ".xml")
    for xml_path in xml_paths:
        try:
            ann = parse_voc(xml_path)
        except DatasetError as exc:
            skipped.append((str(xml_path), str(exc).split(": ", 1)[-1]))
            continue
        image_path = by_name.get(Path(ann.filename).name) or by_stem.get(xml_path.stem)
        if image_path is None:
            skipped.append((str(xml_path), f"image {ann.filename!r} not found in {images_dir}"))
            continue
        reason = _check_file(image_path)
        if reason:
            skipped.append((str(image_path), reason))
            continue
        for problem in ann.problems:
            skipped.append((str(xml_path), problem))
        for label, box in ann.objects:
            if min(box[2], box[3]) < min_face:
                too_small += 1
                continue
            samples.append(Sample(image_path, label, box))
    if not xml_paths:
        raise DatasetError(f"{ann_dir}: no .xml annotation files")
    if too_small:
        logger.info("%s: left out %d faces smaller than %d px", root, too_small, min_face)
    _warn_skipped(root, skipped, "files or boxes")
    classes = sorted({s.label for s in samples})
    dataset = Dataset(samples, classes, root, "voc", skipped)
    if not samples:
        raise DatasetError(f"{root}: no usable face boxes in the dataset")
    return dataset


def merge_datasets(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset from several (classes are the union)."""
    if len(datasets) == 1:
        return datasets[0]
    samples = [s for d in datasets for s in d.samples]
    classes = sorted({c for d in datasets for c in d.classes})
    skipped = [x for d in datasets for x in d.skipped]
    root = Path(os.path.commonpath([str(d.root.resolve()) for d in datasets]))
    layout = "+".join(sorted({d.layout for d in datasets}))
    return Dataset(samples, classes, root, layout, skipped)


@dataclass
class DatasetSplit:
    """Train / validation / test parts of a dataset, disjoint by file."""

    train: Dataset
    validation: Dataset
    test: Dataset
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """Pairs of files with identical bytes that landed in different parts."""


def split_dataset(
    dataset: Dataset,
    test_size: float = 0.2,
    validation_size: float = 0.0,
    seed: int = 0,
    keep_duplicates_together: bool = True,
) -> DatasetSplit:
    """Stratified, reproducible split by file: all boxes of one photo land in the same part.

    Byte-identical files (public mask datasets copy each other's images) inflate test scores
    when they land in different parts. By default they are kept together in one part; with
    ``keep_duplicates_together=False`` they are split like any file and the pairs that cross
    parts are reported (``DatasetSplit.duplicates`` and a warning).

    Args:
        test_size, validation_size: fractions of the files in the test and validation parts.
        seed: the random seed; the same seed and files give the same split.
    """
    from sklearn.model_selection import train_test_split

    if not 0 <= test_size < 1 or not 0 <= validation_size < 1 or test_size + validation_size >= 1:
        raise ValueError("test_size and validation_size must be in [0, 1) and sum to below 1")
    # Units of splitting: one file (all its boxes), or one set of identical files.
    by_file: dict[Path, list[int]] = defaultdict(list)
    for i, s in enumerate(dataset.samples):
        by_file[s.path].append(i)
    files = sorted(by_file)
    if keep_duplicates_together:
        digests = [file_digest(f) for f in files]
        unit_of: dict[str, int] = {}
        units: list[list[int]] = []
        for f, digest in zip(files, digests):
            if digest not in unit_of:
                unit_of[digest] = len(units)
                units.append([])
            units[unit_of[digest]].extend(by_file[f])
        n_dupes = len(files) - len(units)
        if n_dupes:
            logger.info("%s: %d files are byte-identical copies of others; each set is kept in "
                        "one part of the split", dataset.root, n_dupes)
    else:
        units = [by_file[f] for f in files]
    # Stratify units by their rarest label so that rare classes spread over the parts.
    freq = dataset.counts()
    strata = np.array([min((dataset.samples[i].label for i in unit), key=freq.__getitem__)
                       for unit in units], dtype=object)

    def cut(idx: np.ndarray, fraction: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
        if fraction <= 0:
            return idx, idx[:0]
        labels = strata[idx]
        counts = Counter(labels)
        n_test = max(1, int(round(fraction * len(idx))))
        stratify = labels if min(counts.values()) >= 2 and n_test >= len(counts) > 1 else None
        try:
            return train_test_split(idx, test_size=n_test, random_state=seed + salt,
                                    stratify=stratify)
        except ValueError as exc:
            raise DatasetError(f"{dataset.root}: cannot split {len(idx)} files ({exc})") from None

    rest, test_idx = cut(np.arange(len(units)), test_size, 0)
    train_idx, val_idx = cut(rest, validation_size / (1 - test_size), 1)

    def part(unit_idx: np.ndarray) -> Dataset:
        return dataset.subset(sorted(i for u in unit_idx for i in units[u]))

    split = DatasetSplit(part(train_idx), part(val_idx), part(test_idx))
    if not keep_duplicates_together:
        split.duplicates = find_cross_duplicates(
            [split.train.paths, split.validation.paths, split.test.paths])
        if split.duplicates:
            a, b = split.duplicates[0]
            logger.warning("%d byte-identical files sit in different parts of the split "
                           "(e.g. %s and %s): test scores are inflated", len(split.duplicates),
                           a, b)
    return split


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_cross_duplicates(parts: Sequence[Sequence[Path]]) -> list[tuple[str, str]]:
    """Pairs of byte-identical files that sit in different parts (one pair per extra copy)."""
    first_seen: dict[str, tuple[int, Path]] = {}
    pairs = []
    for part_no, paths in enumerate(parts):
        for path in dict.fromkeys(paths):  # unique, in order
            digest = file_digest(path)
            seen = first_seen.setdefault(digest, (part_no, path))
            if seen[0] != part_no:
                pairs.append((str(seen[1]), str(path)))
    return pairs


# -- held-out parts that travel with a model ---------------------------------------------------
@dataclass(frozen=True)
class SourceSplit:
    """How one data source was split for training a model, recorded in the model's bundle so
    that its held-out part can be found again (:func:`held_out_part`).

    Attributes:
        name: the source folder's name (``mask-scenes``).
        layout: ``"folders"`` or ``"voc"``.
        files: files in the whole source, to recognise it.
        test_size, seed: the split (:func:`split_dataset` of the whole source).
        test_files: files in its test part.
    """

    name: str
    layout: str
    files: int
    test_size: float
    seed: int
    test_files: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layout": self.layout, "files": self.files,
                "test_size": self.test_size, "seed": self.seed, "test_files": self.test_files}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSplit:
        return cls(name=str(data["name"]), layout=str(data.get("layout", "")),
                   files=int(data["files"]), test_size=float(data["test_size"]),
                   seed=int(data["seed"]), test_files=int(data.get("test_files", 0)))


def source_split(dataset: Dataset, test_size: float, seed: int) -> tuple[DatasetSplit,
                                                                          SourceSplit]:
    """Split one data source for training, and describe the split for the model's bundle.

    Split the source as loaded whole (no ``min_face``, no relabelling): the split is by file,
    and :func:`held_out_part` splits the whole folder again to find the same test part.
    """
    split = split_dataset(dataset, test_size, 0.0, seed)
    record = SourceSplit(name=dataset.root.name, layout=dataset.layout,
                         files=len(set(dataset.paths)), test_size=test_size, seed=seed,
                         test_files=len(set(split.test.paths)))
    return split, record


def held_out_part(dataset: Dataset, sources: Sequence[SourceSplit]) -> Dataset:
    """The part of ``dataset`` that a model trained on ``sources`` never saw.

    The source named like ``dataset``'s folder is split again (the whole folder, with the
    recorded seed and test size) and the samples of ``dataset`` in its test part are
    returned, so ``dataset`` may be a filtered load (``min_face``, relabelled).

    Raises:
        DatasetError: the model records no source of that name, or the folder's files differ
            from the source it was trained on.
    """
    name = dataset.root.name
    entry = next((s for s in sources if s.name == name), None)
    if entry is None:
        known = ", ".join(s.name for s in sources) or "none recorded"
        raise DatasetError(f"the model records no held-out part of a dataset named {name!r} "
                           f"(its training sources: {known})")
    whole = load_dataset(dataset.root)
    files = len(set(whole.paths))
    if files != entry.files:
        raise DatasetError(f"{dataset.root}: {files} files, but the model's source {name!r} had "
                           f"{entry.files}; its held-out part cannot be found again")
    split = split_dataset(whole, entry.test_size, 0.0, entry.seed)
    test = set(split.test.paths)
    return dataset.subset(i for i, s in enumerate(dataset.samples) if s.path in test)


def read_unlabelled(path: str | os.PathLike) -> dict[str, list[tuple[float, ...]]]:
    """The faces a VOC folder's annotations leave out (for ``maskdet evaluate --end-to-end``
    and :func:`~maskdet.video.clips.make_clips`, which ignore them): a JSON file
    mapping a photo's file name without its suffix to ``[x, y, w, h]`` boxes (or holding
    that mapping under ``"faces"``, beside notes).

    Raises:
        DatasetError: the file cannot be read, is not JSON, or holds something else (named).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the unlabelled faces ({exc.strerror or exc})"
                           ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not JSON ({exc})") from None
    faces = data.get("faces", data) if isinstance(data, dict) else None
    if not isinstance(faces, dict):
        raise DatasetError(f"{path}: expected {{photo: [[x, y, w, h], ...]}}")
    out = {}
    for photo, boxes in faces.items():
        if not isinstance(boxes, list) or not all(
                isinstance(b, list) and len(b) == 4 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in b)
                and b[2] > 0 and b[3] > 0 for b in boxes):
            raise DatasetError(f"{path}: {photo!r} must hold [x, y, w, h] boxes of positive "
                               "size")
        out[str(photo)] = [tuple(float(v) for v in b) for b in boxes]
    return out


__all__ = [
    "IMAGE_EXTENSIONS",
    "Dataset",
    "DatasetSplit",
    "Sample",
    "SourceSplit",
    "VocAnnotation",
    "file_digest",
    "find_cross_duplicates",
    "held_out_part",
    "is_voc_layout",
    "load_dataset",
    "load_image_folder",
    "load_voc",
    "merge_datasets",
    "parse_voc",
    "read_unlabelled",
    "source_split",
    "split_dataset",
]
