"""`maskdet info`, `backends`, `upgrade` and `export`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maskdet
from tests.helpers import legacy_bundle, run_cli


def test_info_and_backends(model, capsys):
    code, out, _ = run_cli(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["backend"] == "hog-svm"
    code, out, _ = run_cli(capsys, "backends")
    assert "hog-svm" in out and "face detectors: yunet, haar" in out


def test_info_of_the_bundled_cnn(capsys):
    code, out, err = run_cli(capsys, "info", "cnn")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "cnn: cnn model, classes with_mask, without_mask"
    assert "  operating point: confidence without_mask >= 0.213" in "\n".join(lines)
    assert "  faces classified from YuNet score 0.75 (chosen with the operating point)" in lines
    assert "  class-folder images framed on the face yunet finds" in "\n".join(lines)


def test_export_the_bundled_cnn_and_run_it_elsewhere(tmp_path, capsys):
    import onnxruntime

    out_file = tmp_path / "maskdet-cnn.onnx"
    code, out, err = run_cli(capsys, "export", "cnn", "--format", "onnx", "--out", out_file)
    assert code == 0 and out == f"wrote {out_file} (onnx)\n", err
    clf = maskdet.load_model("cnn")
    faces = [np.full((70, 60, 3), v, np.uint8) for v in (40, 140, 240)]
    inputs = clf.preprocessing.apply_batch(faces).astype(np.float32)
    session = onnxruntime.InferenceSession(str(out_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    np.testing.assert_allclose(got, clf.predict_proba(faces), atol=1e-6)


def test_export_of_a_backend_without_it_is_one_line(model, tmp_path, capsys):
    code, out, err = run_cli(capsys, "export", model, "--out", tmp_path / "x.onnx")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "maskdet: error: the hog-svm backend cannot be exported to onnx"]


@pytest.mark.parametrize("trust", [False, True])
def test_upgrade_an_old_bundle(model, tmp_path, capsys, trust):
    old = legacy_bundle(maskdet.load_classifier(model), tmp_path)
    new = tmp_path / "new.maskdet"
    code, out, err = run_cli(capsys, "upgrade", old, "--out", new,
                             *(["--trust-pickle"] if trust else []))
    if not trust:
        assert code == 1 and "--trust-pickle" in err and not new.exists()
        return
    assert code == 0 and out == f"wrote {new} (converted from {old})\n", err
    assert maskdet.read_manifest(new)["format_version"] == 3
    code, out, err = run_cli(capsys, "classify", old, "--model", old)
    assert code == 1 and f"maskdet upgrade {old} --out NEW.maskdet" in err
