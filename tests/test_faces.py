"""Face boxes, face crops, the YuNet model lookup/download and the face detectors."""

from __future__ import annotations

import io
import logging
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import maskdet.faces as faces
from maskdet.data import parse_voc
from maskdet.detections import Detections
from maskdet.errors import DetectorUnavailableError
from maskdet.faces import (
    YUNET_BOX_ADJUSTMENT,
    YUNET_FILENAME,
    YUNET_URL,
    FaceDetector,
    HaarDetector,
    YuNetDetector,
    adjust_boxes,
    create_face_detector,
    crop_face,
    find_yunet_model,
    square_box,
)
from maskdet.images import read_image

# Grabbed at import time, before the autouse fixture of conftest replaces it with a stub.
real_download_yunet_model = faces.download_yunet_model


def pattern_image(h: int, w: int) -> np.ndarray:
    """A BGR image whose every pixel is distinct: B = row, G = column, R = (row + col) % 256."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy, xx, (yy + xx) % 256], axis=-1).astype(np.uint8)


def tmp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def no_model_env(monkeypatch):
    """No YuNet model anywhere: no env var, and the (per-test) cache is empty."""
    monkeypatch.delenv("MASKDET_YUNET_MODEL", raising=False)


@pytest.fixture
def model_bytes(yunet_model) -> bytes:
    return yunet_model.read_bytes()


# -- square_box / crop_face -----------------------------------------------------------------

@pytest.mark.parametrize(
    "box, margin, expected",
    [
        ((10, 20, 30, 30), 0.0, (10, 20, 30, 30)),
        ((10, 20, 30, 30), 0.2, (4, 14, 42, 42)),
        ((100, 50, 40, 20), 0.0, (100, 40, 40, 40)),  # wide: square on the longer side
        ((100, 50, 20, 40), 0.0, (90, 50, 40, 40)),  # tall
        ((100, 50, 20, 40), 0.25, (80, 40, 60, 60)),
        ((0, 0, 50, 50), 0.5, (-25, -25, 100, 100)),  # may extend past the image
        ((5.0, 5.0, 10.0, 10.0), 0.1, (4, 4, 12, 12)),
        ((7, 7, 0, 0), 0.2, (7, 7, 1, 1)),  # degenerate box -> side at least 1
    ],
)
def test_square_box(box, margin, expected):
    result = square_box(box, margin)
    assert result == expected
    assert all(type(v) is int for v in result)


def test_square_box_default_margin_is_02():
    assert square_box((0, 0, 50, 50)) == square_box((0, 0, 50, 50), 0.2) == (-10, -10, 70, 70)


@pytest.mark.parametrize(
    "box, margin, region",
    [
        ((40, 30, 20, 20), 0.0, (30, 40, 20)),  # y, x, side within the image
        ((40, 30, 20, 20), 0.25, (25, 35, 30)),
        ((40, 30, 30, 10), 0.0, (20, 40, 30)),
    ],
)
def test_crop_face_inside_image_is_the_square_region(box, margin, region):
    image = pattern_image(120, 160)
    y, x, side = region
    crop = crop_face(image, box, margin)
    assert crop.shape == (side, side, 3)
    np.testing.assert_array_equal(crop, image[y : y + side, x : x + side])


def test_crop_face_at_top_left_corner_pads_by_edge_replication():
    image = pattern_image(100, 120)
    # square_box((0, 0, 20, 20), 0.2) == (-4, -4, 28, 28): 4 px stick out at the top and left
    crop = crop_face(image, (0, 0, 20, 20), 0.2)
    assert crop.shape == (28, 28, 3)
    np.testing.assert_array_equal(crop[4:, 4:], image[0:24, 0:24])
    np.testing.assert_array_equal(crop[:4, 4:], np.repeat(image[0:1, 0:24], 4, axis=0))
    np.testing.assert_array_equal(crop[4:, :4], np.repeat(image[0:24, 0:1], 4, axis=1))
    assert (crop[:4, :4] == image[0, 0]).all()
    # the face box's centre pixel (10, 10) lands at the crop's centre (14, 14)
    np.testing.assert_array_equal(crop[14, 14], image[10, 10])


def test_crop_face_at_bottom_right_corner_keeps_face_centred():
    image = pattern_image(100, 120)
    image[80:100, 100:120] = (0, 0, 255)  # a red 20x20 "face" in the corner
    crop = crop_face(image, (100, 80, 20, 20), 0.5)  # square (90, 70, 40, 40)
    assert crop.shape == (40, 40, 3)
    np.testing.assert_array_equal(crop[:30, :30], image[70:100, 90:120])
    # the face occupies the centre 20x20 of the crop: its own 10 px plus 10 px of padding
    assert (crop[10:30, 10:30] == (0, 0, 255)).all()
    assert (crop[30:, 10:30] == (0, 0, 255)).all()  # bottom padding repeats the last row
    assert (crop[10:30, 30:] == (0, 0, 255)).all()  # right padding repeats the last column
    np.testing.assert_array_equal(crop[30:, 0], np.full((10, 3), image[99, 90]))
    assert not (crop[:10, :10] == (0, 0, 255)).all(axis=-1).any()


def test_crop_face_on_gray_image_is_square():
    image = pattern_image(50, 60)[:, :, 0]
    crop = crop_face(image, (50, 40, 10, 10), 0.2)
    assert crop.shape == (14, 14)
    np.testing.assert_array_equal(crop[12:, 0], [image[49, 48]] * 2)


@pytest.mark.parametrize(
    "box",
    [
        (200, 10, 20, 20),  # right of a 120-wide image
        (10, 150, 20, 20),  # below
        (-60, 10, 20, 20),  # left
        (10, -60, 20, 20),  # above
        (120, 10, 20, 20),  # just right of the image: only its margin touches it
        (-20, -20, 20, 20),  # just above-left of the image
    ],
)
def test_crop_face_box_outside_image_raises(box):
    with pytest.raises(ValueError, match="outside the 120x100 image"):
        crop_face(pattern_image(100, 120), box, 0.2)


def test_crop_face_box_partly_inside_is_cropped():
    crop = crop_face(pattern_image(100, 120), (-10, -10, 20, 20), 0.0)
    assert crop.shape == (20, 20, 3)
    assert (crop[:10, :10] == pattern_image(1, 1)[0, 0]).all()


# -- the YuNet model: lookup and download -------------------------------------------------

@pytest.mark.shared
def test_find_yunet_model_explicit_path(yunet_model, no_model_env):
    assert find_yunet_model(yunet_model, download=False) == yunet_model
    assert find_yunet_model(str(yunet_model), download=False) == yunet_model


@pytest.mark.shared
def test_find_yunet_model_explicit_path_with_wrong_content(tmp_path, monkeypatch, yunet_model):
    bad = tmp_path / YUNET_FILENAME
    bad.write_bytes(b"not an onnx model")
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(yunet_model))  # the explicit path wins
    with pytest.raises(DetectorUnavailableError, match="sha256") as info:
        find_yunet_model(bad, download=False)
    assert str(bad) in str(info.value)
    assert "\n" not in str(info.value)


def test_find_yunet_model_missing_explicit_path(tmp_path):
    with pytest.raises(DetectorUnavailableError, match="not found"):
        find_yunet_model(tmp_path / "nope.onnx", download=False)


@pytest.mark.shared
def test_find_yunet_model_env_var(tmp_path, monkeypatch, yunet_model):
    copy = tmp_path / "elsewhere.onnx"
    shutil.copyfile(yunet_model, copy)
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(copy))
    assert find_yunet_model(download=False) == copy


def test_find_yunet_model_env_var_with_bad_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\0" * 100)
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(bad))
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        find_yunet_model(download=False)


@pytest.mark.shared
def test_find_yunet_model_in_cache(yunet_model, no_model_env):
    cached = faces.cache_dir() / YUNET_FILENAME
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(yunet_model, cached)
    assert find_yunet_model(download=False) == cached


def test_find_yunet_model_bad_cache_copy_is_not_used(no_model_env):
    cached = faces.cache_dir() / YUNET_FILENAME
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"truncated")
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        find_yunet_model(download=True)


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKDET_CACHE_DIR", str(tmp_path / "c"))
    assert faces.cache_dir() == tmp_path / "c"


@pytest.mark.parametrize("download", [False, True])
def test_find_yunet_model_nothing_available(no_model_env, download):
    # download=True goes to download_yunet_model, which conftest replaced with a failing stub
    with pytest.raises(DetectorUnavailableError) as info:
        find_yunet_model(download=download)
    assert "\n" not in str(info.value)
    if not download:
        assert "MASKDET_YUNET_MODEL" in str(info.value)


def fake_urlopen(payload: bytes | Exception, calls: list):
    def urlopen(url, timeout=None):
        calls.append((url, timeout))
        if isinstance(payload, Exception):
            raise payload
        return io.BytesIO(payload)

    return urlopen


@pytest.mark.shared
def test_download_yunet_model_writes_atomically(tmp_path, monkeypatch, model_bytes):
    calls, replaced = [], []
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen(model_bytes, calls))
    real_replace = faces.os.replace

    def spy_replace(src, dst):
        replaced.append((Path(src), Path(dst)))
        assert Path(src).read_bytes() == model_bytes  # complete before it is renamed
        real_replace(src, dst)

    monkeypatch.setattr(faces.os, "replace", spy_replace)
    destination = tmp_path / "cache" / YUNET_FILENAME
    assert real_download_yunet_model(destination, timeout=5) == destination
    assert destination.read_bytes() == model_bytes
    assert calls == [(YUNET_URL, 5)]
    [(src, dst)] = replaced
    assert dst == destination and src.parent == destination.parent and src != destination
    assert tmp_files(destination.parent) == []


@pytest.mark.shared
def test_download_yunet_model_defaults_to_the_cache(monkeypatch, model_bytes):
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen(model_bytes, []))
    path = real_download_yunet_model()
    assert path == faces.cache_dir() / YUNET_FILENAME
    assert path.read_bytes() == model_bytes


def test_download_yunet_model_wrong_checksum_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen(b"evil bytes", []))
    destination = tmp_path / YUNET_FILENAME
    with pytest.raises(DetectorUnavailableError, match="sha256.*not saved"):
        real_download_yunet_model(destination)
    assert list(tmp_path.iterdir()) == []


def test_download_yunet_model_offline(tmp_path, monkeypatch):
    error = urllib.error.URLError("no route to host")
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen(error, []))
    with pytest.raises(DetectorUnavailableError) as info:
        real_download_yunet_model(tmp_path / YUNET_FILENAME)
    message = str(info.value)
    assert YUNET_URL in message and "MASKDET_YUNET_MODEL" in message
    assert "no route to host" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
def test_find_yunet_model_downloads_into_cache(monkeypatch, no_model_env, model_bytes):
    monkeypatch.setattr(faces, "download_yunet_model", real_download_yunet_model)
    calls = []
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen(model_bytes, calls))
    path = find_yunet_model()
    assert path == faces.cache_dir() / YUNET_FILENAME
    assert path.read_bytes() == model_bytes and len(calls) == 1
    assert find_yunet_model() == path and len(calls) == 1  # the second call uses the cache


# -- create_face_detector -----------------------------------------------------------------

@pytest.mark.shared
def test_create_face_detector_by_name(yunet_model):
    assert isinstance(create_face_detector("haar"), HaarDetector)
    detector = create_face_detector("yunet", model_path=yunet_model, download=False)
    assert isinstance(detector, YuNetDetector)
    assert detector.model_path == yunet_model


def test_create_face_detector_yunet_without_model(no_model_env):
    with pytest.raises(DetectorUnavailableError):
        create_face_detector("yunet")


def test_create_face_detector_unknown_name():
    with pytest.raises(DetectorUnavailableError, match="unknown face detector 'mtcnn'") as info:
        create_face_detector("mtcnn")
    assert "auto, yunet, haar" in str(info.value)


def test_create_face_detector_passes_instances_through():
    detector = HaarDetector()
    assert create_face_detector(detector) is detector


def test_create_face_detector_auto_falls_back_to_haar_warning_once(
        no_model_env, monkeypatch, caplog):
    monkeypatch.setattr(faces, "_haar_fallback_warned", False)
    with caplog.at_level(logging.WARNING, logger="maskdet"):
        first = create_face_detector("auto")
        second = create_face_detector()
    assert isinstance(first, HaarDetector) and isinstance(second, HaarDetector)
    warnings = [r for r in caplog.records
                if r.name == "maskdet.faces" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Haar" in warnings[0].getMessage()
    assert "MASKDET_YUNET_MODEL" in warnings[0].getMessage()


@pytest.mark.shared
def test_create_face_detector_auto_uses_yunet_when_available(monkeypatch, yunet_model):
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(yunet_model))
    detector = create_face_detector("auto")
    assert isinstance(detector, YuNetDetector)
    assert detector.model_path == yunet_model


def test_available_detectors():
    assert faces.available_detectors() == ["auto", "yunet", "haar"]


# -- the detectors on images ----------------------------------------------------------------

@pytest.fixture(scope="module")
def yunet(yunet_model) -> YuNetDetector:
    return YuNetDetector(yunet_model, download=False)


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


@pytest.mark.shared
def test_yunet_finds_labelled_faces_in_scene(yunet, scenes_dir):
    annotation = parse_voc(scenes_dir / "annotations" / "maksssksksss1.xml")
    image = read_image(scenes_dir / "images" / annotation.filename)
    h, w = image.shape[:2]
    assert (w, h) == (annotation.width, annotation.height) == (400, 156)

    found = yunet.detect(image)
    assert isinstance(found, Detections)
    assert 5 <= len(found) <= 12
    assert found.landmarks.shape == (len(found), 5, 2)
    assert (found.face_scores >= yunet.score_threshold).all()
    assert (found.face_scores <= 1.0).all()
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= w).all() and (y2 <= h).all()
    assert (found.boxes[:, 2:] >= 1).all()

    labelled = [box for _, box in annotation.objects]
    matched = [max(iou(box, f) for f in found.boxes) >= 0.3 for box in labelled]
    assert sum(matched) >= len(labelled) // 2 + 1, matched


def test_adjust_boxes_moves_the_centre_and_scales():
    boxes = np.array([[10, 20, 100, 50], [0, 0, 10, 10]], np.float32)
    out = adjust_boxes(boxes, (0.1, -0.2, 2.0, 0.5))
    # centre (60, 45) -> (70, 35); size (100, 50) -> (200, 25)
    np.testing.assert_allclose(out[0], [70 - 100, 35 - 12.5, 200, 25])
    np.testing.assert_allclose(adjust_boxes(boxes, (0, 0, 1, 1)), boxes)
    assert adjust_boxes(np.zeros((0, 4)), YUNET_BOX_ADJUSTMENT).shape == (0, 4)


@pytest.mark.shared
def test_yunet_box_adjustment_matches_drawn_boxes_better(yunet_model, scenes_dir):
    """The adjusted boxes overlap the labelled faces more than YuNet's own."""
    from maskdet.data import load_voc
    from maskdet.detections import box_iou
    from maskdet.evaluation import scene_ground_truth

    raw = YuNetDetector(yunet_model, box_adjustment=None, download=False)
    adjusted = YuNetDetector(yunet_model, download=False)
    assert adjusted.box_adjustment == YUNET_BOX_ADJUSTMENT
    dataset = load_voc(scenes_dir)
    ious = {"raw": [], "adjusted": []}
    for path, gt, _ in scene_ground_truth(dataset)[:40]:
        image = read_image(path)
        for name, detector in (("raw", raw), ("adjusted", adjusted)):
            found = detector.detect(image).boxes.astype(float)
            if len(found) and len(gt):
                best = box_iou(gt, found).max(axis=1)
                ious[name].extend(best[best >= 0.3])
    assert len(ious["raw"]) >= 50
    assert np.median(ious["adjusted"]) > np.median(ious["raw"]) + 0.05


