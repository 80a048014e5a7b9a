"""Video: sources (files, fake live streams), the stream generator, the `maskdet video`
command, output files, reconnects, signals and alerts.

Videos are generated here: drawn faces (conftest.synthetic_face) pasted on a black frame,
found by a stub detector that boxes the non-black blobs, so that boxes are known; and, where
MASKDET_TEST_SCENES and MASKDET_YUNET_MODEL are set, a video made from real scene photos.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

import maskdet
from maskdet.alerts import Alert
from maskdet.cli import main
from maskdet.detections import Detections
from maskdet.errors import MaskdetError
from maskdet.faces import FaceDetector
from maskdet.streaming import FrameResult
from maskdet.tracking import Track
from maskdet.video import StreamError, VideoSource, VideoWriter, parse_source
from tests.conftest import synthetic_face

W, H = 320, 240
FACE = 84  # pasted face side; the stub's box is FACE / 1.4 so that the crop is the face


class BlobDetector(FaceDetector):
    """Boxes the non-black blobs of a frame: the pasted faces."""

    name = "blob"

    def detect(self, image: np.ndarray) -> Detections:
        mask = (image.max(axis=2) > 40).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = []
        for x, y, w, h, area in stats[1:n]:
            if area >= 400:
                side = max(w, h) / 1.4  # the crop margin (0.2 a side) brings back the face
                boxes.append([x + w / 2 - side / 2, y + h / 2 - side / 2, side, side])
        if not boxes:
            return Detections.empty()
        return Detections(boxes=np.array(boxes), face_scores=np.full(len(boxes), 0.99))


def faces(*labels: str, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [cv2.resize(synthetic_face(label, rng), (FACE, FACE)) for label in labels]


def scene(patches: list[np.ndarray], positions: list[tuple[int, int]]) -> np.ndarray:
    frame = np.zeros((H, W, 3), np.uint8)
    for patch, (x, y) in zip(patches, positions):
        frame[y:y + FACE, x:x + FACE] = patch
    return frame


def write_video(path: Path, frames, fps: float = 10.0) -> Path:
    fourcc = "FFV1" if path.suffix == ".avi" else "mp4v"  # FFV1: lossless, boxes exact
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def static_video(tmp_path_factory) -> Path:
    """20 frames at 10 fps: a masked face on the left, a bare one on the right."""
    patches = faces("with_mask", "without_mask")
    frame = scene(patches, [(30, 60), (190, 80)])
    return write_video(tmp_path_factory.mktemp("video") / "static.avi", [frame] * 20)


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory) -> Path:
    """30 frames: two faces sliding towards each other, 3 px a frame."""
    patches = faces("with_mask", "without_mask", seed=2)
    frames = [scene(patches, [(10 + 3 * i, 10), (220 - 3 * i, 140)]) for i in range(30)]
    return write_video(tmp_path_factory.mktemp("video") / "moving.avi", frames)


@pytest.fixture(autouse=True)
def _ffmpeg_log_level(monkeypatch):
    """`maskdet video` quiets FFmpeg through the environment: undo it after each test."""
    monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", os.environ.get("OPENCV_FFMPEG_LOGLEVEL", "-8"))


@pytest.fixture
def blob_detector(monkeypatch):
    """Make the CLI's face detector the stub."""
    monkeypatch.setattr("maskdet.streaming.create_face_detector",
                        lambda *args, **kwargs: BlobDetector())


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


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


class FakeCapture:
    """A cv2.VideoCapture stand-in: plays `frames` (None entries fail to read), then fails."""

    def __init__(self, frames, opened=True, delay=0.0, fps=25.0, length_known=False):
        self.frames = list(frames)
        self.length_known = length_known  # a live stream has no length; a file has
        self.opened = opened
        self.delay = delay
        self.fps = fps
        self.i = 0
        self.released = False

    def isOpened(self):
        return self.opened and not self.released

    def read(self):
        if self.delay:
            time.sleep(self.delay)
        if self.i >= len(self.frames):
            return False, None
        frame = self.frames[self.i]
        self.i += 1
        return (False, None) if frame is None else (True, frame)

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_WIDTH: W,
                cv2.CAP_PROP_FRAME_HEIGHT: H,
                cv2.CAP_PROP_FRAME_COUNT: len(self.frames) if self.length_known else -1,
                }.get(prop, 0.0)

    def release(self):
        self.released = True


def bounded(iterable, limit: int = 1000):
    """Fail, not hang, if a source that should end does not."""
    for n, item in enumerate(iterable):
        assert n < limit, "the source did not end"
        yield item


def blank(i: int = 0) -> np.ndarray:
    return np.full((H, W, 3), i % 256, np.uint8)


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
    frames = maskdet.stream(src, model=trained_model, detector=BlobDetector())
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
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 20
    assert all([f["label"] for f in d["faces"]] == ["with_mask", "without_mask"]
               for d in lines)


