"""Datasets: class folders and Pascal VOC scenes, and splitting them."""

from __future__ import annotations

import logging
import shutil
import struct
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

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
from maskdet.errors import DatasetError
from maskdet.images import read_image
from tests.helpers import (
    jpeg_bytes,
    scene_image,
    voc_xml,
    warnings_text,
    write_class_folders,
    write_voc,
)

CLASSES3 = ("with_mask", "without_mask", "mask_weared_incorrect")


def parse_one(tmp_path: Path, objects, width=100, height=100, extra="") -> object:
    path = tmp_path / "ann.xml"
    path.write_text(voc_xml("img.png", width, height, objects, extra))
    return parse_voc(path)


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
