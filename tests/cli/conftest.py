"""Fixtures of the command tests: a model trained by the command, and a stub face detector."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskdet.cli import main
from tests.helpers import SceneFaces, write_class_folders


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-model")
    data = write_class_folders(tmp / "train", per_class=40, seed=11)
    path = tmp / "model.maskdet"
    code = main(["train", str(data), "--out", str(path), "-p", "image_size=48",
                 "--test-size", "0.25", "--quiet"])
    assert code == 0
    return path


@pytest.fixture
def fixed_detector(monkeypatch):
    """`--detector haar` becomes a stub that finds the faces of write_voc_scenes."""
    from maskdet import faces

    class Fixed(SceneFaces):
        name = "fixed"

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)
