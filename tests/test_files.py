"""Atomic writes and the one conversion of results to strict JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from maskdet.files import AtomicFile, atomic_path, to_jsonable, write_atomic


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_atomic_replaces_the_file_whole(tmp_path):
    path = tmp_path / "report.html"
    write_atomic(path, b"old")
    assert write_atomic(path, b"new content") == path
    assert path.read_bytes() == b"new content"
    assert hidden(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.maskdet"
    path.write_bytes(b"the old bundle")
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as tmp:
        tmp.write_bytes(b"half a bun")
        assert path.read_bytes() == b"the old bundle"  # not visible while it is written
        raise KeyboardInterrupt
    assert path.read_bytes() == b"the old bundle"
    assert hidden(tmp_path) == []


def test_the_temporary_keeps_the_extension_beside_the_target(tmp_path):
    out = AtomicFile(tmp_path / "clip.mp4")
    assert out.tmp.parent == tmp_path and out.tmp.name.startswith(".clip.")
    assert out.tmp.suffix == ".mp4"  # OpenCV picks the container by it
    out.tmp.write_bytes(b"frames")
    assert not (tmp_path / "clip.mp4").exists()
    assert out.commit() == tmp_path / "clip.mp4"
    assert (tmp_path / "clip.mp4").read_bytes() == b"frames" and hidden(tmp_path) == []
    other = AtomicFile(tmp_path / "x.avi")
    other.discard()
    assert hidden(tmp_path) == []


@pytest.mark.parametrize(("value", "expected"), [
    ({"n": np.int64(3), "p": np.float32(0.5)}, {"n": 3, "p": 0.5}),
    ((1, 2), [1, 2]),
    ({"b", "a"}, ["a", "b"]),
    (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
    ({"ap": float("nan"), "inf": math.inf, "arr": np.array([np.nan])},
     {"ap": None, "inf": None, "arr": [None]}),
    (Path("a/b.jpg"), "a/b.jpg"),
    ({1: True, "none": None}, {"1": True, "none": None}),
    (object, str(object)),
])
def test_to_jsonable(value, expected):
    out = to_jsonable(value)
    assert out == expected
    json.dumps(out, allow_nan=False)  # strict JSON
