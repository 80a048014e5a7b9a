"""`maskdet info` and `maskdet backends`."""

from __future__ import annotations

import json

from tests.helpers import run_cli


def test_info_and_backends(model, capsys):
    code, out, _ = run_cli(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["backend"] == "hog-svm"
    code, out, _ = run_cli(capsys, "backends")
    assert "hog-svm" in out and "yunet" in out
