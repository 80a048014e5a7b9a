"""Live sources under faults: a scripted capture and a fake clock (stall, failed reads, a burst,
corrupt frames, a slow consumer, reconnects and their backoff, tracks across a reconnect), and
a real HTTP MJPEG server on 127.0.0.1 that the test kills and restarts. Every loop here is
bounded in frames and in time."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

import maskdet
from maskdet.video import StreamError, VideoSource
from tests.helpers import CLIP_H, CLIP_W, BlobDetector, clip_faces, clip_frame

#: No test here may take longer than this (seconds), whatever the source does.
DEADLINE = 30.0


class FakeClock:
    """Virtual seconds: ``wait`` (the reconnect backoff) moves them on at once and records
    each delay asked for; ``sleep`` moves them on too."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 6))
        self.now += seconds
        return False  # not closing


class ScriptedCapture:
    """A capture that plays a script: an image, None (a failed read), ``("stall", s)`` (a
    read that blocks s real seconds before its frame), ``("tick", s)`` (s virtual seconds
    pass). At the end of the script every read fails and the capture reports closed."""

    def __init__(self, script, clock: FakeClock | None = None, period: float = 0.0):
        self.script = list(script)
        self.clock = clock
        self.period = period  # real seconds per read: a camera's frame interval
        self.i = 0
        self.released = False

    def isOpened(self):
        return not self.released and self.i < len(self.script)

    def read(self):
        while self.i < len(self.script):
            item = self.script[self.i]
            self.i += 1
            if isinstance(item, tuple) and item[0] == "tick":
                self.clock.now += item[1]
                continue
            if isinstance(item, tuple) and item[0] == "stall":
                time.sleep(item[1])
                continue
            if self.period:
                time.sleep(self.period)
            if self.clock is not None:
                self.clock.now += 0.04  # 25 frames a second of virtual time
            return (False, None) if item is None else (True, item)
        return False, None

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: 25.0, cv2.CAP_PROP_FRAME_WIDTH: CLIP_W,
                cv2.CAP_PROP_FRAME_HEIGHT: CLIP_H, cv2.CAP_PROP_FRAME_COUNT: -1}.get(prop, 0.0)

    def release(self):
        self.released = True


def numbered(i: int) -> np.ndarray:
    """A frame that carries its number in its first pixels."""
    frame = np.zeros((CLIP_H, CLIP_W, 3), np.uint8)
    frame[0, 0] = (i % 256, i // 256, 7)
    return frame


def number_of(image: np.ndarray) -> int:
    return int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])


def live_source(openings, clock: FakeClock | None = None, **options) -> VideoSource:
    """A live source whose n-th opening gives ``openings[n]`` (a capture, or None: the
    opening fails); later openings fail."""
    opened = []

    def factory(target):
        opened.append(target)
        n = len(opened) - 1
        capture = openings[n] if n < len(openings) else None
        if capture is None:
            return ScriptedCapture([])  # not opened
        return capture

    options.setdefault("max_reconnects", 3)
    return VideoSource("rtsp://camera/stream", live=True, capture_factory=factory,
                       clock=clock or time.monotonic,
                       wait=clock.wait if clock is not None else None, **options)


def drain(source: VideoSource, consumer_delay: float = 0.0, expect_error: bool = True):
    """Every frame the source gives (each with the newest frame number the capture had read
    when it was taken), until it ends; bounded by DEADLINE."""
    got = []
    start = time.monotonic()
    try:
        for frame in source.frames():
            got.append((frame, source.frames_read))
            assert time.monotonic() - start < DEADLINE, "the source did not end"
            if consumer_delay:
                time.sleep(consumer_delay)
    except StreamError:
        if not expect_error:
            raise
    finally:
        source.close()
    return got


