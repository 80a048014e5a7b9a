"""`maskdet detect`: faces on stdout, annotated copies, the confidence threshold."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from tests.helpers import run_cli, synthetic_face


def test_detect_with_fake_scene(model, tmp_path, capsys, monkeypatch):
    """detect on a generated scene with a stub face detector: JSON lines and annotated copies."""
    from maskdet import faces
    from maskdet.detections import Detections

    rng = np.random.default_rng(3)
    scene = np.full((240, 320, 3), 90, np.uint8)
    boxes = [(20, 40, 96, 96), (180, 60, 96, 96)]
    for (x, y, w, h), label in zip(boxes, ["with_mask", "without_mask"]):
        scene[y:y + h, x:x + w] = synthetic_face(label, rng, size=96)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene)

    class Fixed(faces.FaceDetector):
        name = "fixed"

        def detect(self, image):
            return Detections(boxes=boxes, face_scores=[0.9, 0.8])

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)
    save_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "detect", path, "--model", model, "--detector", "haar",
                             "--json", "--save-dir", save_dir)
    assert code == 0, err
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["path"] == str(path)
    assert [f["box"] for f in line["faces"]] == [list(b) for b in boxes]
    assert {"box", "label", "score", "face_score"} <= set(line["faces"][0])
    assert line["faces"][0]["face_score"] == pytest.approx(0.9)
    annotated = cv2.imread(str(save_dir / "scene.png"))
    assert annotated.shape == scene.shape and not np.array_equal(annotated, scene)


@pytest.mark.parametrize(
    ("option", "kept"),
    [([], [0, 1]), (["--min-confidence", "0.75"], [0]),
     (["--min-confidence", "without_mask=0.99,with_mask=0.2"], [0]),
     (["--min-confidence", "with_mask=0.99"], [1])],
)
def test_detect_min_confidence(model, tmp_path, capsys, monkeypatch, option, kept):
    from maskdet import faces
    from maskdet.classifiers import base
    from maskdet.detections import Detections

    boxes = [(20, 40, 96, 96), (180, 60, 96, 96)]
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), np.full((240, 320, 3), 90, np.uint8))

    class Fixed(faces.FaceDetector):
        name = "fixed"

        def detect(self, image):
            return Detections(boxes=boxes, face_scores=[0.9, 0.8])

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)
    monkeypatch.setattr(base.Classifier, "predict_proba",
                        lambda self, X: np.array([[0.9, 0.1], [0.2, 0.8]], np.float32))
    code, out, err = run_cli(capsys, "detect", path, "--model", model, "--detector", "haar",
                             "--json", *option)
    assert code == 0, err
    assert [f["box"] for f in json.loads(out)["faces"]] == [list(boxes[i]) for i in kept]


@pytest.mark.parametrize("value", ["high", "without_mask=", "=0.5"])
def test_detect_rejects_a_bad_min_confidence(model, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["detect", "x.jpg", "--model", str(model), "--min-confidence", value])
    assert info.value.code == 2
    assert "must be a number or LABEL=NUMBER" in capsys.readouterr().err


@pytest.mark.parametrize("make", [
    lambda tmp: (tmp / "taken").write_text("a file") and tmp / "taken",
    lambda tmp: (tmp / "taken").write_text("a file") and tmp / "taken" / "below",
])
def test_a_save_dir_that_cannot_be_a_folder_is_one_line(model, tmp_path, capsys, monkeypatch,
                                                        make):
    photo = tmp_path / "p.jpg"
    cv2.imwrite(str(photo), synthetic_face("with_mask", np.random.default_rng(0)))
    loaded = []
    monkeypatch.setattr("maskdet.pipeline.load_model", lambda m: loaded.append(m))
    save_dir = make(tmp_path)
    code, out, err = run_cli(capsys, "detect", photo, "--model", model, "--save-dir", save_dir)
    assert code == 1 and out == "" and loaded == []  # checked before the model loads
    assert err.startswith(f"maskdet: error: --save-dir {save_dir}: ")
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_detect_the_samples_with_the_default_model(tmp_path, capsys):
    out_dir = tmp_path / "annotated"
    code, out, err = run_cli(capsys, "detect", "--sample", "--save-dir", out_dir, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["escalator.png", "street.png", "crowd.png"]
    assert all(r["faces"] for r in rows)
    assert sorted(p.name for p in out_dir.iterdir()) == ["crowd.png", "escalator.png",
                                                         "street.png"]
    assert f"annotated copies of 3 photos in {out_dir}" in err


def test_detect_without_photos_is_a_usage_error(capsys):
    code, out, err = run_cli(capsys, "detect")
    assert code == 2 and out == ""
    assert err.splitlines() == ["maskdet detect: error: give the photos to look at (PATH...), "
                                "or --sample"]
