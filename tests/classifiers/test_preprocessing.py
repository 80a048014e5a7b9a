"""The shared preprocessing path from a face crop to a classifier's input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdet.classifiers.preprocessing import Preprocessing, as_bgr, center_square


def random_image(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "size, color, expected_shape",
    [
        (64, "gray", (64, 64)),
        (32, "bgr", (32, 32, 3)),
        (48, "rgb", (48, 48, 3)),
        (8, "gray", (8, 8)),
        (200, "bgr", (200, 200, 3)),  # enlarging
    ],
)
@pytest.mark.parametrize("input_shape", [(120, 90, 3), (90, 120, 3), (50, 50, 3)])
def test_apply_shape_and_dtype(size, color, expected_shape, input_shape):
    out = Preprocessing(size=size, color=color).apply(random_image(input_shape))
    assert out.shape == expected_shape
    assert out.dtype == np.uint8


@pytest.mark.parametrize("color, expected_shape", [("gray", (3, 16, 16)),
                                                   ("bgr", (3, 16, 16, 3))])
def test_apply_batch(color, expected_shape):
    prep = Preprocessing(size=16, color=color)
    images = [random_image((40, 30, 3), s) for s in range(3)]
    batch = prep.apply_batch(images)
    assert batch.shape == expected_shape and batch.dtype == np.uint8
    for image, row in zip(images, batch):
        np.testing.assert_array_equal(row, prep.apply(image))


def test_apply_batch_empty():
    assert Preprocessing(size=16).apply_batch([]).shape == (0, 16, 16)


def test_rgb_is_bgr_reversed():
    image = random_image((70, 50, 3))
    bgr = Preprocessing(size=32, color="bgr").apply(image)
    rgb = Preprocessing(size=32, color="rgb").apply(image)
    np.testing.assert_array_equal(rgb, bgr[:, :, ::-1])
    assert not np.array_equal(rgb, bgr)


def test_gray_matches_opencv_conversion():
    image = random_image((64, 64, 3))
    gray = Preprocessing(size=64, color="gray").apply(image)  # same size: no resize
    np.testing.assert_array_equal(gray, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    bgr = Preprocessing(size=64, color="bgr").apply(image)
    np.testing.assert_array_equal(bgr, image)


@pytest.mark.parametrize(
    "shape, expected_slice",
    [
        ((100, 60, 3), (slice(20, 80), slice(0, 60))),  # portrait: middle rows
        ((60, 100, 3), (slice(0, 60), slice(20, 80))),  # landscape: middle columns
        ((61, 100), (slice(0, 61), slice(19, 80))),  # odd difference, gray
        ((40, 40, 3), (slice(0, 40), slice(0, 40))),
    ],
)
def test_center_square(shape, expected_slice):
    image = random_image(shape)
    out = center_square(image)
    assert out.shape[0] == out.shape[1] == min(shape[:2])
    np.testing.assert_array_equal(out, image[expected_slice])


def test_portrait_is_cropped_not_stretched():
    # a 90x30 image: black band, white square in the middle, black band
    image = np.zeros((90, 30, 3), np.uint8)
    image[30:60] = 255
    out = Preprocessing(size=30, color="gray").apply(image)
    assert (out == 255).all()


@pytest.mark.parametrize(
    "image",
    [
        random_image((40, 40)),
        random_image((40, 40, 1)),
        random_image((40, 40, 4)),
    ],
    ids=["gray", "one-channel", "bgra"],
)
def test_other_channel_layouts_are_accepted(image):
    bgr = as_bgr(image)
    assert bgr.shape == (40, 40, 3) and bgr.dtype == np.uint8
    if image.ndim == 2 or image.shape[2] == 1:
        expected = np.repeat(image.reshape(40, 40, 1), 3, axis=2)
    else:
        expected = image[:, :, :3]
    np.testing.assert_array_equal(bgr, expected)
    out = Preprocessing(size=20, color="bgr").apply(image)
    assert out.shape == (20, 20, 3)
    np.testing.assert_array_equal(out, Preprocessing(size=20, color="bgr").apply(expected))


def test_bgr_input_is_returned_as_is():
    image = random_image((10, 10, 3))
    assert as_bgr(image) is image


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((40, 40, 3), np.float32), "uint8"),
        (np.zeros((40, 40, 3), np.float64), "uint8"),
        (np.zeros((40, 40, 3), np.uint16), "uint8"),
        (np.zeros((40, 40, 2), np.uint8), "H x W x 3"),
        (np.zeros((2, 40, 40, 3), np.uint8), "H x W x 3"),
        (np.zeros(40, np.uint8), "H x W x 3"),
    ],
)
def test_bad_images_raise(image, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing().apply(image)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"color": "hsv"}, "color must be one of"),
        ({"color": "GRAY"}, "color must be one of"),
        ({"size": 7}, "size must be at least 8"),
        ({"size": 0}, "size must be at least 8"),
        ({"size": -64}, "size must be at least 8"),
    ],
)
def test_invalid_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing(**kwargs)


def test_defaults():
    prep = Preprocessing()
    assert (prep.size, prep.color, prep.margin) == (64, "gray", 0.2)


@pytest.mark.parametrize(
    "prep",
    [Preprocessing(), Preprocessing(size=96, color="rgb", margin=0.35),
     Preprocessing(size=8, color="bgr", margin=0.0)],
)
def test_dict_round_trip(prep):
    data = prep.to_dict()
    assert data == {"size": prep.size, "color": prep.color, "margin": prep.margin}
    assert Preprocessing.from_dict(data) == prep


def test_from_dict_coerces_and_defaults_margin():
    prep = Preprocessing.from_dict({"size": "32", "color": "bgr"})
    assert prep == Preprocessing(size=32, color="bgr", margin=0.2)
    assert type(prep.size) is int


def test_from_dict_validates():
    with pytest.raises(ValueError, match="color"):
        Preprocessing.from_dict({"size": 32, "color": "cmyk"})


@pytest.mark.parametrize("color", ["gray", "bgr", "rgb"])
def test_deterministic(color):
    image = random_image((123, 77, 3), seed=5)
    original = image.copy()
    prep = Preprocessing(size=40, color=color)
    first = prep.apply(image)
    second = Preprocessing(size=40, color=color).apply(image.copy())
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(image, original)  # the input is not modified
