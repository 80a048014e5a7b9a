"""The report builder: a folder of PNGs, one self-contained HTML page and the numbers as JSON."""

from __future__ import annotations

import pytest

from maskdet.reports import write_model_report

CLASSES = ["with_mask", "without_mask"]


def test_report_folder_must_not_be_a_file(tmp_path):
    from maskdet.errors import MaskdetError

    (tmp_path / "file").write_text("x")
    with pytest.raises(MaskdetError, match="not a folder"):
        write_model_report(tmp_path / "file", CLASSES, history={"loss": [1.0]})
