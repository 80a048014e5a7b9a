"""The default tracker: Kalman motion, doubtful detections, re-identification by look; faces
that cross, are hidden, or leave and come back keep their ids."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.detections import Detections
from maskdet.video.appearance import color_layout
from maskdet.video.kalman_tracker import KalmanTracker, assign
from maskdet.video.motion import BoxKalmanFilter
from maskdet.video.trackers import create_tracker
from tests.helpers import synthetic_face

W, H, FACE = 320, 240, 40


def faces(seed: int, *labels: str) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(seed)
    return [cv2.resize(synthetic_face(label, rng), (FACE, FACE)) for label in labels]


def scene(patches, positions) -> np.ndarray:
    """The patches pasted in order (later ones in front) on a grey frame."""
    frame = np.full((H, W, 3), 110, np.uint8)
    for patch, (x, y) in zip(patches, positions):
        x, y = int(round(x)), int(round(y))
        x1, y1, x2, y2 = max(0, x), max(0, y), min(W, x + FACE), min(H, y + FACE)
        if x2 > x1 and y2 > y1:
            frame[y1:y2, x1:x2] = patch[y1 - y:y2 - y, x1 - x:x2 - x]
    return frame


def detections(boxes, scores=None) -> Detections:
    boxes = np.array(boxes, float).reshape(-1, 4)
    return Detections(boxes=boxes, face_scores=np.full(len(boxes), 0.9) if scores is None
                      else scores)


def run(tracker, frames, every: int = 2, fps: float = 25.0):
    """Feed a tracker as the stream does: detections every ``every`` frames; returns, per
    detection round, {face name: track id}."""
    rounds = []
    for k, (image, found) in enumerate(frames):
        if k % every:
            tracker.predict(k)
            continue
        names = list(found)
        tracks = tracker.update(detections([found[n] for n in names]), k, k / fps, image=image)
        assert len(tracks) == len(names)
        rounds.append({n: t.track_id for n, t in zip(names, tracks)})
    return rounds


def crossing(n: int = 48, speed: float = 6.0, rng_seed: int = 0):
    """Face a moves right, face b left on the same row; where they overlap, a is in front
    and b is not detected. Boxes jitter by a pixel, as detections do."""
    a, b = faces(3, "with_mask", "without_mask")
    rng = np.random.default_rng(rng_seed)
    out = []
    for k in range(n):
        pa, pb = (10 + speed * k, 100), (270 - speed * k, 100)
        image = scene([b, a], [pb, pa])
        found = {"a": (*pa, FACE, FACE)}
        if abs(pa[0] - pb[0]) >= FACE * 0.6:  # b mostly hidden behind a: not found
            found["b"] = (*pb, FACE, FACE)
        found = {name: tuple(np.add(box, rng.normal(0, 1, 4))) for name, box in found.items()}
        out.append((image, found))
    return out


def test_two_crossing_faces_keep_their_ids():
    rounds = run(KalmanTracker(), crossing())
    assert all(r["a"] == 1 for r in rounds), rounds
    assert all(r["b"] == 2 for r in rounds if "b" in r), rounds
    assert rounds[-1] == {"a": 1, "b": 2}
    hidden = [r for r in rounds if "b" not in r]
    assert 1 <= len(hidden) <= 4  # b really was hidden for a while


def occlusion(hidden_frames: range, n: int = 60):
    """Face a moves right slowly and is hidden behind a bar for ``hidden_frames``; face b
    stands still."""
    a, b = faces(5, "with_mask", "with_mask")
    out = []
    for k in range(n):
        pa, pb = (20 + 2.0 * k, 60), (200, 150)
        image = scene([a, b], [pa, pb])
        found = {"b": (*pb, FACE, FACE)}
        if k not in hidden_frames:
            found["a"] = (*pa, FACE, FACE)
        else:
            image[:, int(pa[0]) - 10:int(pa[0]) + FACE + 10] = 40  # the bar over a
        out.append((image, found))
    return out


@pytest.mark.parametrize("tracker, keeps", [
    ("kalman", True),
    ("iou", False),  # 8 rounds unseen: more than its max_age of 5
])
def test_a_face_hidden_for_most_of_a_second_keeps_its_id(tracker, keeps):
    rounds = run(create_tracker(tracker), occlusion(range(20, 40)))
    assert all(r["b"] == rounds[0]["b"] for r in rounds)
    assert (rounds[-1]["a"] == rounds[0]["a"]) == keeps


def leave_and_return(gap_seconds: float, other_face: bool = False, fps: float = 25.0):
    """Face a is seen at the left edge, leaves the view for ``gap_seconds`` and comes back
    there (or another face comes there instead); face b stays in view."""
    a, b, c = faces(7, "with_mask", "without_mask", "without_mask")
    gap = int(gap_seconds * fps)
    out = []
    for k in range(20 + gap + 20):
        away = 20 <= k < 20 + gap
        back = k >= 20 + gap
        pa, pb = (8, 90), (220, 90)
        patch = c if back and other_face else a
        image = scene([b] if away else [patch, b], [pb] if away else [pa, pb])
        found = {"b": (*pb, FACE, FACE)}
        if not away:
            found["a"] = (*pa, FACE, FACE)
        out.append((image, found))
    return out


def test_a_face_back_within_seconds_keeps_its_id():
    rounds = run(KalmanTracker(), leave_and_return(2.0))
    assert rounds[-1] == rounds[0] and len(set(rounds[0].values())) == 2


@pytest.mark.parametrize("case", ["too long away", "another face", "no appearance"])
def test_a_face_is_known_again_only_by_its_look_and_in_time(case):
    tracker = KalmanTracker(appearance=None) if case == "no appearance" else KalmanTracker()
    clip = leave_and_return(4.0 if case == "too long away" else 2.0,
                            other_face=case == "another face")
    rounds = run(tracker, clip)
    assert rounds[-1]["b"] == rounds[0]["b"]
    assert rounds[-1]["a"] not in rounds[0].values()


def test_doubtful_detections_keep_a_track_but_start_none():
    tracker = KalmanTracker(high_score=0.75, low_score=0.5)
    box = [50, 50, 40, 40]
    assert [t.track_id for t in tracker.update(detections([box], [0.9]), 0, 0.0)] == [1]
    # A doubtful detection of the same face continues its track...
    assert [t.track_id for t in tracker.update(detections([box], [0.6]), 2, 0.08)] == [1]
    # ...but one elsewhere starts nothing, and one below low_score is not used at all.
    found = tracker.update(detections([box, [200, 50, 40, 40]], [0.3, 0.6]), 4, 0.16)
    assert found == [] and [t.misses for t in tracker.tracks] == [1]
    without_low = KalmanTracker(low_score=None)
    without_low.update(detections([box], [0.9]), 0, 0.0)
    # Without low_score every detection counts as confident enough to follow.
    assert [t.track_id for t in without_low.update(detections([box], [0.6]), 2, 0.08)] == [1]


def test_a_tentative_track_unseen_once_is_dropped():
    tracker = KalmanTracker(confirm_hits=2)
    tracker.update(detections([[10, 10, 30, 30]]), 0, 0.0)
    tracker.update(Detections.empty(), 2, 0.08)
    assert tracker.tracks == [] and [t.track_id for t in tracker.finished] == [1]
    # A confirmed one is remembered (lost) for max_lost seconds, then forgotten.
    tracker = KalmanTracker(max_lost=1.0)
    for k in (0, 2):
        tracker.update(detections([[10, 10, 30, 30]]), k, k / 25)
    tracker.update(Detections.empty(), 4, 0.9)
    assert len(tracker.tracks) == 1 and tracker.visible() == []
    tracker.update(Detections.empty(), 40, 1.2)
    assert tracker.tracks == [] and [t.track_id for t in tracker.finished] == [1]


def test_memory_is_bounded():
    tracker = KalmanTracker(gallery=3, max_lost_tracks=5, max_lost=100.0)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    for k in range(0, 40, 2):
        # 2 rounds for each of 20 faces, each at its own place, then gone.
        i = k // 4
        tracker.update(detections([[i * 15 % 280, i * 37 % 200, 30, 30]]), k, k / 25,
                       image=image)
    assert len(tracker.tracks) <= 5 + 1
    for k in range(40, 60, 2):
        tracker.update(detections([[100, 100, 30, 30]]), k, k / 25, image=image)
    assert max(len(t._state.gallery) for t in tracker.tracks) == 3


def test_kalman_filter_learns_the_speed():
    kf = BoxKalmanFilter([0, 0, 20, 20])
    for k in range(1, 10):
        kf.update([3 * k, 0, 20 + k, 20 + k], frames=1)
    x, y, w, h = kf.box(frames=2)
    assert x + w / 2 == pytest.approx(3 * 11 + 31 / 2, abs=1.0)
    assert w == pytest.approx(31, abs=1.0) and y + h / 2 == pytest.approx(31 / 2, abs=1.0)


@pytest.mark.parametrize("similarity, threshold, expected", [
    ([[0.9, 0.8], [0.85, 0.1]], 0.3, [(0, 1), (1, 0)]),  # best total, not greedy (0, 0)
    ([[0.2]], 0.3, []),
    (np.zeros((0, 3)), 0.3, []),
])
def test_assign_is_optimal(similarity, threshold, expected):
    assert assign(np.array(similarity, float), threshold) == expected


def test_appearance_tells_faces_apart_and_survives_brightness():
    a, b = faces(11, "with_mask", "without_mask")
    box = np.array([[20, 20, FACE, FACE]], float)
    look_a = color_layout(scene([a], [(20, 20)]), box)
    dark_a = color_layout((scene([a], [(20, 20)]) * 0.6).astype(np.uint8), box)
    look_b = color_layout(scene([b], [(20, 20)]), box)
    assert np.linalg.norm(look_a) == pytest.approx(1.0, abs=1e-5)
    same, other = float((look_a @ dark_a.T)[0, 0]), float((look_a @ look_b.T)[0, 0])
    assert same >= 0.8 and other < same
