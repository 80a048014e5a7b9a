"""The Classifier interface, the backend registry, the HOG+SVM backend and model bundles."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

import maskdet
from maskdet.classifiers import bundle as bundle_mod
from maskdet.classifiers.hog_svm import HogSvmClassifier, hog_features
from maskdet.errors import BackendError, BundleError


@pytest.fixture(scope="module")
def fitted(synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("hog-svm", image_size=48).fit(images[:60], labels[:60])


def test_registry_lists_and_creates_hog_svm():
    assert "hog-svm" in maskdet.available_backends()
    clf = maskdet.create_classifier("hog-svm", C=3.0, kernel="linear")
    assert isinstance(clf, HogSvmClassifier)
    assert clf.get_params()["C"] == 3.0 and clf.get_params()["kernel"] == "linear"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("no-such-backend", {}, "unknown classifier backend 'no-such-backend'"),
        ("hog-svm", {"not_a_param": 1}, "not_a_param"),
    ],
)
def test_create_classifier_errors(name, params, message):
    with pytest.raises(BackendError, match=message):
        maskdet.create_classifier(name, **params)


def test_register_backend_third_party(monkeypatch, synthetic_faces, tmp_path):
    from maskdet.classifiers import registry

    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))

    class MeanBrightness(HogSvmClassifier):
        backend_name = "test-brightness"

    maskdet.register_backend("test-brightness", MeanBrightness)
    assert "test-brightness" in maskdet.available_backends()
    with pytest.raises(ValueError, match="already registered"):
        maskdet.register_backend("test-brightness", MeanBrightness)
    with pytest.raises(TypeError):
        maskdet.register_backend("bad", object)  # type: ignore[arg-type]
    images, labels = synthetic_faces
    clf = maskdet.create_classifier("test-brightness", image_size=32).fit(images, labels)
    loaded = maskdet.load_classifier(clf.save(tmp_path / "b.maskdet"))
    assert type(loaded) is MeanBrightness


def test_lazy_string_backend_with_missing_dependency(monkeypatch):
    from maskdet.classifiers import registry

    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))
    maskdet.register_backend("needs-missing", "no_such_module_xyz.sub:Thing")
    with pytest.raises(BackendError, match="no_such_module_xyz"):
        maskdet.create_classifier("needs-missing")


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


def test_unknown_kernel_is_an_error(synthetic_faces):
    with pytest.raises(ValueError, match="kernel"):
        HogSvmClassifier(kernel="poly").fit(*synthetic_faces)


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


# -- bundles ----------------------------------------------------------------------------------
def test_save_load_identical_probabilities(fitted, synthetic_faces, tmp_path):
    path = fitted.save(tmp_path / "m.maskdet", metrics={"note": "test"})
    loaded = maskdet.load_classifier(path)
    images = synthetic_faces[0]
    # The support vectors and principal axes are stored as float32: equal to ~1e-7.
    np.testing.assert_allclose(loaded.predict_proba(images), fitted.predict_proba(images),
                               atol=1e-5)
    np.testing.assert_array_equal(loaded.predict(images), fitted.predict(images))
    svm = loaded.model_.calibrated_classifiers_[0].estimator[-1]
    assert svm.support_vectors_.dtype == np.float64  # cast back for libsvm
    assert loaded.get_params() == fitted.get_params()
    assert list(loaded.classes_) == list(fitted.classes_)
    assert loaded.metrics_["note"] == "test"


def test_manifest_contents(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.maskdet")
    manifest = maskdet.read_manifest(path)
    assert manifest["format"] == "maskdet-bundle" and manifest["format_version"] == 1
    assert manifest["backend"] == "hog-svm"
    assert manifest["classes"] == ["with_mask", "without_mask"]
    assert manifest["params"]["image_size"] == 48
    assert manifest["preprocessing"] == {"size": 48, "color": "gray", "margin": 0.2}
    assert {"python", "numpy", "scikit-learn", "opencv-python"} <= set(manifest["versions"])
    assert manifest["metrics"]["n_train"] == 60
    with zipfile.ZipFile(path) as zf:
        import hashlib

        for name, info in manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == info["sha256"]


def test_save_is_atomic_and_overwrites(fitted, tmp_path, monkeypatch):
    path = tmp_path / "m.maskdet"
    fitted.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod.zipfile.ZipFile, "write", boom)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(path)
    assert path.read_bytes() == before  # the old bundle is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["m.maskdet"]  # no temporary left


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item, data)


def _bump_version(name, data):
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["format_version"] = 99
    return json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "not a zip file, or truncated"),
        ("alter", "does not match its checksum"),
        ("drop_weights", "is missing weights/model.joblib"),
        ("drop_manifest", "no manifest.json"),
        ("newer", "format 99 is newer"),
        ("garbage", "not a maskdet model bundle"),
        ("unknown_backend", "unknown classifier backend 'gone'"),
    ],
)
def test_damaged_bundles_are_clear_errors(fitted, tmp_path, damage, message):
    good = fitted.save(tmp_path / "good.maskdet")
    bad = tmp_path / "bad.maskdet"
    if damage == "truncate":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "alter":
        _rewrite(good, bad, lambda n, d: d if n == "manifest.json" else d[:-1] + bytes([d[-1] ^ 1]))
    elif damage == "drop_weights":
        _rewrite(good, bad, lambda n, d: None if n.startswith("weights/") else d)
    elif damage == "drop_manifest":
        _rewrite(good, bad, lambda n, d: None if n == "manifest.json" else d)
    elif damage == "newer":
        _rewrite(good, bad, _bump_version)
    elif damage == "garbage":
        bad.write_text("this is not a model")
    elif damage == "unknown_backend":
        def rename(n, d):
            if n != "manifest.json":
                return d
            m = json.loads(d)
            m["backend"] = "gone"
            return json.dumps(m).encode()

        _rewrite(good, bad, rename)
    with pytest.raises(BundleError, match=message) as info:
        maskdet.load_classifier(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_missing_bundle_and_folder(tmp_path):
    with pytest.raises(BundleError, match="no such model file"):
        maskdet.load_classifier(tmp_path / "absent.maskdet")
    with pytest.raises(BundleError, match="folder"):
        maskdet.load_classifier(tmp_path)


def test_import_maskdet_does_not_import_tensorflow():
    code = ("import sys, maskdet; maskdet.create_classifier('hog-svm'); "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
