"""The YuNet model file ships inside the package: found without the network, checked, and
replaceable by a path or the environment."""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket

import pytest

import maskdet.faces.model_file as model_file
from maskdet.errors import DetectorUnavailableError
from maskdet.faces import YuNetDetector, create_face_detector
from maskdet.faces.model_file import PACKAGED_YUNET, YUNET_SHA256, find_yunet_model


def test_the_model_ships_inside_the_package_with_its_licence():
    assert PACKAGED_YUNET.is_file()
    assert hashlib.sha256(PACKAGED_YUNET.read_bytes()).hexdigest() == YUNET_SHA256
    licence = (PACKAGED_YUNET.parent / "LICENSE").read_text()
    assert "MIT License" in licence and "Shiqi Yu" in licence and YUNET_SHA256 in licence


def test_found_without_anything_set(monkeypatch):
    monkeypatch.delenv("MASKDET_YUNET_MODEL", raising=False)
    assert find_yunet_model() == PACKAGED_YUNET


def test_detection_needs_no_network(monkeypatch):
    """No socket may be opened: the model is read from the package."""
    monkeypatch.delenv("MASKDET_YUNET_MODEL", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("face detection tried to use the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    detector = create_face_detector("yunet")
    assert detector.model_path == PACKAGED_YUNET
    assert create_face_detector("auto").model_path == PACKAGED_YUNET  # the old name


def test_an_explicit_path_or_the_environment_wins(tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere.onnx"
    shutil.copy(PACKAGED_YUNET, copy)
    monkeypatch.setenv("MASKDET_YUNET_MODEL", str(copy))
    assert find_yunet_model() == copy
    other = tmp_path / "given.onnx"
    shutil.copy(PACKAGED_YUNET, other)
    assert find_yunet_model(other) == other  # the explicit path before the environment
    assert YuNetDetector(other).model_path == other


def test_another_yunet_file_is_used_with_a_warning(tmp_path, caplog):
    other = tmp_path / "yunet_other.onnx"
    other.write_bytes(PACKAGED_YUNET.read_bytes() + b"\0")  # same graph, other bytes
    with caplog.at_level(logging.WARNING, logger="maskdet"):
        assert find_yunet_model(other) == other
        find_yunet_model(other)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "not the YuNet model maskdet was tuned with" in warnings[0]


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "missing.onnx", r"YuNet model not found \(given path\)"),
    (lambda tmp: (tmp / "bad.onnx").write_bytes(b"not a model") and tmp / "bad.onnx",
     "OpenCV cannot load the YuNet model"),
])
def test_a_bad_model_file_is_one_line(tmp_path, make, message):
    with pytest.raises(DetectorUnavailableError, match=message) as info:
        YuNetDetector(make(tmp_path))
    assert "\n" not in str(info.value)


def test_a_damaged_installation_says_so(tmp_path, monkeypatch):
    damaged = tmp_path / "yunet.onnx"
    damaged.write_bytes(b"half a model")
    monkeypatch.delenv("MASKDET_YUNET_MODEL", raising=False)
    monkeypatch.setattr(model_file, "PACKAGED_YUNET", damaged)
    with pytest.raises(DetectorUnavailableError, match="damaged; reinstall maskdet"):
        find_yunet_model()
    monkeypatch.setattr(model_file, "PACKAGED_YUNET", tmp_path / "gone.onnx")
    with pytest.raises(DetectorUnavailableError, match="missing; reinstall maskdet"):
        find_yunet_model()
