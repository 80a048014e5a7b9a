"""Violation alerts: once per track after the delay, and a failing callback stops nothing."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.video.alerts import ViolationMonitor
from maskdet.video.tracking import IouTracker
from tests.helpers import BARE, CLASSES, MASK, dets


# -- alerts -------------------------------------------------------------------------------
def test_alert_fires_once_per_track_after_the_delay(tmp_path):
    tracker = IouTracker(vote_window=1)
    fired = []
    monitor = ViolationMonitor(after=1.0, callback=fired.append, snapshot_dir=tmp_path)
    image = np.zeros((100, 200, 3), np.uint8)
    per_frame = []
    for i in range(30):  # 10 frames per second, 3 s
        t = i / 10
        tracks = tracker.update(dets([0, 0, 30, 30], [100, 0, 30, 30]), i, t)
        # track 1 masked throughout; track 2 bare, flickering once to masked at 0.3 s
        tracker.add_classification(tracks[0], MASK, CLASSES, i, t)
        tracker.add_classification(tracks[1], MASK if i == 3 else BARE, CLASSES, i, t)
        per_frame.append(len(monitor.check(tracks, i, t, image)))
    assert [a.track_id for a in fired] == [2]
    (alert,) = fired
    assert alert.since == pytest.approx(0.4)  # the clock restarted after the flicker
    assert per_frame.index(1) == 14 and sum(per_frame) == 1
    assert alert.duration == pytest.approx(1.0)
    assert alert.snapshot is not None and alert.snapshot.is_file()
    assert alert.to_dict()["track"] == 2


def test_a_failing_alert_callback_does_not_stop_the_stream(caplog):
    tracker = IouTracker(vote_window=1)

    def broken(alert):
        raise RuntimeError("boom")

    monitor = ViolationMonitor(after=0.0, callback=broken)
    (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    tracker.add_classification(track, BARE, CLASSES, 0, 0.0)
    assert len(monitor.check([track], 0, 0.0)) == 1
    assert "callback failed for track 1" in caplog.text
