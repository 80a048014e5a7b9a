"""Fixtures of the service tests: apps made from settings, clips and a network camera made of
the sample photos, a webhook receiver, free loopback ports. Everything listens on 127.0.0.1
and is stopped by the test that started it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

import maskdet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, every: float = 0.05,
             what: str = "the condition"):
    """The predicate's first true value within ``timeout`` seconds (else the test fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_frames(width: int = 640, height: int = 480, per_photo: int = 8,
                  step: int = 4) -> list[np.ndarray]:
    """Frames of the sample photos, each panned ``step`` px a frame (faces that move)."""
    out = []
    for path in maskdet.samples.paths():
        photo = cv2.resize(maskdet.read_image(path), (width + step * per_photo, height))
        out += [np.ascontiguousarray(photo[:, i * step:i * step + width])
                for i in range(per_photo)]
    return out


def write_sample_clip(path: Path, width: int = 640, height: int = 480, per_photo: int = 8,
                      fps: float = 10.0, repeat: int = 1) -> Path:
    """An MJPG AVI of :func:`sample_frames` (``repeat`` times over)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for _ in range(repeat):
        for frame in sample_frames(width, height, per_photo):
            writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory) -> Path:
    """24 frames at 640x480, 10 fps: the three sample photos, panning."""
    return write_sample_clip(tmp_path_factory.mktemp("clips") / "samples.avi")


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory) -> Path:
    """48 frames at 320x240: the sample photos, twice."""
    return write_sample_clip(tmp_path_factory.mktemp("clips") / "small.avi", 320, 240,
                             repeat=2)


def settings(**overrides) -> dict:
    """A configuration as a TOML file would give it: the HOG+SVM model (fast), loopback."""
    data: dict = {"model": {"model": "hog-svm"}, "server": {"photo_workers": 1}}
    for table, values in overrides.items():
        if isinstance(values, dict) and isinstance(data.get(table), dict):
            data[table] = {**data[table], **values}
        else:
            data[table] = values
    return data


def make_app(**overrides):
    from maskdet.serve import config_from_dict, create_app

    return create_app(config_from_dict(settings(**overrides)))


class NetworkCamera:
    """tests/serve/mjpeg_server.py in a process of its own on a fixed loopback port: a
    camera that can hang (:meth:`freeze`), die (:meth:`kill`) and come back (:meth:`start`)."""

    def __init__(self, port: int, fps: float = 15.0) -> None:
        self.port = port
        self.fps = fps
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> NetworkCamera:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "mjpeg_server.py"), str(self.port), str(self.fps)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"the test camera did not start: {line!r}"
        return self

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def network_camera():
    camera = NetworkCamera(free_port())
    try:
        yield camera.start()
    finally:
        camera.kill()


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps each JSON body; answers ``status`` (a value,
    or a callable of the request's number), after ``delay`` seconds."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.requests = 0
        self.status: int | Callable[[int], int] = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests += 1
                    n = receiver.requests
                status = receiver.status(n) if callable(receiver.status) else receiver.status
                if receiver.delay:
                    time.sleep(receiver.delay)
                if status == 200:
                    with receiver.lock:
                        receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
