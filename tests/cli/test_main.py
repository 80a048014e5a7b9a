"""The command as a whole: one-line user errors, usage errors, the console script, and the
whole workflow on the real data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from tests.helpers import run_cli, synthetic_face


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["classify", "missing.jpg", "--model", "MODEL"], "missing.jpg: no such file"),
        (["classify", "x.jpg", "--model", "nomodel.maskdet"], "no such model file"),
        (["classify", "x.jpg"], "the bundled hog-svm model is not installed"),
        (["evaluate", "MODEL", "DATA", "--end-to-end"], "end-to-end evaluation needs VOC scenes"),
        (["evaluate", "MODEL", "DATA", "--held-out"],
         "the model records no held-out part of a dataset named 'faces'"),
        (["evaluate", "MODEL", "DATA", "--iou", "0.3"], "--iou applies to --end-to-end"),
        (["evaluate", "MODEL", "DATA", "--min-confidence", "0.5"],
         "--min-confidence applies to --end-to-end"),
        (["detect", "x.jpg", "--model", "MODEL", "--min-confidence", "no_mask=0.5"],
         "min_confidence names labels the model does not have: ['no_mask']"),
        (["info", "cnn"], "the bundled cnn model is not installed"),
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
    monkeypatch.setattr("maskdet.pretrained.PRETRAINED_DIR", tmp_path / "no-bundled-models")
    (tmp_path / "TEXT").write_text("hello")
    argv = [str(model) if a == "MODEL" else str(class_folders) if a == "DATA" else a
            for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code == 1
    assert message in err
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "Traceback" not in err


def test_usage_error_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2


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
    code, out, err = run_cli(capsys, "train", subset, "--out", model, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["test"]["accuracy"] >= 0.75

    unmasked = sorted((faces_dir / "without_mask").iterdir())[-5:]
    code, out, err = run_cli(capsys, "classify", *unmasked, "--model", model, "--json")
    assert code == 0, err
    assert len(out.splitlines()) == 5

    scenes = sorted((scenes_dir / "images").iterdir())[:3]
    code, out, err = run_cli(capsys, "detect", *scenes, "--model", model, "--detector", "yunet",
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
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--json", "--min-face", "10")
    assert code == 0, err
    result = json.loads(out)
    assert result["data"]["layout"] == "voc" and result["n"] >= 3
