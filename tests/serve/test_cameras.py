"""Cameras: a clip file, a real network camera (MJPEG over HTTP on loopback) that hangs, dies
and comes back -- the watchdog's states in order, counts that go on -- and a dead camera
beside a live one, which goes on unaffected."""

from __future__ import annotations

import time

import pytest

import maskdet
from maskdet.serve.cameras import CameraManager, CameraWorker, RollingCompliance, redact
from maskdet.serve.config import camera_from_dict
from maskdet.serve.pictures import Pictures
from maskdet.serve.sinks import EventSinks
from maskdet.serve.storage import EventLog
from tests.serve.conftest import free_port, wait_for


@pytest.fixture(scope="module")
def classifier():
    return maskdet.load_model("hog-svm")


@pytest.fixture
def manager(classifier):
    cameras = CameraManager(classifier, "yunet", Pictures(), EventLog(), EventSinks(), None)
    try:
        yield cameras
    finally:
        cameras.close()


def camera(**values):
    return camera_from_dict({"reconnect_delay": 0.2, "max_reconnect_delay": 1.0, **values})


def states(worker: CameraWorker) -> list[str]:
    return [state for _, state in worker.history]


def test_a_clip_file_plays_to_its_end(manager, small_clip):
    worker = manager.add(camera(id="clip", source=str(small_clip), every=1))
    wait_for(lambda: worker.state == "ended", 30, what="the end of the clip")
    numbers = worker.numbers()
    assert states(worker) == ["starting", "live", "ended"]
    assert numbers["frames"] == 48 and numbers["dropped"] == 0 and numbers["reconnects"] == 0
    assert sum(numbers["faces"].values()) >= 48  # YuNet finds the sample photos' faces
    people = numbers["people"]
    assert people["with_mask"] >= 3 and people["compliant"] + people["violating"] == sum(
        people[c] for c in ("with_mask", "without_mask"))
    assert numbers["compliance"]["1m"] == pytest.approx(
        numbers["faces"]["with_mask"] / sum(numbers["faces"].values()), abs=1e-3)


def test_a_looping_clip_plays_again_and_counts_go_on(manager, small_clip):
    worker = manager.add(camera(id="loop", source=str(small_clip), loop=True))
    wait_for(lambda: worker.loops >= 2, 40, what="two loops")
    numbers = worker.numbers()
    assert numbers["frames"] >= 96 and numbers["state"] == "live"
    assert states(worker) == ["starting", "live"]  # a loop is no reconnection
    assert numbers["reconnects"] == 0


def test_the_watchdog_reopens_a_camera_that_hangs_dies_and_comes_back(manager, network_camera):
    worker = manager.add(camera(id="net", source=network_camera.url, stall_seconds=1.0))
    wait_for(lambda: worker.frames >= 10, 30, what="frames from the network camera")
    assert worker.state == "live"

    network_camera.freeze()  # hangs: the connection stays open, no frame comes
    wait_for(lambda: worker.state in ("stalled", "reconnecting"), 10, what="the stall")
    before = worker.numbers()
    network_camera.kill()  # dies: connections refused
    wait_for(lambda: worker.state == "reconnecting" and worker.last_error, 20,
             what="failed reopenings")
    assert worker.frames == before["frames"]
    network_camera.start()  # back, on the same port
    wait_for(lambda: worker.state == "live" and worker.frames > before["frames"] + 10, 40,
             what="frames again")

    after = worker.numbers(history=True)
    seen = states(worker)
    assert seen[:4] == ["starting", "live", "stalled", "reconnecting"] and seen[-1] == "live"
    assert set(seen) <= {"starting", "live", "stalled", "reconnecting"}
    assert after["reconnects"] >= 1
    # the counts go on from where they were, across the reopening
    assert after["frames"] > before["frames"]
    for label, n in before["faces"].items():
        assert after["faces"][label] >= n
    assert sum(after["faces"].values()) > sum(before["faces"].values())
    assert [s["state"] for s in after["states"]] == seen


