"""The HOG+SVM backend: its features, augmented copies and colour layout."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.classifiers.hog_svm import HogSvmClassifier, hog_features


def test_unknown_kernel_is_an_error(synthetic_faces):
    with pytest.raises(ValueError, match="kernel"):
        HogSvmClassifier(kernel="poly").fit(*synthetic_faces)


def test_augment_copies_add_degraded_training_faces(synthetic_faces):
    images, labels = synthetic_faces
    plain = HogSvmClassifier(image_size=32, flip_augment=False).fit(images, labels)
    more = HogSvmClassifier(image_size=32, flip_augment=True, augment_copies=2).fit(images, labels)
    # Three copies per face beside the original: the SVM saw 4 x 80 rows, in the same folds.
    svm = more.model_.calibrated_classifiers_[0].estimator
    assert svm[-1].shape_fit_[0] == 4 * len(images)
    assert plain.model_.calibrated_classifiers_[0].estimator[-1].shape_fit_[0] == len(images)
    assert (more.predict(images) == labels).mean() >= 0.9
    again = HogSvmClassifier(image_size=32, flip_augment=True, augment_copies=2).fit(images,
                                                                                     labels)
    np.testing.assert_allclose(again.predict_proba(images), more.predict_proba(images))


def same_gray_different_colour(n: int, seed: int = 0):
    """Faces whose gray images cannot tell the classes apart: the lower half is blue-ish
    (a mask) or skin-ish, of equal luminance, under the same random texture."""
    import cv2

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = ("with_mask", "without_mask")[i % 2]
        lab = np.empty((40, 40, 3), np.uint8)
        lab[..., 0] = rng.integers(90, 170, (40, 40))  # lightness: texture, either class
        lab[..., 1:] = (150, 150)  # skin-like a*, b*
        if label == "with_mask":
            lab[20:, :, 1:] = (128, 100)  # blue-ish, same lightness
        images.append(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR))
        labels.append(label)
    return images, np.array(labels)


def test_color_grid_sees_what_gray_hog_cannot():
    from maskdet.classifiers.hog_svm import color_layout

    images, labels = same_gray_different_colour(60)
    test_images, test_labels = same_gray_different_colour(40, seed=1)
    gray = HogSvmClassifier(image_size=32, pca_components=20).fit(images, labels)
    colour = HogSvmClassifier(image_size=32, pca_components=20, color_grid=4).fit(images,
                                                                                  labels)
    assert gray.preprocessing.color == "gray" and colour.preprocessing.color == "bgr"
    assert (colour.predict(test_images) == test_labels).mean() == 1.0
    assert (gray.predict(test_images) == test_labels).mean() < 0.75
    # The layout: grid x grid cells of mean L*, a*, b*, scaled to 0-1.
    layout = color_layout(np.stack([colour.preprocessing.apply(im) for im in test_images[:2]]),
                          4)
    assert layout.shape == (2, 48) and 0 <= layout.min() and layout.max() <= 1
    cells = layout.reshape(2, 4, 4, 3)
    np.testing.assert_allclose(cells[0, 2:, :, 2] * 255, 100, atol=3)  # masked: blue lower half
    np.testing.assert_allclose(cells[1, 2:, :, 2] * 255, 150, atol=3)  # skin


def test_hog_features_parallel_matches_serial():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (600, 32, 32), dtype=np.uint8)  # above the parallel threshold
    serial = hog_features(images, n_jobs=1)
    parallel = hog_features(images, n_jobs=2)
    np.testing.assert_allclose(serial, parallel)
    assert hog_features(images[:0]).shape == (0, serial.shape[1])


@pytest.mark.parametrize("params, message", [
    ({"image_size": 4}, "The 'image_size' parameter of HogSvmClassifier must be an int in the "
                        "range [8, 1024]. Got 4 instead."),
    ({"gamma": -1.0}, "The 'gamma' parameter of HogSvmClassifier must be a str among"),
    ({"pca_components": 0}, "The 'pca_components' parameter of HogSvmClassifier must be an int "
                            "in the range [1, inf) or None. Got 0 instead."),
    ({"image_size": 16, "pixels_per_cell": 12}, "pixels_per_cell x cells_per_block (24) must "
                                                "be at most image_size (16)"),
])
def test_bad_parameters_name_the_parameter_and_its_range(synthetic_faces, params, message):
    images, labels = synthetic_faces
    with pytest.raises(ValueError) as info:
        HogSvmClassifier(**params).fit(images[:12], labels[:12])
    assert message in str(info.value)
