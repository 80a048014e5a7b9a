"""Following faces from frame to frame: stable track ids and labels smoothed over time.

:class:`FaceTracker` associates each frame's detected faces with the faces of earlier frames
(by box overlap, IoU, or by centre distance), gives every face a track id that stays the same
while it is seen, and keeps, per track, the classifier's recent outputs: the label shown is a
vote over the last ``vote_window`` classifications, so that one doubtful frame does not make a
label flicker. Between detections (video detects every N frames) tracks move on at their
recent speed.

Frame numbers count video frames; times are in seconds (video time for files, wall-clock time
for live sources). A track is removed after ``max_age`` detection rounds in which it was not
found, so memory stays bounded however long the video.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


class FaceTracker:
    """Tracks faces across frames with stable ids and a vote-smoothed label per track.

    Args:
        association: ``"iou"`` (boxes must overlap by ``iou_threshold``) or ``"centroid"``
            (centres within ``max_distance`` box sides).
        iou_threshold: least IoU between a track's (predicted) box and a detection.
        max_distance: centroid association: the largest centre shift, in box sides.
        max_age: detection rounds a track may go unseen before it is removed.
        vote_window: classifications a track's label is voted over (1: no smoothing).
        violation_labels: labels that start a track's ``unmasked_since`` clock.
        min_confidence: per label, the least confidence (face score times the smoothed
            probability) at which a track's label counts (``Track.confident``), as
            :class:`~maskdet.pipeline.MaskDetector` drops less confident faces. None: not
            set (a :class:`~maskdet.video.streaming.MaskStream` sets its model's operating point);
            ``{}`` keeps every label.

    Example:
        >>> tracker = FaceTracker()
        >>> tracks = tracker.update(Detections(boxes=[[10, 10, 40, 40]], face_scores=[0.9]),
        ...                         frame=0, time=0.0)
        >>> [t.track_id for t in tracks]
        [1]
    """

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
        self.association = association
        self.iou_threshold = iou_threshold
        self.max_distance = max_distance
        self.max_age = max_age
        self.vote_window = vote_window
        self.violation_labels = violation_labels
        self.min_confidence = None if min_confidence is None else dict(min_confidence)
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        """Tracks removed by the latest :meth:`update` (read it before the next call)."""
        self.next_id = 1
        self.frame: int | None = None

    # -- association ------------------------------------------------------------------------
    def _similarity(self, boxes: np.ndarray) -> tuple[np.ndarray, float]:
        predicted = np.array([t.box for t in self.tracks]).reshape(-1, 4)
        if self.association == "iou":
            return box_iou(predicted, boxes), self.iou_threshold
        if self.association == "centroid":
            return centroid_similarity(predicted, boxes, self.max_distance), 1e-9
        raise ValueError(f"association must be one of {ASSOCIATIONS}, got {self.association!r}")

    def predict(self, frame: int) -> list[Track]:
        """Move the visible tracks to where their recent speed puts them at ``frame``; returns
        the visible tracks (those found at the latest detection)."""
        for t in self.tracks:
            gap = frame - t.last_frame
            t.box = t._detected_box.copy()
            t.box[:2] += t._velocity * gap
        self.frame = frame
        return self.visible()

    def update(self, detections: Detections, frame: int, time: float) -> list[Track]:
        """Associate the faces detected in ``frame`` with the tracks; new faces start tracks,
        tracks unseen for more than ``max_age`` rounds are moved to :attr:`finished`.

        Returns:
            the tracks found in this frame, in the order of ``detections``.
        """
        self.predict(frame)
        boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)
        pairs = greedy_match(*self._similarity(boxes)) if self.tracks and len(boxes) else []
        matched_tracks = {r for r, _ in pairs}
        by_detection: dict[int, Track] = {}
        for r, c in pairs:
            t = self.tracks[r]
            old_centre = t._detected_box[:2] + t._detected_box[2:] / 2
            new_centre = boxes[c, :2] + boxes[c, 2:] / 2
            gap = max(1, frame - t.last_frame)
            velocity = (new_centre - old_centre) / gap
            t._velocity = velocity if t.hits == 1 else 0.5 * t._velocity + 0.5 * velocity
            t._detected_box = boxes[c].copy()
            t.box = boxes[c].copy()
            t.face_score = float(detections.face_scores[c])
            t.last_seen, t.last_frame = time, frame
            t.hits += 1
            t.misses = 0
            by_detection[c] = t
        self.finished = []
        kept = []
        for r, t in enumerate(self.tracks):
            if r not in matched_tracks:
                t.misses += 1
                if t.misses > self.max_age:
                    self.finished.append(t)
                    continue
            kept.append(t)
        self.tracks = kept
        for c in range(len(boxes)):
            if c not in by_detection:
                t = Track(track_id=self.next_id, box=boxes[c].copy(),
                          face_score=float(detections.face_scores[c]), first_seen=time,
                          last_seen=time, first_frame=frame, last_frame=frame)
                t._detected_box = boxes[c].copy()
                t._votes = deque(maxlen=max(1, self.vote_window))
                self.next_id += 1
                self.tracks.append(t)
                by_detection[c] = t
        return [by_detection[c] for c in range(len(boxes))]

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