def test_a_dead_camera_does_not_hold_up_a_live_one(manager, network_camera):
    dead = manager.add(camera(id="dead", give_up_after=3,
                              source=f"http://viewer:secret@127.0.0.1:{free_port()}/video.mjpg"))
    live = manager.add(camera(id="live", source=network_camera.url, every=1))
    wait_for(lambda: live.frames >= 20, 30, what="frames of the live camera")
    wait_for(lambda: dead.state == "failed", 30, what="the dead camera giving up")
    assert "cannot open" in dead.last_error and dead.frames == 0
    shown = dead.numbers()  # what the API and the page show: no password
    assert "secret" not in str(shown) and "viewer:***@" in shown["last_error"]
    assert states(dead) == ["starting", "reconnecting", "failed"]
    frames = live.frames
    time.sleep(1.0)
    assert live.state == "live" and live.frames >= frames + 5  # ~15 fps from the camera
    # a failed camera is tried again when resumed
    dead.resume()
    wait_for(lambda: states(dead)[-1] in ("starting", "reconnecting") and len(states(dead)) > 3,
             10, what="the dead camera retried")


def test_pause_and_remove_stop_reading(manager, network_camera):
    worker = manager.add(camera(id="net", source=network_camera.url))
    wait_for(lambda: worker.frames >= 5, 30)
    worker.pause()
    wait_for(lambda: worker.state == "paused", 5)
    frames = worker.frames
    time.sleep(0.5)
    assert worker.frames == frames
    assert manager.remove("net") and manager.get("net") is None
    assert not worker._thread.is_alive()
    assert not manager.remove("net")


def test_rolling_compliance_windows_and_series():
    rolling = RollingCompliance()
    now = 10_000.0
    for t in range(3600):  # an hour: 1 compliant face a second, 1 violating in the last 10 min
        rolling.add(now - 3599 + t, 1, 1 if t >= 3000 else 0)
    assert rolling.rate(60, now) == pytest.approx(0.5)
    assert rolling.rate(600, now) == pytest.approx(0.5)
    assert rolling.rate(3600, now) == pytest.approx(3600 / 4200)
    series = rolling.series(1200, 300, now)
    assert [p["rate"] for p in series] == [1.0, 1.0, 0.5, 0.5]
    assert [p["faces"] for p in series] == [300, 300, 600, 600]
    rolling.add(now + 3600, 0, 1)  # an hour later: the old seconds are gone
    assert rolling.rate(3600, now + 3600) == 0.0 and len(rolling._seconds) == 1


@pytest.mark.parametrize(("source", "shown"), [
    ("rtsp://admin:secret@10.0.0.5/s", "rtsp://admin:***@10.0.0.5/s"),
    ("http://10.0.0.5/video", "http://10.0.0.5/video"), (0, 0), ("clip.avi", "clip.avi"),
    ("rtsp://a:b@h/s: cannot open (unreachable)", "rtsp://a:***@h/s: cannot open (unreachable)")])
def test_a_sources_password_is_never_shown(source, shown):
    assert redact(source) == shown


def test_a_zone_watches_only_its_part_of_the_picture(manager, small_clip):
    whole = manager.add(camera(id="whole", source=str(small_clip), every=1))
    right = manager.add(camera(id="right", source=str(small_clip), every=1,
                               zone=[[0.5, 0], [1, 0], [1, 1], [0.5, 1]]))
    wait_for(lambda: whole.state == right.state == "ended", 40)
    seen, zoned = sum(whole.faces.values()), sum(right.faces.values())
    assert 0 < zoned < seen
    # every face found in the zone's camera lies in the right half, and nothing left of it
    # reaches the picture
    picture = right._latest
    assert (picture.detections.boxes[:, 0] >= 160 - 5).all()
    assert picture.frame[:, :155].max() == 0
    with pytest.raises(Exception, match="zone must be a list of 3 or more"):
        camera(id="bad", source=0, zone=[[0, 0], [1, 1]])
    with pytest.raises(Exception, match=r"got \[2, 0\]"):
        camera(id="bad", source=0, zone=[[0, 0], [2, 0], [1, 1]])
