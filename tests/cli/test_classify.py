"""`maskdet classify`: JSON lines, and a bad file skipped while the rest is classified."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests.helpers import run_cli, synthetic_face


def test_classify_json_lines(model, tmp_path, capsys):
    rng = np.random.default_rng(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, label in enumerate(["with_mask", "without_mask"] * 3):
        cv2.imwrite(str(folder / f"{i}_{label}.png"), synthetic_face(label, rng))
    code, out, err = run_cli(capsys, "classify", folder, "--model", model, "--json")
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
    code, out, err = run_cli(capsys, "classify", bad, good, "--model", model, "--json")
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(good)]
    assert f"{bad}: not an image" in err
    assert "Traceback" not in err
