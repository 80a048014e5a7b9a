"""`maskdet train`: metrics on stdout, one clean JSON object, framing recorded in the model."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from tests.helpers import run_cli, synthetic_face


def test_train_prints_metrics(tmp_path, class_folders, capsys):
    out_path = tmp_path / "m.maskdet"
    code, out, err = run_cli(capsys, "train", class_folders, "--out", out_path, "-p", "C=3",
                             "--test-size", "0.25", "--seed", "1")
    assert code == 0, err
    assert out_path.is_file()
    assert "accuracy" in out and "with_mask" in out and "without_mask" in out
    assert "precision" in out and "confusion matrix" in out


def test_train_json_is_one_clean_object(tmp_path, class_folders, capsys):
    code, out, err = run_cli(capsys, "train", class_folders, "--out", tmp_path / "m.maskdet",
                             "--json", "--test-size", "0.25", "-p", "image_size=48")
    assert code == 0, err
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert result["backend"] == "hog-svm"
    assert result["params"]["image_size"] == 48
    test = result["test"]
    assert test["n"] == 6  # 25% of 2 x 12 files
    assert set(test["per_class"]) == {"with_mask", "without_mask"}
    assert sum(map(sum, test["confusion_matrix"]["matrix"])) == 6
    assert 0.0 <= test["accuracy"] <= 1.0


def write_face_in_photo_folders(root: Path, per_class: int, seed: int) -> Path:
    """Class folders of 160 px photos, each with a 40 px drawn face somewhere on a noisy
    background; the top-left pixels carry the face box for MarkerDetector."""
    rng = np.random.default_rng(seed)
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            photo = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
            x, y = (int(v) for v in rng.integers(8, 112, 2))
            photo[y:y + 40, x:x + 40] = synthetic_face(label, rng, size=40)
            photo[0, :5] = 0
            photo[0, 0] = 255
            photo[0, 1:5, 0] = (x, y, 40, 40)
            assert cv2.imwrite(str(root / label / f"{i:02d}.png"), photo)
    return root


def test_train_frame_faces_and_evaluate_frames_the_same_way(tmp_path, capsys, monkeypatch):
    from maskdet import faces
    from maskdet.classifiers import load_classifier
    from maskdet.data import load_dataset
    from maskdet.errors import DetectorUnavailableError
    from tests.helpers import MarkerDetector

    monkeypatch.setitem(faces.DETECTORS, "marker", MarkerDetector)
    data = write_face_in_photo_folders(tmp_path / "photos", per_class=30, seed=3)
    model = tmp_path / "framed.maskdet"
    code, out, err = run_cli(capsys, "train", data, "--out", model, "--frame-faces", "marker",
                             "-p", "image_size=32", "-p", "margin=0.1", "--json",
                             "--test-size", "0.25")
    assert code == 0, err
    result = json.loads(out)
    assert result["settings"]["framing"] == "marker"
    assert result["test"]["accuracy"] >= 0.9
    assert load_classifier(model).settings_.framing == "marker"
    code, out, err = run_cli(capsys, "info", model)
    assert code == 0 and "framed on the face marker finds" in out

    # evaluate frames the photos as training did; whole, the same model sees 8 px faces
    code, out, err = run_cli(capsys, "evaluate", model, data, "--held-out", "--json")
    assert code == 1 and "no held-out part" in err  # (train records no sources: by design)
    code, out, err = run_cli(capsys, "evaluate", model, data, "--json")
    assert code == 0, err
    framed = json.loads(out)["accuracy"]
    assert framed >= 0.9
    clf = load_classifier(model)
    whole = faces.extract_faces(load_dataset(data))
    assert np.mean(clf.predict(whole.images) == whole.labels) < framed - 0.15
    # classify frames each photo too
    code, out, err = run_cli(capsys, "classify", data / "with_mask", data / "without_mask",
                             "--model", model, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 60
    assert np.mean([Path(r["path"]).parent.name == r["label"] for r in rows]) >= 0.9

    # Without the detector, classify says so in one line and goes on with whole images;
    # evaluate, a measurement, stops with a clear error instead.
    def unavailable(**kw):
        raise DetectorUnavailableError("marker: no model here")

    monkeypatch.setitem(faces.DETECTORS, "marker", unavailable)
    code, out, err = run_cli(capsys, "classify", data / "with_mask" / "00.png", "--model", model)
    assert code == 0 and out.startswith(str(data / "with_mask" / "00.png"))
    assert "classifying the images whole" in err and "marker: no model here" in err
    code, out, err = run_cli(capsys, "evaluate", model, data)
    assert code == 1 and out == ""
    assert err.strip() == "maskdet: error: marker: no model here"

    with pytest.raises(SystemExit) as info:
        main(["train", str(data), "--out", str(tmp_path / "x.maskdet"),
              "--frame-faces", "marker", "--detect-faces", "marker"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- issue 19: bad hyper-parameters and output places, before any image is read --------------
@pytest.mark.parametrize("backend, param, message", [
    ("cnn", "batch_size=0", "The 'batch_size' parameter of CnnClassifier must be an int in the "
                            "range [1, 8192]. Got 0 instead."),
    ("cnn", "epochs=0", "The 'epochs' parameter of CnnClassifier must be an int in the range "
                        "[1, inf) or None. Got 0 instead."),
    ("cnn", "epochs=abc", "The 'epochs' parameter of CnnClassifier must be an int in the range "
                          "[1, inf) or None. Got 'abc' instead."),
    ("cnn", "validation_fraction=1", "The 'validation_fraction' parameter of CnnClassifier "
                                     "must be a float in the range [0.0, 1.0). Got 1 instead."),
    ("cnn", "learning_rate=-0.1", "'learning_rate' parameter of CnnClassifier must be"),
    ("hog-svm", "C=0", "The 'C' parameter of HogSvmClassifier must be a float in the range "
                       "(0.0, inf). Got 0 instead."),
    ("hog-svm", "kernel=poly", "The 'kernel' parameter of HogSvmClassifier must be a str among"),
    ("hog-svm", "calibration_cv=1", "'calibration_cv' parameter of HogSvmClassifier must be an "
                                    "int in the range [2, inf)"),
])
def test_bad_hyper_parameters_are_one_line_before_reading_data(tmp_path, class_folders, capsys,
                                                               monkeypatch, backend, param,
                                                               message):
    if backend == "cnn":
        pytest.importorskip("tensorflow")
    read = []
    monkeypatch.setattr("maskdet.training.load_datasets", lambda *a: read.append(a))
    code, out, err = run_cli(capsys, "train", class_folders, "--out", tmp_path / "m.maskdet",
                             "--backend", backend, "-p", param)
    assert code == 1 and out == "" and read == []
    assert len(err.splitlines()) == 1 and err.startswith("maskdet: error: ")
    assert message in err
    assert not (tmp_path / "m.maskdet").exists()  # no untrained model saved


@pytest.mark.parametrize("option, make, message", [
    ("--out", lambda tmp: tmp, "is a folder, not a file"),
    ("--out", lambda tmp: (tmp / "f").write_text("x") and tmp / "f" / "m.maskdet",
     "cannot create its folder"),
    ("--report", lambda tmp: (tmp / "r").write_text("x") and tmp / "r",
     "exists and is not a folder"),
])
def test_output_places_are_checked_before_training(tmp_path, class_folders, capsys, monkeypatch,
                                                   option, make, message):
    read = []
    monkeypatch.setattr("maskdet.training.load_datasets", lambda *a: read.append(a))
    target = make(tmp_path)
    argv = ["train", class_folders, "--out", tmp_path / "m.maskdet", option, target]
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and read == []
    assert err == f"maskdet: error: {option} {target}: {message}" + err.split(message, 1)[1]
    assert len(err.splitlines()) == 1