@pytest.mark.shared
def test_yunet_scale_for(yunet):
    assert yunet.scale_for(300, 400) == 2.0
    assert yunet.scale_for(1000, 700) == 1.0
    assert yunet.scale_for(600, 500) == pytest.approx(800 / 600)
    assert yunet.scale_for(800, 100) == 1.0
    assert yunet.scale_for(100, 100) == 2.0  # at most max_upscale


@pytest.mark.shared
def test_yunet_scale_for_disabled(yunet_model):
    detector = YuNetDetector(yunet_model, upscale_to=0, download=False)
    assert detector.scale_for(100, 200) == 1.0


@pytest.mark.shared
@pytest.mark.parametrize("rows, cols", [(slice(40, None), slice(None)),
                                        (slice(None), slice(230, None))])
def test_yunet_boxes_of_faces_cut_by_the_border_are_clipped(yunet_model, scenes_dir, rows,
                                                             cols):
    # YuNet's own boxes: the adjusted ones move down, away from a top border.
    yunet = YuNetDetector(yunet_model, box_adjustment=None, download=False)
    image = read_image(scenes_dir / "images" / "maksssksksss1.png")[rows, cols]
    h, w = image.shape[:2]
    found = yunet.detect(image)
    assert len(found) >= 3
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= w).all() and (y2 <= h).all()
    assert ((x1 == 0) | (y1 == 0)).any()  # the face cut by the border is still found


@pytest.mark.shared
@pytest.mark.parametrize("shape", [(300, 400, 3), (720, 1280, 3)])
def test_yunet_blank_image_has_no_faces(yunet, shape):
    found = yunet.detect(np.zeros(shape, np.uint8))
    assert isinstance(found, Detections)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4)


def test_yunet_wrong_model_file(tmp_path):
    bad = tmp_path / YUNET_FILENAME
    bad.write_bytes(b"onnx?")
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        YuNetDetector(bad, download=False)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_haar_blank_image_has_no_faces(value):
    found = HaarDetector().detect(np.full((240, 320, 3), value, np.uint8))
    assert isinstance(found, Detections)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4) and found.face_scores.shape == (0,)


def test_face_detector_is_abstract():
    with pytest.raises(TypeError):
        FaceDetector()
    assert repr(HaarDetector()) == "HaarDetector()"
