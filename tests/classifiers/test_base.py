"""The Classifier contract, on the hog-svm backend: scikit-learn's conventions (parameters
stored unchanged, fit returns self, NotFittedError, clone, grid search) and input handling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

import maskdet
from maskdet.classifiers.hog_svm import HogSvmClassifier


@pytest.fixture(scope="module")
def fitted(synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("hog-svm", image_size=48).fit(images[:60], labels[:60])


def test_init_stores_params_unchanged():
    params = {"image_size": 40, "C": "not validated in __init__", "gamma": 0.01}
    clf = HogSvmClassifier(**params)
    for key, value in params.items():
        assert clf.get_params()[key] == value


def test_not_fitted_error(synthetic_faces):
    with pytest.raises(NotFittedError):
        HogSvmClassifier().predict(synthetic_faces[0][:2])
    with pytest.raises(NotFittedError):
        HogSvmClassifier().save("never-written.maskdet")


def test_fit_returns_self_and_learns(synthetic_faces, fitted):
    images, labels = synthetic_faces
    assert list(fitted.classes_) == ["with_mask", "without_mask"]
    proba = fitted.predict_proba(images[60:])
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # Columns follow classes_: the predicted label is the arg-max column.
    pred = fitted.predict(images[60:])
    assert list(pred) == list(fitted.classes_[proba.argmax(axis=1)])
    assert (pred == labels[60:]).mean() >= 0.9
    assert fitted.metrics_["n_train"] == 60
    assert fitted.metrics_["train_counts"] == {"with_mask": 30, "without_mask": 30}


def test_predict_empty_and_shapes(fitted):
    assert fitted.predict_proba([]).shape == (0, 2)
    assert fitted.predict([]).shape == (0,)
    with pytest.raises(ValueError, match="single H x W x 3 image"):
        fitted.predict(np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        fitted.predict([np.zeros((50, 50, 3), np.float32)])


def test_accepts_gray_and_bgra_and_any_size(fitted, synthetic_faces):
    import cv2

    face = synthetic_faces[0][0]
    base = fitted.predict_proba([face])
    gray = fitted.predict_proba([cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)])
    bgra = fitted.predict_proba([cv2.cvtColor(face, cv2.COLOR_BGR2BGRA)])
    np.testing.assert_allclose(base, bgra, atol=1e-6)  # HOG runs on gray: alpha is ignored
    np.testing.assert_allclose(base, gray, atol=0.05)
    assert fitted.predict_proba([cv2.resize(face, (300, 300))]).shape == (1, 2)


def test_three_classes(synthetic_faces):
    images, labels = synthetic_faces
    labels = labels.astype(object)
    labels[::4] = "mask_weared_incorrect"
    clf = HogSvmClassifier(image_size=32, kernel="linear").fit(images, labels)
    assert list(clf.classes_) == ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert clf.predict_proba(images[:5]).shape == (5, 3)


def test_fit_needs_two_classes_and_matching_lengths(synthetic_faces):
    images, labels = synthetic_faces
    with pytest.raises(ValueError, match="two classes"):
        HogSvmClassifier().fit(images[:4], ["with_mask"] * 4)
    with pytest.raises(ValueError, match="shape"):
        HogSvmClassifier().fit(images[:4], labels[:3])


def test_sklearn_clone_gridsearch_cross_val(synthetic_faces):
    images, labels = synthetic_faces
    clf = HogSvmClassifier(image_size=32, C=1.0)
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    scores = cross_val_score(clf, images, labels, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    search = GridSearchCV(clf, {"C": [0.1, 10.0]}, cv=3).fit(images, labels)
    assert search.best_params_["C"] in (0.1, 10.0)
    assert search.best_estimator_.predict(images[:3]).shape == (3,)
    assert search.score(images, labels) > 0.8


def test_the_estimator_contract_is_scikit_learns(synthetic_faces, fitted):
    from sklearn.base import is_classifier
    from sklearn.utils import get_tags

    images, labels = synthetic_faces
    clf = HogSvmClassifier(image_size=40)
    assert is_classifier(clf) and get_tags(clf).target_tags.required
    assert repr(clf) == "HogSvmClassifier(image_size=40)"
    assert clf.set_params(C=3.0, kernel="linear") is clf
    assert (clf.C, clf.kernel) == (3.0, "linear")
    with pytest.raises(ValueError, match="Invalid parameter 'colour' for estimator"):
        clf.set_params(colour=1)
    expected = float(np.mean(fitted.predict(images[60:]) == np.asarray(labels[60:])))
    assert fitted.score(images[60:], labels[60:]) == pytest.approx(expected)
    weights = np.r_[np.ones(10), np.zeros(10)]
    assert fitted.score(images[60:], labels[60:], sample_weight=weights) == pytest.approx(
        float(np.mean(fitted.predict(images[60:70]) == np.asarray(labels[60:70]))))
