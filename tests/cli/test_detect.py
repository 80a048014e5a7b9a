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


# -- issue 19: huge images, link loops, numbers out of range, system errors ------------------
def _photos(folder, n=1):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"good{i}.jpg"), synthetic_face("with_mask", rng))
    return folder


def test_a_decompression_bomb_in_a_batch_is_one_line_and_the_rest_goes_on(
        model, tmp_path, capsys, fixed_detector):
    from tests.helpers import zeros_png

    folder = _photos(tmp_path / "photos", 2)
    bomb = folder / "bomb.png"  # sorted between the good photos: the batch goes on after it
    bomb.write_bytes(zeros_png(30000, 30000, rows_given=2))
    (folder / "good0.jpg").rename(folder / "a.jpg")
    code, out, err = run_cli(capsys, "detect", folder, "--model", model, "--detector", "haar",
                             "--json")
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        str(folder / "a.jpg"), str(folder / "good1.jpg")]
    assert err.splitlines() == [
        f"maskdet: error: {bomb}: 30000 x 30000 pixels (900.0 MP) is over the limit of 50 MP "
        "(max_pixels; maskdet --max-megapixels)",
        "maskdet: warning: 1 of 3 images could not be read (skipped)"]


def test_max_megapixels_sets_the_limit(model, tmp_path, capsys, fixed_detector):
    folder = _photos(tmp_path / "photos")  # 96 x 96 = 9216 pixels
    code, out, err = run_cli(capsys, "detect", folder, "--model", model, "--detector", "haar",
                             "--max-megapixels", "0.009")
    assert code == 1 and out == ""
    assert "96 x 96 pixels (0.0 MP) is over the limit of 0.009 MP" in err
    code, out, err = run_cli(capsys, "detect", folder, "--model", model, "--detector", "haar",
                             "--max-megapixels", "0.0093")
    assert code == 0 and out.startswith(f"{folder / 'good0.jpg'}: 1 face"), err


def test_a_symlink_loop_reports_each_photo_once(model, tmp_path, capsys, fixed_detector):
    """Row 4 of issue 19: a link back up made the same photo count 41 times."""
    folder = _photos(tmp_path / "photos" / "inner")
    (folder / "loop").symlink_to(folder.parent)  # photos/inner/loop -> photos
    (folder.parent / "again").symlink_to(folder)  # a second way into inner/
    code, out, err = run_cli(capsys, "detect", folder.parent, "--model", model, "--detector",
                             "haar", "--json")
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        str(folder.parent / "again" / "good0.jpg")]  # 'again' sorts before 'inner'


@pytest.mark.parametrize("argv, message", [
    (["detect", "x.jpg", "--min-confidence", "2"], "--min-confidence: must be in the range "
                                                   "[0, 1], got 2"),
    (["detect", "x.jpg", "--min-confidence", "without_mask=1.5"],
     "must be in the range [0, 1] for without_mask, got 1.5"),
    (["detect", "x.jpg", "--min-confidence", "nan"], "must be in the range [0, 1]"),
    (["detect", "x.jpg", "--min-face", "-1"], "--min-face: must be a whole number in the "
                                              "range [0, inf), got -1"),
    (["detect", "x.jpg", "--min-face-score", "1.5"], "--min-face-score: must be a number in "
                                                     "the range [0, 1], got 1.5"),
    (["detect", "x.jpg", "--max-megapixels", "0"], "--max-megapixels: must be a number in "
                                                   "the range (0, inf), got 0"),
    (["video", "x.mp4", "--detect-scale", "0"], "--detect-scale: must be a number in the "
                                                "range [0.05, 4], got 0"),
    (["video", "x.mp4", "--every", "0"], "--every: must be a whole number in the range "
                                         "[1, inf), got 0"),
    (["video", "x.mp4", "--max-reconnects", "-2"], "--max-reconnects: must be a whole number"),
    (["video", "x.mp4", "--alert-after", "-1"], "--alert-after: must be a number in the "
                                                "range [0, inf), got -1"),
    (["video", "x.mp4", "--output-fps", "0"], "--output-fps: must be a number in the range "
                                              "(0, inf), got 0"),
    (["train", "d", "--out", "m", "--test-size", "1"], "--test-size: must be a number in the "
                                                       "range [0, 1), got 1"),
    (["train", "d", "--out", "m", "--validation-size", "abc"],
     "--validation-size: must be a number in the range [0, 1), got 'abc'"),
    (["evaluate", "m", "d", "--iou", "0"], "--iou: must be a number in the range (0, 1], "
                                           "got 0"),
    (["analyze", "d", "--out", "o", "--near-threshold", "65"],
     "--near-threshold: must be a whole number in the range [0, 64], got 65"),
])
def test_out_of_range_numbers_are_usage_errors(capsys, monkeypatch, argv, message):
    loaded = []
    monkeypatch.setattr("maskdet.pretrained.load_model", lambda *a: loaded.append(a))
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and loaded == []
    assert message in err
    assert err.splitlines()[-1].startswith("maskdet ") and "Traceback" not in err


def test_a_system_error_is_one_line(model, tmp_path, capsys, fixed_detector, monkeypatch):
    def disk_full(path, image):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("maskdet.cli.detect.write_image", disk_full)
    folder = _photos(tmp_path / "photos")
    code, out, err = run_cli(capsys, "detect", folder, "--model", model, "--detector", "haar",
                             "--save-dir", tmp_path / "out")
    assert code == 1
    assert err.splitlines() == [
        f"maskdet: error: {tmp_path / 'out' / 'good0.jpg'}: No space left on device"]


def test_an_opencv_memory_error_skips_that_photo_only(model, tmp_path, capsys, fixed_detector,
                                                      monkeypatch):
    """Row 2 of issue 19: under a memory limit, `cv2.error: Insufficient memory` was a
    traceback and the good photo after it was never processed."""
    folder = _photos(tmp_path / "photos", 2)
    real = cv2.imdecode
    calls = []

    def out_of_memory_once(data, flags):
        calls.append(1)
        if len(calls) == 1:
            raise cv2.error("OpenCV(4.14.0) alloc.cpp:73: error: (-4:Insufficient memory) "
                            "Failed to allocate 2700000000 bytes in function 'OutOfMemory'\n")
        return real(data, flags)

    monkeypatch.setattr(cv2, "imdecode", out_of_memory_once)
    code, out, err = run_cli(capsys, "detect", folder, "--model", model, "--detector", "haar",
                             "--json")
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(folder / "good1.jpg")]
    first, last = err.splitlines()
    assert first.startswith(f"maskdet: error: {folder / 'good0.jpg'}: cannot decode this jpeg "
                            "image (") and "Insufficient memory" in first
    assert last == "maskdet: warning: 1 of 2 images could not be read (skipped)"
