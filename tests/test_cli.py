"""End-to-end tests of the `maskdet` command (run in-process through cli.main, and once as a
real subprocess to check the console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from tests.conftest import synthetic_face, write_class_folders


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-model")
    data = write_class_folders(tmp / "train", per_class=40, seed=11)
    path = tmp / "model.maskdet"
    code = main(["train", str(data), "--out", str(path), "-p", "image_size=48",
                 "--test-size", "0.25", "--quiet"])
    assert code == 0
    return path


def test_train_prints_metrics(tmp_path, class_folders, capsys):
    out_path = tmp_path / "m.maskdet"
    code, out, err = run(capsys, "train", class_folders, "--out", out_path, "-p", "C=3",
                         "--test-size", "0.25", "--seed", "1")
    assert code == 0, err
    assert out_path.is_file()
    assert "accuracy" in out and "with_mask" in out and "without_mask" in out
    assert "precision" in out and "confusion matrix" in out


def test_train_json_is_one_clean_object(tmp_path, class_folders, capsys):
    code, out, err = run(capsys, "train", class_folders, "--out", tmp_path / "m.maskdet",
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


def test_classify_json_lines(model, tmp_path, capsys):
    rng = np.random.default_rng(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, label in enumerate(["with_mask", "without_mask"] * 3):
        cv2.imwrite(str(folder / f"{i}_{label}.png"), synthetic_face(label, rng))
    code, out, err = run(capsys, "classify", folder, "--model", model, "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 6
    for line in lines:
        assert set(line) == {"path", "label", "scores"}
        assert set(line["scores"]) == {"with_mask", "without_mask"}
        assert abs(sum(line["scores"].values()) - 1) < 1e-3
        assert line["label"] == max(line["scores"], key=line["scores"].get)
    right = sum(Path(x["path"]).stem.split("_", 1)[1] == x["label"] for x in lines)
    assert right >= 5


def test_classify_skips_bad_file_and_keeps_the_rest(model, tmp_path, capsys):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), synthetic_face("with_mask", np.random.default_rng(0)))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    code, out, err = run(capsys, "classify", bad, good, "--model", model, "--json")
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(good)]
    assert f"{bad}: not an image" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["classify", "missing.jpg", "--model", "MODEL"], "missing.jpg: no such file"),
        (["classify", "x.jpg", "--model", "nomodel.maskdet"], "no such model file"),
        (["classify", "x.jpg"], "no model"),
        (["evaluate", "MODEL", "no/such/dir"], "no/such/dir: no such dataset folder"),
        (["train", "no/such/dir", "--out", "m.maskdet"], "no such dataset folder"),
        (["train", "DATA", "--out", "m.maskdet", "--backend", "nope"], "unknown classifier"),
        (["train", "DATA", "--out", "m.maskdet", "-p", "C"], "KEY=VALUE"),
        (["classify", "x.jpg", "--model", "TEXT"], "not a maskdet model bundle"),
    ],
)
def test_user_errors_are_one_line(model, class_folders, tmp_path, capsys, monkeypatch, argv,
                                  message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "TEXT").write_text("hello")
    argv = [str(model) if a == "MODEL" else str(class_folders) if a == "DATA" else a
            for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert message in err
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "Traceback" not in err


def test_usage_error_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2


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
    code, out, err = run(capsys, "detect", path, "--model", model, "--detector", "haar",
                         "--json", "--save-dir", save_dir)
    assert code == 0, err
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["path"] == str(path)
    assert [f["box"] for f in line["faces"]] == [list(b) for b in boxes]
    assert {"box", "label", "score", "face_score"} <= set(line["faces"][0])
    assert line["faces"][0]["face_score"] == pytest.approx(0.9)
    annotated = cv2.imread(str(save_dir / "scene.png"))
    assert annotated.shape == scene.shape and not np.array_equal(annotated, scene)


def test_evaluate_class_folders_json(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "eval", per_class=6, seed=9)
    code, out, err = run(capsys, "evaluate", model, data, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 12
    assert result["data"]["counts"] == {"with_mask": 6, "without_mask": 6}
    cm = np.array(result["confusion_matrix"]["matrix"])
    assert cm.sum() == 12 and cm.sum(axis=1).tolist() == [6, 6]
    assert result["accuracy"] == pytest.approx(np.trace(cm) / 12)


def test_evaluate_leaves_out_unknown_classes_unless_mapped(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "eval3", per_class=4, seed=2,
                               classes=("mask_weared_incorrect", "with_mask", "without_mask"))
    code, out, _ = run(capsys, "evaluate", model, data, "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 8
    assert result["unknown_labels"] == {"mask_weared_incorrect": 4}
    code, out, _ = run(capsys, "evaluate", model, data, "--json",
                       "--map", "mask_weared_incorrect=with_mask")
    result = json.loads(out)
    assert result["n"] == 12 and result["per_class"]["with_mask"]["support"] == 8


def test_info_and_backends(model, capsys):
    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["backend"] == "hog-svm"
    code, out, _ = run(capsys, "backends")
    assert "hog-svm" in out and "yunet" in out


def test_console_script_runs_as_a_process(model, tmp_path):
    """The installed `maskdet` command: exit codes, clean --json stdout, no traceback."""
    exe = shutil.which("maskdet") or [sys.executable, "-m", "maskdet"]
    cmd = [exe] if isinstance(exe, str) else exe
    face = tmp_path / "f.jpg"
    cv2.imwrite(str(face), synthetic_face("without_mask", np.random.default_rng(1)))
    ok = subprocess.run([*cmd, "classify", str(face), "--model", str(model), "--json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["path"] == str(face)
    bad = subprocess.run([*cmd, "classify", str(tmp_path / "nope.jpg"), "--model", str(model)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("maskdet: error:")
    assert "Traceback" not in bad.stderr


# -- on the real data (skips without ../shared) ------------------------------------------------
@pytest.mark.shared
@pytest.mark.slow
def test_real_data_train_classify_detect_evaluate(faces_dir, scenes_dir, yunet_model, tmp_path,
                                                  capsys):
    """Train on a stratified subset of mask-faces, then classify, detect and evaluate."""
    subset = tmp_path / "subset"
    for label in ("with_mask", "without_mask"):
        files = sorted(p for p in (faces_dir / label).iterdir() if p.suffix == ".jpg")[:60]
        (subset / label).mkdir(parents=True)
        for f in files:
            (subset / label / f.name).symlink_to(f)
    model = tmp_path / "real.maskdet"
    code, out, err = run(capsys, "train", subset, "--out", model, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["test"]["accuracy"] >= 0.75

    code, out, err = run(capsys, "classify", *sorted((faces_dir / "without_mask").iterdir())[-5:],
                         "--model", model, "--json")
    assert code == 0, err
    assert len(out.splitlines()) == 5

    scenes = sorted((scenes_dir / "images").iterdir())[:3]
    code, out, err = run(capsys, "detect", *scenes, "--model", model, "--detector", "yunet",
                         "--json")
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 3 and sum(len(x["faces"]) for x in lines) >= 3

    voc = tmp_path / "voc"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    for img in scenes:
        (voc / "images" / img.name).symlink_to(img)
        ann = scenes_dir / "annotations" / (img.stem + ".xml")
        (voc / "annotations" / ann.name).symlink_to(ann)
    code, out, err = run(capsys, "evaluate", model, voc, "--json", "--min-face", "10")
    assert code == 0, err
    result = json.loads(out)
    assert result["data"]["layout"] == "voc" and result["n"] >= 3


def test_evaluate_with_no_known_class_is_a_clear_error(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "other", per_class=3, classes=("cats", "dogs"))
    code, out, err = run(capsys, "evaluate", model, data)
    assert code == 1 and out == ""
    assert "none of the labels (cats, dogs) is a class of the model" in err
    assert "--map" in err and "Traceback" not in err
