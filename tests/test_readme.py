"""The README's Python examples and the scripts in examples/ run as written, on the sample
photos and small generated data, so that they cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

import maskdet
from tests.helpers import write_class_folders

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(markdown: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown.read_text(encoding="utf-8"),
                      flags=re.S | re.M)


@pytest.fixture
def workplace(tmp_path, monkeypatch) -> Path:
    """A folder holding what the examples name: a face dataset and a street video."""
    monkeypatch.chdir(tmp_path)
    write_class_folders(tmp_path / "data" / "mask-faces", per_class=15)
    frames = [cv2.resize(maskdet.read_image(p), (640, 480)) for p in maskdet.samples.paths()]
    writer = cv2.VideoWriter(str(tmp_path / "street.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                             10, (640, 480))
    for frame in frames:
        for _ in range(4):
            writer.write(frame)
    writer.release()
    return tmp_path


def test_the_readme_has_python_examples():
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) >= 3 and all("import" in block for block in blocks[:1])


def test_the_readme_python_examples_run(workplace, capsys):
    namespace: dict = {"__name__": "__readme__"}
    for block in python_blocks(ROOT / "README.md"):  # in order: later ones use earlier names
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "with_mask" in out and "hog-svm model, classes with_mask, without_mask" in out
    for written in ("annotated.jpg", "private.jpg", "my.maskdet", "model.maskdet",
                    "annotated.mp4"):
        assert (workplace / written).stat().st_size > 0, written
    assert namespace["summary"].processed == 12  # the callback run saw every frame


def test_the_example_scripts_run(workplace):
    photo = maskdet.samples.path("street")
    run = [sys.executable, str(ROOT / "examples" / "detect_photo.py"), str(photo), "out.jpg"]
    out = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "5 faces, 1 without a mask" in out and (workplace / "out.jpg").is_file()
    run = [sys.executable, str(ROOT / "examples" / "train_and_compare.py"), "data/mask-faces"]
    out = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert out.count("accuracy") == 2 and "rbf" in out and "linear" in out
