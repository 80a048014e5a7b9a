"""Following faces from frame to frame: stable track ids and labels smoothed over time.

:class:`FaceTracker` is what every tracker is: it takes each detection round's faces, gives
every face a track id that stays the same while it is followed, moves the tracks on between
detections (video detects every N frames), and keeps, per track, the classifier's recent
outputs: the label shown is a vote over the last ``vote_window`` classifications, so that one
doubtful frame does not make a label flicker. A tracker only decides which detection is which
track (``_associate``) and where a track is between detections (``_place``).
:class:`IouTracker` is the simplest: a detection joins the track whose box, moved on at its
recent speed, overlaps it most (IoU), or whose centre is nearest. Trackers are chosen by name
in :mod:`maskdet.video.trackers`.

Frame numbers count video frames; times are in seconds (video time for files, wall-clock time
for live sources). Trackers forget a track after a bounded time unseen, so memory stays
bounded however long the video.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..detections import Detections, box_iou

#: Labels that count as not complying (a mask worn under the nose protects little).
VIOLATION_LABELS: tuple[str, ...] = ("without_mask", "mask_weared_incorrect")

ASSOCIATIONS = ("iou", "centroid")


@dataclass
class Track:
    """One face followed across frames.

    Attributes:
        track_id: unique within a tracker, never reused.
        box: float array (4,), ``x, y, w, h`` in the current frame (detected or predicted).
        face_score: the face detector's confidence at the last detection.
        first_seen, last_seen: times (s) of the first and the latest detection.
        first_frame, last_frame: frame numbers of the first and the latest detection.
        hits: detections matched to this track.
        misses: consecutive detection rounds in which it was not found.
        label, score, probabilities: the smoothed classification (None before the first).
        confident: whether the smoothed label's confidence (face score times its
            probability) reaches the tracker's ``min_confidence`` for that label; an
            uncertain track is not shown, counted or alerted on.
        classified_frame: frame number of the latest classification.
        unmasked_since: time since which the smoothed label has been a confident violation
            label, else None.
        label_frames: frames shown per smoothed label over the track's life.
        alerted: whether a violation alert was given for this track.
    """

    track_id: int
    box: np.ndarray
    face_score: float
    first_seen: float
    last_seen: float
    first_frame: int
    last_frame: int
    hits: int = 1
    misses: int = 0
    label: str | None = None
    score: float | None = None
    probabilities: np.ndarray | None = None
    classified_frame: int | None = None
    confident: bool = True
    unmasked_since: float | None = None
    label_frames: Counter = field(default_factory=Counter)
    alerted: bool = False
    _detected_box: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    _velocity: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)
    _votes: deque = field(default=None, repr=False)  # type: ignore[assignment]
    _state: Any = field(default=None, repr=False)
    """What the tracker that owns the track keeps of it (its motion filter, appearance)."""

    @property
    def duration(self) -> float:
        """Seconds between the first and the latest detection."""
        return self.last_seen - self.first_seen

    @property
    def lifetime_label(self) -> str | None:
        """The smoothed label shown in most of the track's frames."""
        if not self.label_frames:
            return self.label if self.confident else None
        return max(self.label_frames.items(), key=lambda kv: (kv[1], kv[0]))[0]


def centroid_similarity(a: np.ndarray, b: np.ndarray, max_distance: float) -> np.ndarray:
    """1 - (centre distance / (``max_distance`` x mean box side)), clipped at 0; shape (n, m).

    A face whose centre moved less than ``max_distance`` of its size scores above 0.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ca = a[:, :2] + a[:, 2:] / 2
    cb = b[:, :2] + b[:, 2:] / 2
    dist = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=2)
    size = (a[:, None, 2:].mean(axis=2) + b[None, :, 2:].mean(axis=2)) / 2
    return np.clip(1.0 - dist / np.maximum(max_distance * size, 1e-9), 0.0, None)


def greedy_match(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, column) taken best first while both are free and similarity >= threshold.

    Deterministic: ties are broken by row, then column.
    """
    if similarity.size == 0:
        return []
    rows, cols = np.nonzero(similarity >= threshold)
    order = np.lexsort((cols, rows, -similarity[rows, cols]))
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


