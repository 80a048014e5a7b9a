"""The files a batch runs on: folders, list files, repeats, fsspec URLs."""

from __future__ import annotations

import sys

import pytest

from maskdet.batch import expand_inputs, read_list_file
from maskdet.batch.inputs import is_url, open_url
from maskdet.errors import ImageReadError, MaskdetError


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "sub").mkdir()
    for name in ("a/2.jpg", "a/1.png", "a/sub/3.webp", "a/readme.md", "a/.hidden.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_folders_are_listed_in_order_and_repeats_dropped(tree):
    a = tree / "a"
    got = expand_inputs([a, str(a / "1.png"), tree / "missing.jpg"])
    assert got == [str(a / "1.png"), str(a / "2.jpg"), str(a / "sub" / "3.webp"),
                   str(tree / "missing.jpg")]  # the missing file is the worker's to report


def test_a_list_file_names_photos_folders_and_urls(tree):
    (tree / "todo.txt").write_text("# photos to redo\n\na/2.jpg\n  a/sub  \n"
                                   f"{tree / 'a' / '1.png'}\nmemory://x/y.jpg\n")
    assert read_list_file(tree / "todo.txt") == [
        str(tree / "a/2.jpg"), str(tree / "a/sub"), str(tree / "a" / "1.png"),
        "memory://x/y.jpg"]
    got = expand_inputs([tree / "todo.txt"])
    assert got == [str(tree / "a/2.jpg"), str(tree / "a/sub/3.webp"), str(tree / "a/1.png"),
                   "memory://x/y.jpg"]


def test_a_missing_list_file_is_kept_as_a_path(tmp_path):
    assert expand_inputs([tmp_path / "nope.txt"]) == [str(tmp_path / "nope.txt")]


@pytest.mark.parametrize(("text", "url"), [("s3://b/k.jpg", True), ("file:///x", True),
                                           ("C:/photos/x.jpg", False), ("photos/x.jpg", False),
                                           ("memory://a", True)])
def test_is_url(text, url):
    assert is_url(text) is url


def test_fsspec_folders_and_globs_are_listed_not_read():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for name in ("b.jpg", "a.png", "notes.txt", "deep/c.jpg"):
        fs.pipe(f"/maskdet-test/{name}", b"data")
    try:
        assert expand_inputs(["memory://maskdet-test/"]) == [
            "memory:///maskdet-test/a.png", "memory:///maskdet-test/b.jpg",
            "memory:///maskdet-test/deep/c.jpg"]
        assert expand_inputs(["memory://maskdet-test/*.jpg"]) == ["memory:///maskdet-test/b.jpg"]
        assert open_url("memory:///maskdet-test/b.jpg") == b"data"
        with pytest.raises(ImageReadError, match="memory:///maskdet-test/none.jpg: no such"):
            open_url("memory:///maskdet-test/none.jpg")
    finally:
        fs.rm("/maskdet-test", recursive=True)


def test_an_unknown_protocol_is_one_line():
    pytest.importorskip("fsspec")
    with pytest.raises(MaskdetError, match="nosuch://x/y.jpg: .*nosuch"):
        expand_inputs(["nosuch://x/y.jpg"])


def test_without_fsspec_a_url_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(MaskdetError, match="URLs need fsspec: pip install fsspec"):
        expand_inputs(["s3://bucket/photos/"])
