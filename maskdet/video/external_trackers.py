"""Established trackers behind maskdet's :class:`~maskdet.video.tracking.FaceTracker`, to
compare them with maskdet's own on the same clips and to use them by name:

* ``bytetrack`` -- ByteTrack from Roboflow's ``trackers`` package (it was supervision's
  ``ByteTrack`` before it moved there): Kalman motion, two-stage association of confident
  and doubtful detections;
* ``norfair`` -- Tryolabs' norfair (which maskcam uses), IoU distance, its own Kalman filter.

Each keeps its own ids and motion; maskdet keeps, per track, the label votes, the counts and
where the track is between detections. Both libraries are optional
(``pip install "maskdet[tracking]"``) and imported when such a tracker is created.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import MaskdetError
from .tracking import VIOLATION_LABELS, FaceTracker, Track


def _require(module: str, tracker: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MaskdetError(f"the {tracker} tracker needs the {module} package: pip install "
                           "\"maskdet[tracking]\"") from None


class _ExternalTracker(FaceTracker):
    """A tracker whose association another library makes: its ids become maskdet tracks."""

    def __init__(self, max_age: int = 5, vote_window: int = 7,
                 violation_labels: Sequence[str] = VIOLATION_LABELS,
                 min_confidence: Mapping[str, float] | None = None) -> None:
        super().__init__(max_age=max_age, vote_window=vote_window,
                         violation_labels=violation_labels, min_confidence=min_confidence)
        self._by_external: dict[int, Track] = {}
        self._starting: dict[int, int] = {}  # detection index -> external id
        self._alive: set[int] = set()

    def _external_ids(self, boxes: np.ndarray, scores: np.ndarray, time: float
                      ) -> tuple[list[tuple[int, int]], set[int]]:
        """(detection index, external id) of the detections tracked now, and the external
        ids still alive."""
        raise NotImplementedError

    def _associate(self, boxes, scores, frame, time, image):
        found, self._alive = self._external_ids(boxes, scores, time)
        pairs, new = [], []
        self._starting = {}
        for c, ext in found:
            if ext in self._by_external:
                pairs.append((self._by_external[ext], c))
            else:
                new.append(c)
                self._starting[c] = ext
        return pairs, new

    def _start(self, track: Track, index: int, image: np.ndarray | None) -> None:
        ext = self._starting[index]
        track._state = ext
        self._by_external[ext] = track

    def _expired(self, track: Track, frame: int, time: float) -> bool:
        if track._state in self._alive:
            return False
        self._by_external.pop(track._state, None)
        return True


class ByteTrackTracker(_ExternalTracker):
    """Roboflow ``trackers``' ByteTrack.

    Args:
        lost_seconds: how long a lost track is kept (ByteTrack's ``lost_track_buffer`` of 30
            frames at 30 fps is 1 s).
        high_score: detections split into confident and doubtful here (ByteTrack's
            ``high_conf_det_threshold``); the confident ones from ``activation_score`` on
            start tracks.
        low_score: the least face score the tracker is given.
        frame_rate: the rate ByteTrack's own frame counts refer to.
        **params: other ``trackers.ByteTrackTracker`` arguments.
    """

    name = "bytetrack"

    def __init__(self, lost_seconds: float = 1.0, high_score: float = 0.75,
                 activation_score: float = 0.75, low_score: float | None = 0.6,
                 frame_rate: float = 25.0, vote_window: int = 7,
                 violation_labels: Sequence[str] = VIOLATION_LABELS,
                 min_confidence: Mapping[str, float] | None = None, **params) -> None:
        super().__init__(vote_window=vote_window, violation_labels=violation_labels,
                         min_confidence=min_confidence)
        self.lost_seconds = lost_seconds
        self.high_score = high_score
        self.activation_score = activation_score
        self.low_score = low_score
        self.frame_rate = frame_rate
        self.params = params
        trackers = _require("trackers", "bytetrack")
        self._sv = _require("supervision", "bytetrack")
        self._tracker = trackers.ByteTrackTracker(
            lost_track_buffer=round(30 * lost_seconds), frame_rate=frame_rate,
            track_activation_threshold=activation_score, high_conf_det_threshold=high_score,
            **params)

    @property
    def detection_floor(self) -> float | None:  # type: ignore[override]
        return self.low_score

    def _external_ids(self, boxes, scores, time):
        dets = self._sv.Detections(
            xyxy=np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]).reshape(-1, 4),
            confidence=scores.astype(np.float32), data={"index": np.arange(len(boxes))})
        out = self._tracker.update(dets, timestamp=time)
        found = [(int(i), int(t)) for i, t in zip(out.data.get("index", []), out.tracker_id)
                 if t >= 0]
        alive = {int(t.tracker_id) for t in self._tracker.tracks if t.tracker_id >= 0}
        return found, alive


class NorfairTracker(_ExternalTracker):
    """Tryolabs' norfair, on boxes (two corner points) with its IoU distance.

    Args:
        distance_threshold: largest distance (1 - IoU) of a match.
        hit_counter_max: norfair's patience, in frames: a track unseen this long is dropped.
        initialization_delay: detections before a track is reported (norfair's default:
            half of ``hit_counter_max``).
        every: frames between detection rounds (norfair counts its patience by them).
        **params: other ``norfair.Tracker`` arguments.
    """

    name = "norfair"

    def __init__(self, distance_threshold: float = 0.7, hit_counter_max: int = 15,
                 initialization_delay: int | None = None, every: int = 2,
                 vote_window: int = 7, violation_labels: Sequence[str] = VIOLATION_LABELS,
                 min_confidence: Mapping[str, float] | None = None, **params) -> None:
        super().__init__(vote_window=vote_window, violation_labels=violation_labels,
                         min_confidence=min_confidence)
        self.distance_threshold = distance_threshold
        self.hit_counter_max = hit_counter_max
        self.initialization_delay = initialization_delay
        self.every = every
        self.params = params
        self._norfair = _require("norfair", "norfair")
        # norfair warns, per frame, when its own estimate of a box turns inside out.
        logging.getLogger("norfair").setLevel(logging.ERROR)
        self._tracker = self._norfair.Tracker(
            distance_function="iou", distance_threshold=distance_threshold,
            hit_counter_max=hit_counter_max, initialization_delay=initialization_delay,
            **params)
        self._round = 0

    def _external_ids(self, boxes, scores, time):
        self._round += 1
        # norfair keeps copies of the detections: the round number tells this round's.
        dets = [self._norfair.Detection(np.array([[x, y], [x + w, y + h]], np.float64),
                                        scores=np.array([s, s]), data=(self._round, c))
                for c, ((x, y, w, h), s) in enumerate(zip(boxes, scores))]
        objects = self._tracker.update(dets, period=self.every if self._round > 1 else 1)
        found = [(int(o.last_detection.data[1]), int(o.id)) for o in objects
                 if o.id is not None and o.last_detection is not None
                 and o.last_detection.data[0] == self._round]
        alive = {int(o.id) for o in self._tracker.tracked_objects if o.id is not None}
        return found, alive


__all__ = ["ByteTrackTracker", "NorfairTracker"]
