"""Datasets: class folders and Pascal VOC scenes, splitting, and face extraction."""

from __future__ import annotations

import logging
import shutil
import struct
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import MarkerDetector, synthetic_face, write_class_folders

from maskdet.data import (
    Dataset,
    Sample,
    file_digest,
    find_cross_duplicates,
    is_voc_layout,
    load_dataset,
    load_image_folder,
    load_voc,
    parse_voc,
    split_dataset,
)
from maskdet.detections import Detections
from maskdet.errors import DatasetError
from maskdet.faces import (
    crop_face,
    extract_faces,
    frame_face,
    square_box,
)
from maskdet.images import read_image

CLASSES3 = ("with_mask", "without_mask", "mask_weared_incorrect")


def jpeg_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def warnings_text(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


# --------------------------------------------------------------------------- VOC helpers


def voc_xml(filename: str, width, height, objects, extra_object_text: str = "") -> str:
    """objects: (label, (xmin, ymin, xmax, ymax)); a None label writes no <name>."""
    parts = [f"<annotation>\n  <folder>images</folder>\n  <filename>{filename}</filename>\n"
             f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"]
    for label, (x1, y1, x2, y2) in objects:
        name = "" if label is None else f"<name>{label}</name>"
        parts.append(
            f"  <object>{name}<pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>0</difficult>\n    <bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>{extra_object_text}\n  </object>\n")
    parts.append("</annotation>\n")
    return "".join(parts)


def scene_image(seed: int, h: int = 120, w: int = 160) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_voc(root: Path, entries) -> Path:
    """entries: (stem, image or None, objects) -- a PNG per image, an XML per entry."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for stem, image, objects in entries:
        h, w = (120, 160) if image is None else image.shape[:2]
        if image is not None:
            assert cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
        (root / "annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.png", w, h, objects))
    return root


def parse_one(tmp_path: Path, objects, width=100, height=100, extra="") -> object:
    path = tmp_path / "ann.xml"
    path.write_text(voc_xml("img.png", width, height, objects, extra))
    return parse_voc(path)


# --------------------------------------------------------------------------- class folders


def test_class_folders_fixture_loads(class_folders):
    ds = load_dataset(class_folders)
    assert isinstance(ds, Dataset)
    assert ds.layout == "folders"
    assert ds.root == class_folders
    assert ds.classes == ["with_mask", "without_mask"]
    assert len(ds) == 24
    assert ds.counts() == {"with_mask": 12, "without_mask": 12}
    assert ds.skipped == []
    for s in ds.samples:
        assert s.box is None
        assert s.label == s.path.parent.name
        assert s.path.is_file()
    assert list(ds.labels) == [s.label for s in ds.samples]
    assert ds.paths == [s.path for s in ds.samples]
    # stable order: by class, then by file name
    assert ds.paths == sorted(ds.paths, key=lambda p: (p.parent.name, p.name))


def test_class_names_are_sorted_folder_names(tmp_path):
    for name in ("zebra", "Apple", "mango"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), scene_image(1, 8, 8))
    ds = load_image_folder(tmp_path)
    assert ds.classes == ["Apple", "mango", "zebra"]
    assert [s.label for s in ds.samples] == ["Apple", "mango", "zebra"]


def test_three_classes(tmp_path):
    root = write_class_folders(tmp_path / "faces", per_class=4, classes=CLASSES3)
    ds = load_dataset(root)
    assert ds.classes == ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert ds.counts() == {"mask_weared_incorrect": 4, "with_mask": 4, "without_mask": 4}


def test_odd_extension_included_and_other_files_ignored(class_folders, caplog):
    odd = class_folders / "with_mask" / "black3.jpg_1088Wx1632H"
    odd.write_bytes(jpeg_bytes(scene_image(2, 20, 20)))
    (class_folders / "with_mask" / "notes.txt").write_text("not an image")
    (class_folders / "without_mask" / "labels.csv").write_text("a,b\n")
    nested = class_folders / "without_mask" / "more" / "deeper.png"
    nested.parent.mkdir()
    cv2.imwrite(str(nested), scene_image(3, 20, 20))
    caplog.set_level(logging.INFO, logger="maskdet")
    ds = load_dataset(class_folders)
    assert odd in ds.paths
    assert ds.samples[ds.paths.index(odd)].label == "with_mask"
    assert ds.samples[ds.paths.index(nested)].label == "without_mask"
    assert ds.counts() == {"with_mask": 13, "without_mask": 13}
    assert not any(p.suffix in (".txt", ".csv") for p in ds.paths)
    assert ds.skipped == []  # ignored, not skipped
    assert warnings_text(caplog) == ""
    assert "ignored 2 files" in caplog.text


def test_zero_byte_file_skipped_with_warning(class_folders, caplog):
    bad = class_folders / "without_mask" / "broken.jpg"
    bad.write_bytes(b"")
    caplog.set_level(logging.WARNING, logger="maskdet")
    ds = load_dataset(class_folders)
    assert bad not in ds.paths
    assert ds.counts() == {"with_mask": 12, "without_mask": 12}
    assert ds.skipped == [(str(bad), "empty file (0 bytes)")]
    text = warnings_text(caplog)
    assert str(bad) in text
    assert "empty" in text


def test_hidden_files_and_folders_ignored(class_folders, caplog):
    img = jpeg_bytes(scene_image(4, 16, 16))
    (class_folders / "with_mask" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (class_folders / "with_mask" / "._photo.jpg").write_bytes(b"\0\5\26\7AppleDouble")
    (class_folders / "with_mask" / ".hidden.jpg").write_bytes(b"")  # would be skipped if seen
    (class_folders / "with_mask" / ".thumbs").mkdir()
    (class_folders / "with_mask" / ".thumbs" / "t.jpg").write_bytes(img)
    (class_folders / ".cache").mkdir()  # not a class
    (class_folders / ".cache" / "x.jpg").write_bytes(img)
    caplog.set_level(logging.WARNING, logger="maskdet")
    ds = load_dataset(class_folders)
    assert ds.classes == ["with_mask", "without_mask"]
    assert ds.counts() == {"with_mask": 12, "without_mask": 12}
    assert all(not part.startswith(".") for p in ds.paths for part in p.relative_to(
        class_folders).parts)
    assert ds.skipped == []
    assert warnings_text(caplog) == ""


def _empty_root(root):
    root.mkdir()


def _class_without_images(root):
    write_class_folders(root, per_class=2, classes=("with_mask",))
    (root / "without_mask").mkdir()
    (root / "without_mask" / "readme.txt").write_text("nothing here")


def _class_with_only_empty_files(root):
    write_class_folders(root, per_class=2, classes=("with_mask",))
    (root / "without_mask").mkdir()
    (root / "without_mask" / "a.jpg").write_bytes(b"")


def _one_class(root):
    write_class_folders(root, per_class=3, classes=("with_mask",))


def _only_empty_files(root):
    for c in ("with_mask", "without_mask"):
        (root / c).mkdir(parents=True)
        (root / c / "x.png").write_bytes(b"")


def _loose_images_no_folders(root):
    root.mkdir()
    (root / "a.jpg").write_bytes(jpeg_bytes(scene_image(0, 8, 8)))


def _file_not_folder(root):
    root.write_text("not a folder")


@pytest.mark.parametrize(
    "make, message",
    [
        (None, "no such dataset folder"),
        (_file_not_folder, "not a folder"),
        (_empty_root, "no class folders"),
        (_loose_images_no_folders, "no class folders"),
        (_class_without_images, "class 'without_mask' has no usable image"),
        (_class_with_only_empty_files, "class 'without_mask' has no usable image"),
        (_one_class, "only one class ('with_mask')"),
        (_only_empty_files, "no usable images"),
    ],
)
def test_load_dataset_errors(tmp_path, make, message):
    root = tmp_path / "data"
    if make is not None:
        make(root)
    with pytest.raises(DatasetError) as info:
        load_dataset(root)
    assert str(root) in str(info.value)
    assert message in str(info.value)


# --------------------------------------------------------------------------- VOC parsing


@pytest.mark.parametrize(
    "bndbox, expected_box, problem",
    [
        ((10, 20, 50, 70), (10, 20, 40, 50), None),
        ((-10, -5, 30, 40), (0, 0, 30, 40), None),  # clipped at the top-left
        ((80, 90, 130, 150), (80, 90, 20, 10), None),  # clipped at the bottom-right
        ((-50, 40, 150, 60), (0, 40, 100, 20), None),  # wider than the image
        ((10.6, 20.2, 50.4, 70.7), (11, 20, 40, 50), None),  # float coordinates
        ((120, 10, 150, 40), None, "outside the 100x100 image"),
        ((10, -80, 40, -20), None, "outside the 100x100 image"),
        ((50, 50, 50, 60), None, "empty"),
        ((60, 50, 40, 70), None, "empty"),  # xmax < xmin
        (("abc", 1, 2, 3), None, "invalid <bndbox>"),
        (("", 1, 2, 3), None, "invalid <bndbox>"),
    ],
)
def test_parse_voc_boxes(tmp_path, bndbox, expected_box, problem):
    ann = parse_one(tmp_path, [("with_mask", (5, 5, 25, 25)), ("without_mask", bndbox)])
    assert ann.filename == "img.png"
    assert (ann.width, ann.height) == (100, 100)
    assert ann.objects[0] == ("with_mask", (5, 5, 20, 20))
    if problem is None:
        assert ann.objects[1:] == [("without_mask", expected_box)]
        assert ann.problems == []
    else:
        assert ann.objects[1:] == []
        assert len(ann.problems) == 1
        assert ann.problems[0].startswith("object 1")
        assert problem in ann.problems[0]


def test_parse_voc_object_without_name(tmp_path):
    ann = parse_one(tmp_path, [(None, (5, 5, 25, 25)), ("with_mask", (30, 30, 60, 60))])
    assert ann.objects == [("with_mask", (30, 30, 30, 30))]
    assert ann.problems == ["object 0: no <name>"]


def test_parse_voc_missing_bndbox(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<annotation><filename>a.png</filename><size><width>10</width>"
                    "<height>10</height></size><object><name>with_mask</name></object>"
                    "</annotation>")
    ann = parse_voc(path)
    assert ann.objects == []
    assert ann.problems == ["object 0: missing or invalid <bndbox>"]


def test_parse_voc_stray_text_inside_object(tmp_path):
    # The real mask-scenes annotations have a file: URL as stray text after </bndbox>.
    stray = "file:/Users/someone/archive/annotations/maksssksksss17.xml"
    ann = parse_one(tmp_path, [("without_mask", (79, 5, 99, 42)), ("with_mask", (10, 10, 41, 44))],
                    extra=stray)
    assert ann.objects == [("without_mask", (79, 5, 20, 37)), ("with_mask", (10, 10, 31, 34))]
    assert ann.problems == []


def test_parse_voc_labels_are_stripped(tmp_path):
    ann = parse_one(tmp_path, [("  mask_weared_incorrect\n", (1, 1, 11, 11))])
    assert ann.objects == [("mask_weared_incorrect", (1, 1, 10, 10))]


def test_parse_voc_zero_size_means_no_clipping(tmp_path):
    ann = parse_one(tmp_path, [("with_mask", (90, 90, 140, 150))], width=0, height=0)
    assert ann.objects == [("with_mask", (90, 90, 50, 60))]


@pytest.mark.parametrize(
    "text, message",
    [
        ("<annotation><filename>a.png</filename>", "unreadable XML"),
        ("not xml at all", "unreadable XML"),
        ("", "unreadable XML"),
        ("<annotation><filename>a.png</filename></annotation>", "missing or invalid"),
        ("<annotation><filename>a.png</filename><size><width>ten</width><height>5</height>"
         "</size></annotation>", "missing or invalid"),
    ],
)
def test_parse_voc_errors(tmp_path, text, message):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(DatasetError) as info:
        parse_voc(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_parse_voc_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="unreadable XML"):
        parse_voc(tmp_path / "nope.xml")


# --------------------------------------------------------------------------- VOC loading


@pytest.fixture
def voc_dir(tmp_path) -> Path:
    root = write_voc(tmp_path / "scenes", [
        ("a", scene_image(1), [("with_mask", (10, 10, 40, 40)),
                               ("without_mask", (50, 10, 90, 50))]),
        ("b", scene_image(2), [("mask_weared_incorrect", (100, 60, 150, 110)),
                               ("with_mask", (170, 10, 200, 40)),  # wholly outside (w=160)
                               ("without_mask", (140, 100, 180, 140))]),  # clipped
        ("c", scene_image(3), [("with_mask", (5, 5, 30, 30))]),
        ("d", None, [("with_mask", (5, 5, 30, 30))]),  # its image is missing
        ("e", scene_image(5), [("with_mask", (0, 0, 6, 8)),  # tiny face
                               ("without_mask", (20, 20, 60, 60))]),
    ])
    (root / "annotations" / "c.xml").write_text("<annotation><filename>c.png</filename>")
    return root


def test_load_voc(voc_dir, caplog):
    caplog.set_level(logging.WARNING, logger="maskdet")
    assert is_voc_layout(voc_dir)
    ds = load_dataset(voc_dir)
    assert ds.layout == "voc"
    assert ds.root == voc_dir
    images = voc_dir / "images"
    assert [(s.path, s.label, s.box) for s in ds.samples] == [
        (images / "a.png", "with_mask", (10, 10, 30, 30)),
        (images / "a.png", "without_mask", (50, 10, 40, 40)),
        (images / "b.png", "mask_weared_incorrect", (100, 60, 50, 50)),
        (images / "b.png", "without_mask", (140, 100, 20, 20)),
        (images / "e.png", "with_mask", (0, 0, 6, 8)),
        (images / "e.png", "without_mask", (20, 20, 40, 40)),
    ]
    assert ds.classes == ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert ds.counts() == {"mask_weared_incorrect": 1, "with_mask": 2, "without_mask": 3}

    skipped = dict(ds.skipped)
    ann = voc_dir / "annotations"
    assert len(ds.skipped) == 3
    assert "outside the 160x120 image" in skipped[str(ann / "b.xml")]
    assert "unreadable XML" in skipped[str(ann / "c.xml")]
    assert "'d.png' not found" in skipped[str(ann / "d.xml")]
    text = warnings_text(caplog)
    for name in ("b.xml", "c.xml", "d.xml"):
        assert str(ann / name) in text
    assert "skipped 3 files or boxes" in text


@pytest.mark.parametrize("min_face, expected", [(0, 6), (6, 6), (7, 5), (30, 4), (41, 1)])
def test_load_voc_min_face(voc_dir, caplog, min_face, expected):
    caplog.set_level(logging.INFO, logger="maskdet")
    ds = load_dataset(voc_dir, min_face=min_face)
    assert len(ds) == expected
    assert all(min(s.box[2:]) >= min_face for s in ds.samples)
    assert len(ds.skipped) == 3  # small faces are not "skipped" files
    if expected < 6:
        assert f"left out {6 - expected} faces smaller than {min_face} px" in caplog.text


def test_load_voc_all_faces_too_small(voc_dir):
    with pytest.raises(DatasetError, match="no usable face boxes"):
        load_dataset(voc_dir, min_face=1000)


def test_load_voc_empty_image_skipped(voc_dir, caplog):
    (voc_dir / "images" / "a.png").write_bytes(b"")
    caplog.set_level(logging.WARNING, logger="maskdet")
    ds = load_voc(voc_dir)
    assert voc_dir / "images" / "a.png" not in ds.paths
    assert (str(voc_dir / "images" / "a.png"), "empty file (0 bytes)") in ds.skipped
    assert str(voc_dir / "images" / "a.png") in warnings_text(caplog)


def test_load_voc_image_found_by_xml_stem(tmp_path):
    root = write_voc(tmp_path / "v", [("s1", scene_image(1), [("with_mask", (1, 1, 21, 21))]),
                                      ("s2", scene_image(2), [("without_mask", (1, 1, 21, 21))])])
    # <filename> names another file; the image with the annotation's stem is used.
    xml = root / "annotations" / "s1.xml"
    xml.write_text(xml.read_text().replace("s1.png", "renamed.jpg"))
    ds = load_voc(root)
    assert [s.path.name for s in ds.samples] == ["s1.png", "s2.png"]
    assert ds.skipped == []


def test_load_voc_without_annotations(tmp_path):
    (tmp_path / "v" / "images").mkdir(parents=True)
    (tmp_path / "v" / "annotations").mkdir()
    cv2.imwrite(str(tmp_path / "v" / "images" / "a.png"), scene_image(1))
    with pytest.raises(DatasetError, match="no .xml annotation files"):
        load_dataset(tmp_path / "v")


def test_layout_detection_needs_both_folders(tmp_path):
    root = tmp_path / "v"
    (root / "images").mkdir(parents=True)
    assert not is_voc_layout(root)
    (root / "annotations").mkdir()
    assert is_voc_layout(root)


# --------------------------------------------------------------------------- splitting


@pytest.fixture(scope="module")
def split_folders(tmp_path_factory) -> Path:
    """30 with_mask + 15 without_mask + 9 mask_weared_incorrect synthetic face files."""
    root = tmp_path_factory.mktemp("split") / "faces"
    write_class_folders(root, per_class=30, classes=("with_mask",), seed=1)
    write_class_folders(root, per_class=15, classes=("without_mask",), seed=2)
    write_class_folders(root, per_class=9, classes=("mask_weared_incorrect",), seed=3)
    return root


def part_paths(split) -> list[list[Path]]:
    return [split.train.paths, split.validation.paths, split.test.paths]


def test_split_is_reproducible(split_folders):
    ds = load_dataset(split_folders)
    a = split_dataset(ds, test_size=0.25, validation_size=0.15, seed=7)
    b = split_dataset(ds, test_size=0.25, validation_size=0.15, seed=7)
    c = split_dataset(ds, test_size=0.25, validation_size=0.15, seed=8)
    assert part_paths(a) == part_paths(b)
    assert set(a.test.paths) != set(c.test.paths)
    # the same files in another order give the same split
    shuffled = Dataset(ds.samples[::-1], ds.classes, ds.root, ds.layout)
    d = split_dataset(shuffled, test_size=0.25, validation_size=0.15, seed=7)
    assert [set(p) for p in part_paths(d)] == [set(p) for p in part_paths(a)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("test_size, validation_size", [(0.2, 0.0), (0.25, 0.2), (0.3, 0.1)])
def test_split_disjoint_complete_stratified(split_folders, seed, test_size, validation_size):
    ds = load_dataset(split_folders)
    split = split_dataset(ds, test_size=test_size, validation_size=validation_size, seed=seed)
    parts = [split.train, split.validation, split.test]
    sets = [set(p.paths) for p in parts]
    assert sum(len(p) for p in parts) == len(ds)
    assert sets[0] | sets[1] | sets[2] == set(ds.paths)
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    for p in parts:
        assert p.classes == ds.classes
        assert p.layout == "folders"
        assert p.paths == sorted(p.paths, key=ds.paths.index)  # dataset order kept
    total = ds.counts()
    assert len(split.test) == round(test_size * len(ds))
    for name, n in total.items():
        assert abs(split.test.counts()[name] - test_size * n) <= 1, name
        if validation_size:
            assert abs(split.validation.counts()[name] - validation_size * n) <= 1.5, name
        else:
            assert split.validation.counts()[name] == 0


@pytest.mark.parametrize(
    "test_size, validation_size, sizes",
    [
        (0.2, 0.0, (43, 0, 11)),
        (0.2, 0.2, (32, 11, 11)),
        (0.5, 0.2, (16, 11, 27)),
        (0.0, 0.3, (38, 16, 0)),
    ],
)
def test_split_part_sizes(split_folders, test_size, validation_size, sizes):
    ds = load_dataset(split_folders)
    assert len(ds) == 54
    split = split_dataset(ds, test_size=test_size, validation_size=validation_size, seed=0)
    assert (len(split.train), len(split.validation), len(split.test)) == sizes


@pytest.mark.parametrize(
    "test_size, validation_size",
    [(1.0, 0.0), (-0.1, 0.0), (0.2, -0.1), (0.5, 0.5), (0.6, 0.5), (0.2, 1.0)],
)
def test_split_rejects_bad_fractions(class_folders, test_size, validation_size):
    ds = load_dataset(class_folders)
    with pytest.raises(ValueError, match="test_size and validation_size"):
        split_dataset(ds, test_size=test_size, validation_size=validation_size)


def test_split_too_small_dataset_raises_dataset_error(tmp_path):
    root = write_class_folders(tmp_path / "tiny", per_class=1)
    ds = load_dataset(root)
    with pytest.raises(DatasetError, match=r"cannot split \d files") as info:
        split_dataset(ds, test_size=0.5, validation_size=0.4)
    assert str(root) in str(info.value)


def test_split_keeps_boxes_of_one_image_together(tmp_path):
    entries = []
    for i in range(16):
        objects = [("with_mask" if (i + j) % 3 else "without_mask",
                    (5 + 30 * j, 10, 30 + 30 * j, 40)) for j in range(1 + i % 4)]
        entries.append((f"s{i:02d}", scene_image(100 + i), objects))
    ds = load_dataset(write_voc(tmp_path / "voc", entries))
    assert len(ds) == sum(1 + i % 4 for i in range(16))
    for seed in range(5):
        split = split_dataset(ds, test_size=0.25, validation_size=0.25, seed=seed)
        sets = [set(p) for p in part_paths(split)]
        assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
        assert [len(s) for s in sets] == [8, 4, 4]  # split by file: 16 images
        per_file = Counter(ds.paths)
        for part in (split.train, split.validation, split.test):
            assert Counter(part.paths) == {p: per_file[p] for p in set(part.paths)}
            assert all(s.box is not None for s in part.samples)
        assert sorted(s for p in (split.train, split.validation, split.test)
                      for s in map(repr, p.samples)) == sorted(map(repr, ds.samples))


@pytest.fixture
def folders_with_duplicates(tmp_path) -> tuple[Path, list[tuple[Path, Path]]]:
    root = write_class_folders(tmp_path / "dup", per_class=20)
    originals = {label: sorted((root / label).glob("*.jpg")) for label in ("with_mask",
                                                                           "without_mask")}
    pairs = []
    for i in range(8):
        label = "with_mask" if i % 2 else "without_mask"
        src = originals[label][i // 2]
        dst = root / label / f"copy_{i}{src.suffix}"
        shutil.copyfile(src, dst)
        pairs.append((src, dst))
    return root, pairs


def part_of(split, path: Path) -> int:
    return next(i for i, p in enumerate(part_paths(split)) if path in p)


def test_split_keeps_identical_files_together(folders_with_duplicates, caplog):
    root, pairs = folders_with_duplicates
    caplog.set_level(logging.INFO, logger="maskdet")
    ds = load_dataset(root)
    assert len(ds) == 48
    for seed in range(6):
        split = split_dataset(ds, test_size=0.3, validation_size=0.2, seed=seed)
        assert split.duplicates == []
        for a, b in pairs:
            assert part_of(split, a) == part_of(split, b)
        assert find_cross_duplicates(part_paths(split)) == []
    assert "8 files are byte-identical copies of others" in caplog.text


def test_split_reports_crossing_duplicates(folders_with_duplicates, caplog):
    root, pairs = folders_with_duplicates
    caplog.set_level(logging.WARNING, logger="maskdet")
    ds = load_dataset(root)
    found_any = False
    for seed in range(6):
        caplog.clear()
        split = split_dataset(ds, test_size=0.3, validation_size=0.2, seed=seed,
                              keep_duplicates_together=False)
        crossing = {frozenset((str(a), str(b))) for a, b in pairs
                    if part_of(split, a) != part_of(split, b)}
        assert {frozenset(p) for p in split.duplicates} == crossing
        assert len(split.duplicates) == len(crossing)
        for a, b in split.duplicates:
            assert file_digest(a) == file_digest(b)
            assert part_of(split, Path(a)) != part_of(split, Path(b))
        if crossing:
            found_any = True
            assert f"{len(crossing)} byte-identical files sit in different parts" in caplog.text
        else:
            assert "byte-identical" not in caplog.text
    assert found_any


def test_find_cross_duplicates(tmp_path):
    files = {}
    for name, content in [("a", b"one"), ("b", b"one"), ("c", b"two"), ("d", b"one"),
                          ("e", b"three")]:
        files[name] = tmp_path / name
        files[name].write_bytes(content)
    parts = [[files["a"], files["c"], files["a"]], [files["b"], files["e"]], [files["d"]]]
    assert find_cross_duplicates(parts) == [(str(files["a"]), str(files["b"])),
                                            (str(files["a"]), str(files["d"]))]
    assert find_cross_duplicates([[files["a"], files["b"]], [files["c"]]]) == []


# --------------------------------------------------------------------------- faces


def test_extract_faces_class_folders_whole(class_folders):
    ds = load_dataset(class_folders)
    crops = extract_faces(ds, n_jobs=2)
    assert len(crops) == 24
    assert crops.classes == ["with_mask", "without_mask"]
    assert list(crops.labels) == list(ds.labels)
    assert crops.samples == ds.samples
    assert crops.skipped == []
    assert crops.detection_rate is None
    for image, sample in zip(crops.images, crops.samples):
        assert image.dtype == np.uint8
        assert image.shape == (96, 96, 3)
        np.testing.assert_array_equal(image, read_image(sample.path))


@pytest.mark.parametrize(
    "box, margin, window",
    [
        ((20, 30, 40, 50), 0.2, (20, 90, 5, 75)),  # side 70 centred on (40, 55)
        ((20, 30, 40, 50), 0.0, (30, 80, 15, 65)),  # side 50
        ((60, 40, 30, 30), 0.5, (25, 85, 45, 105)),  # side 60 centred on (75, 55)
    ],
)
def test_extract_faces_voc_square_crops_with_margin(tmp_path, box, margin, window):
    image = scene_image(9)
    x, y, w, h = box
    root = write_voc(tmp_path / "v", [
        ("p", image, [("with_mask", (x, y, x + w, y + h))]),
        ("q", scene_image(10), [("without_mask", (0, 0, 20, 20))]),
    ])
    ds = load_dataset(root)
    crops = extract_faces(ds, margin=margin)
    assert list(crops.labels) == ["with_mask", "without_mask"]
    y1, y2, x1, x2 = window
    assert crops.images[0].shape == (y2 - y1, x2 - x1, 3)
    np.testing.assert_array_equal(crops.images[0], image[y1:y2, x1:x2])


def test_crop_face_pads_at_the_border():
    image = scene_image(11)
    crop = crop_face(image, (0, 0, 30, 30), margin=0.2)  # side 42 starting at (-6, -6)
    assert square_box((0, 0, 30, 30), 0.2) == (-6, -6, 42, 42)
    assert crop.shape == (42, 42, 3)
    np.testing.assert_array_equal(crop[6:, 6:], image[0:36, 0:36])
    np.testing.assert_array_equal(crop[0, 6:], image[0, 0:36])  # replicated edge row
    with pytest.raises(ValueError, match="outside"):
        crop_face(image, (500, 500, 10, 10))


def test_extract_faces_skips_bad_image_keeps_others(class_folders, caplog):
    ds = load_dataset(class_folders)
    bad = ds.paths[3]
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    caplog.set_level(logging.WARNING, logger="maskdet")
    crops = extract_faces(ds, n_jobs=3)
    assert len(crops) == 23
    assert bad not in [s.path for s in crops.samples]
    assert [s for s in ds.samples if s.path != bad] == crops.samples
    assert len(crops.skipped) == 1
    assert crops.skipped[0][0] == str(bad)
    assert "truncated" in crops.skipped[0][1]
    text = warnings_text(caplog)
    assert str(bad) in text
    assert "skipped 1 unreadable" in text


def test_extract_faces_voc_box_outside_decoded_image(tmp_path, caplog):
    # The annotation says 400x400, the image is 120x160: the box lies outside the pixels.
    root = write_voc(tmp_path / "v", [
        ("p", scene_image(1), [("with_mask", (10, 10, 40, 40)),
                               ("without_mask", (300, 300, 350, 350))]),
    ])
    xml = root / "annotations" / "p.xml"
    xml.write_text(xml.read_text().replace("<width>160</width><height>120</height>",
                                           "<width>400</width><height>400</height>"))
    caplog.set_level(logging.WARNING, logger="maskdet")
    crops = extract_faces(load_voc(root))
    assert list(crops.labels) == ["with_mask"]
    assert len(crops.skipped) == 1
    assert crops.skipped[0][0] == str(root / "images" / "p.png")
    assert "outside" in crops.skipped[0][1]


def write_marked_folders(root: Path, with_faces: dict[str, tuple[int, int]]) -> Path:
    """Per class (found, total) PNG images of 64x80; found ones carry the detector marker."""
    rng = np.random.default_rng(0)
    for label, (found, total) in with_faces.items():
        (root / label).mkdir(parents=True)
        for i in range(total):
            img = synthetic_face(label, rng, size=80)[:64]
            img[0, :5] = 0
            if i < found:
                img[0, 0] = 255
                img[0, 1:5, 0] = (10 + i, 12, 30, 30)
            assert cv2.imwrite(str(root / label / f"{label}_{i:02d}.png"), img)
    return root


def test_extract_faces_with_detector_leaves_out_faceless_images(tmp_path, caplog):
    root = write_marked_folders(tmp_path / "m", {"with_mask": (4, 10), "without_mask": (9, 10)})
    ds = load_dataset(root)
    detector = MarkerDetector()
    caplog.set_level(logging.INFO, logger="maskdet")
    crops = extract_faces(ds, margin=0.0, detector=detector, n_jobs=4)
    assert detector.calls == 20
    assert len(crops) == 13
    assert Counter(crops.labels) == {"with_mask": 4, "without_mask": 9}
    assert crops.detection_rate == pytest.approx({"with_mask": 0.4, "without_mask": 0.9})
    for image, sample in zip(crops.images, crops.samples):
        i = int(sample.path.stem.rsplit("_", 1)[1])
        assert i < (4 if sample.label == "with_mask" else 9)  # only images with a face
        assert image.shape == (30, 30, 3)  # the face crop, never the whole 64x80 image
        whole = read_image(sample.path)
        np.testing.assert_array_equal(image, whole[12:42, 10 + i:40 + i])
    assert crops.skipped == []
    text = warnings_text(caplog)
    assert "finds faces far more often in some classes" in text
    assert "left out 7 images in which marker found no face" in text
    assert "with_mask 40%, without_mask 90%" in caplog.text


@pytest.mark.parametrize(
    "found, rates, warns",
    [
        ({"with_mask": (8, 10), "without_mask": (9, 10)}, (0.8, 0.9), False),
        ({"with_mask": (10, 10), "without_mask": (10, 10)}, (1.0, 1.0), False),
        ({"with_mask": (5, 10), "without_mask": (7, 10)}, (0.5, 0.7), True),
        ({"with_mask": (0, 4), "without_mask": (4, 4)}, (0.0, 1.0), True),
    ],
)
def test_detection_rate_warning_threshold(tmp_path, caplog, found, rates, warns):
    ds = load_dataset(write_marked_folders(tmp_path / "m", found))
    caplog.set_level(logging.WARNING, logger="maskdet")
    crops = extract_faces(ds, detector=MarkerDetector())
    assert crops.detection_rate == pytest.approx(dict(zip(("with_mask", "without_mask"), rates)))
    assert len(crops) == sum(f for f, _ in found.values())
    assert ("far more often" in caplog.text) is warns


def test_detection_rate_ignores_unreadable_images(tmp_path, caplog):
    root = write_marked_folders(tmp_path / "m", {"with_mask": (0, 4), "without_mask": (4, 4)})
    for i in (0, 1):
        (root / "with_mask" / f"with_mask_0{i}.png").write_bytes(b"not an image at all")
    ds = load_dataset(root)
    assert ds.counts() == {"with_mask": 4, "without_mask": 4}
    caplog.set_level(logging.WARNING, logger="maskdet")
    crops = extract_faces(ds, detector=MarkerDetector())
    # No face in any readable with_mask image: the unreadable ones do not count as found.
    assert crops.detection_rate == pytest.approx({"with_mask": 0.0, "without_mask": 1.0})
    assert len(crops.skipped) == 2
    assert Counter(crops.labels) == {"without_mask": 4}
    assert "far more often" in caplog.text


def test_detector_not_used_on_voc_boxes(voc_dir):
    detector = MarkerDetector()
    crops = extract_faces(load_voc(voc_dir), detector=detector)
    assert detector.calls == 0
    assert len(crops) == 6
    assert crops.detection_rate is None
    assert all(c.shape[0] == c.shape[1] for c in crops.images)


# --------------------------------------------------------------------------- real data


@pytest.mark.shared
def test_real_mask_faces(faces_dir):
    ds = load_dataset(faces_dir)
    assert ds.layout == "folders"
    assert len(ds) == 4094
    assert ds.classes == ["with_mask", "without_mask"]
    assert ds.counts() == {"with_mask": 2164, "without_mask": 1930}
    assert ds.skipped == []
    odd = faces_dir / "with_mask" / "black3.jpg_1088Wx1632H"
    assert odd in ds.paths
    assert ds.samples[ds.paths.index(odd)] == Sample(odd, "with_mask")
    # a few files of every kind the dataset has decode to the canonical form
    by_suffix = {}
    for p in ds.paths:
        by_suffix.setdefault(p.suffix, p)
    assert {".jpg", ".png", ".JPEG", ".webp", ".jpg_1088Wx1632H"} <= set(by_suffix)
    for p in by_suffix.values():
        image = read_image(p)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, p


def _png_header(path: Path) -> tuple[int, int, int, int]:
    head = path.read_bytes()[:26]
    width, height = struct.unpack(">II", head[16:24])
    return width, height, head[24], head[25]


@pytest.mark.shared
def test_real_mask_scenes(scenes_dir):
    ds = load_dataset(scenes_dir)
    assert ds.layout == "voc"
    assert ds.classes == ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert ds.counts() == {"mask_weared_incorrect": 59, "with_mask": 1689,
                           "without_mask": 388}
    assert ds.skipped == []
    assert all(s.box is not None and min(s.box[2:]) >= 1 for s in ds.samples)
    # maksssksksss0 has three faces (its XML has stray text inside an <object>)
    first = scenes_dir / "images" / "maksssksksss0.png"
    assert [(s.label, s.box) for s in ds.samples if s.path == first] == [
        ("without_mask", (79, 105, 30, 37)), ("with_mask", (185, 100, 41, 44)),
        ("without_mask", (325, 90, 35, 51))]


@pytest.mark.shared
@pytest.mark.parametrize("number", [0, 10, 20, 100, 200, 300])
def test_real_scene_pngs_decode(scenes_dir, number):
    path = scenes_dir / "images" / f"maksssksksss{number}.png"
    width, height, depth, colour_type = _png_header(path)
    image = read_image(path)
    assert image.dtype == np.uint8
    assert image.shape == (height, width, 3)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == (np.uint16 if depth == 16 else np.uint8)
    expected = raw[..., :3] if raw.ndim == 3 else raw
    if depth == 16:
        expected = (expected >> 8).astype(np.uint8)
    np.testing.assert_array_equal(image, expected)


@pytest.mark.shared
def test_real_scene_16bit_pngs_present(scenes_dir):
    kinds = {n: _png_header(scenes_dir / "images" / f"maksssksksss{n}.png")[2:]
             for n in (0, 10, 20, 100, 200, 300)}
    assert kinds == {0: (8, 2), 10: (8, 6), 20: (16, 6), 100: (16, 6), 200: (16, 6),
                     300: (8, 6)}


@pytest.mark.shared
def test_real_scenes_extract_a_few_faces(scenes_dir):
    ds = load_dataset(scenes_dir)
    wanted = {scenes_dir / "images" / f"maksssksksss{n}.png" for n in (0, 20, 100)}
    subset = ds.subset(i for i, s in enumerate(ds.samples) if s.path in wanted)
    crops = extract_faces(subset)
    assert len(crops) == len(subset) > 3
    assert crops.skipped == []
    for image, sample in zip(crops.images, crops.samples):
        side = max(1, round(max(sample.box[2:]) * 1.4))
        assert image.dtype == np.uint8
        assert image.shape == (side, side, 3)


# --------------------------------------------------------------------------- framing
def gradient_image(h: int, w: int) -> np.ndarray:
    """Every pixel different, so that a view's position can be read off its pixels."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([yy % 256, xx % 256, (yy // 256) * 16 + xx // 256]).astype(np.uint8)


def test_frame_face_without_a_face_keeps_the_image():
    image = gradient_image(160, 100)
    assert frame_face(image, Detections.empty()) is image


def test_frame_face_close_up_keeps_the_face_in_a_tall_photo():
    # A face low in a tall close-up: the centre square (rows 30-130) would cut its chin (155).
    image = gradient_image(160, 100)
    faces = Detections(boxes=[[20, 100, 60, 55]], face_scores=[0.9])
    view = frame_face(image, faces)
    np.testing.assert_array_equal(view, image[60:160, 0:100])  # as low as the image allows
    # Centred where the image allows: face centre at row 60 -> rows 10-110.
    high = Detections(boxes=[[20, 40, 60, 40]], face_scores=[0.9])
    np.testing.assert_array_equal(frame_face(image, high), image[10:110, 0:100])
    # A wide photo: columns move the same way.
    wide = gradient_image(100, 300)
    right = Detections(boxes=[[200, 10, 60, 70]], face_scores=[0.9])
    np.testing.assert_array_equal(frame_face(wide, right), wide[0:100, 180:280])


def test_frame_face_scene_crops_the_largest_face_with_the_margin():
    image = gradient_image(300, 400)
    # Longer side 60 < 0.4 x 300: a face in a scene. The small, more confident face is not it.
    faces = Detections(boxes=[[10, 10, 20, 20], [200, 100, 50, 60]], face_scores=[0.99, 0.8])
    view = frame_face(image, faces, margin=0.1)
    np.testing.assert_array_equal(view, crop_face(image, (200, 100, 50, 60), 0.1))
    assert view.shape == (72, 72, 3)
    # At 0.4 of the shorter side and above it is a close-up: the full-height square.
    big = Detections(boxes=[[200, 100, 120, 110]], face_scores=[0.9])
    np.testing.assert_array_equal(frame_face(image, big), image[0:300, 100:400])


def test_extract_faces_framing_keeps_every_image(tmp_path):
    # Marker faces are 30 px in 64 x 80 images: close-ups (above 0.4 x 64), left of centre.
    root = write_marked_folders(tmp_path / "m", {"with_mask": (4, 10), "without_mask": (9, 10)})
    ds = load_dataset(root)
    detector = MarkerDetector()
    crops = extract_faces(ds, margin=0.0, framing=detector, n_jobs=3)
    assert detector.calls == 20
    assert crops.samples == ds.samples  # nothing left out, faces found or not
    assert crops.detection_rate is None
    for image, sample in zip(crops.images, crops.samples):
        i = int(sample.path.stem.rsplit("_", 1)[1])
        whole = read_image(sample.path)
        if i < (4 if sample.label == "with_mask" else 9):
            # The square centred on the largest face (30 x 30, centre x 25 + i) as far as the
            # image allows; not on the decoy (8 x 8 at 0, 0), not the centre square (x 8-72).
            left = max(0, 25 + i - 32)
            np.testing.assert_array_equal(image, whole[:, left:left + 64])
        else:
            np.testing.assert_array_equal(image, whole)
    with pytest.raises(ValueError, match="not both"):
        extract_faces(ds, detector=detector, framing=detector)