# -- the stream ---------------------------------------------------------------------------
@pytest.mark.parametrize("every", [1, 3])
def test_track_ids_stay_stable_on_a_static_scene(static_video, trained_model, every):
    results = list(maskdet.stream(static_video, model=trained_model, detector=BlobDetector(),
                                  every=every))
    assert [r.index for r in results] == list(range(20))
    assert [r.detected for r in results] == [i % every == 0 for i in range(20)]
    for r in results:
        assert r.detections.track_ids.tolist() == [1, 2]
        assert r.detections.labels.tolist() == ["with_mask", "without_mask"]
        assert r.counts == {"with_mask": 1, "without_mask": 1}
        assert r.compliance_rate == pytest.approx(0.5)
    boxes = np.array([r.detections.boxes for r in results])
    assert np.ptp(boxes, axis=0).max() <= 2  # the same boxes, within compression noise


def test_the_operating_point_leaves_out_uncertain_tracks(static_video, trained_model,
                                                        tmp_path, capsys, blob_detector):
    # The bundle recommends calling a face unmasked only at confidence 1: none reaches it.
    model = maskdet.load_classifier(trained_model)
    model.metrics_["operating_point"] = {"min_confidence": {"without_mask": 1.0}}
    strict = model.save(tmp_path / "strict.maskdet")
    fired = []
    with maskdet.stream(static_video, model=strict, detector=BlobDetector(), every=1,
                        alert_after=0.5, on_violation=fired.append) as frames:
        results = list(frames)
        assert frames.tracker.min_confidence == {"without_mask": 1.0}
    assert all(r.detections.labels.tolist() == ["with_mask"] for r in results)
    assert all(r.counts == {"with_mask": 1, "without_mask": 0} for r in results)
    assert results[-1].compliance_rate == 1.0 and fired == []
    assert frames.summary.tracks["without_mask"] == 0 and frames.summary.tracks["compliant"] == 1
    # 0 keeps every face, as MaskDetector's min_confidence does.
    results = list(maskdet.stream(static_video, model=strict, detector=BlobDetector(),
                                  min_confidence=0))
    assert all(r.counts == {"with_mask": 1, "without_mask": 1} for r in results)
    # The command line: the bundle's point by default, --min-confidence over it.
    code, out, err = run_cli(capsys, "video", static_video, "--model", strict, "--json")
    assert code == 0, err
    assert all([f["label"] for f in json.loads(line)["faces"]] == ["with_mask"]
               for line in out.splitlines())
    code, out, err = run_cli(capsys, "video", static_video, "--model", strict, "--json",
                             "--min-confidence", "0")
    assert all([f["label"] for f in json.loads(line)["faces"]] == ["with_mask", "without_mask"]
               for line in out.splitlines())
    code, out, err = run_cli(capsys, "video", static_video, "--model", strict,
                             "--min-confidence", "unmasked=0.5")
    assert code == 1 and out == ""
    assert err.startswith("maskdet: error: min_confidence names labels the model does not "
                          "have: ['unmasked']") and len(err.splitlines()) == 1


@pytest.mark.parametrize("every", [1, 4])
def test_tracks_follow_moving_faces(moving_video, trained_model, every):
    results = list(maskdet.stream(moving_video, model=trained_model, detector=BlobDetector(),
                                  every=every))
    assert len(results) == 30
    for i, r in enumerate(results):
        assert r.detections.track_ids.tolist() == [1, 2], i
        # Between detections the tracks move on at their speed, known from the second
        # detection on: the left face's box stays near its true place.
        true_x = 10 + 3 * i + (FACE - FACE / 1.4) / 2
        assert abs(r.detections.boxes[0, 0] - true_x) <= (4 if i > every else 3 * every), i


def test_detection_on_a_downscaled_frame_gives_full_size_boxes(static_video, trained_model):
    full = next(iter(maskdet.stream(static_video, model=trained_model,
                                    detector=BlobDetector())))
    half = next(iter(maskdet.stream(static_video, model=trained_model,
                                    detector=BlobDetector(), detect_scale=0.5)))
    np.testing.assert_allclose(half.detections.boxes, full.detections.boxes, atol=3)


def test_classification_is_one_batch_call_per_frame(static_video, trained_model, monkeypatch):
    from maskdet.classifiers import load_classifier

    clf = load_classifier(trained_model)
    calls = []
    real = clf.predict_proba
    monkeypatch.setattr(clf, "predict_proba", lambda X: calls.append(len(X)) or real(X))
    list(maskdet.stream(static_video, model=clf, detector=BlobDetector(), every=2))
    assert calls == [2] * 10  # both faces together, on each of the 10 detection frames


