"""The dataset report (and `maskdet analyze`): every figure and table of an analysis."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np

from maskdet.cli import main
from maskdet.reports import write_dataset_report
from maskdet.reports.analysis import analyze_dataset
from tests.helpers import write_class_folders, write_photo_scenes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.figures: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "figure":
            self.figures.append(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def check_report(folder: Path, json_name: str) -> tuple[dict, _Links]:
    """The folder's JSON, HTML and PNGs agree: every figure the JSON lists is a valid PNG file,
    linked from the HTML and embedded in it byte for byte, and nothing else is referenced."""
    numbers = json.loads((folder / json_name).read_text())
    page = _Links()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert page.figures == numbers["figures"]
    embedded = [base64.b64decode(src.split(",", 1)[1]) for src in page.images]
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert len(embedded) == len(numbers["figures"])
    for name, data in zip(numbers["figures"], embedded):
        file_bytes = (folder / name).read_bytes()
        assert file_bytes.startswith(PNG_SIGNATURE)
        assert data == file_bytes
        image = cv2.imdecode(np.frombuffer(file_bytes, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and 150 <= image.shape[0] <= 2000
        assert 250 <= image.shape[1] <= 2000
        assert name in page.links
    assert json_name in page.links
    assert set(page.links) <= {*numbers["figures"], json_name}
    pngs = {p.name for p in folder.glob("*.png")}
    assert pngs == set(numbers["figures"])
    assert not list(folder.glob(".*.tmp"))  # atomic writes left nothing behind
    return numbers, page


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
