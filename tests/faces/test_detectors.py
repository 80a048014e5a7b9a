"""The face detectors by name, and YuNet and Haar on real and generated images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import maskdet.faces as faces
from maskdet.data import parse_voc
from maskdet.detections import Detections
from maskdet.errors import DetectorUnavailableError
from maskdet.faces import (
    YUNET_BOX_ADJUSTMENT,
    YUNET_FILENAME,
    CachedFaceDetector,
    FaceDetector,
    HaarDetector,
    YuNetDetector,
    adjust_boxes,
    create_face_detector,
)
from maskdet.images import read_image
from tests.helpers import MarkerDetector


def test_create_face_detector_by_name(yunet_model):
    assert isinstance(create_face_detector("haar"), HaarDetector)
    detector = create_face_detector("yunet", model_path=yunet_model)
    assert isinstance(detector, YuNetDetector)
    assert detector.model_path == yunet_model


def test_create_face_detector_unknown_name():
    with pytest.raises(DetectorUnavailableError, match="unknown face detector 'mtcnn'") as info:
        create_face_detector("mtcnn")
    assert "choose from yunet, haar" in str(info.value)


def test_create_face_detector_passes_instances_through():
    detector = HaarDetector()
    assert create_face_detector(detector) is detector


def test_haar_is_never_a_silent_fallback(tmp_path, monkeypatch):
    """A YuNet model that cannot be loaded is an error, not a switch to the far weaker Haar."""
    bad = tmp_path / "yunet.onnx"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(bad))
    for name in ("yunet", "auto"):
        with pytest.raises(DetectorUnavailableError, match="OpenCV cannot load"):
            create_face_detector(name)
    monkeypatch.delenv("MASKDET_YUNET_MODEL")
    assert isinstance(create_face_detector(), YuNetDetector)  # the default
    assert isinstance(create_face_detector("auto"), YuNetDetector)


def test_available_detectors():
    assert faces.available_detectors() == ["yunet", "haar"]
    assert faces.ALIASES == {"auto": "yunet"}


@pytest.fixture(scope="module")
def yunet(yunet_model) -> YuNetDetector:
    return YuNetDetector(yunet_model)


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

    raw = YuNetDetector(yunet_model, box_adjustment=None)
    adjusted = YuNetDetector(yunet_model)
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


def test_yunet_scale_for(yunet):
    assert yunet.scale_for(300, 400) == 2.0
    assert yunet.scale_for(1000, 700) == 1.0
    assert yunet.scale_for(600, 500) == pytest.approx(800 / 600)
    assert yunet.scale_for(800, 100) == 1.0
    assert yunet.scale_for(100, 100) == 2.0  # at most max_upscale


def test_yunet_shrinks_large_photos_to_max_side(yunet):
    assert yunet.max_side == 2048
    assert yunet.scale_for(4000, 6000) == pytest.approx(2048 / 6000)  # a 24 MP photo
    assert yunet.scale_for(12000, 12000) == pytest.approx(2048 / 12000)
    assert yunet.scale_for(2048, 1000) == 1.0


@pytest.mark.shared
def test_yunet_finds_faces_of_a_large_photo_in_its_own_pixels(yunet_model, scenes_dir):
    """A photo enlarged 8 times (above max_side) gives the boxes of the photo, enlarged."""
    import cv2

    photo = read_image(scenes_dir / "images" / "maksssksksss1.png")
    h, w = photo.shape[:2]
    yunet = YuNetDetector(yunet_model, upscale_to=0)
    small = yunet.detect(photo)
    big = yunet.detect(cv2.resize(photo, (w * 8, h * 8), interpolation=cv2.INTER_LINEAR))
    assert max(h, w) * 8 > yunet.max_side and len(small) >= 3
    assert big.boxes[:, :2].max() > 8 * 0.5 * w / 2  # in the large photo's pixels
    # The faces of the photo are found at 8 times their place (all but one, a 20 px face).
    matched = [max(iou(box * 8, other) for other in big.boxes) > 0.6 for box in small.boxes]
    assert sum(matched) >= len(small) - 1


def test_yunet_scale_for_disabled(yunet_model):
    detector = YuNetDetector(yunet_model, upscale_to=0)
    assert detector.scale_for(100, 200) == 1.0


@pytest.mark.shared
@pytest.mark.parametrize("rows, cols", [(slice(40, None), slice(None)),
                                        (slice(None), slice(230, None))])
def test_yunet_boxes_of_faces_cut_by_the_border_are_clipped(yunet_model, scenes_dir, rows,
                                                             cols):
    # YuNet's own boxes: the adjusted ones move down, away from a top border.
    yunet = YuNetDetector(yunet_model, box_adjustment=None)
    image = read_image(scenes_dir / "images" / "maksssksksss1.png")[rows, cols]
    h, w = image.shape[:2]
    found = yunet.detect(image)
    assert len(found) >= 3
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= w).all() and (y2 <= h).all()
    assert ((x1 == 0) | (y1 == 0)).any()  # the face cut by the border is still found


@pytest.mark.parametrize("shape", [(300, 400, 3), (720, 1280, 3)])
def test_yunet_blank_image_has_no_faces(yunet, shape):
    found = yunet.detect(np.zeros(shape, np.uint8))
    assert isinstance(found, Detections)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4)


def test_yunet_wrong_model_file(tmp_path):
    bad = tmp_path / YUNET_FILENAME
    bad.write_bytes(b"onnx?")
    with pytest.raises(DetectorUnavailableError, match="OpenCV cannot load the YuNet model"):
        YuNetDetector(bad)


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


def test_cached_face_detector_asks_once_per_image():
    inner = MarkerDetector()
    detector = CachedFaceDetector(inner)
    image = np.zeros((40, 50, 3), np.uint8)
    image[0, 0] = 255
    image[0, 1:5, 0] = (3, 4, 20, 20)
    first = detector.detect(image)
    assert detector.detect(image.copy()) is first and inner.calls == 1  # same pixels
    assert len(detector.detect(image[:, :40])) == 2 and inner.calls == 2  # a view of them
    other = image.copy()
    other[0, 1, 0] = 5
    assert detector.detect(other).boxes[1].tolist() == [5, 4, 20, 20] and inner.calls == 3
    assert detector.name == "marker"


def test_cached_face_detector_keeps_a_bounded_number_of_answers():
    inner = MarkerDetector()
    detector = CachedFaceDetector(inner, max_images=2)
    images = [np.full((10, 10, 3), v, np.uint8) for v in (1, 2, 3)]
    for image in images:
        detector.detect(image)
    assert inner.calls == 3
    detector.detect(images[2])
    detector.detect(images[1])
    assert inner.calls == 3  # the two latest are remembered
    detector.detect(images[0])
    assert inner.calls == 4  # the oldest was forgotten


@pytest.mark.parametrize("side", [700, 1100])
def test_a_face_filling_a_large_photo_is_found(side):
    """A close-up (a face of a sample photo enlarged to fill the frame): YuNet at one scale
    misses it; with its smaller copy it finds the face, where it is."""
    import cv2

    import maskdet
    from maskdet.faces import crop_face

    photo = maskdet.read_image(maskdet.samples.path("escalator"))
    faces = YuNetDetector().detect(photo)
    box = faces.boxes[int(np.argmax(faces.area))]
    close_up = cv2.resize(crop_face(photo, box, 0.6), (side, side), interpolation=cv2.INTER_CUBIC)
    assert len(YuNetDetector(large_face_sides=()).detect(close_up)) == 0
    found = YuNetDetector().detect(close_up)
    assert len(found) == 1 and found.face_scores[0] >= 0.75
    x, y, w, h = found.boxes[0]
    # The face sits in the middle: crop_face's margin 0.6 puts its box at 1/2.2 of the side.
    assert abs(x + w / 2 - side / 2) < 0.1 * side and 0.35 * side < w < 0.6 * side


def test_the_smaller_copies_only_for_photos_that_can_hold_large_faces():
    yunet = YuNetDetector()
    assert yunet.scales_for(226, 400) == [2.0]  # a street photo: enlarged, nothing more
    assert yunet.scales_for(480, 640) == [1.25, 160 / 480]  # (enlarged to 800 px)
    assert YuNetDetector(large_face_sides=()).scales_for(1100, 1100) == [1.0]
    assert YuNetDetector(large_face_sides=(320, 160)).scales_for(1100, 1100) == [
        1.0, 320 / 1100, 160 / 1100]


def test_yunet_gives_the_same_faces_whatever_sizes_came_before(yunet_model):
    """A network per input size (bounded), re-planned when sizes come and go: the faces of
    an image do not depend on what the detector saw before."""
    from maskdet import samples
    from maskdet.faces.detectors import YUNET_NETWORKS

    photo = read_image(samples.path("crowd"))
    sizes = [1.0, 0.8, 1.3, 0.6, 1.5, 0.9]  # more sizes than networks kept
    images = [cv2.resize(photo, None, fx=f, fy=f) for f in sizes]
    used = YuNetDetector(yunet_model)
    for image in images + images[::-1]:
        used.detect(image)
    assert len(used._nets) <= YUNET_NETWORKS
    for image in images:
        expected = YuNetDetector(yunet_model).detect(image)
        found = used.detect(image)
        assert len(found) == len(expected) > 0
        np.testing.assert_allclose(found.boxes, expected.boxes, atol=1e-3)
