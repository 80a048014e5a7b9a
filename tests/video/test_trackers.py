"""Trackers by name, and the established ones (ByteTrack, norfair) behind FaceTracker."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import maskdet
from maskdet.detections import Detections
from maskdet.errors import MaskdetError
from maskdet.video import trackers as registry
from maskdet.video.external_trackers import ByteTrackTracker, NorfairTracker
from maskdet.video.kalman_tracker import KalmanTracker
from maskdet.video.trackers import available_trackers, create_tracker, register_tracker
from maskdet.video.tracking import FaceTracker, IouTracker
from tests.helpers import BlobDetector, FakeCapture, clip_faces, clip_frame, dets


@pytest.mark.parametrize("name, kind", [
    ("kalman", KalmanTracker), ("iou", IouTracker), ("centroid", IouTracker),
    ("bytetrack", ByteTrackTracker), ("norfair", NorfairTracker),
])
def test_trackers_by_name(name, kind):
    if kind in (ByteTrackTracker, NorfairTracker):
        pytest.importorskip("trackers" if kind is ByteTrackTracker else "norfair")
    tracker = create_tracker(name, vote_window=3)
    assert isinstance(tracker, kind) and tracker.vote_window == 3
    assert name in available_trackers()


def test_default_and_unknown_trackers():
    assert isinstance(create_tracker(), KalmanTracker)
    mine = IouTracker(max_age=1)
    assert create_tracker(mine) is mine
    with pytest.raises(MaskdetError, match="unknown tracker 'sort'; choose from kalman, iou"):
        create_tracker("sort")
    assert create_tracker("centroid").association == "centroid"


def test_register_tracker(monkeypatch):
    monkeypatch.setattr(registry, "TRACKERS", dict(registry.TRACKERS))
    register_tracker("patient", lambda **params: IouTracker(max_age=50, **params))
    assert create_tracker("patient").max_age == 50


@pytest.mark.parametrize("name, module", [("bytetrack", "trackers"), ("norfair", "norfair")])
def test_a_missing_tracker_library_says_what_to_install(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails
    with pytest.raises(MaskdetError, match=rf"the {name} tracker needs the {module} package: "
                                           r"pip install \"maskdet\[tracking\]\""):
        create_tracker(name)


@pytest.mark.parametrize("name", ["bytetrack", "norfair", "kalman", "iou"])
def test_every_tracker_follows_still_and_moving_faces(name):
    pytest.importorskip({"bytetrack": "trackers", "norfair": "norfair"}.get(name, "numpy"))
    tracker = create_tracker(name)
    ids = []
    for k in range(0, 40, 2):
        boxes = ([10, 10, 40, 40], [100 + 3 * k, 20, 50, 50], [200, 130, 40, 40])
        found = tracker.update(dets(*boxes), frame=k, time=k / 25)
        ids.append({tuple(np.round(t.box[:2]).astype(int)): t.track_id for t in found})
        tracker.predict(k + 1)
    # Each tracker reports a face once it trusts it (ByteTrack, norfair: after a few
    # detections); from then on the three keep their ids.
    late = [sorted(i.values()) for i in ids[8:]]
    assert len(late[0]) == 3 and all(x == late[0] for x in late), ids
    assert isinstance(tracker, FaceTracker) and len(tracker.visible()) == 3


def test_external_trackers_forget_what_they_drop():
    pytest.importorskip("trackers")
    tracker = create_tracker("bytetrack", lost_seconds=0.2)
    for k in range(0, 10, 2):
        tracker.update(dets([10, 10, 40, 40]), k, k / 25)
    assert len(tracker.tracks) == 1
    gone = []
    for k in range(10, 40, 2):
        tracker.update(Detections.empty(), k, k / 25)
        gone += tracker.finished
    assert tracker.tracks == [] and len(gone) == 1 and tracker._by_external == {}


def test_the_stream_uses_the_tracker_by_name_and_asks_for_doubtful_faces(monkeypatch,
                                                                            trained_model):
    import maskdet.video.streaming as streaming

    asked = {}

    def fake_detector(name, **params):
        asked.update(params)
        return BlobDetector()

    monkeypatch.setattr(streaming, "create_face_detector", fake_detector)
    patch = clip_faces("with_mask")[0]
    frames = [clip_frame([patch], [(20 + k, 40)]) for k in range(6)]
    src = maskdet.VideoSource("fake.mp4", live=False,
                              capture_factory=lambda target: FakeCapture(frames, fps=25.0))
    src.kind = "url"
    results = list(maskdet.stream(src, model=trained_model, face_detector="yunet"))
    assert asked == {"upscale_to": 0, "score_threshold": 0.6}  # the kalman tracker's floor
    assert {int(i) for r in results for i in r.detections.track_ids} == {1}
    asked.clear()
    src = maskdet.VideoSource("fake.mp4", live=False,
                              capture_factory=lambda target: FakeCapture(frames, fps=25.0))
    src.kind = "url"
    stream = maskdet.stream(src, model=trained_model, face_detector="yunet", tracker="iou")
    assert isinstance(stream.tracker, IouTracker) and asked == {"upscale_to": 0}
    stream.close()
