"""Backends by name: the built-in ones, third-party ones registered or declared as entry
points, and clear errors for unknown or uninstalled ones."""

from __future__ import annotations

import pytest

import maskdet
from maskdet.classifiers.hog_svm import HogSvmClassifier
from maskdet.errors import BackendError


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
