"""Model bundles: save and load give the same classifier; damaged, altered or foreign files
are clear errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import maskdet
from maskdet.classifiers import bundle as bundle_mod
from maskdet.errors import BundleError


@pytest.fixture(scope="module")
def fitted(synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("hog-svm", image_size=48).fit(images[:60], labels[:60])


# -- bundles ----------------------------------------------------------------------------------
def test_save_load_identical_probabilities(fitted, synthetic_faces, tmp_path):
    path = fitted.save(tmp_path / "m.maskdet")
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
    assert loaded.metrics_ == fitted.metrics_


def test_manifest_contents(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.maskdet")
    manifest = maskdet.read_manifest(path)
    assert manifest["format"] == "maskdet-bundle" and manifest["format_version"] == 2
    assert manifest["backend"] == "hog-svm"
    assert manifest["classes"] == ["with_mask", "without_mask"]
    assert manifest["params"]["image_size"] == 48
    assert manifest["preprocessing"] == {"size": 48, "color": "gray", "margin": 0.2}
    assert {"python", "numpy", "scikit-learn", "opencv-python"} <= set(manifest["versions"])
    assert manifest["metrics"]["n_train"] == 60
    assert manifest["settings"] == {"min_confidence": {}, "operating_point_note": "",
                                    "framing": None, "sources": []}
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
