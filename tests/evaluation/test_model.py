"""`evaluate_model`: what `maskdet evaluate` runs, as a library call."""

from __future__ import annotations

import json

import pytest

import maskdet
from maskdet.data import source_split
from maskdet.errors import DatasetError
from maskdet.evaluation import evaluate_model
from tests.helpers import SceneFaces, write_class_folders, write_voc_scenes


@pytest.fixture(scope="module")
def model(tmp_path_factory, synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("hog-svm", image_size=48).fit(images, labels)


def test_crops_of_class_folders(model, tmp_path):
    data = write_class_folders(tmp_path / "faces", per_class=6, seed=2)
    result = evaluate_model(model, data)
    assert not result.end_to_end and result.held_out is None
    assert result.metrics["n"] == 12 and result.metrics["accuracy"] >= 0.9
    assert len(result.crops) == 12 and result.proba.shape == (12, 2)
    out = result.to_dict()
    assert out["data"]["counts"] == {"with_mask": 6, "without_mask": 6}
    json.dumps(out, allow_nan=False)
    assert result.format("m", "faces").splitlines()[0] == "m on faces (folders):"


def test_end_to_end_with_the_operating_point_and_min_face(model, tmp_path):
    voc = write_voc_scenes(tmp_path / "scenes", 2)
    result = evaluate_model(model, voc, end_to_end=True, face_detector=SceneFaces(),
                            min_face=13, min_confidence={"without_mask": 0.2})
    assert result.end_to_end and result.face_detector == "scene-faces"
    assert result.min_confidence == {"without_mask": 0.2}
    m = result.metrics
    assert m["images"] == 2 and m["ignored_small"] == {"without_mask": 2}
    assert m["per_class"]["with_mask"]["tp"] == 2 and m["per_class"]["without_mask"]["tp"] == 2
    assert result.format("m", "scenes").splitlines()[0] == (
        "m on scenes (voc, end to end with the scene-faces face detector, faces >= 13 px, "
        "without_mask confidence >= 0.2):")
    assert "results" not in result.to_dict()


def test_held_out_part_recorded_in_the_model(model, tmp_path):
    voc = write_voc_scenes(tmp_path / "scenes", 4)
    _, entry = source_split(maskdet.load_dataset(voc), 0.5, 0)
    model.settings_ = maskdet.ModelSettings(sources=(entry,))
    result = evaluate_model(model, voc, held_out=True, end_to_end=True,
                            face_detector=SceneFaces())
    assert result.held_out == {"files": 2, "faces": 6} and result.metrics["images"] == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"end_to_end": True}, "end-to-end evaluation needs VOC scenes"),
    ({"held_out": True}, "records no held-out part of a dataset named 'faces'"),
])
def test_protocols_the_data_does_not_allow(model, tmp_path, kwargs, message):
    model.settings_ = maskdet.ModelSettings()
    data = write_class_folders(tmp_path / "faces", per_class=3)
    with pytest.raises(DatasetError, match=message):
        evaluate_model(model, data, **kwargs)


def test_bad_iou_is_a_value_error(model, tmp_path):
    with pytest.raises(ValueError, match="iou must be in"):
        evaluate_model(model, tmp_path, iou=0)