# -- faults of one capture ---------------------------------------------------------------
def test_a_stall_delays_frames_but_loses_none_and_is_no_reconnect():
    clock = FakeClock()
    script = [numbered(i) for i in range(5)] + [("stall", 0.3), ("tick", 5.0)] + [
        numbered(i) for i in range(5, 10)]
    source = live_source([ScriptedCapture(script, clock, period=0.01)], clock)
    got = drain(source, expect_error=True)
    assert [number_of(f.image) for f, _ in got] == list(range(10))
    assert source.reconnects == 0 and source.dropped == 0  # (it is lost at the script's end)
    times = [f.time for f, _ in got]
    assert times[5] - times[4] == pytest.approx(5.04)  # the stall shows in the frame times


def test_failed_reads_and_corrupt_frames_are_skipped_and_counted():
    corrupt = [None, np.zeros((0, 0, 3), np.uint8), np.zeros((CLIP_H, CLIP_W, 3), np.float32),
               np.zeros((CLIP_H, CLIP_W, 5), np.uint8), "not an image"]
    script = []
    for i in range(12):
        script.append(numbered(i))
        if i % 4 == 1:
            script.append(corrupt[i // 4 % len(corrupt)])
    gray = numbered(99)[:, :, 0]
    bgra = np.dstack([numbered(100), np.full((CLIP_H, CLIP_W, 1), 255, np.uint8)])
    script += [gray, bgra]
    source = live_source([ScriptedCapture(script, period=0.005)], max_reconnects=0)
    got = drain(source)
    assert [number_of(f.image) for f, _ in got[:12]] == list(range(12))
    # Gray and BGRA frames are converted; the three others are skipped and counted.
    assert got[12][0].image[0, 0].tolist() == [99, 99, 99] and number_of(got[13][0].image) == 100
    assert len(got) == 14 and all(f.image.shape == (CLIP_H, CLIP_W, 3) for f, _ in got)
    assert source.unreadable == 3 and source.reconnect_attempts == 0


def test_a_burst_and_a_slow_consumer_get_the_newest_frame_with_bounded_latency():
    # The camera sends 300 frames 5 ms apart; the consumer takes 20 ms a frame.
    source = live_source([ScriptedCapture([numbered(i) for i in range(300)], period=0.005)],
                         max_reconnects=0)
    got = drain(source, consumer_delay=0.02)
    numbers = [number_of(f.image) for f, _ in got]
    assert numbers == sorted(set(numbers)) and numbers[-1] == 299  # never backwards
    assert source.frames_read == 300 and source.dropped == 300 - len(got) > 150
    # Each frame taken was the newest one read: at most a few more came in while the
    # consumer woke up (the latency is bounded by a frame or so, not by the backlog).
    assert max(read_then - 1 - n for (_, read_then), n in zip(got, numbers)) <= 3
    assert all(f.index == n for (f, _), n in zip(got, numbers))  # gaps are the drops


# -- reconnecting ----------------------------------------------------------------------------
@pytest.mark.parametrize("failures, waits", [
    (0, [0.5]),
    (2, [0.5, 1.0, 2.0]),
    (4, [0.5, 1.0, 2.0, 4.0, 4.0]),  # capped at max_reconnect_delay
])
def test_a_lost_stream_reconnects_within_the_configured_backoff(failures, waits):
    clock = FakeClock()
    first = ScriptedCapture([numbered(i) for i in range(5)], clock, period=0.01)
    second = ScriptedCapture([numbered(i) for i in range(100, 105)], clock, period=0.01)
    source = live_source([first, *[None] * failures, second], clock, max_reconnects=5,
                         reconnect_delay=0.5, max_reconnect_delay=4.0)
    got = drain(source)
    assert clock.waits[:len(waits)] == waits
    assert source.reconnects == 1 and source.reconnect_attempts >= failures + 1
    numbers = [number_of(f.image) for f, _ in got]
    assert numbers == [*range(5), *range(100, 105)]
    assert [f.index for f, _ in got] == list(range(10))  # frame numbers run on
    gap = got[5][0].time - got[4][0].time
    assert gap == pytest.approx(sum(waits) + 0.04)  # the outage, in frame times


def test_a_stream_that_stays_lost_gives_up_after_max_reconnects():
    clock = FakeClock()
    source = live_source([ScriptedCapture([numbered(0)], clock)], clock, max_reconnects=4,
                         reconnect_delay=0.5, max_reconnect_delay=8.0)
    with pytest.raises(StreamError, match="gave up after 4 reconnect attempts"):
        list(source.frames())
    source.close()
    assert clock.waits == [0.5, 1.0, 2.0, 4.0]
    assert source.reconnects == 0 and source.reconnect_attempts == 4


def test_tracks_and_counts_stay_consistent_across_a_reconnect(trained_model):
    clock = FakeClock()
    patches = clip_faces("with_mask", "without_mask")
    frames = [clip_frame(patches, [(20 + i, 40), (200, 100 - i)]) for i in range(30)]
    source = live_source([ScriptedCapture(frames[:15], clock, period=0.03),
                          ScriptedCapture(frames[15:], clock, period=0.03)], clock,
                         max_reconnects=2, reconnect_delay=0.05)
    stream = maskdet.stream(source, model=trained_model, face_detector=BlobDetector(),
                            every=1, min_confidence=0)
    results = []
    with pytest.raises(StreamError):  # the second capture ends too, and nothing follows
        for result in stream:
            results.append(result)
    assert source.reconnects == 1
    assert len(results) >= 20
    # Both faces keep their ids from before the reconnect to after it...
    assert all(r.detections.track_ids.tolist() == [1, 2] for r in results[2:])
    assert all(r.counts == {"with_mask": 1, "without_mask": 1} for r in results[2:])
    # ...so the summary counts two people, not four.
    summary = stream.summary
    assert (summary.tracks["with_mask"], summary.tracks["without_mask"]) == (1, 1)
    assert summary.reconnects == 1 and "stream lost" in summary.error
    assert summary.lines()[0].startswith("rtsp://camera/stream: failed;")


# -- a real network source ---------------------------------------------------------------
class MjpegServer:
    """An HTTP MJPEG stream (multipart/x-mixed-replace) on 127.0.0.1: numbered 160 x 120
    frames, 25 a second, each frame's colour telling which server sent it."""

    def __init__(self, port: int = 0, colour: tuple[int, int, int] = (0, 0, 255)) -> None:
        self.colour = colour
        self.stopping = threading.Event()
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for _ in range(int(DEADLINE * 25)):  # bounded, even if never stopped
                    if server.stopping.is_set():
                        return
                    image = np.zeros((120, 160, 3), np.uint8)
                    image[:] = server.colour
                    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                    try:
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         b"Content-Length: %d\r\n\r\n" % len(jpeg)
                                         + jpeg + b"\r\n")
                    except OSError:
                        return
                    server.sent += 1
                    time.sleep(0.04)

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def kill(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_real_mjpeg_stream_that_is_killed_and_restarted_is_reconnected():
    first = MjpegServer(colour=(0, 0, 255))  # red
    url = f"http://127.0.0.1:{first.port}/stream.mjpg"
    second = None
    source = VideoSource(url, max_reconnects=5, reconnect_delay=0.3, max_reconnect_delay=1.0)
    colours = []
    start = time.monotonic()
    try:
        for frame in source.frames():
            colours.append("red" if frame.image[60, 80, 2] > 200 else "blue")
            if len(colours) == 10:
                first.kill()  # the camera goes away...
                time.sleep(0.5)
                second = MjpegServer(first.port, colour=(255, 0, 0))  # ...and comes back
            if colours.count("blue") >= 10 or time.monotonic() - start > DEADLINE:
                break
    finally:
        source.close()
        first.kill()
        if second is not None:
            second.kill()
    assert colours[:10] == ["red"] * 10
    assert colours.count("blue") >= 10, colours  # the new server's frames came through
    assert source.reconnects >= 1 and source.error is None
    assert colours[colours.index("blue"):] == ["blue"] * colours.count("blue")