def test_frame_result_as_json(static_video, trained_model):
    result = next(iter(maskdet.stream(static_video, model=trained_model,
                                      detector=BlobDetector(), annotate=True)))
    d = json.loads(json.dumps(result.to_dict()))
    assert d["frame"] == 0 and d["time"] == 0.0
    assert [f["track"] for f in d["faces"]] == [1, 2]
    assert set(d["faces"][0]) == {"track", "box", "label", "score", "face_score"}
    assert d["counts"] == {"with_mask": 1, "without_mask": 1}
    assert result.annotated.shape == result.frame.shape
    assert not np.array_equal(result.annotated, result.frame)  # boxes and the FPS line


def test_run_with_a_callback_and_stop_early(static_video, trained_model):
    seen = []
    frames = maskdet.stream(static_video, model=trained_model, detector=BlobDetector())
    summary = frames.run(lambda r: seen.append(r.index) or r.index < 4)
    assert seen == [0, 1, 2, 3, 4]
    assert summary.processed == 5 and summary.stopped
    assert summary.tracks == {"with_mask": 1, "without_mask": 1, "violating": 1, "compliant": 1}
    with pytest.raises(RuntimeError):
        iter(frames)


def test_a_stop_event_ends_the_stream_cleanly(static_video, trained_model):
    stop = threading.Event()
    frames = maskdet.stream(static_video, model=trained_model, detector=BlobDetector(),
                            stop=stop)
    got = []
    for r in frames:
        got.append(r.index)
        if r.index == 6:
            stop.set()
    assert got == list(range(7))
    assert frames.summary.stopped and frames.summary.processed == 7


def test_alert_fires_once_per_violating_track(tmp_path, trained_model):
    # 10 fps, 4 s: a masked face throughout, a bare one throughout, a second bare face that
    # enters at 1 s and leaves at 1.6 s (never unmasked long enough).
    patches = faces("with_mask", "without_mask", "without_mask", seed=4)
    frames = []
    for i in range(40):
        shown = [0, 1, 2] if 10 <= i < 16 else [0, 1]
        frames.append(scene([patches[k] for k in shown],
                            [[(10, 10), (120, 10), (220, 130)][k] for k in shown]))
    video = write_video(tmp_path / "alerts.avi", frames)
    fired = []
    results = list(maskdet.stream(video, model=trained_model, detector=BlobDetector(),
                                  alert_after=1.5, on_violation=fired.append,
                                  snapshot_dir=tmp_path / "snaps"))
    assert [(a.track_id, a.label) for a in fired] == [(2, "without_mask")]
    assert fired[0].frame == 15 and fired[0].duration == pytest.approx(1.5)
    assert fired[0].snapshot.is_file() and cv2.imread(str(fired[0].snapshot)) is not None
    assert [r.index for r in results if r.alerts] == [15]
    assert set(np.concatenate([r.detections.track_ids for r in results])) == {1, 2, 3}


