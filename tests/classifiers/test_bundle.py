"""Model bundles: save and load give the same classifier; damaged, altered or foreign files
are clear errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import maskdet
from maskdet.classifiers import bundle as bundle_mod
from maskdet.errors import BundleError
from tests.helpers import legacy_bundle


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
    assert manifest["format"] == "maskdet-bundle" and manifest["format_version"] == 3
    assert manifest["backend"] == "hog-svm"
    assert manifest["classes"] == ["with_mask", "without_mask"]
    assert manifest["params"]["image_size"] == 48
    assert manifest["preprocessing"] == {"size": 48, "color": "gray", "margin": 0.2}
    assert {"python", "numpy", "scikit-learn", "opencv-python"} <= set(manifest["versions"])
    assert manifest["metrics"]["n_train"] == 60
    assert manifest["settings"] == {"min_confidence": {}, "operating_point_note": "",
                                    "face_score": None, "not_a_face": None, "framing": None,
                                    "sources": []}
    with zipfile.ZipFile(path) as zf:
        import hashlib

        for name, info in manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == info["sha256"]
    assert sorted(manifest["files"]) == ["weights/model.skops"]  # no pickle
    assert manifest["manifest_sha256"] == bundle_mod.manifest_digest(manifest)


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


def _edit_manifest(change, resign: bool = False):
    """A `_rewrite` change that edits the manifest (and, as a forger would, signs it again)."""
    def edit(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        if resign:
            manifest["manifest_sha256"] = bundle_mod.manifest_digest(manifest)
        return json.dumps(manifest).encode()

    return edit


def _bump_version(manifest):
    manifest["format_version"] = 99


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "not a zip file, or truncated"),
        ("alter", "does not match its checksum"),
        ("drop_weights", "is missing weights/model.skops"),
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
        _rewrite(good, bad, _edit_manifest(_bump_version))
    elif damage == "garbage":
        bad.write_text("this is not a model")
    elif damage == "unknown_backend":
        _rewrite(good, bad, _edit_manifest(lambda m: m.update(backend="gone"), resign=True))
    with pytest.raises(BundleError, match=message) as info:
        maskdet.load_classifier(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_missing_bundle_and_folder(tmp_path):
    with pytest.raises(BundleError, match="no such model file"):
        maskdet.load_classifier(tmp_path / "absent.maskdet")
    with pytest.raises(BundleError, match="folder"):
        maskdet.load_classifier(tmp_path)


@pytest.mark.parametrize("change", [
    lambda m: m.update(classes=m["classes"][::-1]),  # would invert every label
    lambda m: m["settings"].update(min_confidence={"without_mask": 0.99}),
    lambda m: m["preprocessing"].update(size=32),
    lambda m: m["metrics"].update(n_train=1),
    lambda m: m["files"]["weights/model.skops"].update(bytes=1),
    lambda m: m["params"].update(C=1.0),
])
def test_every_manifest_edit_is_refused(fitted, tmp_path, change):
    good = fitted.save(tmp_path / "good.maskdet")
    bad = tmp_path / "edited.maskdet"
    _rewrite(good, bad, _edit_manifest(change))
    for load in (maskdet.load_classifier, maskdet.read_manifest, maskdet.read_model_info):
        with pytest.raises(BundleError, match="manifest.json does not match its checksum") as info:
            load(bad)
        assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_a_manifest_laid_out_differently_is_the_same_manifest(fitted, tmp_path, synthetic_faces):
    good = fitted.save(tmp_path / "good.maskdet")
    same = tmp_path / "same.maskdet"
    _rewrite(good, same, lambda n, d: json.dumps(json.loads(d), indent=7).encode()
             if n == "manifest.json" else d)
    faces = synthetic_faces[0][:5]
    np.testing.assert_array_equal(maskdet.load_classifier(same).predict_proba(faces),
                                  maskdet.load_classifier(good).predict_proba(faces))


class Payload:
    """Would write a marker file if anything built it from a bundle."""

    marker: Path | None = None

    def __setstate__(self, state):
        Path(state["marker"]).write_text("code ran")


def test_a_planted_payload_is_refused_and_runs_nothing(fitted, tmp_path):
    """A forger who rewrites the weights and every checksum gets a one-line refusal: the
    weights may hold only the types a HOG+SVM model is made of."""
    import skops.io

    marker = tmp_path / "ran.txt"
    payload = Payload()
    payload.__dict__["marker"] = str(marker)
    evil = skops.io.dumps({"model": payload})
    good = fitted.save(tmp_path / "good.maskdet")
    bad = tmp_path / "evil.maskdet"
    digest = __import__("hashlib").sha256(evil).hexdigest()

    def forge(manifest):
        manifest["files"]["weights/model.skops"] = {"sha256": digest, "bytes": len(evil)}

    def change(name, data):
        return evil if name == "weights/model.skops" else _edit_manifest(forge, True)(name, data)

    _rewrite(good, bad, change)
    with pytest.raises(BundleError, match="refused unloaded") as info:
        maskdet.load_classifier(bad)
    assert "Payload" in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()


class Unpickled:
    """Writes a marker file when it is unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def test_old_pickled_bundles_are_refused_with_how_to_convert(fitted, tmp_path):
    marker = tmp_path / "ran.txt"
    old = legacy_bundle(fitted, tmp_path, payload=Unpickled(marker))
    with pytest.raises(BundleError) as info:
        maskdet.load_classifier(old)
    message = str(info.value)
    assert message.startswith(f"{old}: bundle format 1 is no longer loaded")
    assert "pickle, which can run code" in message
    assert f"maskdet upgrade {old} --out NEW.maskdet" in message
    with pytest.raises(BundleError, match="--trust-pickle"):
        maskdet.upgrade_bundle(old, tmp_path / "new.maskdet")
    assert not marker.exists()  # neither loading nor a refused upgrade unpickled it
    assert maskdet.read_model_info(old).format_version == 1  # its manifest can be read


def test_upgrade_converts_a_trusted_old_bundle(fitted, tmp_path, synthetic_faces):
    old = legacy_bundle(fitted, tmp_path)
    new = maskdet.upgrade_bundle(old, tmp_path / "new.maskdet", trust_pickle=True)
    assert maskdet.read_manifest(new)["format_version"] == 3
    faces = synthetic_faces[0][:8]
    np.testing.assert_allclose(maskdet.load_classifier(new).predict_proba(faces),
                               fitted.predict_proba(faces), atol=1e-5)
    with pytest.raises(BundleError, match="nothing to upgrade"):
        maskdet.upgrade_bundle(new, tmp_path / "again.maskdet")
