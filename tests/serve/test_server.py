"""``maskdet serve`` for real: uvicorn on 127.0.0.1 and a random free port, started as the
README says (a config file with two cameras and a webhook), used over HTTP and WebSocket, and
stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import cv2
import httpx
import pytest

import maskdet
from tests.serve.conftest import ROOT, free_port, wait_for


@pytest.fixture
def served(tmp_path, sample_clip, small_clip, receiver):
    port = free_port()
    site = tmp_path / "site.toml"
    site.write_text(f"""
[model]
model = "hog-svm"

[[cameras]]
id = "entrance"
source = "{sample_clip}"
loop = true
alert_after = 0.3

[[cameras]]
id = "hall"
source = "{small_clip}"
loop = true

[[events.webhook]]
url = "{receiver.url}"
""")
    proc = subprocess.Popen([sys.executable, "-m", "maskdet", "serve", "--config", str(site),
                             "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            pytest.fail(f"maskdet serve exited: {proc.stderr.read()}")
        try:
            return httpx.get(f"{base}/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 60, 0.2, what="maskdet serve listening")
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_maskdet_serve_on_uvicorn(served, receiver):
    base, proc = served
    with httpx.Client(base_url=base, timeout=10) as client:
        wait_for(lambda: all(s == "live" for s in client.get("/v1/health").json()["cameras"]
                             .values()), 30, what="both cameras live")
        assert set(client.get("/v1/health").json()["cameras"]) == {"entrance", "hall"}
        photo = maskdet.samples.path("street").read_bytes()
        detected = client.post("/v1/detect", files={"file": ("street.png", photo)})
        assert detected.status_code == 200 and len(detected.json()["faces"]) == 5
        wait_for(lambda: receiver.bodies, 30, what="an event at the webhook")
        assert receiver.bodies[0]["camera"] == "entrance"
        assert client.get("/v1/cameras/hall").json()["frames"] > 0
        with client.stream("GET", "/v1/cameras/hall/live.mjpg?frames=2") as live:
            assert live.headers["content-type"].startswith("multipart/x-mixed-replace")
            assert b"".join(live.iter_bytes()).count(b"\xff\xd8") == 2
        metrics = client.get("/metrics").text
        assert 'maskdet_camera_frames_total{camera="entrance"}' in metrics
        assert client.get("/").status_code == 200 and client.get("/docs").status_code == 200
        frame = cv2.imencode(".jpg", maskdet.read_image(maskdet.samples.path("crowd")))[1]
    # the webcam's socket, through uvicorn's WebSocket support
    from websockets.sync.client import connect

    with connect(base.replace("http", "ws") + "/v1/webcam", open_timeout=10) as ws:
        ws.send(frame.tobytes())
        import json

        answer = json.loads(ws.recv(timeout=10))
        assert len(answer["faces"]) >= 3
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    # uvicorn shuts down gracefully, then ends by the signal (status 143 in a shell)
    assert proc.wait(20) == -signal.SIGTERM
    assert time.monotonic() - start < 15
    err = proc.stderr.read()
    assert "Traceback" not in err and "Uvicorn running on http://127.0.0.1:" in err
    assert "Application shutdown complete" in err


def test_the_address_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "maskdet", "serve", "--model", "hog-svm",
                               "--port", str(port)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "address already in use" in proc.stderr
    assert proc.stderr.endswith(f"maskdet: error: cannot serve on 127.0.0.1:{port} (see above)\n")
