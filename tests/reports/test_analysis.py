"""Dataset analysis (maskdet.analysis): counts, sizes, formats, duplicates, detection rates,
unreadable files -- on small generated datasets whose content is known."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.data import Dataset, load_dataset, split_dataset
from maskdet.detections import Detections
from maskdet.errors import DatasetError
from maskdet.faces import FaceDetector, HaarDetector, extract_faces
from maskdet.reports.analysis import (
    analyze_dataset,
    hamming_distance,
    hash_pairs,
    ks_distance,
    near_duplicate_pairs,
    perceptual_hash,
    thumbnail,
)
from tests.helpers import distinct_picture, warnings_text, write_class_folders, write_photo_scenes


def write_distinct_folders(root: Path, per_class: int = 8, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / label / f"{label}_{i}.jpg"), distinct_picture(rng),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
    return root


# -------------------------------------------------------------------------- building blocks


@pytest.mark.parametrize("transform", [
    lambda im: cv2.imdecode(cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1),
    lambda im: cv2.resize(im, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA),
    lambda im: cv2.resize(im, None, fx=2.0, fy=2.0),
    lambda im: cv2.convertScaleAbs(im, alpha=1.0, beta=12),  # brighter
], ids=["jpeg-q40", "smaller", "larger", "brighter"])
def test_perceptual_hash_survives_reencoding_and_resizing(transform):
    image = distinct_picture(np.random.default_rng(3))
    assert hamming_distance(perceptual_hash(image), perceptual_hash(transform(image))) <= 4


def test_perceptual_hash_tells_distinct_pictures_apart():
    rng = np.random.default_rng(4)
    hashes = [perceptual_hash(distinct_picture(rng)) for _ in range(30)]
    distances = [hamming_distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]]
    assert min(distances) > 10
    assert 24 <= np.median(distances) <= 40


def test_hash_pairs_matches_brute_force():
    rng = np.random.default_rng(5)
    hashes = [int(v) for v in rng.integers(0, 2**63, 300, dtype=np.int64)]
    hashes += [h ^ (1 << int(rng.integers(64))) for h in hashes[:20]]  # 1-bit variants
    found = {(i, j): d for i, j, d in hash_pairs(hashes, threshold=24, block=64)}
    expected = {(i, j): hamming_distance(a, b) for i, a in enumerate(hashes)
                for j, b in enumerate(hashes) if i < j and hamming_distance(a, b) <= 24}
    assert found == expected
    assert all(found[(k, 300 + k)] == 1 for k in range(20))


def test_near_duplicate_pairs_need_similar_thumbnails():
    rng = np.random.default_rng(6)
    a, b = distinct_picture(rng), distinct_picture(rng)
    images = [a, b, cv2.resize(a, (60, 50))]
    hashes = [perceptual_hash(im) for im in images]
    thumbs = [thumbnail(im) for im in images]
    assert [p[:2] for p in near_duplicate_pairs(hashes, thumbs)] == [(0, 2)]
    # With the hash test made meaningless, the thumbnail check alone keeps b out.
    assert [p[:2] for p in near_duplicate_pairs(hashes, thumbs, threshold=64)] == [(0, 2)]


@pytest.mark.parametrize("a, b, expected", [
    ([1, 2, 3], [1, 2, 3], 0.0),
    ([1, 2, 3], [10, 11, 12], 1.0),
    ([1, 2, 3, 4], [3, 4, 5, 6], 0.5),
    ([], [1, 2], 0.0),
])
def test_ks_distance(a, b, expected):
    assert ks_distance(a, b) == pytest.approx(expected)


# -------------------------------------------------------------------------- class folders


def test_counts_sizes_and_formats_match_the_files(tmp_path):
    root = write_class_folders(tmp_path / "faces", per_class=6)  # 96 x 96; i % 3 == 0 -> png
    wide = np.full((80, 160, 3), 90, np.uint8)
    cv2.imwrite(str(root / "without_mask" / "wide.png"), wide)
    shutil.copy(root / "with_mask" / "with_mask_1.jpg", root / "with_mask" / "lies.png")
    files = {c: len(list((root / c).iterdir())) for c in ("with_mask", "without_mask")}

    s = analyze_dataset(root, test_size=0).summary

    assert s["counts"] == files == {"with_mask": 7, "without_mask": 7}
    assert s["readable_counts"] == files
    assert s["files"] == s["readable_files"] == 14
    assert s["formats"]["with_mask"] == {"jpeg": 5, "png": 2}  # lies.png holds a JPEG
    assert s["formats"]["without_mask"] == {"jpeg": 4, "png": 3}
    assert s["extensions"] == {".jpg": 8, ".png": 6}
    assert s["format_mismatches"] == [{"path": str(root / "with_mask" / "lies.png"),
                                       "extension": ".png", "format": "jpeg"}]
    sizes = s["images"]
    assert sizes["with_mask"]["width"]["min"] == sizes["with_mask"]["width"]["max"] == 96
    assert sizes["without_mask"]["width"]["max"] == 160
    assert sizes["without_mask"]["aspect"]["max"] == pytest.approx(2.0)
    assert sizes["all"]["n"] == 14
    assert s["image_sizes_most_common"][0] == {"width": 96, "height": 96, "files": 13}
    assert s["detection"] is None and s["split"] is None
    assert {c: len(v) for c, v in s["samples"].items()} == {"with_mask": 7, "without_mask": 7}


def test_exact_and_planted_near_duplicates_are_found(tmp_path, caplog):
    root = write_distinct_folders(tmp_path / "d", per_class=8)
    original = root / "with_mask" / "with_mask_2.jpg"
    shutil.copy(original, root / "with_mask" / "copy.jpg")  # exact duplicate
    image = cv2.imread(str(original))
    smaller = cv2.resize(image, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(root / "without_mask" / "reencoded.jpg"), smaller,
                [cv2.IMWRITE_JPEG_QUALITY, 55])  # same picture, other size and quality

    s = analyze_dataset(root, test_size=0).summary
    d = s["duplicates"]

    assert d["exact_groups"] == 1 and d["exact_extra_copies"] == 1
    assert sorted(d["exact"][0]["files"]) == sorted([str(original),
                                                     str(root / "with_mask" / "copy.jpg")])
    assert d["exact_with_different_labels"] == 0
    # The re-encoded copy pairs with one representative of the identical set: one pair only.
    assert d["near_pairs"] == 1
    pair = d["near"][0]
    assert {Path(pair["a"]).name, Path(pair["b"]).name} & {"with_mask_2.jpg", "copy.jpg"}
    assert "reencoded.jpg" in {Path(pair["a"]).name, Path(pair["b"]).name}
    assert pair["distance"] <= 4
    assert d["near_with_different_labels"] == 1
    assert d["near_files"] == 2


def test_near_duplicates_across_the_split_are_warned_about(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="maskdet")
    root = write_distinct_folders(tmp_path / "d", per_class=10, seed=1)
    for label in ("with_mask", "without_mask"):
        for i in range(3):  # plant re-encoded copies of three pictures per class
            image = cv2.imread(str(root / label / f"{label}_{i}.jpg"))
            cv2.imwrite(str(root / label / f"{label}_{i}_copy.jpg"),
                        cv2.resize(image, (100, 84)), [cv2.IMWRITE_JPEG_QUALITY, 70])
    dataset = load_dataset(root)

    s = analyze_dataset(dataset, test_size=0.5, seed=3).summary

    split = split_dataset(dataset, test_size=0.5, seed=3)  # the same split, made here
    part = {p: "train" for p in split.train.paths} | {p: "test" for p in split.test.paths}
    pairs = {frozenset((Path(p["a"]).name, Path(p["b"]).name)) for p in s["duplicates"]["near"]}
    assert pairs == {frozenset((f"{c}_{i}.jpg", f"{c}_{i}_copy.jpg"))
                     for c in ("with_mask", "without_mask") for i in range(3)}
    across = [p for p in s["duplicates"]["near"] if part[Path(p["a"])] != part[Path(p["b"])]]
    assert s["split"]["near_across_pairs"] == len(across) >= 1
    assert s["split"]["exact_across"] == 0
    assert {frozenset((p["a"], p["b"])) for p in s["split"]["near_across"]} == \
        {frozenset((p["a"], p["b"])) for p in across}
    for p in s["split"]["near_across"]:
        assert p["parts"] == [part[Path(p["a"])], part[Path(p["b"])]]
    message = next(w for w in s["warnings"] if "train and test" in w)
    assert message in warnings_text(caplog)
    assert s["split"]["train_files"] + s["split"]["test_files"] == 26


def test_distinct_pictures_have_no_near_duplicates(tmp_path):
    root = write_distinct_folders(tmp_path / "d", per_class=15, seed=2)
    s = analyze_dataset(root, test_size=0.2).summary
    assert s["duplicates"]["near_pairs"] == 0 and s["duplicates"]["exact_groups"] == 0
    assert s["split"]["near_across_pairs"] == 0
    assert not [w for w in s["warnings"] if "duplicate" in w]


def test_unreadable_files_are_listed_with_their_reason(tmp_path):
    root = write_class_folders(tmp_path / "faces", per_class=4)
    (root / "with_mask" / "empty.jpg").write_bytes(b"")
    (root / "with_mask" / "notes.jpg").write_bytes(b"this is not an image at all")
    good = (root / "without_mask" / "without_mask_1.jpg").read_bytes()
    (root / "without_mask" / "cut.jpg").write_bytes(good[: len(good) // 2])

    s = analyze_dataset(root, test_size=0).summary

    reasons = {Path(x["path"]).name: (x["stage"], x["reason"]) for x in s["skipped"]}
    assert set(reasons) == {"empty.jpg", "notes.jpg", "cut.jpg"}
    assert reasons["empty.jpg"][0] == "load" and "empty" in reasons["empty.jpg"][1]
    assert reasons["notes.jpg"] == ("decode", "not an image (unrecognised file content)")
    assert reasons["cut.jpg"][0] == "decode" and "truncated" in reasons["cut.jpg"][1]
    assert s["counts"] == {"with_mask": 5, "without_mask": 5}  # loaded: not yet decoded
    assert s["readable_counts"] == {"with_mask": 4, "without_mask": 4}
    assert any("could not be used" in w for w in s["warnings"])


def test_same_bytes_under_two_labels_and_an_unsplittable_set(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("with_mask", "without_mask"):
        (tmp_path / label).mkdir()
    cv2.imwrite(str(tmp_path / "with_mask" / "a.png"), distinct_picture(rng))
    shutil.copy(tmp_path / "with_mask" / "a.png", tmp_path / "without_mask" / "b.png")

    s = analyze_dataset(tmp_path, test_size=0.2).summary

    assert s["duplicates"]["exact_with_different_labels"] == 1
    assert any("carry different labels" in w for w in s["warnings"])
    assert s["split"] is None  # one unit of splitting: no split, but the analysis stands
    assert any("no train/test duplicate check" in w for w in s["warnings"])


def test_class_dependent_image_shapes_are_warned_about(tmp_path):
    rng = np.random.default_rng(0)
    for label, size in (("with_mask", (80, 120)), ("without_mask", (120, 120))):
        (tmp_path / label).mkdir()
        for i in range(6):
            cv2.imwrite(str(tmp_path / label / f"{i}.png"),
                        cv2.resize(distinct_picture(rng), size[::-1]))
    s = analyze_dataset(tmp_path, test_size=0).summary
    assert s["class_differences"]["aspect ratio"]["with_mask vs without_mask"] == 1.0
    assert any("aspect ratio differs" in w for w in s["warnings"])


def test_class_dependent_file_formats_are_warned_about(tmp_path):
    rng = np.random.default_rng(0)
    for label, ext in (("with_mask", ".png"), ("without_mask", ".jpg")):
        (tmp_path / label).mkdir()
        for i in range(5):
            cv2.imwrite(str(tmp_path / label / f"{i}{ext}"), distinct_picture(rng))
    (tmp_path / "without_mask" / "5.png").write_bytes(
        (tmp_path / "with_mask" / "0.png").read_bytes())  # png: 1 of 6 without_mask files
    s = analyze_dataset(tmp_path, test_size=0).summary
    assert s["formats"]["with_mask"] == {"png": 5}
    assert s["formats"]["without_mask"] == {"jpeg": 5, "png": 1}
    formats = [w for w in s["warnings"] if "compression differs" in w]
    assert formats == ["jpeg files make up 83% of without_mask but 0% of with_mask: the "
                       "compression differs between the classes, and a model can learn it"]


class GreenMarkerDetector(FaceDetector):
    """Finds one face in images whose top-left pixel is pure green (a planted marker)."""

    name = "marker"

    def detect(self, image: np.ndarray) -> Detections:
        if tuple(image[0, 0]) == (0, 255, 0):
            return Detections(boxes=np.array([[10, 10, 40, 40]]), face_scores=np.array([0.9]))
        return Detections.empty()


def test_detection_rate_per_class_and_imbalance_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="maskdet")
    rng = np.random.default_rng(0)
    for label, marked in (("with_mask", 1), ("without_mask", 4)):
        (tmp_path / label).mkdir()
        for i in range(5):
            image = distinct_picture(rng)
            if i < marked:
                image[:2, :2] = (0, 255, 0)
            cv2.imwrite(str(tmp_path / label / f"{i}.png"), image)  # png: exact pixels

    analysis = analyze_dataset(tmp_path, face_detector=GreenMarkerDetector(), test_size=0)
    det = analysis.summary["detection"]

    assert det["rate"] == {"with_mask": 0.2, "without_mask": 0.8}
    assert det["found"] == {"with_mask": 1, "without_mask": 4}
    assert det["searched"] == {"with_mask": 5, "without_mask": 5}
    assert det["imbalance"] is True and det["detector"] == "marker"
    warning = next(w for w in analysis.warnings if "finds faces far more often" in w)
    assert "with_mask 20%" in warning and warning in warnings_text(caplog)
    # The same rates as extract_faces measures when it crops with that detector.
    crops = extract_faces(load_dataset(tmp_path), face_detector=GreenMarkerDetector())
    assert crops.detection_rate == pytest.approx(det["rate"])


# -------------------------------------------------------------------------- VOC scenes


class FirstBoxDetector(FaceDetector):
    """'Detects' the with_mask face of scene a and the without_mask face of scene c."""

    name = "fixed"

    def detect(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        boxes = {(100, 200): [[12, 12, 38, 48]], (90, 120): [[5, 5, 12, 20]]}.get((h, w), [])
        return Detections(boxes=np.array(boxes).reshape(-1, 4),
                          face_scores=np.ones(len(boxes)))


def test_voc_faces_per_image_face_sizes_and_detection(tmp_path):
    root = write_photo_scenes(tmp_path / "scenes")
    s = analyze_dataset(root, face_detector=FirstBoxDetector(), test_size=0).summary

    assert s["layout"] == "voc"
    assert s["counts"] == {"with_mask": 4, "without_mask": 2}  # faces, not images
    assert s["images_per_class"] == {"with_mask": 2, "without_mask": 2}
    assert s["files"] == 3
    v = s["voc"]
    assert v["faces_per_image_histogram"] == {"1": 1, "2": 1, "3": 1}
    assert sorted(v["face_sizes"]["with_mask"]) == [20, 30, 40, 60]
    assert sorted(v["face_sizes"]["without_mask"]) == [12, 24]
    assert v["faces_below_20px"] == {"with_mask": 0, "without_mask": 1}
    assert s["images"]["all"]["width"]["max"] == 200
    det = s["detection"]
    assert det["searched"] == {"with_mask": 4, "without_mask": 2}
    assert det["found"] == {"with_mask": 1, "without_mask": 1}
    assert det["rate"] == {"with_mask": 0.25, "without_mask": 0.5}
    assert det["imbalance"] is True
    assert [Path(x["path"]).name for x in s["skipped"]] == ["ghost.xml"]
    assert all(item["box"] for items in s["samples"].values() for item in items)


# -------------------------------------------------------------------------- misc


def test_missing_folder_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        analyze_dataset(tmp_path / "nope")


def test_import_maskdet_does_not_import_matplotlib():
    code = ("import sys, maskdet, maskdet.reports; "
            "bad = [m for m in ('matplotlib', 'tensorflow') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.shared
def test_haar_detection_rates_on_mask_faces(faces_dir):
    full = load_dataset(faces_dir)
    samples = []
    for label in full.classes:
        of_class = [s for s in full.samples if s.label == label]
        samples += of_class[:: len(of_class) // 40][:40]
    dataset = Dataset(samples, full.classes, full.root, full.layout)
    assert Counter(s.label for s in samples) == {"with_mask": 40, "without_mask": 40}

    analysis = analyze_dataset(dataset, face_detector=HaarDetector(), test_size=0)
    det = analysis.summary["detection"]

    assert det["searched"] == {"with_mask": 40, "without_mask": 40}
    # Haar misses masked faces far more often (18% vs 55% found on the whole set).
    assert det["rate"]["with_mask"] < 0.35 < det["rate"]["without_mask"]
    assert det["imbalance"]
    assert any("finds faces far more often" in w for w in analysis.warnings)
