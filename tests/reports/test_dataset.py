"""The dataset report (and `maskdet analyze`): every figure and table of an analysis."""

from __future__ import annotations

import json
import shutil

from maskdet.cli import main
from maskdet.reports import write_dataset_report
from maskdet.reports.analysis import analyze_dataset
from tests.helpers import check_report, write_class_folders, write_photo_scenes


def test_dataset_report_class_folders(tmp_path):
    root = write_class_folders(tmp_path / "faces", per_class=5)
    original = root / "with_mask" / "with_mask_1.jpg"
    shutil.copy(original, root / "with_mask" / "copy.jpg")
    (root / "without_mask" / "bad.jpg").write_bytes(b"garbage")
    analysis = analyze_dataset(root, test_size=0.3)

    html_path = write_dataset_report(analysis, tmp_path / "report")

    assert html_path == tmp_path / "report" / "report.html"
    numbers, page = check_report(tmp_path / "report", "analysis.json")
    assert numbers["counts"] == {"with_mask": 6, "without_mask": 6}
    assert set(numbers["figures"]) >= {"class_distribution.png", "image_sizes.png",
                                       "samples.png"}
    assert "detection_rate.png" not in numbers["figures"]  # no detector
    text = " ".join(page.text)
    assert str(root / "without_mask" / "bad.jpg") in text  # the unreadable file is listed
    for warning in numbers["warnings"]:
        assert warning in text


def test_dataset_report_voc_has_scene_figures(tmp_path):
    root = write_photo_scenes(tmp_path / "scenes")
    analysis = analyze_dataset(root, test_size=0)
    write_dataset_report(analysis, tmp_path / "report")
    numbers, _ = check_report(tmp_path / "report", "analysis.json")
    assert {"faces_per_image.png", "face_sizes.png", "samples.png"} <= set(numbers["figures"])
    assert numbers["voc"]["faces_per_image_histogram"] == {"1": 1, "2": 1, "3": 1}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_analyze(tmp_path, capsys):
    root = write_class_folders(tmp_path / "faces", per_class=6)
    code, out, err = run(capsys, "analyze", root, "--out", tmp_path / "r", "--detector", "haar",
                         "--json")
    assert code == 0, err
    result = json.loads(out)  # stdout is one JSON object
    assert result["counts"] == {"with_mask": 6, "without_mask": 6}
    assert result["detection"]["detector"] == "haar"
    assert result["report"] == str(tmp_path / "r" / "report.html")
    numbers, _ = check_report(tmp_path / "r", "analysis.json")
    assert numbers["counts"] == result["counts"]
    assert "detection_rate.png" in numbers["figures"]

    code, out, err = run(capsys, "analyze", root, "--out", tmp_path / "r2", "--detector",
                         "none", "--test-size", "0")
    assert code == 0, err
    assert "12 images in 12 files" in out and "report:" in out


def test_cli_analyze_errors_are_one_line(tmp_path, capsys):
    code, out, err = run(capsys, "analyze", tmp_path / "missing", "--out", tmp_path / "r")
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and err.startswith("maskdet: error:")
