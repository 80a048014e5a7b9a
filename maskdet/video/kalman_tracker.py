"""maskdet's default tracker: Kalman motion, doubtful detections kept for known faces, and
faces known again by their look after an occlusion or a few seconds out of view.

Each detection round runs three matches, each an optimal assignment (Hungarian):

1. confident detections (face score >= ``high_score``) against the tracks seen in the last
   ``predict_frames`` frames, by the overlap (IoU) of each with the box its Kalman filter
   (:mod:`maskdet.video.motion`) expects;
2. the doubtful detections (``low_score`` <= score < ``high_score``) against the tracks still
   unmatched, by a stricter overlap -- a face half hidden, blurred or dark is still the face
   it was (ByteTrack's idea); a doubtful detection never starts a track;
3. the confident detections left against the tracks lost for up to ``max_lost`` seconds, by
   appearance (:mod:`maskdet.video.appearance`): a face that comes back near where it went,
   looking as it did, takes its old id again.

The rest start *tentative* tracks, confirmed by ``confirm_hits`` detections; a tentative track
that goes unseen is dropped (false detections mostly are). Memory is bounded: lost tracks are
forgotten after ``max_lost`` seconds (and beyond ``max_lost_tracks``, the oldest first), and
each keeps at most ``gallery`` appearance vectors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..detections import box_iou
from .appearance import APPEARANCES, AppearanceFunction
from .motion import BoxKalmanFilter
from .tracking import VIOLATION_LABELS, FaceTracker, Track


@dataclass
class _KalmanState:
    filter: BoxKalmanFilter
    frame: int
    gallery: deque = field(default_factory=deque)


def assign(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The (row, column) pairs of most total similarity among pairs of at least ``threshold``
    (an optimal assignment; ties go to the lower index)."""
    if similarity.size == 0:
        return []
    # Imported here: scipy.optimize costs ~0.3 s, which only this tracker's users should pay.
    from scipy.optimize import linear_sum_assignment

    allowed = similarity >= threshold
    rows, cols = linear_sum_assignment(np.where(allowed, similarity, -1.0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


class KalmanTracker(FaceTracker):
    """Tracks faces with a Kalman filter each, two-stage association and re-identification.

    Args:
        high_score: detections at least this sure start tracks and match first (YuNet's
            own threshold in photos, 0.75).
        low_score: doubtful detections from this score on continue known tracks (None: none
            are used). The video stream asks the face detector for faces from this score.
        iou_threshold: least IoU of a confident detection with a track's expected box.
        low_iou_threshold: least IoU for a doubtful one.
        confirm_hits: detections that confirm a track; a tentative track unseen once is
            dropped.
        max_lost: seconds a lost (confirmed) track is remembered, for it to be found again.
        predict_frames: frames a lost track is followed by its motion (its box moved on at
            its speed); after that it can only be found again by its look.
        appearance: ``"color"`` (:func:`~maskdet.video.appearance.color_layout`), a function
            ``(image, boxes) -> (n, d)`` unit vectors, or None (no re-identification).
        reid_similarity: least cosine similarity of a lost track's look with a detection's.
        reid_distance: how far, in face sizes, from where a lost track was last seen it may
            be found again.
        gallery: appearance vectors kept per track (its latest looks).
        max_lost_tracks: lost tracks remembered at most.
        vote_window, violation_labels, min_confidence: see :class:`FaceTracker`.
    """

    name = "kalman"

    def __init__(
        self,
        high_score: float = 0.75,
        low_score: float | None = 0.6,
        iou_threshold: float = 0.2,
        low_iou_threshold: float = 0.4,
        confirm_hits: int = 2,
        max_lost: float = 3.0,
        predict_frames: int = 12,
        appearance: str | AppearanceFunction | None = "color",
        reid_similarity: float = 0.8,
        reid_distance: float = 4.0,
        gallery: int = 8,
        max_lost_tracks: int = 100,
        vote_window: int = 7,
        violation_labels: Sequence[str] = VIOLATION_LABELS,
        min_confidence: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(vote_window=vote_window, violation_labels=violation_labels,
                         min_confidence=min_confidence)
        self.high_score = high_score
        self.low_score = low_score
        self.iou_threshold = iou_threshold
        self.low_iou_threshold = low_iou_threshold
        self.confirm_hits = confirm_hits
        self.max_lost = max_lost
        self.predict_frames = predict_frames
        self.appearance = appearance
        self.reid_similarity = reid_similarity
        self.reid_distance = reid_distance
        self.gallery = gallery
        self.max_lost_tracks = max_lost_tracks
        self._looks: np.ndarray | None = None
        self._scores = np.zeros(0)
        self._too_many: set[int] = set()

    @property
    def detection_floor(self) -> float | None:  # type: ignore[override]
        return self.low_score

    def _describe(self, image: np.ndarray | None, boxes: np.ndarray) -> np.ndarray | None:
        if self.appearance is None or image is None or not len(boxes):
            return None
        describe = APPEARANCES[self.appearance] if isinstance(self.appearance, str) \
            else self.appearance
        return np.asarray(describe(image, boxes), np.float32)

    # -- motion ---------------------------------------------------------------------------
    def _place(self, track: Track, frame: int) -> np.ndarray:
        state: _KalmanState = track._state
        return state.filter.box(min(frame - state.frame, self.predict_frames))

    def _start(self, track: Track, index: int, image: np.ndarray | None) -> None:
        track._state = _KalmanState(BoxKalmanFilter(track.box), track.last_frame,
                                    deque(maxlen=max(1, self.gallery)))
        self._remember_look(track, index)

    def _hit(self, track: Track, index: int, image: np.ndarray | None) -> None:
        state: _KalmanState = track._state
        gap = track.last_frame - state.frame
        if gap > self.predict_frames:
            # Back after long: its old speed means nothing now; start the motion afresh.
            state.filter = BoxKalmanFilter(track.box)
        else:
            state.filter.update(track.box, frames=gap)
        state.frame = track.last_frame
        self._remember_look(track, index)

    def _remember_look(self, track: Track, index: int) -> None:
        if self._looks is not None and self._scores[index] >= self.high_score:
            # Doubtful detections are often half hidden: their look is not the face's.
            track._state.gallery.append(self._looks[index])

    def _expired(self, track: Track, frame: int, time: float) -> bool:
        if track.hits < self.confirm_hits or id(track) in self._too_many:
            return True
        if self.appearance is None and frame - track.last_frame > self.predict_frames:
            return True  # nothing could find it again
        return time - track.last_seen > self.max_lost

    # -- association ------------------------------------------------------------------------
    def _associate(self, boxes, scores, frame, time, image):
        self._scores = scores
        self._looks = self._describe(image, boxes)
        low = -np.inf if self.low_score is None else self.low_score
        high = [c for c in range(len(boxes)) if scores[c] >= self.high_score]
        doubtful = [c for c in range(len(boxes)) if low <= scores[c] < self.high_score]
        # Motion is trusted for a short while only; a track lost for longer is found again
        # by its look (stage 3), or not at all.
        tracks = [t for t in self.tracks if frame - t.last_frame <= self.predict_frames]
        pairs: list[tuple[Track, int]] = []

        def match(candidates: list[Track], dets: list[int], similarity: np.ndarray,
                  threshold: float) -> tuple[list[Track], list[int]]:
            found = assign(similarity, threshold)
            pairs.extend((candidates[r], dets[c]) for r, c in found)
            used_r, used_c = {r for r, _ in found}, {c for _, c in found}
            return ([t for r, t in enumerate(candidates) if r not in used_r],
                    [d for c, d in enumerate(dets) if c not in used_c])

        expected = np.array([t.box for t in tracks]).reshape(-1, 4)
        tracks, high = match(tracks, high, box_iou(expected, boxes[high]), self.iou_threshold)
        if doubtful and tracks:
            expected = np.array([t.box for t in tracks]).reshape(-1, 4)
            tracks, _ = match(tracks, doubtful, box_iou(expected, boxes[doubtful]),
                              self.low_iou_threshold)
        taken = {id(t) for t, _ in pairs}
        lost = [t for t in self.tracks
                if id(t) not in taken and t.misses > 0 and t._state.gallery]
        if self._looks is not None and lost and high:
            tracks, high = match(lost, high, self._reid_similarity(lost, boxes[high], high),
                                 self.reid_similarity)
        matched = {id(t) for t, _ in pairs}
        lost = [t for t in self.tracks if id(t) not in matched and t.hits >= self.confirm_hits]
        excess = len(lost) - self.max_lost_tracks
        self._too_many = {id(t) for t in sorted(lost, key=lambda t: t.last_seen)[:excess]} \
            if excess > 0 else set()
        return pairs, high

    def _reid_similarity(self, lost: list[Track], boxes: np.ndarray,
                         dets: list[int]) -> np.ndarray:
        """Appearance similarity of each lost track with each detection, -1 where the
        detection is too far from where the track was last seen or of another size."""
        looks = self._looks[dets]
        sim = np.full((len(lost), len(dets)), -1.0)
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        sizes = boxes[:, 2:].max(axis=1)
        for r, t in enumerate(lost):
            last = t._detected_box
            size = max(last[2], last[3])
            near = (np.linalg.norm(centres - (last[:2] + last[2:] / 2), axis=1)
                    <= self.reid_distance * np.maximum(size, sizes))
            alike = (sizes <= 2 * size) & (sizes >= size / 2)
            best = (np.stack(t._state.gallery) @ looks.T).max(axis=0)
            sim[r] = np.where(near & alike, best, -1.0)
        return sim

    def __repr__(self) -> str:
        return (f"KalmanTracker(low_score={self.low_score}, appearance="
                f"{getattr(self.appearance, '__name__', self.appearance)!r})")


__all__ = ["KalmanTracker", "assign"]