def test_memory_stays_flat_over_a_long_run(trained_model):
    # Faces come and go (a new track every 20 frames, each alerting): the tracker, the
    # compliance window and the alerts must not grow with the number of frames.
    patch = faces("without_mask")[0]
    n = 1000
    frames = [scene([patch], [(20 + (i // 20) % 5 * 40, 60)]) if i % 20 < 15 else blank()
              for i in range(n)]
    src = VideoSource("fake.mp4", live=False,
                      capture_factory=lambda target: FakeCapture(frames, fps=50.0))
    src.kind = "url"
    stream = maskdet.stream(src, model=trained_model, detector=BlobDetector(), every=3,
                            classify_every=2, alert_after=0.1, window=2.0)
    def ours():
        gc.collect()
        return sum(isinstance(o, (Track, Alert, FrameResult, Detections))
                   for o in gc.get_objects())

    before = ours()
    sizes = {}
    tracemalloc.start()
    try:
        for r in stream:
            if r.index in (200, n - 1):
                gc.collect()
                sizes[r.index] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert stream.summary.processed == n
    assert stream.summary.tracks["without_mask"] == n // 20
    assert stream.summary.alerts == n // 20
    assert ours() - before <= 4  # the last result, its detections, the running track
    assert len(stream.stats._recent) <= 2.0 * 50 + 1
    # 40 tracks came and went between the two points, 800 frames of 230 KB each were read:
    # a leak of either would show here (the rest is allocator and library noise).
    assert sizes[n - 1] - sizes[200] < 64_000, sizes


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


# -- the command --------------------------------------------------------------------------
def test_cli_json_lines_equal_frames_processed(static_video, trained_model, capsys,
                                               blob_detector):
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--json",
                             "--every", "1")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]  # stdout holds JSON only
    assert [d["frame"] for d in lines] == list(range(20))
    assert [d["time"] for d in lines] == pytest.approx([i / 10 for i in range(20)])
    assert all([f["track"] for f in d["faces"]] == [1, 2] for d in lines)
    assert all([f["label"] for f in d["faces"]] == ["with_mask", "without_mask"]
               for d in lines)
    assert "processed 20 frames" in err and "dropped 0" in err


def test_cli_output_file_csv_and_summary(static_video, trained_model, tmp_path, capsys,
                                         blob_detector):
    out_path, csv_path = tmp_path / "annotated.mp4", tmp_path / "log.csv"
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model,
                             "--output", out_path, "--csv", csv_path)
    assert code == 0, err
    assert count_frames(out_path) == 20
    cap = cv2.VideoCapture(str(out_path))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (W, H)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    cap.release()
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 21 and rows[1].startswith("0,0.000,2,1,1,1,1,0.5000,")
    assert "processed 20 frames" in out
    assert "distinct faces (tracks): with_mask 1, without_mask 1" in out
    assert f"wrote {out_path} (20 frames)" in out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_on_violation_runs_the_command_once_per_track(tmp_path, trained_model, capsys,
                                                         blob_detector):
    patches = faces("without_mask", "with_mask", "without_mask", seed=5)
    frame = scene(patches, [(10, 10), (120, 10), (220, 130)])
    video = write_video(tmp_path / "three.avi", [frame] * 25)
    record = tmp_path / "alerts.txt"
    code, out, err = run_cli(capsys, "video", video, "--model", trained_model, "--json",
                             "--alert-after", "1", "--snapshot-dir", tmp_path / "snaps",
                             "--on-violation", f"echo {{track}} $MASKDET_LABEL {{snapshot}} "
                                               f">> {record}")
    assert code == 0, err
    lines = sorted(record.read_text().splitlines())
    assert [line.split()[:2] for line in lines] == [["1", "without_mask"],
                                                    ["3", "without_mask"]]
    assert all(Path(line.split()[2]).is_file() for line in lines)
    alerted = [d for d in map(json.loads, out.splitlines()) if "alerts" in d]
    assert [d["frame"] for d in alerted] == [10]
    assert sorted(a["track"] for a in alerted[0]["alerts"]) == [1, 3]


def test_cli_show_without_a_display(static_video, trained_model, capsys, monkeypatch,
                                    blob_detector):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--show")
    assert code == 1
    assert err.splitlines() == ["maskdet: error: --show: cannot open a window (no display "
                                "(DISPLAY is not set)); write the video with --output FILE "
                                "instead"]
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--show",
                             "--json")
    assert code == 0
    assert len(out.splitlines()) == 20
    assert "going on without it" in err


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_leaves_a_playable_file(tmp_path, trained_model, sig, status):
    patches = faces("with_mask", "without_mask", seed=6)
    frames = [scene(patches, [(10 + i % 50, 40), (200, 120 - i % 40)]) for i in range(600)]
    video = write_video(tmp_path / "long.avi", frames, fps=25)
    out_path = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskdet", "video", str(video), "--model", str(trained_model),
         "--detector", "haar", "--json", "--output", str(out_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [proc.stdout.readline() for _ in range(5)]
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    lines += rest.splitlines()
    records = [json.loads(line) for line in lines]
    assert proc.returncode == status, err
    assert 5 <= len(records) < 600  # stopped early...
    assert [r["frame"] for r in records] == list(range(len(records)))  # ...losing nothing
    assert count_frames(out_path) == len(records)
    assert f"processed {len(records)} frames" in err and "stopped early" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- real scenes --------------------------------------------------------------------------
@pytest.mark.shared
def test_real_scenes_with_yunet(scenes_dir, yunet_model, trained_model, tmp_path):
    """A video of four real street photos, each held still for 6 frames: YuNet's faces
    keep their track ids within a photo, and a new photo brings new ids."""
    photos = sorted((scenes_dir / "images").glob("*.png"))[40:44]
    frames = []
    for photo in photos:
        image = maskdet.read_image(photo)
        frames += [cv2.resize(image, (W * 2, H * 2))] * 6
    writer = cv2.VideoWriter(str(tmp_path / "scenes.avi"), cv2.VideoWriter_fourcc(*"FFV1"),
                             6, (W * 2, H * 2))
    for frame in frames:
        writer.write(frame)
    writer.release()
    results = list(maskdet.stream(tmp_path / "scenes.avi", model=trained_model,
                                  detector="yunet", every=1))
    assert len(results) == 24
    segments = [[set(r.detections.track_ids.tolist()) for r in results[k:k + 6]]
                for k in range(0, 24, 6)]
    assert any(seg[0] for seg in segments), "YuNet found no face in four street photos"
    for seg in segments:
        assert all(ids == seg[0] for ids in seg[1:]), segments
    for a, b in zip(segments, segments[1:]):
        assert not (a[0] & b[0]) or not a[0]
