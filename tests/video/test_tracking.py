"""Face tracking: stable ids, association, motion between detections, label votes."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.detections import Detections
from maskdet.detections import box_iou as iou_matrix
from maskdet.video.tracking import FaceTracker, IouTracker, centroid_similarity, greedy_match
from tests.helpers import BARE, CLASSES, MASK, dets


@pytest.mark.parametrize("a, b, expected", [
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ([0, 0, 10, 10], [20, 20, 10, 10], 0.0),
    ([0, 0, 10, 10], [5, 0, 10, 10], 50 / 150),
    ([0, 0, 10, 10], [0, 0, 5, 5], 25 / 100),
    ([0, 0, 10, 10], [10, 0, 10, 10], 0.0),  # touching edges do not overlap
])
def test_iou_matrix(a, b, expected):
    assert iou_matrix(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


def test_iou_matrix_shapes():
    assert iou_matrix(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    assert iou_matrix(np.ones((2, 4)), np.ones((3, 4))).shape == (2, 3)


@pytest.mark.parametrize("shift, max_distance, expected", [
    (0, 1.0, 1.0),
    (5, 1.0, 0.5),    # moved half a box side
    (10, 1.0, 0.0),   # a whole side: at the limit
    (10, 2.0, 0.5),
])
def test_centroid_similarity(shift, max_distance, expected):
    sim = centroid_similarity(np.array([[0, 0, 10, 10]]), np.array([[shift, 0, 10, 10]]),
                              max_distance)
    assert sim[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize("similarity, threshold, expected", [
    ([[0.9, 0.5], [0.8, 0.1]], 0.3, [(0, 0)]),          # best first; row 1's only match is taken
    ([[0.9, 0.5], [0.8, 0.4]], 0.3, [(0, 0), (1, 1)]),
    ([[0.2]], 0.3, []),
    ([[0.5, 0.5]], 0.3, [(0, 0)]),                      # tie: lower column
    (np.zeros((0, 2)), 0.3, []),
])
def test_greedy_match(similarity, threshold, expected):
    assert greedy_match(np.array(similarity, float), threshold) == expected


def test_ids_stable_on_a_static_scene():
    tracker = IouTracker()
    boxes = ([10, 10, 40, 40], [100, 20, 50, 50], [200, 30, 30, 30])
    ids = [[t.track_id for t in tracker.update(dets(*boxes), frame=i, time=i / 10)]
           for i in range(20)]
    assert ids == [[1, 2, 3]] * 20
    assert [t.hits for t in tracker.tracks] == [20, 20, 20]


def test_ids_follow_the_detection_order_not_the_track_order():
    tracker = IouTracker()
    tracker.update(dets([10, 10, 40, 40], [100, 10, 40, 40]), 0, 0.0)
    found = tracker.update(dets([101, 11, 40, 40], [11, 9, 40, 40]), 1, 0.1)
    assert [t.track_id for t in found] == [2, 1]


@pytest.mark.parametrize("association, step, same_id", [
    ("iou", 5, True),        # small steps overlap
    ("iou", 45, False),      # jumps further than the box: no overlap, a new track
    ("centroid", 30, True),  # within one box side of the old centre
    ("centroid", 60, False),
])
def test_moving_face(association, step, same_id):
    tracker = IouTracker(association=association)
    ids = [tracker.update(dets([10 + i * step, 50, 40, 40]), i, i * 0.1)[0].track_id
           for i in range(4)]
    assert (ids == [1, 1, 1, 1]) == same_id


@pytest.mark.parametrize("gap, same_id", [(3, True), (4, False)])
def test_track_survives_max_age_missed_rounds(gap, same_id):
    tracker = IouTracker(max_age=3)
    box = [50, 50, 40, 40]
    first = tracker.update(dets(box), 0, 0.0)[0]
    for i in range(1, gap + 1):
        tracker.update(Detections.empty(), i, i * 0.1)
    back = tracker.update(dets(box), gap + 1, (gap + 1) * 0.1)[0]
    assert (back.track_id == first.track_id) == same_id
    assert len(tracker.tracks) == 1  # a removed track is gone, not kept around


def test_removed_tracks_are_reported_once_and_ids_never_reused():
    tracker = IouTracker(max_age=0)
    tracker.update(dets([0, 0, 20, 20]), 0, 0.0)
    tracker.update(Detections.empty(), 1, 0.1)
    assert [t.track_id for t in tracker.finished] == [1]
    tracker.update(dets([0, 0, 20, 20]), 2, 0.2)
    assert tracker.finished == []
    assert [t.track_id for t in tracker.tracks] == [2]


def test_predict_moves_tracks_at_their_speed():
    tracker = IouTracker()
    tracker.update(dets([10, 20, 40, 40]), 0, 0.0)
    tracker.update(dets([16, 20, 40, 40]), 2, 0.2)   # 3 px per frame to the right
    (track,) = tracker.predict(5)
    np.testing.assert_allclose(track.box, [25, 20, 40, 40])
    # Association at the next detection uses the predicted place.
    assert tracker.update(dets([28, 20, 40, 40]), 6, 0.6)[0].track_id == 1


def test_predict_shows_only_tracks_found_at_the_last_detection():
    tracker = IouTracker(max_age=5)
    tracker.update(dets([0, 0, 20, 20], [100, 100, 20, 20]), 0, 0.0)
    tracker.update(dets([0, 0, 20, 20]), 1, 0.1)
    assert [t.track_id for t in tracker.predict(2)] == [1]


@pytest.mark.parametrize("sequence, window, expected", [
    # label shown after each classification: the vote removes the flicker
    ("MMBMMBM", 5, "MMMMMMM"),
    ("MMBMMBM", 1, "MMBMMBM"),                 # no smoothing
    ("MBBBBBB", 3, "MMBBBBB"),                 # a lasting change wins after a majority
    ("BMBMBM", 4, "BMBMMM"),                   # ties go to the higher mean probability
])
def test_label_vote(sequence, window, expected):
    tracker = IouTracker(vote_window=window)
    (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    shown = ""
    for i, c in enumerate(sequence):
        tracker.add_classification(track, MASK if c == "M" else BARE, CLASSES, i, i * 0.1)
        shown += "M" if track.label == "with_mask" else "B"
    assert shown == expected


def test_unmasked_since_follows_the_smoothed_label():
    tracker = IouTracker(vote_window=1)
    (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    states = []
    for i, proba in enumerate([MASK, BARE, BARE, MASK, BARE]):
        tracker.add_classification(track, proba, CLASSES, i, float(i))
        states.append(track.unmasked_since)
    assert states == [None, 1.0, 1.0, None, 4.0]


def test_a_label_below_min_confidence_is_uncertain_and_starts_no_clock():
    # Face score 0.9: a bare face at p 0.8 has confidence 0.72, at p 0.95 0.855.
    tracker = IouTracker(vote_window=1, min_confidence={"without_mask": 0.8})
    (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    sure = [0.05, 0.95]
    states = []
    for i, proba in enumerate([BARE, sure, BARE, MASK, sure]):
        tracker.add_classification(track, proba, CLASSES, i, float(i))
        states.append((track.label, track.confident, track.unmasked_since))
    assert states == [("without_mask", False, None), ("without_mask", True, 1.0),
                      ("without_mask", False, None), ("with_mask", True, None),
                      ("without_mask", True, 4.0)]
    # Never confident, never shown: no lifetime label to count it by.
    tracker = IouTracker(min_confidence={"without_mask": 0.8})
    (doubtful,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    tracker.add_classification(doubtful, BARE, CLASSES, 0, 0.0)
    assert doubtful.label == "without_mask" and doubtful.lifetime_label is None
    # Without a floor (None: not set, {}: none) every label counts.
    for floor in (None, {}):
        tracker = IouTracker(min_confidence=floor)
        (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
        tracker.add_classification(track, BARE, CLASSES, 0, 0.0)
        assert track.confident and track.unmasked_since == 0.0


def test_to_detections_carries_ids_and_smoothed_labels():
    tracker = IouTracker()
    tracks = tracker.update(dets([0, 0, 30, 30], [50, 0, 30, 30]), 0, 0.0)
    tracker.add_classification(tracks[0], MASK, CLASSES, 0, 0.0)
    tracker.add_classification(tracks[1], BARE, CLASSES, 0, 0.0)
    out = FaceTracker.to_detections(tracks, CLASSES)
    assert out.track_ids.tolist() == [1, 2]
    assert out.labels.tolist() == ["with_mask", "without_mask"]
    assert [d["track"] for d in out.to_dicts()] == [1, 2]
    assert out.scores.tolist() == pytest.approx([0.9, 0.8])
    empty = FaceTracker.to_detections([], CLASSES)
    assert len(empty) == 0 and empty.classes == CLASSES


def test_lifetime_label_is_the_label_shown_most():
    tracker = IouTracker(vote_window=1)
    (track,) = tracker.update(dets([0, 0, 30, 30]), 0, 0.0)
    for i, proba in enumerate([BARE, MASK, MASK, MASK]):
        tracker.add_classification(track, proba, CLASSES, i, float(i))
        tracker.observe([track])
    assert track.label_frames == {"without_mask": 1, "with_mask": 3}
    assert track.lifetime_label == "with_mask"


def test_no_tracks_give_empty_track_ids():
    """A frame without faces still has track ids: an empty array, like its boxes."""
    empty = FaceTracker.to_detections([], ("with_mask", "without_mask"))
    assert len(empty) == 0 and empty.track_ids.tolist() == []
    assert empty.classes == ("with_mask", "without_mask")
    assert FaceTracker.to_detections([]).track_ids.shape == (0,)
