"""Face-crop geometry: square boxes around faces, crops padded at the border, and framing a
face-folder image on its face."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.detections import Detections
from maskdet.faces import crop_face, frame_face, square_box
from tests.helpers import scene_image


def pattern_image(h: int, w: int) -> np.ndarray:
    """A BGR image whose every pixel is distinct: B = row, G = column, R = (row + col) % 256."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy, xx, (yy + xx) % 256], axis=-1).astype(np.uint8)


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


def test_crop_face_pads_at_the_border():
    image = scene_image(11)
    crop = crop_face(image, (0, 0, 30, 30), margin=0.2)  # side 42 starting at (-6, -6)
    assert square_box((0, 0, 30, 30), 0.2) == (-6, -6, 42, 42)
    assert crop.shape == (42, 42, 3)
    np.testing.assert_array_equal(crop[6:, 6:], image[0:36, 0:36])
    np.testing.assert_array_equal(crop[0, 6:], image[0, 0:36])  # replicated edge row
    with pytest.raises(ValueError, match="outside"):
        crop_face(image, (500, 500, 10, 10))


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
