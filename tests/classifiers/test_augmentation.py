"""FaceAugmenter: the random degradations every backend can train on."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.classifiers.augmentation import FaceAugmenter
from tests.helpers import synthetic_face

#: Every change switched off; tests switch on one at a time.
NONE = {"flip": 0.0, "rotation": 0.0, "zoom": 0.0, "shift": 0.0, "small": 0.0, "blur": 0.0,
        "light": 0.0, "noise": 0.0, "jpeg": 0.0, "occlude": 0.0}


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([synthetic_face(label, rng, size=48)
                     for label in ["with_mask", "without_mask"] * 4])


def test_all_off_is_identity(faces):
    out = FaceAugmenter(**NONE)(faces, np.random.default_rng(0))
    np.testing.assert_array_equal(out, faces)


def test_same_seed_same_result_and_new_array(faces):
    augmenter = FaceAugmenter()
    a = augmenter(faces, np.random.default_rng(7))
    b = augmenter(faces, np.random.default_rng(7))
    c = augmenter(faces, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == faces.shape and a.dtype == np.uint8 and a is not faces
    assert not np.array_equal(a, faces)


def test_gray_faces_keep_their_shape(faces):
    gray = faces[..., 1].copy()
    out = FaceAugmenter(**{**NONE, "small": 1.0, "occlude": 1.0, "jpeg": 1.0, "noise": 1.0,
                           "rotation": 20.0})(gray, np.random.default_rng(0))
    assert out.shape == gray.shape and out.dtype == np.uint8


def test_flip_mirrors(faces):
    out = FaceAugmenter(**{**NONE, "flip": 1.0})(faces, np.random.default_rng(0))
    np.testing.assert_array_equal(out, faces[:, :, ::-1])


def test_small_loses_detail_but_keeps_the_mean(faces):
    out = FaceAugmenter(**{**NONE, "small": 1.0, "min_side": 8})(faces, np.random.default_rng(1))
    # Shrinking and enlarging keeps the average colour but removes high frequencies.
    assert abs(out.astype(float).mean() - faces.astype(float).mean()) < 3
    detail = np.abs(np.diff(faces.astype(float), axis=2)).mean()
    assert np.abs(np.diff(out.astype(float), axis=2)).mean() < detail


def test_light_changes_brightness_monotonically():
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))[None]  # one gray face
    out = FaceAugmenter(**{**NONE, "light": 1.0})(ramp, np.random.default_rng(3))[0]
    assert not np.array_equal(out, ramp[0])
    assert np.all(np.diff(out[0].astype(int)) >= 0)  # a tone curve keeps the order of greys


def test_occlusion_covers_a_bounded_rectangle(faces):
    flat = np.full((50, 40, 40, 3), 128, np.uint8)
    out = FaceAugmenter(**{**NONE, "occlude": 1.0})(flat, np.random.default_rng(0))
    changed = (out != 128).any(axis=-1).mean(axis=(1, 2))
    # 4-16 % of the face (a flat-colour patch may by chance be 128 in some channel).
    assert changed.max() <= 0.17 and np.median(changed) >= 0.03


def test_rejects_non_uint8_batches(faces):
    with pytest.raises(ValueError, match="uint8 batch"):
        FaceAugmenter()(faces.astype(np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="uint8 batch"):
        FaceAugmenter()(faces[0, :, :, 0].ravel(), np.random.default_rng(0))
