"""Drawing results: labelled boxes in the label's colour, on a copy of the image."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.detections import Detections
from maskdet.draw import DEFAULT_COLORS, OTHER_COLOR, UNCLASSIFIED_COLOR, annotate
from tests.helpers import classified

CLASSES = ("with_mask", "without_mask")


GREEN, RED = (0, 200, 0), (0, 0, 230)


def border_pixels(image, box):
    """The pixels on the outline of ``box`` as drawn by cv2.rectangle with thickness 1."""
    x, y, w, h = box
    return np.concatenate([
        image[y, x : x + w + 1], image[y + h, x : x + w + 1],
        image[y : y + h + 1, x], image[y : y + h + 1, x + w],
    ])


@pytest.fixture
def photo():
    return np.random.default_rng(3).integers(0, 100, (300, 400, 3), dtype=np.uint8)


def test_annotate_draws_label_colours_on_a_copy(photo):
    before = photo.copy()
    boxes = [(50, 100, 80, 90), (250, 120, 100, 100)]
    dets = classified(boxes, ["with_mask", "without_mask"])

    out = annotate(photo, dets)

    np.testing.assert_array_equal(photo, before)  # the input is unchanged
    assert out is not photo and out.shape == photo.shape and out.dtype == np.uint8
    assert (border_pixels(out, boxes[0]) == GREEN).all()
    assert (border_pixels(out, boxes[1]) == RED).all()
    # inside the boxes (away from the label text) and far outside nothing changed
    np.testing.assert_array_equal(out[110:185, 60:125], photo[110:185, 60:125])
    np.testing.assert_array_equal(out[260:, :], photo[260:, :])
    # the label is drawn above each box
    assert (out[80:99, 50:60] != photo[80:99, 50:60]).any()


def test_annotate_default_colours():
    assert DEFAULT_COLORS["with_mask"] == GREEN and DEFAULT_COLORS["without_mask"] == RED


def test_annotate_custom_colours_override(photo):
    boxes = [(50, 100, 80, 90), (250, 120, 100, 100)]
    dets = classified(boxes, ["with_mask", "without_mask"])
    out = annotate(photo, dets, colors={"with_mask": (255, 0, 255)})
    assert (border_pixels(out, boxes[0]) == (255, 0, 255)).all()
    assert (border_pixels(out, boxes[1]) == RED).all()  # others keep their default


def test_annotate_unknown_label_and_unclassified(photo):
    boxes = [(50, 100, 80, 90), (250, 120, 100, 100)]
    other = classified(boxes[:1], ["mask_on_chin"], classes=("mask_on_chin", "with_mask"))
    out = annotate(photo, other)
    assert (border_pixels(out, boxes[0]) == OTHER_COLOR).all()

    plain = Detections(boxes=boxes, face_scores=[0.9, 0.8])
    out = annotate(photo, plain)
    assert UNCLASSIFIED_COLOR == (200, 200, 200)
    for box in boxes:
        assert (border_pixels(out, box) == UNCLASSIFIED_COLOR).all()
    np.testing.assert_array_equal(annotate(photo, Detections.empty()), photo)


def test_annotate_thickness(photo):
    box = (100, 100, 60, 60)
    out = annotate(photo, classified([box], ["with_mask"]), thickness=5)
    assert (out[158:163, 110:150] == GREEN).all()  # a 5-px line centred on the box's edge
    assert (out[110:150, 98:103] == GREEN).all()
    assert (out[105:155, 105:155] == photo[105:155, 105:155]).all()


def test_annotate_box_at_top_puts_label_below(photo):
    box = (100, 0, 60, 60)
    out = annotate(photo, classified([box], ["without_mask"]))
    assert (border_pixels(out, box) == RED).all()
    assert (out[61:80, 100:110] != photo[61:80, 100:110]).any()


# -- faces hidden for privacy -----------------------------------------------------------------
def detail(region):
    """How much fine detail a region holds: the mean absolute Laplacian."""
    import cv2

    return float(np.abs(cv2.Laplacian(region.astype(np.float32), cv2.CV_32F)).mean())


@pytest.mark.parametrize("method", ["pixelate", "blur"])
def test_blur_faces_hides_the_boxes_and_nothing_else(photo, method):
    from maskdet.draw import blur_faces

    boxes = [(50, 100, 80, 90), (250, 120, 100, 100)]
    before = photo.copy()
    out = blur_faces(photo, classified(boxes, ["with_mask", "without_mask"]), method=method,
                     margin=0.0)
    np.testing.assert_array_equal(photo, before)  # a copy
    for x, y, w, h in boxes:
        region, original = out[y:y + h, x:x + w], photo[y:y + h, x:x + w]
        assert detail(region) < 0.25 * detail(original)
        assert np.abs(region.astype(int) - original).mean() > 10
        # the colours stay: the mean of the face is kept
        assert abs(float(region.mean()) - float(original.mean())) < 3
    np.testing.assert_array_equal(out[:95], photo[:95])  # above every box: untouched
    np.testing.assert_array_equal(out[:, 135:245], photo[:, 135:245])  # between the boxes


def test_pixelated_faces_are_blocks_and_the_margin_widens_them(photo):
    from maskdet.draw import blur_faces

    box = (100, 100, 80, 80)
    out = blur_faces(photo, classified([box], ["without_mask"]), blocks=4, margin=0.25)
    face = out[80:200, 80:200]  # 80 px widened by 20 px a side: 4 blocks of 30 px
    for row in range(4):
        for col in range(4):
            block = face[30 * row:30 * row + 30, 30 * col:30 * col + 30]
            assert (block == block[0, 0]).all()
    np.testing.assert_array_equal(out[:79], photo[:79])
    # labelled afterwards, the box and its colour are drawn over the blocks
    labelled = annotate(out, classified([box], ["without_mask"]))
    assert (border_pixels(labelled, box) == RED).all()


def test_blur_faces_checks_its_arguments_and_keeps_empty_results(photo):
    from maskdet.draw import blur_faces

    np.testing.assert_array_equal(blur_faces(photo, Detections.empty()), photo)
    with pytest.raises(ValueError, match="method must be one of pixelate, blur"):
        blur_faces(photo, Detections.empty(), method="smudge")
    with pytest.raises(ValueError, match="blocks must be at least 1"):
        blur_faces(photo, Detections.empty(), blocks=0)
    edge = blur_faces(photo, classified([(380, 280, 40, 40)], ["with_mask"]))  # cut by the edge
    assert edge.shape == photo.shape and (edge[280:, 380:] != photo[280:, 380:]).any()