class FaceTracker(ABC):
    """Tracks faces across frames with stable ids and a vote-smoothed label per track.

    Subclasses implement :meth:`_associate` and may refine :meth:`_place` (where a track is
    between detections), :meth:`_hit` / :meth:`_start` (what they keep of a track) and
    :meth:`_expired` (when a track is forgotten).

    Args:
        max_age: detection rounds a track may go unseen before it is forgotten (trackers
            that remember lost tracks for longer say so).
        vote_window: classifications a track's label is voted over (1: no smoothing).
        violation_labels: labels that start a track's ``unmasked_since`` clock.
        min_confidence: per label, the least confidence (face score times the smoothed
            probability) at which a track's label counts (``Track.confident``), as
            :class:`~maskdet.pipeline.MaskDetector` drops less confident faces. None: not
            set (a :class:`~maskdet.video.streaming.MaskStream` sets its model's operating point);
            ``{}`` keeps every label.

    Attributes:
        tracks: the tracks followed now (seen at the latest detection, or lost for a while).
        finished: tracks forgotten by the latest :meth:`update` (read it before the next call).
    """

    name = "base"
    #: The least face score the tracker wants from the face detector; None: whatever the
    #: detector's own threshold lets through. Trackers that follow faces through doubtful
    #: detections set it lower, and start tracks only on confident ones.
    detection_floor: float | None = None

    def __init__(
        self,
        max_age: int = 5,
        vote_window: int = 7,
        violation_labels: Sequence[str] = VIOLATION_LABELS,
        min_confidence: Mapping[str, float] | None = None,
    ) -> None:
        self.max_age = max_age
        self.vote_window = vote_window
        self.violation_labels = violation_labels
        self.min_confidence = None if min_confidence is None else dict(min_confidence)
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        self.next_id = 1
        self.frame: int | None = None

    # -- what a tracker decides -------------------------------------------------------------
    @abstractmethod
    def _associate(self, boxes: np.ndarray, scores: np.ndarray, frame: int, time: float,
                   image: np.ndarray | None) -> tuple[list[tuple[Track, int]], list[int]]:
        """Which detection is which track: ``(track, detection index)`` pairs, and the
        detections that start new tracks (the others are left out). The tracks have been
        moved to ``frame`` (:meth:`_place`) before."""

    def _place(self, track: Track, frame: int) -> np.ndarray:
        """Where ``track`` is at ``frame``: by default its latest detected box moved on at its
        recent speed."""
        box = track._detected_box.copy()
        box[:2] += track._velocity * (frame - track.last_frame)
        return box

    def _start(self, track: Track, index: int, image: np.ndarray | None) -> None:
        """A new track was started on detection ``index`` (hook)."""
        return None

    def _hit(self, track: Track, index: int, image: np.ndarray | None) -> None:
        """``track`` was found again as detection ``index`` (hook; ``track`` is updated)."""
        return None

    def _expired(self, track: Track, frame: int, time: float) -> bool:
        """Whether a track not found in this round is forgotten."""
        return track.misses > self.max_age

    # -- the interface ----------------------------------------------------------------------
    def predict(self, frame: int) -> list[Track]:
        """Move the tracks to where they are at ``frame``; returns the visible tracks (those
        found at the latest detection)."""
        for t in self.tracks:
            t.box = self._place(t, frame)
        self.frame = frame
        return self.visible()

    def update(self, detections: Detections, frame: int, time: float,
               image: np.ndarray | None = None) -> list[Track]:
        """Associate the faces detected in ``frame`` with the tracks; unmatched faces may
        start tracks, tracks the tracker forgets are moved to :attr:`finished`.

        Args:
            image: the frame itself, for trackers that compare what faces look like.

        Returns:
            the tracks found in this frame, in the order of ``detections`` (a detection that
            joins no track, such as a doubtful one far from every track, has none).
        """
        self.predict(frame)
        boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(detections.face_scores, np.float64).reshape(-1)
        pairs, new = self._associate(boxes, scores, frame, time, image)
        matched = {id(t) for t, _ in pairs}
        by_detection: dict[int, Track] = {}
        for t, c in pairs:
            old_centre = t._detected_box[:2] + t._detected_box[2:] / 2
            new_centre = boxes[c, :2] + boxes[c, 2:] / 2
            gap = max(1, frame - t.last_frame)
            velocity = (new_centre - old_centre) / gap
            t._velocity = velocity if t.hits == 1 else 0.5 * t._velocity + 0.5 * velocity
            t._detected_box = boxes[c].copy()
            t.box = boxes[c].copy()
            t.face_score = float(scores[c])
            t.last_seen, t.last_frame = time, frame
            t.hits += 1
            t.misses = 0
            self._hit(t, c, image)
            by_detection[c] = t
        self.finished = []
        kept = []
        for t in self.tracks:
            if id(t) not in matched:
                t.misses += 1
                if self._expired(t, frame, time):
                    self.finished.append(t)
                    continue
            kept.append(t)
        self.tracks = kept
        for c in new:
            t = Track(track_id=self.next_id, box=boxes[c].copy(), face_score=float(scores[c]),
                      first_seen=time, last_seen=time, first_frame=frame, last_frame=frame)
            t._detected_box = boxes[c].copy()
            t._votes = deque(maxlen=max(1, self.vote_window))
            self.next_id += 1
            self._start(t, c, image)
            self.tracks.append(t)
            by_detection[c] = t
        return [by_detection[c] for c in sorted(by_detection)]

    def visible(self) -> list[Track]:
        """Tracks found at the latest detection round."""
        return [t for t in self.tracks if t.misses == 0]

    # -- labels -----------------------------------------------------------------------------
    def add_classification(self, track: Track, probabilities: np.ndarray,
                           classes: Sequence[str], frame: int, time: float) -> None:
        """Record one classifier output for ``track`` and update its smoothed label."""
        proba = np.asarray(probabilities, np.float64).ravel()
        track._votes.append(proba)
        votes = np.stack(track._votes)
        counts = np.bincount(votes.argmax(axis=1), minlength=len(classes))
        mean = votes.mean(axis=0)
        # Most votes wins; a tie goes to the label with the higher mean probability.
        best = int(np.lexsort((mean, counts))[-1])
        track.label = str(classes[best])
        track.score = float(mean[best])
        track.probabilities = mean.astype(np.float32)
        track.classified_frame = frame
        floor = (self.min_confidence or {}).get(track.label, 0.0)
        track.confident = track.face_score * track.score >= floor
        if track.label in self.violation_labels and track.confident:
            if track.unmasked_since is None:
                track.unmasked_since = time
        else:
            track.unmasked_since = None

    def observe(self, tracks: Sequence[Track]) -> None:
        """Count one shown frame for each track's current label (see ``Track.label_frames``)."""
        for t in tracks:
            if t.label is not None:
                t.label_frames[t.label] += 1

    @staticmethod
    def to_detections(tracks: Sequence[Track], classes: Sequence[str] = ()) -> Detections:
        """The tracks as :class:`~maskdet.detections.Detections` with ``track_ids`` (and the
        smoothed labels where every track has one)."""
        if not tracks:
            # Empty, but still tracked: track_ids is an empty array, not None.
            empty = Detections(boxes=np.zeros((0, 4)), face_scores=np.zeros(0),
                               track_ids=np.zeros(0, np.int64))
            if classes:
                return empty.with_classification(np.zeros((0, len(classes))), tuple(classes))
            return empty
        boxes = np.array([t.box for t in tracks])
        labelled = all(t.label is not None for t in tracks) and len(classes) > 0
        return Detections(
            boxes=boxes,
            face_scores=[t.face_score for t in tracks],
            labels=[t.label for t in tracks] if labelled else None,
            scores=[t.score for t in tracks] if labelled else None,
            probabilities=np.stack([t.probabilities for t in tracks]) if labelled else None,
            classes=tuple(classes) if labelled else (),
            track_ids=[t.track_id for t in tracks],
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class IouTracker(FaceTracker):
    """maskdet's first tracker: each detection joins, best first, the track whose box (moved
    on at its recent speed) overlaps it most; unmatched detections start tracks.

    Args:
        association: ``"iou"`` (boxes must overlap by ``iou_threshold``) or ``"centroid"``
            (centres within ``max_distance`` box sides).
        iou_threshold: least IoU between a track's (predicted) box and a detection.
        max_distance: centroid association: the largest centre shift, in box sides.
        max_age, vote_window, violation_labels, min_confidence: see :class:`FaceTracker`.

    Example:
        >>> tracker = IouTracker()
        >>> tracks = tracker.update(Detections(boxes=[[10, 10, 40, 40]], face_scores=[0.9]),
        ...                         frame=0, time=0.0)
        >>> [t.track_id for t in tracks]
        [1]
    """

    name = "iou"

    def __init__(
        self,
        association: str = "iou",
        iou_threshold: float = 0.3,
        max_distance: float = 1.0,
        max_age: int = 5,
        vote_window: int = 7,
        violation_labels: Sequence[str] = VIOLATION_LABELS,
        min_confidence: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(max_age=max_age, vote_window=vote_window,
                         violation_labels=violation_labels, min_confidence=min_confidence)
        self.association = association
        self.iou_threshold = iou_threshold
        self.max_distance = max_distance

    def _similarity(self, boxes: np.ndarray) -> tuple[np.ndarray, float]:
        predicted = np.array([t.box for t in self.tracks]).reshape(-1, 4)
        if self.association == "iou":
            return box_iou(predicted, boxes), self.iou_threshold
        if self.association == "centroid":
            return centroid_similarity(predicted, boxes, self.max_distance), 1e-9
        raise ValueError(f"association must be one of {ASSOCIATIONS}, got {self.association!r}")

    def _associate(self, boxes, scores, frame, time, image):
        pairs = greedy_match(*self._similarity(boxes)) if self.tracks and len(boxes) else []
        matched = {c for _, c in pairs}
        return ([(self.tracks[r], c) for r, c in pairs],
                [c for c in range(len(boxes)) if c not in matched])

    def __repr__(self) -> str:
        return f"IouTracker(association={self.association!r})"
