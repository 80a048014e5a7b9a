"""The face crops of whole datasets: class folders used whole, framed or cropped to a detected
face; VOC boxes cut with the margin; bad images skipped."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.data import load_dataset, load_voc
from maskdet.faces import extract_faces
from maskdet.images import read_image
from tests.helpers import MarkerDetector, scene_image, synthetic_face, warnings_text, write_voc


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
    crops = extract_faces(ds, margin=0.0, face_detector=detector, n_jobs=4)
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
    crops = extract_faces(ds, face_detector=MarkerDetector())
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
    crops = extract_faces(ds, face_detector=MarkerDetector())
    # No face in any readable with_mask image: the unreadable ones do not count as found.
    assert crops.detection_rate == pytest.approx({"with_mask": 0.0, "without_mask": 1.0})
    assert len(crops.skipped) == 2
    assert Counter(crops.labels) == {"without_mask": 4}
    assert "far more often" in caplog.text


def test_detector_not_used_on_voc_boxes(voc_dir):
    detector = MarkerDetector()
    crops = extract_faces(load_voc(voc_dir), face_detector=detector)
    assert detector.calls == 0
    assert len(crops) == 6
    assert crops.detection_rate is None
    assert all(c.shape[0] == c.shape[1] for c in crops.images)


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
        extract_faces(ds, face_detector=detector, framing=detector)
