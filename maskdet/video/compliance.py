"""Compliance statistics of a video: faces with and without masks per frame, a rolling
compliance rate, distinct people (tracks) per label, and an optional CSV log.

A face counts as *compliant* when its (smoothed) label is not one of the violation labels
(by default ``without_mask`` and ``mask_weared_incorrect``). The rolling rate is the share of
compliant face sightings over the last ``window`` seconds; a person seen in many frames counts
in each. The distinct counts count each track once, under the label it showed in most of its
frames, and leave out tracks found in fewer than ``min_hits`` detections (mostly false
detections).
"""

from __future__ import annotations

import csv
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import MaskdetError
from .tracking import VIOLATION_LABELS, Track


@dataclass(frozen=True)
class FrameCompliance:
    """Counts of one frame and the rolling rate up to it."""

    counts: dict[str, int]
    """Faces per label in this frame (every class appears, possibly with 0)."""
    compliant: int
    violating: int
    rate: float | None
    """Compliant share of the face sightings of the last ``window`` seconds; None if none."""


class ComplianceStats:
    """Per-frame counts, a rolling compliance rate and distinct tracks per label.

    Memory is bounded: the rolling window keeps one entry per frame of its last ``window``
    seconds, and finished tracks are reduced to counters.

    Args:
        classes: the classifier's classes (so that every label is reported, even at 0).
        violation_labels: labels that count as not complying.
        window: length of the rolling window in seconds.
        min_hits: tracks detected fewer times are not counted as distinct people.
        on_count: called with each track counted as a distinct person and its label (to
            check the counts against ground truth, for instance).
    """

    def __init__(self, classes: Sequence[str] = (), violation_labels: Sequence[str] =
                 VIOLATION_LABELS, window: float = 10.0, min_hits: int = 2,
                 on_count: Callable[[Track, str], object] | None = None) -> None:
        self.classes = tuple(classes)
        self.violation_labels = tuple(violation_labels)
        self.window = window
        self.min_hits = min_hits
        self.on_count = on_count
        self._recent: deque[tuple[float, int, int]] = deque()
        self._recent_sums = [0, 0]
        self.totals = [0, 0]
        """Compliant and violating face sightings over the whole run."""
        self.distinct: Counter = Counter(dict.fromkeys(self.classes, 0))
        self.frames = 0

    def update(self, time: float, labels: Iterable[str | None]) -> FrameCompliance:
        """Count the labels shown in one frame at ``time`` seconds."""
        counts = dict.fromkeys(self.classes, 0)
        for label in labels:
            if label is not None:
                counts[label] = counts.get(label, 0) + 1
        violating = sum(n for label, n in counts.items() if label in self.violation_labels)
        compliant = sum(counts.values()) - violating
        self._recent.append((time, compliant, violating))
        self._recent_sums[0] += compliant
        self._recent_sums[1] += violating
        while self._recent and self._recent[0][0] <= time - self.window:
            _, c, v = self._recent.popleft()
            self._recent_sums[0] -= c
            self._recent_sums[1] -= v
        self.totals[0] += compliant
        self.totals[1] += violating
        self.frames += 1
        seen = sum(self._recent_sums)
        rate = self._recent_sums[0] / seen if seen else None
        return FrameCompliance(counts, compliant, violating, rate)

    def finish_tracks(self, tracks: Iterable[Track]) -> None:
        """Count tracks that ended (or are still running at the end) as distinct people."""
        for t in tracks:
            label = t.lifetime_label
            if label is not None and t.hits >= self.min_hits:
                self.distinct[label] += 1
                if self.on_count is not None:
                    self.on_count(t, label)

    @property
    def overall_rate(self) -> float | None:
        """Compliant share of all face sightings so far."""
        seen = sum(self.totals)
        return self.totals[0] / seen if seen else None

    def distinct_summary(self) -> dict[str, int]:
        """Distinct tracks per label, plus ``compliant`` and ``violating`` totals."""
        out = dict(self.distinct)
        out["violating"] = sum(n for label, n in self.distinct.items()
                               if label in self.violation_labels)
        out["compliant"] = sum(self.distinct.values()) - out["violating"]
        return out


class ComplianceLog:
    """A CSV file with one row per processed frame.

    Rows are flushed as they are written so the log can be followed while a live stream
    runs, and nothing processed is lost if the process is stopped; unlike videos and model
    bundles, it is therefore written in place, not renamed into place at the end.

    Columns: ``frame, time, faces, <one per class>, compliant, violating, compliance_rate,
    fps, dropped``.
    """

    def __init__(self, path: str | os.PathLike, classes: Sequence[str]) -> None:
        self.path = Path(path)
        self.classes = tuple(classes)
        try:
            self._file: IO[str] | None = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise MaskdetError(f"{self.path}: cannot write the CSV log ({exc.strerror})") from None
        self._writer = csv.writer(self._file)
        self._writer.writerow(["frame", "time", "faces", *self.classes, "compliant",
                               "violating", "compliance_rate", "fps", "dropped"])

    def write(self, frame: int, time: float, stats: FrameCompliance, fps: float,
              dropped: int) -> None:
        if self._file is None:
            raise ValueError(f"{self.path}: log is closed")
        rate = "" if stats.rate is None else f"{stats.rate:.4f}"
        self._writer.writerow([frame, f"{time:.3f}", sum(stats.counts.values()),
                               *(stats.counts.get(c, 0) for c in self.classes),
                               stats.compliant, stats.violating, rate, f"{fps:.2f}", dropped])
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ComplianceLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
