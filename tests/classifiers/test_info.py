"""The typed record of a bundle: settings apart from measurements, read once from the
manifest (both bundle formats), and saving that leaves the classifier as it was."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import maskdet
from maskdet.classifiers import ModelInfo, ModelSettings, read_model_info
from maskdet.data import SourceSplit
from maskdet.errors import BundleError
from tests.helpers import legacy_bundle

SOURCE = SourceSplit(name="mask-scenes", layout="voc", files=428, test_size=0.3, seed=0,
                     test_files=128)


@pytest.fixture
def fitted(synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("hog-svm", image_size=32).fit(images[:40], labels[:40])


def test_settings_and_metrics_travel_with_the_bundle_apart(fitted, tmp_path):
    fitted.settings_ = ModelSettings(min_confidence={"without_mask": 0.25},
                                     operating_point_note="chosen on folds", face_score=0.6,
                                     not_a_face=0.7, framing="yunet", sources=(SOURCE,))
    fitted.metrics_["test"] = {"accuracy": 0.9, "balanced_accuracy": 0.85, "n": 20}
    path = fitted.save(tmp_path / "m.maskdet")
    manifest = maskdet.read_manifest(path)
    assert manifest["settings"] == {
        "min_confidence": {"without_mask": 0.25}, "operating_point_note": "chosen on folds",
        "face_score": 0.6, "not_a_face": 0.7, "framing": "yunet",
        "sources": [SOURCE.to_dict()]}
    assert "operating_point" not in manifest["metrics"]  # measurements only
    info = read_model_info(path)
    assert info.settings == fitted.settings_
    assert info.test_metrics == {"accuracy": 0.9, "balanced_accuracy": 0.85, "n": 20}
    assert info.backend == "hog-svm" and info.classes == ("with_mask", "without_mask")
    assert info.preprocessing == fitted.preprocessing
    loaded = maskdet.load_classifier(path)
    assert loaded.settings_ == fitted.settings_ and loaded.metrics_ == fitted.metrics_
    mask_detector = maskdet.MaskDetector(loaded)
    assert mask_detector.min_confidence == {"without_mask": 0.25}
    # YuNet by name gets the model's face score; a detector given as one is kept as it is.
    assert mask_detector.face_detector.score_threshold == 0.6
    yunet = maskdet.faces.YuNetDetector()
    assert maskdet.MaskDetector(loaded, face_detector=yunet).face_detector is yunet
    assert yunet.score_threshold == 0.75


def test_save_leaves_the_classifier_as_it_was(fitted, tmp_path):
    before = (json.dumps(fitted.metrics_, sort_keys=True), fitted.settings_,
              fitted.get_params())
    fitted.save(tmp_path / "a.maskdet")
    assert (json.dumps(fitted.metrics_, sort_keys=True), fitted.settings_,
            fitted.get_params()) == before


def test_fit_starts_without_settings(fitted, synthetic_faces):
    fitted.settings_ = replace(fitted.settings_, framing="yunet")
    images, labels = synthetic_faces
    fitted.fit(images[:40], labels[:40])
    assert fitted.settings_ == ModelSettings()


def test_format_1_settings_are_read_and_kept_by_upgrade(fitted, tmp_path):
    metrics = {**fitted.metrics_,
               "operating_point": {"min_confidence": {"without_mask": 0.3}, "note": "old",
                                   "validation": {"tp": 9}},
               "training": {"framing": "haar", "sources": [SOURCE.to_dict()]}}
    old = legacy_bundle(fitted, tmp_path, metrics=metrics)
    info = read_model_info(old)
    assert info.settings == ModelSettings(min_confidence={"without_mask": 0.3},
                                          operating_point_note="old", framing="haar",
                                          sources=(SOURCE,))
    assert info.format_version == 1
    assert "bundle format 1: maskdet no longer loads it" in "\n".join(info.describe())
    new = maskdet.upgrade_bundle(old, tmp_path / "new.maskdet", trust_pickle=True)
    again = read_model_info(new)
    assert again.settings == info.settings and again.format_version == 3
    assert maskdet.MaskDetector(new).min_confidence == {"without_mask": 0.3}


def test_describe_names_what_changes_results(fitted):
    fitted.settings_ = ModelSettings(min_confidence={"without_mask": 0.216},
                                     operating_point_note="chosen on folds", framing="yunet",
                                     face_score=0.5, sources=(SOURCE,))
    lines = fitted.model_info().describe()
    assert lines[0] == "hog-svm model, classes with_mask, without_mask"
    assert "  class-folder images framed on the face yunet finds" in "\n".join(lines)
    assert ("  operating point: confidence without_mask >= 0.216 (chosen on folds)"
            in lines)
    assert "  held-out parts: mask-scenes (128 of 428 files)" in lines
    assert "  faces classified from YuNet score 0.5 (chosen with the operating point)" in lines


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m.update(classes=7), "invalid bundle manifest"),
    (lambda m: m.update(preprocessing={"size": "big"}), "invalid bundle manifest"),
    (lambda m: m["settings"].update(sources=[{"name": "x"}]), "invalid bundle manifest"),
    (lambda m: m["settings"].update(face_score="high"), "face_score must be a number"),
    (lambda m: m["settings"].update(face_score=1.5), "face_score must be a number"),
    (lambda m: m["settings"].update(not_a_face=-0.1), "not_a_face must be a number"),
])
def test_a_manifest_field_of_the_wrong_kind_is_one_line(fitted, tmp_path, change, message):
    manifest = maskdet.read_manifest(fitted.save(tmp_path / "m.maskdet"))
    change(manifest)
    with pytest.raises(BundleError, match=message) as info:
        ModelInfo.from_manifest(manifest, tmp_path / "m.maskdet")
    assert str(tmp_path / "m.maskdet") in str(info.value) and "\n" not in str(info.value)
