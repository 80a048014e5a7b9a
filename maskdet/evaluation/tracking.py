"""How well tracked faces keep their identity: ground truth and tracker output as MOTChallenge
tables, scored with py-motmetrics (IDF1, MOTA, ID switches, fragmentation), and the error of
the distinct people counted per label.

Both tables hold one :class:`MotRow` per face per frame, read and written in the MOTChallenge
text format (``frame, id, x, y, w, h, conf, class, visibility``, frames from 1; ``class`` is
the 1-based index of the label in a list of labels). In ground truth, ``conf`` 0 marks a face
to *ignore* -- too small, mostly hidden, or of a class the model does not know: as in the
MOTChallenge evaluation, a tracked face on an ignored one (IoU >= 0.5) is dropped from that
frame, neither a hit nor a false positive, and the face itself is not missed.

py-motmetrics is optional (``pip install "maskdet[tracking]"``) and imported only when
metrics are computed.

Example:
    >>> gt = [MotRow(1, 1, (0, 0, 10, 10), label="with_mask")]
    >>> found = [MotRow(1, 7, (1, 0, 10, 10))]
    >>> evaluate_tracks([ClipTracks("a", gt, found)]).idf1  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detections import box_iou
from ..errors import MaskdetError

#: IoU at which a tracked box counts as on a ground-truth face (MOTChallenge's 0.5).
MATCH_IOU = 0.5


@dataclass(frozen=True)
class MotRow:
    """One face in one frame: ``frame`` (from 1), ``track`` id, ``box`` ``x, y, w, h``,
    ``conf`` (ground truth: 1 counts, 0 ignore; tracker output: a confidence), ``label``
    and ``visibility`` (the visible share of the face, 0..1)."""

    frame: int
    track: int
    box: tuple[float, float, float, float]
    conf: float = 1.0
    label: str | None = None
    visibility: float = 1.0

    @property
    def ignored(self) -> bool:
        return self.conf <= 0


def write_mot(path: str | os.PathLike, rows: Iterable[MotRow], labels: Sequence[str]) -> Path:
    """Write rows as MOTChallenge text; ``class`` is the 1-based index in ``labels`` (-1: none)."""
    index = {label: i + 1 for i, label in enumerate(labels)}
    lines = [f"{r.frame},{r.track},{r.box[0]:.2f},{r.box[1]:.2f},{r.box[2]:.2f},{r.box[3]:.2f},"
             f"{r.conf:g},{index.get(r.label, -1)},{r.visibility:.3f}\n"
             for r in sorted(rows, key=lambda r: (r.frame, r.track))]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_mot(path: str | os.PathLike, labels: Sequence[str] = ()) -> list[MotRow]:
    """Read MOTChallenge text (at least the first 6 columns); ``class`` becomes a label of
    ``labels``.

    Raises:
        MaskdetError: the file is missing, or a line is not MOTChallenge text (naming it).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MaskdetError(f"{path}: cannot read the track file ({exc.strerror})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            v = [float(x) for x in line.split(",")]
            if len(v) < 6:
                raise ValueError
        except ValueError:
            raise MaskdetError(f"{path}:{number}: not a MOTChallenge line: {line[:60]!r}") from None
        cls = int(v[7]) if len(v) > 7 else -1
        label = labels[cls - 1] if 1 <= cls <= len(labels) else None
        rows.append(MotRow(int(v[0]), int(v[1]), (v[2], v[3], v[4], v[5]),
                           v[6] if len(v) > 6 else 1.0, label, v[8] if len(v) > 8 else 1.0))
    return rows


@dataclass(frozen=True)
class ClipTracks:
    """One clip to score: its ground truth, the tracker's output and, optionally, the tracks
    the summary counted as distinct people (id -> label)."""

    name: str
    truth: Sequence[MotRow]
    found: Sequence[MotRow]
    counted: Mapping[int, str] | None = None


@dataclass
class TrackingMetrics:
    """Identity and counting metrics of one clip or of several together.

    Attributes:
        idf1, idp, idr: identity F1, precision and recall (py-motmetrics).
        mota: multiple object tracking accuracy.
        precision, recall: of tracked boxes on faces, per frame, ids aside.
        id_switches: times a face's matched track id changed.
        fragmentations: times a face's track was interrupted (py-motmetrics' count).
        gt_tracks: faces of the ground truth (distinct ids with a counted row).
        true_people: ground-truth faces per label.
        counted_people: tracks the summary counted per label, less those mostly on ignored
            faces (None when the counts were not given).
        clips: clips scored.
    """

    idf1: float
    idp: float
    idr: float
    mota: float
    precision: float
    recall: float
    id_switches: int
    fragmentations: int
    gt_tracks: int
    true_people: dict[str, int] = field(default_factory=dict)
    counted_people: dict[str, int] | None = None
    clips: int = 1

    @property
    def switches_per_track(self) -> float:
        return self.id_switches / self.gt_tracks if self.gt_tracks else 0.0

    @property
    def fragmentations_per_track(self) -> float:
        return self.fragmentations / self.gt_tracks if self.gt_tracks else 0.0

    @property
    def tracks_per_face(self) -> float | None:
        """Counted tracks per ground-truth face (1: one track per person)."""
        if self.counted_people is None or not self.gt_tracks:
            return None
        return sum(self.counted_people.values()) / self.gt_tracks

    @property
    def count_errors(self) -> dict[str, float | None]:
        """Per label, (counted - true) / true; None where no face has the label."""
        if self.counted_people is None:
            return {}
        labels = sorted(set(self.true_people) | set(self.counted_people))
        return {label: ((self.counted_people.get(label, 0) - self.true_people[label])
                        / self.true_people[label]) if self.true_people.get(label) else None
                for label in labels}

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(switches_per_track=self.switches_per_track,
                   fragmentations_per_track=self.fragmentations_per_track,
                   tracks_per_face=self.tracks_per_face, count_errors=self.count_errors)
        return out

    def lines(self) -> list[str]:
        """The metrics as a few lines of text."""
        out = [f"IDF1 {self.idf1:.3f} (IDP {self.idp:.3f}, IDR {self.idr:.3f}); MOTA "
               f"{self.mota:.3f}; recall {self.recall:.3f}, precision {self.precision:.3f}",
               f"{self.gt_tracks} faces in {self.clips} clips: ID switches "
               f"{self.id_switches} ({self.switches_per_track:.3f} per face), fragmentations "
               f"{self.fragmentations} ({self.fragmentations_per_track:.3f} per face)"]
        if self.counted_people is not None:
            errors = self.count_errors
            people = ", ".join(
                f"{label} {self.counted_people.get(label, 0)} counted / "
                f"{self.true_people.get(label, 0)} true"
                + ("" if errors.get(label) is None else f" ({errors[label]:+.1%})")
                for label in sorted(set(self.true_people) | set(self.counted_people)))
            out.append(f"distinct people: {people}; {self.tracks_per_face:.3f} tracks per face")
        return out


def _motmetrics():
    try:
        import motmetrics
    except ImportError:
        raise MaskdetError("tracking metrics need py-motmetrics: pip install "
                           "\"maskdet[tracking]\"") from None
    return motmetrics


def _by_frame(rows: Iterable[MotRow]) -> dict[int, list[MotRow]]:
    out: dict[int, list[MotRow]] = defaultdict(list)
    for r in rows:
        out[r.frame].append(r)
    return out


def _boxes(rows: Sequence[MotRow]) -> np.ndarray:
    return np.array([r.box for r in rows], np.float64).reshape(-1, 4)


def _pairs(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The assignment of most total IoU among pairs of at least ``threshold``."""
    from scipy.optimize import linear_sum_assignment

    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(np.where(iou >= threshold, iou, 0.0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold]


def _accumulate(seq: ClipTracks, iou_threshold: float):
    """The motmetrics accumulator of a clip and, per found track, frames on ignored faces
    and frames elsewhere."""
    mm = _motmetrics()
    acc = mm.MOTAccumulator(auto_id=False)
    truth, found = _by_frame(seq.truth), _by_frame(seq.found)
    on_ignored: Counter = Counter()
    elsewhere: Counter = Counter()
    for frame in sorted(set(truth) | set(found)):
        gt, hyp = truth.get(frame, []), found.get(frame, [])
        ignored = [r for r in gt if r.ignored]
        if ignored and hyp:
            dropped = {c for _, c in _pairs(box_iou(_boxes(ignored), _boxes(hyp)), iou_threshold)}
            on_ignored.update(hyp[c].track for c in dropped)
            hyp = [h for c, h in enumerate(hyp) if c not in dropped]
        elsewhere.update(h.track for h in hyp)
        gt = [r for r in gt if not r.ignored]
        distance = 1.0 - box_iou(_boxes(gt), _boxes(hyp))
        distance[distance > 1.0 - iou_threshold] = np.nan  # not a possible match
        acc.update([r.track for r in gt], [h.track for h in hyp], distance, frameid=frame)
    return acc, on_ignored, elsewhere


def evaluate_tracks(clips: Sequence[ClipTracks], iou: float = MATCH_IOU) -> TrackingMetrics:
    """Score tracked faces against ground truth, over one or several clips together.

    Args:
        clips: the clips, each with its ground truth, the tracker's output and optionally
            the counted tracks.
        iou: least overlap of a tracked box with a face to be on it.

    Returns:
        the metrics over all clips (py-motmetrics' overall figures); counts per label are
        summed over the clips, leaving out counted tracks that were more often on ignored
        faces than not.
    """
    mm = _motmetrics()
    accumulators, names = [], []
    true_people: Counter = Counter()
    counted: Counter | None = Counter() if all(s.counted is not None for s in clips) \
        else None
    for seq in clips:
        acc, on_ignored, elsewhere = _accumulate(seq, iou)
        accumulators.append(acc)
        names.append(seq.name)
        labels = {}
        for r in seq.truth:
            if not r.ignored:
                labels.setdefault(r.track, r.label)
        true_people.update(label for label in labels.values() if label is not None)
        if counted is not None:
            counted.update(label for track, label in seq.counted.items()
                           if on_ignored[track] <= elsewhere[track])
    names_metrics = ["idf1", "idp", "idr", "mota", "precision", "recall", "num_switches",
                     "num_fragmentations", "num_unique_objects"]
    summary = mm.metrics.create().compute_many(
        accumulators, names=names, metrics=names_metrics, generate_overall=True)
    overall = summary.loc["OVERALL"]

    def number(name: str) -> float:
        value = float(overall[name])
        return 0.0 if np.isnan(value) else value

    return TrackingMetrics(
        idf1=number("idf1"), idp=number("idp"), idr=number("idr"), mota=number("mota"),
        precision=number("precision"), recall=number("recall"),
        id_switches=int(number("num_switches")),
        fragmentations=int(number("num_fragmentations")),
        gt_tracks=int(number("num_unique_objects")), true_people=dict(true_people),
        counted_people=None if counted is None else dict(counted),
        clips=len(clips))


__all__ = ["MATCH_IOU", "ClipTracks", "MotRow", "TrackingMetrics", "evaluate_tracks",
           "read_mot", "write_mot"]
