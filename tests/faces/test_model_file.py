"""Where the YuNet model file comes from: an explicit path, the environment, the cache, a
checked download."""

from __future__ import annotations

import io
import shutil
import urllib.error
from pathlib import Path

import pytest

import maskdet.faces.model_file as model_file
from maskdet.errors import DetectorUnavailableError
from maskdet.faces.model_file import YUNET_FILENAME, YUNET_URL, find_yunet_model

# Grabbed at import time, before the autouse fixture of conftest replaces it with a stub.
real_download_yunet_model = model_file.download_yunet_model


def tmp_files(folder: Path) -> list[str]:
    """Hidden files: the temporary files of atomic writes."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def no_model_env(monkeypatch):
    """No YuNet model anywhere: no env var, and the (per-test) cache is empty."""
    monkeypatch.delenv("MASKDET_YUNET_MODEL", raising=False)


@pytest.fixture
def model_bytes(yunet_model) -> bytes:
    return yunet_model.read_bytes()


@pytest.mark.shared
def test_find_yunet_model_explicit_path(yunet_model, no_model_env):
    assert find_yunet_model(yunet_model, download=False) == yunet_model
    assert find_yunet_model(str(yunet_model), download=False) == yunet_model


@pytest.mark.shared
def test_find_yunet_model_explicit_path_with_wrong_content(tmp_path, monkeypatch, yunet_model):
    bad = tmp_path / YUNET_FILENAME
    bad.write_bytes(b"not an onnx model")
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(yunet_model))  # the explicit path wins
    with pytest.raises(DetectorUnavailableError, match="sha256") as info:
        find_yunet_model(bad, download=False)
    assert str(bad) in str(info.value)
    assert "\n" not in str(info.value)


def test_find_yunet_model_missing_explicit_path(tmp_path):
    with pytest.raises(DetectorUnavailableError, match="not found"):
        find_yunet_model(tmp_path / "nope.onnx", download=False)


@pytest.mark.shared
def test_find_yunet_model_env_var(tmp_path, monkeypatch, yunet_model):
    copy = tmp_path / "elsewhere.onnx"
    shutil.copyfile(yunet_model, copy)
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(copy))
    assert find_yunet_model(download=False) == copy


def test_find_yunet_model_env_var_with_bad_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\0" * 100)
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(bad))
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        find_yunet_model(download=False)


@pytest.mark.shared
def test_find_yunet_model_in_cache(yunet_model, no_model_env):
    cached = model_file.cache_dir() / YUNET_FILENAME
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(yunet_model, cached)
    assert find_yunet_model(download=False) == cached


def test_find_yunet_model_bad_cache_copy_is_not_used(no_model_env):
    cached = model_file.cache_dir() / YUNET_FILENAME
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"truncated")
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        find_yunet_model(download=True)


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKDET_CACHE_DIR", str(tmp_path / "c"))
    assert model_file.cache_dir() == tmp_path / "c"


@pytest.mark.parametrize("download", [False, True])
def test_find_yunet_model_nothing_available(no_model_env, download):
    # download=True goes to download_yunet_model, which conftest replaced with a failing stub
    with pytest.raises(DetectorUnavailableError) as info:
        find_yunet_model(download=download)
    assert "\n" not in str(info.value)
    if not download:
        assert "MASKDET_YUNET_MODEL" in str(info.value)


def fake_urlopen(payload: bytes | Exception, calls: list):
    def urlopen(url, timeout=None):
        calls.append((url, timeout))
        if isinstance(payload, Exception):
            raise payload
        return io.BytesIO(payload)

    return urlopen


@pytest.mark.shared
def test_download_yunet_model_writes_atomically(tmp_path, monkeypatch, model_bytes):
    calls, replaced = [], []
    monkeypatch.setattr(model_file.urllib.request, "urlopen", fake_urlopen(model_bytes, calls))
    real_replace = model_file.os.replace

    def spy_replace(src, dst):
        replaced.append((Path(src), Path(dst)))
        assert Path(src).read_bytes() == model_bytes  # complete before it is renamed
        real_replace(src, dst)

    monkeypatch.setattr(model_file.os, "replace", spy_replace)
    destination = tmp_path / "cache" / YUNET_FILENAME
    assert real_download_yunet_model(destination, timeout=5) == destination
    assert destination.read_bytes() == model_bytes
    assert calls == [(YUNET_URL, 5)]
    [(src, dst)] = replaced
    assert dst == destination and src.parent == destination.parent and src != destination
    assert tmp_files(destination.parent) == []


@pytest.mark.shared
def test_download_yunet_model_defaults_to_the_cache(monkeypatch, model_bytes):
    monkeypatch.setattr(model_file.urllib.request, "urlopen", fake_urlopen(model_bytes, []))
    path = real_download_yunet_model()
    assert path == model_file.cache_dir() / YUNET_FILENAME
    assert path.read_bytes() == model_bytes


def test_download_yunet_model_wrong_checksum_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(model_file.urllib.request, "urlopen", fake_urlopen(b"evil bytes", []))
    destination = tmp_path / YUNET_FILENAME
    with pytest.raises(DetectorUnavailableError, match="sha256.*not saved"):
        real_download_yunet_model(destination)
    assert list(tmp_path.iterdir()) == []


def test_download_yunet_model_offline(tmp_path, monkeypatch):
    error = urllib.error.URLError("no route to host")
    monkeypatch.setattr(model_file.urllib.request, "urlopen", fake_urlopen(error, []))
    with pytest.raises(DetectorUnavailableError) as info:
        real_download_yunet_model(tmp_path / YUNET_FILENAME)
    message = str(info.value)
    assert YUNET_URL in message and "MASKDET_YUNET_MODEL" in message
    assert "no route to host" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
def test_find_yunet_model_downloads_into_cache(monkeypatch, no_model_env, model_bytes):
    monkeypatch.setattr(model_file, "download_yunet_model", real_download_yunet_model)
    calls = []
    monkeypatch.setattr(model_file.urllib.request, "urlopen", fake_urlopen(model_bytes, calls))
    path = find_yunet_model()
    assert path == model_file.cache_dir() / YUNET_FILENAME
    assert path.read_bytes() == model_bytes and len(calls) == 1
    assert find_yunet_model() == path and len(calls) == 1  # the second call uses the cache
