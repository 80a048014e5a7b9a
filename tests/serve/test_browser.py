"""The pages in a real browser: headless Chromium (Debian's package, driven by Playwright)
loads the dashboard from a uvicorn on loopback -- live frames arrive, the counts change, the
chart and the events fill in -- and the webcam page, with Chromium's fake camera playing a
clip made of the sample photos, draws the boxes the service found. Screenshots go to the
test's folder, and to ``$MASKDET_SCREENSHOTS`` when set (the README's are made so)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.serve.conftest import free_port, make_app, sample_frames, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")


@pytest.fixture
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (the test extra)")
    with sync_api.sync_playwright() as p:
        yield p


def browser(playwright, profile: Path, *args: str):
    """Chromium with a fresh profile folder, loopback only."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *args],
        viewport={"width": 1360, "height": 900})


class LiveServer:
    """The app on a real uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        # log_config=None: uvicorn's dictConfig would close the test runner's log handlers
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_config=None, log_level="warning",
                                                    timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, 30, what="uvicorn started")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def live_server():
    servers = []

    def start(**settings) -> LiveServer:
        servers.append(LiveServer(make_app(**settings)))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def keep_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")
    wanted = os.environ.get("MASKDET_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(wanted) / name)
    return path


#: A sum of an image element's pixels, drawn on a canvas (the MJPEG frame shown now).
IMAGE_SUM = """(img) => { const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 97) s += d[i]; return s; }"""


def test_the_dashboard_shows_live_cameras(playwright, live_server, sample_clip, small_clip,
                                          tmp_path):
    server = live_server(cameras=[
        {"id": "entrance", "name": "Entrance", "source": str(sample_clip), "loop": True,
         "alert_after": 0.5},
        {"id": "hall", "name": "Hall", "source": str(small_clip), "loop": True}])
    context = browser(playwright, tmp_path / "profile")
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        entrance = page.locator("#camera-entrance")
        entrance.wait_for(timeout=15_000)
        page.locator("#camera-hall").wait_for(timeout=15_000)
        live = entrance.locator("img.live")
        page.wait_for_function("() => document.querySelector('#camera-entrance img.live')"
                               ".naturalWidth === 640", timeout=20_000)
        first = live.evaluate(IMAGE_SUM)
        # frames arrive: the picture changes (the clip pans), and the counts with it
        frames = int(entrance.get_attribute("data-frames"))
        page.wait_for_function(
            f"() => +document.querySelector('#camera-entrance').dataset.frames > {frames + 20}",
            timeout=20_000)
        wait_for(lambda: live.evaluate(IMAGE_SUM) != first, 10, what="a new live frame")
        assert entrance.get_attribute("data-state") == "live"
        assert "people masked" in entrance.inner_text()
        page.wait_for_selector("#events li", timeout=20_000)  # the latest events
        page.wait_for_function("() => +document.querySelector('#camera-entrance canvas.chart')"
                               ".dataset.points > 0", timeout=20_000)
        assert page.locator("#events li img").count() >= 1  # their snapshots
        assert "faces blurred" in page.inner_text("#service")
        page.wait_for_timeout(500)
        keep_screenshot(page, tmp_path, "dashboard.png")
        # pausing from the page
        entrance.locator("button").click()
        page.wait_for_function("() => document.querySelector('#camera-entrance')"
                               ".dataset.state === 'paused'", timeout=10_000)
    finally:
        context.close()


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """A YUV4MPEG2 clip (Chromium's fake camera plays such files)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def test_the_webcam_page_draws_the_services_boxes(playwright, live_server, tmp_path):
    server = live_server()
    clip = write_y4m(tmp_path / "camera.y4m", sample_frames(640, 480, per_photo=10))
    context = browser(playwright, tmp_path / "profile", "--use-fake-ui-for-media-stream",
                      "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-video-capture={clip}")
    try:
        page = context.new_page()
        page.goto(server.url + "/webcam")
        page.wait_for_function("() => window.maskdetWebcam.frames >= 5 && "
                               "window.maskdetWebcam.boxesDrawn > 0", timeout=30_000)
        assert page.inner_text("#webcam-error") == ""
        last = page.evaluate("() => window.maskdetWebcam.last")
        assert (last["width"], last["height"]) == (640, 480) and last["faces"]
        # the boxes are on the canvas, in the labels' colours
        coloured = page.evaluate("""() => { const c = document.getElementById('overlay');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let green = 0, red = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i + 3] > 200 && d[i + 1] > 180 && d[i] < 40) green++;
              if (d[i + 3] > 200 && d[i] > 200 && d[i + 1] < 40) red++; }
            return [green, red]; }""")
        assert sum(coloured) > 100
        assert int(page.get_attribute("#webcam-stats", "data-faces")) == len(last["faces"])
        keep_screenshot(page, tmp_path, "webcam.png")
    finally:
        context.close()
