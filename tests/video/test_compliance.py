"""Compliance counts: the rolling rate, distinct people per label, the CSV log."""

from __future__ import annotations

import pytest

from maskdet.video.compliance import ComplianceLog, ComplianceStats
from maskdet.video.tracking import IouTracker
from tests.helpers import BARE, CLASSES, MASK, dets


# -- compliance ---------------------------------------------------------------------------
@pytest.mark.parametrize("frames, window, rates", [
    # (time, labels) per frame -> rolling rate after each
    ([(0, ["with_mask", "without_mask"]), (1, ["with_mask"])], 10, [0.5, 2 / 3]),
    ([(0, ["without_mask"]), (1, ["with_mask"]), (2, ["with_mask"])], 1.5, [0.0, 0.5, 1.0]),
    ([(0, []), (1, [])], 10, [None, None]),
    ([(0, ["mask_weared_incorrect"]), (1, ["with_mask"])], 10, [0.0, 0.5]),
])
def test_rolling_compliance_rate(frames, window, rates):
    stats = ComplianceStats(CLASSES, window=window)
    got = [stats.update(t, labels).rate for t, labels in frames]
    assert got == pytest.approx(rates) if None not in rates else got == rates


def test_frame_counts_name_every_class():
    stats = ComplianceStats(CLASSES)
    frame = stats.update(0.0, ["without_mask", "without_mask"])
    assert frame.counts == {"with_mask": 0, "without_mask": 2}
    assert (frame.compliant, frame.violating) == (0, 2)


def test_distinct_tracks_counted_once_by_their_lifetime_label():
    tracker = IouTracker(vote_window=1)
    stats = ComplianceStats(CLASSES, min_hits=2)
    boxes = ([0, 0, 30, 30], [100, 0, 30, 30], [200, 0, 30, 30])
    for i in range(5):
        shown = boxes if i == 0 else boxes[:2]  # the third face is seen once: not counted
        for track, proba in zip(tracker.update(dets(*shown), i, float(i)), (MASK, BARE, BARE)):
            tracker.add_classification(track, proba, CLASSES, i, float(i))
        tracker.observe(tracker.visible())
    stats.finish_tracks(tracker.tracks)
    assert stats.distinct_summary() == {"with_mask": 1, "without_mask": 1, "violating": 1,
                                        "compliant": 1}


def test_compliance_log_rows(tmp_path):
    stats = ComplianceStats(CLASSES)
    with ComplianceLog(tmp_path / "log.csv", CLASSES) as log:
        log.write(0, 0.0, stats.update(0.0, ["with_mask", "without_mask"]), 12.5, 0)
        log.write(3, 0.3, stats.update(0.3, []), 11.0, 2)
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows == [
        "frame,time,faces,with_mask,without_mask,compliant,violating,compliance_rate,fps,dropped",
        "0,0.000,2,1,1,1,1,0.5000,12.50,0",
        "3,0.300,0,0,0,0,0,0.5000,11.00,2",
    ]
