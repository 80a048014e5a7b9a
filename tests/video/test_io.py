"""Video sources (files, cameras and fake live streams: newest frame, drops, reconnects,
unreadable frames) and output files written atomically."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import maskdet
from maskdet.errors import MaskdetError
from maskdet.video import StreamError, VideoSource, VideoWriter, parse_source
from tests.helpers import CLIP_H, CLIP_W, BlobDetector, FakeCapture, count_frames, run_cli


# -- sources ------------------------------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    (0, ("camera", 0)),
    ("2", ("camera", 2)),
    ("rtsp://cam.local/stream", ("url", "rtsp://cam.local/stream")),
    ("HTTP://host:8080/video.mjpg", ("url", "HTTP://host:8080/video.mjpg")),
    ("file:///data/v.mp4", ("file", "/data/v.mp4")),
    ("clip.mp4", ("file", "clip.mp4")),
    (Path("dir/0"), ("file", "dir/0")),
    ("/dev/video0", ("file", "/dev/video0")),
])
def test_parse_source(source, expected):
    assert parse_source(source) == expected


def bounded(iterable, limit: int = 1000):
    """Fail, not hang, if a source that should end does not."""
    for n, item in enumerate(iterable):
        assert n < limit, "the source did not end"
        yield item


def blank(i: int = 0) -> np.ndarray:
    return np.full((CLIP_H, CLIP_W, 3), i % 256, np.uint8)


@pytest.mark.parametrize("live", [False, True])
def test_unreadable_frames_are_skipped_and_counted(live):
    frames = [blank(i) for i in range(12)]
    frames[4] = None                      # a failed read
    frames[7] = np.zeros((0, 0, 3), np.uint8)  # a read that gives no picture
    src = VideoSource("rtsp://fake" if live else "fake.mp4", live=live, max_reconnects=0,
                      capture_factory=lambda target: FakeCapture(frames, delay=0.01 * live))
    src.kind = "url"  # no file check for the fake file
    got = []
    with pytest.raises(StreamError) if live else _nothing():
        for f in bounded(src.open().frames()):
            got.append(f.index)
    assert src.unreadable == 2
    assert got == [0, 1, 2, 3, 5, 6, 8, 9, 10, 11]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_file_is_read_whole_however_slow_the_consumer(static_video):
    src = VideoSource(static_video).open()
    got = []
    for f in src.frames():
        time.sleep(0.005)
        got.append(f.index)
    assert got == list(range(20))
    assert src.dropped == 0 and not src.live
    assert src.fps == pytest.approx(10.0)


def test_a_live_source_gives_the_newest_frame_and_counts_drops():
    frames = [blank(i) for i in range(60)]
    src = VideoSource("rtsp://fake", max_reconnects=0,
                      capture_factory=lambda target: FakeCapture(frames, delay=0.004)).open()
    got = []
    with pytest.raises(StreamError):
        for f in bounded(src.frames()):
            got.append(f.index)
            assert int(f.image[0, 0, 0]) == f.index  # the frame is the one numbered
            time.sleep(0.02)  # slower than the source: stale frames must be dropped
    assert src.dropped > 0
    assert src.frames_read == 60
    assert len(got) + src.dropped == 60
    assert got == sorted(got) and got[-1] == 59  # never backwards, ends on the newest


@pytest.mark.parametrize("length_known, live", [(False, True), (True, False)])
def test_a_url_with_a_length_is_read_as_a_file(length_known, live):
    opened = []

    def factory(target):  # opens every time, but has frames only the first time
        opened.append(target)
        return FakeCapture([blank(i) for i in range(5)] if len(opened) == 1 else [],
                           length_known=length_known)

    src = VideoSource("http://host/clip", reconnect_delay=0.01, max_reconnects=2,
                      capture_factory=factory)
    assert src.open().live == live
    if live:
        # A stream that ends is lost, and retried: here it reopens every time but gives no
        # frame. The attempts still run out.
        with pytest.raises(StreamError, match="gave up after 2"):
            list(bounded(src.frames()))
        assert src.reconnect_attempts == 2 and src.reconnects == 2 and len(opened) == 3
    else:
        assert [f.index for f in src.frames()] == [0, 1, 2, 3, 4]  # a file ends at its end
        assert src.frame_count == 5 and src.reconnect_attempts == 0


def reconnecting_source(plan: list[bool], frames_each: int = 5, max_reconnects: int = 3):
    """A live source whose n-th opening succeeds if plan[n] (then plays `frames_each`
    frames and fails)."""
    opens = []

    def factory(target):
        ok = plan[len(opens)] if len(opens) < len(plan) else False
        opens.append(ok)
        return FakeCapture([blank(len(opens))] * frames_each, opened=ok, delay=0.01)

    src = VideoSource("rtsp://fake/stream", max_reconnects=max_reconnects,
                      reconnect_delay=0.01, capture_factory=factory)
    return src, opens


def test_a_lost_stream_is_retried_a_bounded_number_of_times(caplog):
    src, opens = reconnecting_source([True])
    got = []
    with pytest.raises(StreamError, match="gave up after 3 reconnect attempts"):
        for f in bounded(src.open().frames()):
            got.append(f)
    assert len(opens) == 4  # the first opening + 3 attempts
    assert src.reconnect_attempts == 3 and src.reconnects == 0
    assert len(got) >= 1
    assert caplog.text.count("stream lost; reconnecting") == 3
    assert "attempt 3 of 3" in caplog.text


def test_a_stream_that_comes_back_goes_on(caplog):
    src, opens = reconnecting_source([True, False, True], max_reconnects=2)
    values = []
    with pytest.raises(StreamError):
        for f in bounded(src.open().frames()):
            values.append(int(f.image[0, 0, 0]))
    assert opens == [True, False, True, False, False]
    assert src.reconnects == 1 and src.reconnect_attempts == 4
    assert 1 in values and 3 in values  # frames from before and after the reconnect
    assert "reconnected" in caplog.text


def test_stream_through_a_failing_source_reports_it(trained_model):
    src, _ = reconnecting_source([True], max_reconnects=1)
    frames = maskdet.stream(src, model=trained_model, face_detector=BlobDetector())
    with pytest.raises(StreamError):
        for _ in bounded(frames):
            pass
    assert frames.summary.reconnect_attempts == 1
    assert "gave up" in frames.summary.error
    assert frames.summary.processed >= 1


@pytest.mark.parametrize("source, message", [
    ("missing.mp4", "missing.mp4: no such file"),
    (".", ".: is a folder, not a video"),
    ("notes.mp4", "notes.mp4: cannot open (not a video"),
])
def test_a_source_that_cannot_be_opened_is_one_line(tmp_path, capsys, trained_model, source,
                                                   message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.mp4").write_text("not a video")
    code, out, err = run_cli(capsys, "video", source, "--model", trained_model,
                             "--detector", "haar")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"maskdet: error: {message}")


def test_without_a_model_the_bundled_default_is_used(static_video, trained_model, tmp_path,
                                                     capsys, monkeypatch, blob_detector):
    monkeypatch.setattr("maskdet.pretrained.PRETRAINED_DIR", tmp_path)
    code, _, err = run_cli(capsys, "video", static_video)
    assert code == 1
    assert err.startswith("maskdet: error: the bundled hog-svm model is not installed")
    with pytest.raises(MaskdetError, match="bundled hog-svm model is not installed"):
        maskdet.stream(static_video)
    (tmp_path / "hog-svm.maskdet").write_bytes(trained_model.read_bytes())
    code, out, err = run_cli(capsys, "video", static_video, "--json", "--every", "1")
    assert code == 0, err
    *lines, summary = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 20 and summary["summary"]["processed"] == 20
    assert all([f["label"] for f in d["faces"]] == ["with_mask", "without_mask"]
               for d in lines)


# -- output video -------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_writer_is_atomic_and_complete(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    with VideoWriter(path, fps=10) as writer:
        for i in range(15):
            writer.write(blank(i * 10))
            assert not path.exists()  # only the hidden partial file, until closed
        assert len(list(tmp_path.iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert count_frames(path) == 15


@pytest.mark.parametrize("name, message", [
    ("out.gif", "unsupported video file extension"),
    ("nowhere/out.mp4", "does not exist"),
])
def test_video_writer_refuses_bad_paths(tmp_path, name, message):
    with pytest.raises(MaskdetError, match=message):
        VideoWriter(tmp_path / name)


def test_video_writer_without_frames_makes_no_file(tmp_path):
    writer = VideoWriter(tmp_path / "empty.mp4")
    assert writer.close() is None
    assert list(tmp_path.iterdir()) == []
