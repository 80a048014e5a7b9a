"""Mask detection on video: a generator of per-frame results over a file, camera or stream.

:func:`stream` ties the parts together: a :class:`~maskdet.video.io.VideoSource` gives frames
(live sources: only the newest), a face detector runs every ``every`` frames on a frame
scaled by ``detect_scale``, a tracker (:mod:`maskdet.video.trackers`, by name) gives faces stable
ids (and moves them between detections), the faces of a frame that are due for classification go
to the classifier in one batch call, and each face's label is a vote over its recent
classifications. Each frame yields a :class:`FrameResult` with the tracked faces, per-frame
counts, a rolling compliance rate and the processing rate; violation alerts and a CSV log are
optional. :func:`stop_on_signals` turns Ctrl-C and SIGTERM into a clean stop, so that a
video being written is finished and playable.

Example:
    >>> import maskdet
    >>> for result in maskdet.stream("street.mp4", model="model.maskdet"):  # doctest: +SKIP
    ...     print(result.index, result.counts, result.compliance_rate)
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..detections import Detections
from ..draw import annotate, draw_status
from ..faces import ALIASES, FaceDetector, create_face_detector
from ..pipeline import MaskDetector
from .alerts import Alert, ViolationMonitor
from .compliance import ComplianceLog, ComplianceStats, FrameCompliance
from .io import VideoSource
from .trackers import DEFAULT_TRACKER, create_tracker
from .tracking import VIOLATION_LABELS, FaceTracker

logger = logging.getLogger(__name__)

_FPS_WINDOW = 30  # frames the reported processing rate is averaged over


@dataclass
class FrameResult:
    """What :func:`stream` found in one processed frame.

    Attributes:
        index: the frame's number in the source (live sources: gaps are dropped frames).
        time: seconds from the start of the video (live sources: since capture started).
        detections: the tracked faces, with ``track_ids`` and smoothed ``labels``.
        compliance: per-frame counts and the rolling compliance rate.
        fps: frames processed per second, over the last 30 frames.
        dropped: stale live frames skipped so far.
        unreadable: frames that could not be decoded so far.
        detected: whether the face detector ran on this frame (else tracks were moved on).
        alerts: violation alerts raised at this frame.
        frame: the source frame (BGR).
        annotated: the frame with boxes, track ids and an FPS line, if asked for.
    """

    index: int
    time: float
    detections: Detections
    compliance: FrameCompliance
    fps: float
    dropped: int
    unreadable: int
    detected: bool
    frame: np.ndarray = field(repr=False)
    annotated: np.ndarray | None = field(default=None, repr=False)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Faces per label in this frame."""
        return self.compliance.counts

    @property
    def compliance_rate(self) -> float | None:
        """Compliant share of the face sightings of the rolling window (None: no faces)."""
        return self.compliance.rate

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready dictionary: ``frame``, ``time``, ``faces`` (``track``, ``box``,
        ``label``, ``score``, ``face_score``), ``counts``, ``compliance_rate``, ``fps``,
        ``dropped`` and, when any, ``alerts``."""
        rate = self.compliance.rate
        out: dict[str, Any] = {
            "frame": self.index,
            "time": round(self.time, 3),
            "faces": self.detections.to_dicts(),
            "counts": self.compliance.counts,
            "compliance_rate": None if rate is None else round(rate, 4),
            "fps": round(self.fps, 2),
            "dropped": self.dropped,
        }
        if self.alerts:
            out["alerts"] = [a.to_dict() for a in self.alerts]
        return out


@dataclass
class StreamSummary:
    """Totals of a run of :func:`stream` (also while it runs)."""

    source: str
    processed: int = 0
    frames_read: int = 0
    dropped: int = 0
    unreadable: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    seconds: float = 0.0
    tracks: dict[str, int] = field(default_factory=dict)
    """Distinct people per label -- tracks confirmed by at least ``min_hits`` detections,
    each counted once under the label it showed most -- plus ``compliant`` and
    ``violating``."""
    compliance_rate: float | None = None
    """Compliant share of all face sightings."""
    alerts: int = 0
    stopped: bool = False
    """True when the run was stopped (signal, ``close``, window closed) before the end."""
    error: str | None = None
    """What ended the run, when something went wrong (then it did not get to the end)."""
    frames_expected: int | None = None
    """The frames a file source declares (None: unknown, or a live source)."""
    ended_early: bool = False
    """True when a file ended before its declared length (truncated or damaged)."""

    @property
    def fps(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["fps"] = round(self.fps, 2)
        out["seconds"] = round(self.seconds, 3)
        return out

    def lines(self) -> list[str]:
        """The summary as a few lines of text."""
        if self.error:
            how = "failed"
        elif self.stopped:
            how = "stopped early"
        elif self.ended_early:
            how = (f"ended early (the file declares {self.frames_expected} frames; "
                   f"{self.frames_read} could be read)")
        else:
            how = "done"
        out = [f"{self.source}: {how}; processed {self.processed} frames in "
               f"{self.seconds:.1f} s ({self.fps:.1f} fps); dropped {self.dropped}, "
               f"unreadable {self.unreadable}, reconnects {self.reconnects}"]
        people = ", ".join(f"{k} {v}" for k, v in self.tracks.items()
                           if k not in ("compliant", "violating"))
        out.append(f"distinct people (confirmed tracks): {people or 'none'}")
        if self.compliance_rate is not None:
            out.append(f"compliance: {self.compliance_rate:.1%} of face sightings")
        if self.alerts:
            out.append(f"alerts: {self.alerts}")
        if self.error:
            out.append(f"error: {self.error}")
        return out


class StopRequest(threading.Event):
    """An event set by :func:`stop_on_signals`; ``signum`` says which signal set it."""

    signum: int | None = None


@contextlib.contextmanager
def stop_on_signals(
    signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[StopRequest]:
    """Within the block, Ctrl-C (SIGINT) and SIGTERM set the yielded event instead of
    killing the process; pass it to :func:`stream` as ``stop`` so that the current frame
    and the output are finished. A second signal raises ``KeyboardInterrupt`` at once.

    Outside the main thread (where Python cannot install handlers) nothing is installed.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, _frame):
        if request.is_set():
            raise KeyboardInterrupt
        request.signum = signum
        request.set()
        logger.warning("%s: stopping after this frame (send it again to stop at once)",
                       signal.Signals(signum).name)

    previous = {}
    for sig in signals:
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _single_thread_blas() -> Callable[[], contextlib.AbstractContextManager]:
    """A context factory that runs BLAS on one thread.

    The classifier's small matrix products gain nothing from BLAS threads, and threads that
    spin after each call take the cores from the face detector: on 2 cores, end-to-end
    throughput was 15 fps with OpenBLAS's default threads and over 50 with one (YuNet +
    HOG-SVM, detection every 2nd frame).
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


class MaskStream:
    """An iterable of :class:`FrameResult` over a video source; see :func:`stream`.

    Iterate over it once (``for result in mask_stream``), or call :meth:`run`. The source
    is opened when the stream is created (so a bad source fails at once) and released when
    iteration ends, is broken off, or :meth:`close` is called. :attr:`summary` holds the
    totals, during and after the run.
    """

    def __init__(
        self,
        source: str | int | os.PathLike | VideoSource,
        model: Classifier | MaskDetector | str | os.PathLike | None = None,
        face_detector: FaceDetector | str = "yunet",
        *,
        every: int = 2,
        detect_scale: float = 1.0,
        classify_every: int = 1,
        min_face: int = 0,
        min_face_score: float = 0.0,
        min_confidence: float | Mapping[str, float] | None = None,
        tracker: FaceTracker | str | None = None,
        violation_labels: Sequence[str] = VIOLATION_LABELS,
        window: float = 10.0,
        min_hits: int = 5,
        alert_after: float | None = None,
        on_violation: Callable[[Alert], Any] | None = None,
        snapshot_dir: str | os.PathLike | None = None,
        csv_log: str | os.PathLike | None = None,
        annotate: bool = False,
        live: bool | None = None,
        max_reconnects: int = 5,
        stop: threading.Event | None = None,
    ) -> None:
        if int(every) < 1 or int(classify_every) < 1:
            raise ValueError("every and classify_every must be at least 1")
        if not 0.05 <= float(detect_scale) <= 4.0:
            raise ValueError(f"detect_scale must be between 0.05 and 4, got {detect_scale}")
        # The source first: a bad source fails before the slower model and detector set-up.
        self.source = source if isinstance(source, VideoSource) else VideoSource(
            source, live=live, max_reconnects=max_reconnects)
        self.source.open()
        try:
            self.tracker = create_tracker(tracker or DEFAULT_TRACKER,
                                          violation_labels=violation_labels) \
                if not isinstance(tracker, FaceTracker) else tracker
            if isinstance(model, MaskDetector):
                self.mask_detector = model
            else:
                if isinstance(face_detector, str) and ALIASES.get(face_detector,
                                                                  face_detector) == "yunet":
                    # Video frames are scaled by detect_scale alone: no hidden YuNet upscaling;
                    # a tracker that follows faces through doubtful detections gets them.
                    floor = self.tracker.detection_floor
                    face_detector = create_face_detector(
                        face_detector, upscale_to=0,
                        **({} if floor is None else {"score_threshold": floor}))
                self.mask_detector = MaskDetector(
                    model, face_detector=face_detector, min_face=min_face,
                    min_face_score=min_face_score, min_confidence=min_confidence)
            self.classes = self.mask_detector.classes
            self._log = ComplianceLog(csv_log, self.classes) if csv_log is not None else None
        except BaseException:
            self.source.close()
            raise
        self.every = int(every)
        self.detect_scale = float(detect_scale)
        self.classify_every = int(classify_every)
        if self.tracker.min_confidence is None:
            # A track's smoothed label counts from the confidence a photo's face does.
            self.tracker.min_confidence = dict(self.mask_detector.min_confidence)
        self.stats = ComplianceStats(self.classes, self.tracker.violation_labels,
                                     window=window, min_hits=min_hits)
        self.monitor = None
        if alert_after is not None or on_violation is not None:
            self.monitor = ViolationMonitor(3.0 if alert_after is None else alert_after,
                                            on_violation, snapshot_dir)
        self.annotate = annotate
        self.stop = stop
        self.summary = StreamSummary(source=self.source.name)
        self._blas = _single_thread_blas()
        self._started = False
        self._closed = False
        self._close_requested = False

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[FrameResult]:
        if self._started:
            raise RuntimeError("a MaskStream can be iterated over only once")
        self._started = True
        return self._results()

    def _results(self) -> Iterator[FrameResult]:
        start = time.perf_counter()
        ticks: deque[float] = deque([start], maxlen=_FPS_WINDOW + 1)
        ended = False
        try:
            for sf in self.source.frames(self.stop):
                yield self._process(sf.index, sf.time, sf.image, ticks)
                self._update_summary(start)
            ended = not (self._close_requested or (self.stop is not None
                                                   and self.stop.is_set()))
        except Exception as exc:
            self.summary.error = str(exc)
            ended = True
            raise
        finally:
            self.summary.stopped = not ended
            self._finish(start)

    def _process(self, index: int, t: float, frame: np.ndarray,
                 ticks: deque[float]) -> FrameResult:
        h, w = frame.shape[:2]
        detected = self.summary.processed % self.every == 0
        if detected:
            tracks = self.tracker.update(
                self.mask_detector.find_faces(frame, self.detect_scale), index, t, image=frame)
            self.stats.finish_tracks(self.tracker.finished)
            interval = self.classify_every * self.every
            due = [tr for tr in tracks
                   if tr.classified_frame is None or index - tr.classified_frame >= interval]
            if due:
                faces = Detections(boxes=np.array([tr.box for tr in due]),
                                   face_scores=[tr.face_score for tr in due])
                with self._blas():
                    classified = self.mask_detector.classify(frame, faces)  # one batch call
                for tr, proba in zip(due, classified.probabilities):
                    self.tracker.add_classification(tr, proba, self.classes, index, t)
        else:
            tracks = self.tracker.predict(index)
        tracks = [tr for tr in tracks if tr.confident]
        self.tracker.observe(tracks)
        dets = FaceTracker.to_detections(tracks, self.classes).clip(w, h)
        compliance = self.stats.update(t, [] if dets.labels is None else dets.labels)
        ticks.append(time.perf_counter())
        fps = (len(ticks) - 1) / (ticks[-1] - ticks[0]) if len(ticks) > 1 else 0.0
        annotated = None
        if self.annotate:
            annotated = annotate(frame, dets)
            rate = "" if compliance.rate is None else f"  masked {compliance.rate:.0%}"
            draw_status(annotated, f"{fps:.1f} fps  faces {len(dets)}{rate}")
        alerts = self.monitor.check(tracks, index, t, frame) if self.monitor else []
        if self._log is not None:
            self._log.write(index, t, compliance, fps, self.source.dropped)
        self.summary.processed += 1
        return FrameResult(index=index, time=t, detections=dets, compliance=compliance,
                           fps=fps, dropped=self.source.dropped,
                           unreadable=self.source.unreadable, detected=detected, frame=frame,
                           annotated=annotated, alerts=alerts)

    def _update_summary(self, start: float) -> None:
        s, src = self.summary, self.source
        s.frames_read, s.dropped, s.unreadable = src.frames_read, src.dropped, src.unreadable
        s.reconnects, s.reconnect_attempts = src.reconnects, src.reconnect_attempts
        s.frames_expected, s.ended_early = src.frame_count, src.ended_early
        s.seconds = time.perf_counter() - start
        s.compliance_rate = self.stats.overall_rate
        s.alerts = self.monitor.fired if self.monitor else 0

    def _finish(self, start: float) -> None:
        if self._closed:
            return
        self._closed = True
        self.source.close()
        if self._log is not None:
            self._log.close()
        self.stats.finish_tracks(self.tracker.tracks)
        self._update_summary(start)
        self.summary.tracks = self.stats.distinct_summary()

    # -- other ways to run ------------------------------------------------------------------
    def run(self, callback: Callable[[FrameResult], Any] | None = None) -> StreamSummary:
        """Process the whole source, calling ``callback`` with each result (a callback that
        returns False stops the run); returns the summary."""
        results = iter(self)
        try:
            for result in results:
                if callback is not None and callback(result) is False:
                    break
        finally:
            results.close()  # type: ignore[attr-defined]
        return self.summary

    def close(self) -> None:
        """Stop and release the source (a stream never iterated is closed here too)."""
        self._close_requested = True
        if not self._started:
            self._started = True
            self._finish(time.perf_counter())
            self.summary.stopped = True
        else:
            self.source.close()

    def __enter__(self) -> MaskStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stream(
    source: str | int | os.PathLike | VideoSource,
    model: Classifier | MaskDetector | str | os.PathLike | None = None,
    face_detector: FaceDetector | str = "yunet",
    **options: Any,
) -> MaskStream:
    """Detect masks in a video file, camera or network stream, frame by frame.

    Args:
        source: a camera index (``0``), a stream URL (``rtsp://``, ``http://``, ...), a video
            file, or a :class:`~maskdet.video.io.VideoSource`.
        model: a model bundle path, a bundled model's name (``"cnn"``, ``"hog-svm"``), a
            fitted :class:`~maskdet.classifiers.Classifier`, a
            :class:`~maskdet.pipeline.MaskDetector` (whose face detector is then used), or
            None for the bundled default model (see :func:`~maskdet.pretrained.load_model`).
        face_detector: a face detector or its name (``auto``, ``yunet``, ``haar``); YuNet
            runs without its upscaling of small images (use ``detect_scale`` instead).

    Keyword Args:
        every: run the face detector every N frames and move the tracks in between (2: at
            640x480 on 2 cores, YuNet on every frame alone leaves little room for 25 fps).
        detect_scale: resize factor of the frame the detector sees (0.5: half size, faster,
            misses small faces).
        classify_every: classify a tracked face at every Nth detection of it (1).
        min_face, min_face_score: ignore smaller / less certain faces (see MaskDetector).
        min_confidence: leave out tracked faces whose smoothed label is less confident than
            this, one value or per label (see MaskDetector); None: the model's operating
            point. Uncertain faces are not shown, counted or alerted on.
        tracker: a tracker's name (``kalman``, the default; ``iou``, ``bytetrack``, ``norfair``;
            see :mod:`maskdet.video.trackers`) or a configured
            :class:`~maskdet.video.tracking.FaceTracker`.
        violation_labels: labels that count as not complying.
        window: seconds of the rolling compliance rate (10).
        min_hits: detections a track needs to count as a distinct person in the summary (5:
            fewer counted false detections and broken tracks as people on generated clips;
            see BENCHMARKS.md, tracking).
        alert_after: seconds a face must be unmasked before an alert (3 when only
            ``on_violation`` is given).
        on_violation: called once per track with an :class:`~maskdet.video.alerts.Alert`.
        snapshot_dir: folder for alert snapshots.
        csv_log: a CSV file to write one row per processed frame to.
        annotate: also give each frame annotated with boxes, ids and an FPS line.
        live: force live (True) or file (False) reading; default by the kind of source.
        max_reconnects: attempts to reopen a lost live source (5).
        stop: an event that ends the stream after the current frame (see
            :func:`stop_on_signals`).

    Returns:
        a :class:`MaskStream`: iterate over it for :class:`FrameResult` objects; its
        ``summary`` holds the totals.

    Raises:
        MaskdetError: the model cannot be loaded, or the source cannot be opened (one line
            naming it).
        StreamError: during iteration, when a live source is lost for good.

    Example:
        >>> for result in stream(0, model="model.maskdet", every=2):  # doctest: +SKIP
        ...     if result.counts.get("without_mask"):
        ...         print(result.index, result.detections.track_ids)
    """
    return MaskStream(source, model, face_detector, **options)

