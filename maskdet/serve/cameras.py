"""Cameras: each runs :func:`maskdet.stream` in a thread of its own, watched by a watchdog.

A :class:`CameraWorker` opens its source, iterates the stream (tracking, label votes,
compliance and alerts are the library's) and keeps the numbers the API and the metrics read:
counts that continue across reopenings, rolling compliance over 1 min / 10 min / 1 h, the
newest frame for the live view. The source is opened with the library's own reconnecting
off: the worker reopens it, so that its state says what happens (``starting``, ``live``,
``stalled``, ``reconnecting``, ``failed``, ``paused``, ``ended``). The
:class:`CameraManager`'s watchdog thread marks a camera ``stalled`` when no frame came for
``stall_seconds`` and makes its worker reopen the source with backoff. A slow or dead camera
holds only its own thread: the API, the other cameras and the watchdog go on.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from ..classifiers import Classifier
from ..errors import MaskdetError
from ..video import Alert, FrameResult, MaskStream, SourceFrame, VideoSource, stream
from .config import CameraConfig, ConfigError
from .pictures import Pictures
from .sinks import EventSinks
from .storage import EventLog, SnapshotStore

logger = logging.getLogger(__name__)

#: The rolling compliance windows (name: seconds).
WINDOWS = {"1m": 60, "10m": 600, "1h": 3600}


class RollingCompliance:
    """Compliant and violating face sightings per second over the last hour: the rates of
    the windows, and a series for a chart. Memory: one entry per second with faces."""

    def __init__(self, horizon: float = 3600.0) -> None:
        self.horizon = horizon
        self._seconds: deque[list] = deque()  # [second, compliant, violating]

    def add(self, now: float, compliant: int, violating: int) -> None:
        second = int(now)
        if self._seconds and self._seconds[-1][0] == second:
            self._seconds[-1][1] += compliant
            self._seconds[-1][2] += violating
        elif compliant or violating:
            self._seconds.append([second, compliant, violating])
        while self._seconds and self._seconds[0][0] <= now - self.horizon:
            self._seconds.popleft()

    def rate(self, seconds: float, now: float) -> float | None:
        """The compliant share of the sightings of the last ``seconds`` (None: none)."""
        good = bad = 0
        for second, c, v in reversed(self._seconds):
            if second <= now - seconds:
                break
            good, bad = good + c, bad + v
        return good / (good + bad) if good + bad else None

    def series(self, seconds: float, step: float, now: float) -> list[dict[str, Any]]:
        """``{"time", "rate", "faces"}`` per ``step`` seconds over the last ``seconds``."""
        bins = max(1, int(seconds // step))
        start = now - bins * step
        sums = [[0, 0] for _ in range(bins)]
        for second, c, v in self._seconds:
            i = math.ceil((second - start) / step) - 1  # bins (a, b], as rate()'s window
            if 0 <= i < bins:
                sums[i][0] += c
                sums[i][1] += v
        return [{"time": round(start + (i + 1) * step, 3),
                 "rate": None if c + v == 0 else round(c / (c + v), 4), "faces": c + v}
                for i, (c, v) in enumerate(sums)]


class ZonedSource(VideoSource):
    """A video source whose frames are blacked out outside a polygon (a camera's ``zone``),
    before the face detector sees them."""

    def __init__(self, source: str | int, zone: tuple[tuple[float, float], ...],
                 **options: Any) -> None:
        super().__init__(source, **options)
        self.zone = np.array(zone, np.float32)
        self._mask: np.ndarray | None = None

    def frames(self, stop: threading.Event | None = None) -> Iterator[SourceFrame]:
        for frame in super().frames(stop):
            h, w = frame.image.shape[:2]
            if self._mask is None or self._mask.shape != (h, w):
                self._mask = np.zeros((h, w), np.uint8)
                points = np.round(self.zone * [w - 1, h - 1]).astype(np.int32)
                cv2.fillPoly(self._mask, [points], 255)
            yield SourceFrame(frame.index, frame.time,
                              cv2.bitwise_and(frame.image, frame.image, mask=self._mask))


def redact(source: str | int) -> str | int:
    """A source (or a message naming one) as it may be shown: a URL's password replaced by
    ``***``."""
    if isinstance(source, int):
        return source
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", source)


class CameraWorker:
    """One camera's thread: its stream, its state and its numbers.

    Args:
        config: the camera.
        classifier: the fitted model, shared by every camera (each stream makes its own
            face detector: they are not thread-safe).
        face_detector: the face detector's name.
        min_confidence: the default of cameras that set none.
        on_alert: called in the camera's thread with each alert and the frame's result.
    """

    def __init__(self, config: CameraConfig, classifier: Classifier, face_detector: str = "yunet",
                 min_confidence: Any = None,
                 on_alert: Callable[[CameraWorker, FrameResult, Alert], None] | None = None
                 ) -> None:
        self.config = config
        self.classifier = classifier
        self.face_detector = face_detector
        self.min_confidence = min_confidence
        self.on_alert = on_alert
        self.state = "paused" if config.paused else "starting"
        self.state_since = time.time()
        self.history: deque[tuple[float, str]] = deque([(self.state_since, self.state)],
                                                       maxlen=100)
        self.last_error: str | None = None
        self.frames = 0
        self.alerts = 0
        self.reconnects = 0
        self.loops = 0
        self.fps = 0.0
        self.faces: Counter = Counter(dict.fromkeys(self.classes, 0))
        self.in_view: dict[str, int] = dict.fromkeys(self.classes, 0)
        self.rolling = RollingCompliance()
        self._done = {"dropped": 0, "unreadable": 0}  # of the streams that ended
        self._run = {"dropped": 0, "unreadable": 0}
        self._people_done: Counter = Counter()
        self._people_run: dict[str, int] = {}
        self._lock = threading.Lock()
        self._latest: FrameResult | None = None
        self._seq = 0
        self._picture: tuple[int, bytes] | None = None
        self._picture_lock = threading.Lock()
        self._stream: MaskStream | None = None
        self._run_stop = threading.Event()
        self._opened_at = 0.0
        self._last_frame_at = 0.0
        self._stalled = False
        self._ever_live = False
        self.frames_since_open = 0
        self._paused = threading.Event()
        if config.paused:
            self._paused.set()
        self._removed = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"maskdet-camera-{config.id}",
                                        daemon=True)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.classifier.classes_)

    # -- control ----------------------------------------------------------------------------
    def start(self) -> CameraWorker:
        self._thread.start()
        return self

    def pause(self) -> None:
        """Stop reading (the source is closed) until :meth:`resume`."""
        self._paused.set()
        self._run_stop.set()
        self._wake.set()
        if self._stream is None:
            self._set_state("paused")

    def resume(self) -> None:
        """Read again: after :meth:`pause`, and also a ``failed`` or ``ended`` camera."""
        self._paused.clear()
        self._wake.set()

    def stop(self, timeout: float = 3.0) -> None:
        """End the thread (the source is closed)."""
        self._removed.set()
        self._run_stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def check_stall(self, now: float) -> bool:
        """The watchdog's check: True when no frame came for ``stall_seconds`` while the
        source was open; the worker then reopens it."""
        if self._stream is None or self._run_stop.is_set():
            return False
        last = self._last_frame_at or self._opened_at
        if now - last < self.config.stall_seconds:
            return False
        self._stalled = True
        self._set_state("stalled", f"no frame for {now - last:.1f} s")
        self._run_stop.set()
        return True

    # -- the thread -------------------------------------------------------------------------
    def _set_state(self, state: str, reason: str | None = None) -> None:
        with self._lock:
            if state == self.state:
                return
            self.state, self.state_since = state, time.time()
            self.history.append((self.state_since, state))
        if state in ("stalled", "reconnecting", "failed"):
            logger.warning("camera %s: %s%s", self.id, state,
                           f" ({redact(reason)})" if reason else "")
        else:
            logger.info("camera %s: %s", self.id, state)

    def _wait(self, seconds: float | None) -> None:
        """Sleep until woken (pause, resume, stop) or ``seconds`` pass."""
        self._wake.wait(seconds)
        self._wake.clear()

    def _loop(self) -> None:
        failures = 0
        delay = self.config.reconnect_delay
        # Why the source is opened: first, resume (starting); retry, lost (reconnecting);
        # loop (a file played again: still live).
        why = "first"
        while not self._removed.is_set():
            if self._paused.is_set():
                self._set_state("paused")
                self._wait(None)
                why = "resume"
                continue
            if why != "loop":
                self._set_state("starting" if why in ("first", "resume") else "reconnecting")
            self._run_stop = threading.Event()
            self._stalled = False
            try:
                mask_stream = self._open()
            except MaskdetError as exc:
                failures += 1
                self.last_error = str(exc)
                if self.config.give_up_after and failures >= self.config.give_up_after:
                    self._set_state("failed", f"{failures} attempts: {exc}")
                    self._wait(None)  # until resumed or removed
                    failures, delay, why = 0, self.config.reconnect_delay, "resume"
                    continue
                self._set_state("reconnecting", str(exc))
                self._wait(delay)
                delay = min(self.config.max_reconnect_delay, max(delay * 2, 0.05))
                why = "retry"
                continue
            if why in ("lost", "retry") and self._ever_live:
                self.reconnects += 1
            error = self._play(mask_stream)
            if self._removed.is_set():
                break
            if self.frames_since_open:
                failures, delay = 0, self.config.reconnect_delay
            if self._paused.is_set():
                continue
            if error is not None or self._stalled:
                if error is not None:
                    self.last_error = error
                    self._set_state("stalled", error)
                why = "lost"
                continue
            if self.config.loop and self.frames_since_open:
                self.loops += 1
                why = "loop"
                continue
            self._set_state("ended")
            self._wait(None)  # until resumed (played again) or removed
            why = "resume"

    def _open(self) -> MaskStream:
        options = self.config.stream_options()
        if options["min_confidence"] is None:
            options["min_confidence"] = self.min_confidence
        source: str | int | VideoSource = self.config.source
        if self.config.zone is not None:
            source = ZonedSource(source, self.config.zone, live=options.pop("live", None),
                                 max_reconnects=0)
        return stream(source, model=self.classifier, face_detector=self.face_detector,
                      stop=self._run_stop, max_reconnects=0, **options)

    def _play(self, mask_stream: MaskStream) -> str | None:
        """Iterate one opened stream; the error that ended it, if any."""
        self._stream = mask_stream
        self._opened_at = time.monotonic()
        self._last_frame_at = 0.0
        self.frames_since_open = 0
        error = None
        results = iter(mask_stream)
        try:
            for result in results:
                self._take(result, mask_stream)
        except MaskdetError as exc:
            error = str(exc)
        except Exception as exc:  # a failure of one camera must not end its thread
            logger.exception("camera %s: the stream failed", self.id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            results.close()  # type: ignore[attr-defined]  # the summary is complete
            mask_stream.close()
            with self._lock:
                self._stream = None
                self.fps = 0.0
                for key in self._done:
                    self._done[key] += self._run[key]
                    self._run[key] = 0
                self._people_done.update(mask_stream.summary.tracks)
                self._people_run = {}
        return error

    def _take(self, result: FrameResult, mask_stream: MaskStream) -> None:
        now = time.time()
        self._last_frame_at = time.monotonic()
        self.frames_since_open += 1
        if self.state != "live" and not self._run_stop.is_set():
            self._ever_live = True
            self._set_state("live")
        with self._lock:
            self.frames += 1
            self.fps = result.fps
            self._run["dropped"], self._run["unreadable"] = result.dropped, result.unreadable
            self.faces.update(result.counts)
            self.in_view = dict(result.counts)
            self.rolling.add(now, result.compliance.compliant, result.compliance.violating)
            if result.detected:
                self._people_run = mask_stream.stats.distinct_summary()
            self._latest = result
            self._seq += 1
        for alert in result.alerts:
            self.alerts += 1
            if self.on_alert is not None:
                try:
                    self.on_alert(self, result, alert)
                except Exception:  # an event sink's failure must not stop the camera
                    logger.exception("camera %s: raising the event failed", self.id)

    # -- what the API reads -----------------------------------------------------------------
    def numbers(self, history: bool = False) -> dict[str, Any]:
        """The camera's state and counts, JSON-ready."""
        now = time.time()
        with self._lock:
            people = Counter(self._people_done)
            people.update(self._people_run)
            out = {
                "id": self.id, "name": self.config.title, "source": redact(self.config.source),
                "state": self.state, "state_since": round(self.state_since, 3),
                "last_error": None if self.last_error is None else redact(self.last_error),
                "frames": self.frames,
                "fps": round(self.fps, 2),
                "dropped": self._done["dropped"] + self._run["dropped"],
                "unreadable": self._done["unreadable"] + self._run["unreadable"],
                "reconnects": self.reconnects, "loops": self.loops, "alerts": self.alerts,
                "faces": dict(self.faces), "in_view": dict(self.in_view),
                "people": {k: people.get(k, 0) for k in
                           (*self.classes, "compliant", "violating")},
                "compliance": {name: (None if (r := self.rolling.rate(s, now)) is None
                                      else round(r, 4)) for name, s in WINDOWS.items()},
                "last_frame_age": (None if not self._last_frame_at else
                                   round(time.monotonic() - self._last_frame_at, 3)),
            }
            if history:
                out["states"] = [{"time": round(t, 3), "state": s} for t, s in self.history]
        return out

    def series(self, seconds: float = 600, step: float = 10) -> list[dict[str, Any]]:
        with self._lock:
            return self.rolling.series(seconds, step, time.time())

    @property
    def frame_seq(self) -> int:
        return self._seq

    def picture(self, pictures: Pictures) -> tuple[int, bytes] | None:
        """``(sequence number, JPEG)`` of the newest frame drawn for the live view (each
        frame drawn once, whoever asks); None before the first frame."""
        pictures.check()
        with self._picture_lock:
            with self._lock:
                result, seq = self._latest, self._seq
            if result is None:
                return None
            if self._picture is not None and self._picture[0] == seq:
                return self._picture
            rate = result.compliance.rate
            status = (f"{self.config.title}  {result.fps:.1f} fps  faces {len(result.detections)}"
                      + ("" if rate is None else f"  masked {rate:.0%}"))
            self._picture = (seq, pictures.render_jpeg(result.frame, result.detections, status))
            return self._picture


class CameraManager:
    """The cameras of a service, their watchdog, and what their alerts become: an event
    (kept in ``events``), a snapshot (in ``snapshots``, drawn by ``pictures``) and a
    message to each sink."""

    def __init__(self, classifier: Classifier, face_detector: str, pictures: Pictures,
                 events: EventLog, sinks: EventSinks, snapshots: SnapshotStore | None,
                 min_confidence: Any = None, watch_interval: float = 0.2) -> None:
        self.classifier = classifier
        self.face_detector = face_detector
        self.pictures = pictures
        self.events = events
        self.sinks = sinks
        self.snapshots = snapshots
        self.min_confidence = min_confidence
        self.watch_interval = watch_interval
        self._cameras: dict[str, CameraWorker] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="maskdet-watchdog",
                                          daemon=True)
        self._watchdog.start()

    def add(self, config: CameraConfig) -> CameraWorker:
        """Start a camera.

        Raises:
            ConfigError: a camera of that id exists.
        """
        with self._lock:
            if config.id in self._cameras:
                raise ConfigError(f"camera {config.id!r} exists already")
            worker = CameraWorker(config, self.classifier, self.face_detector,
                                  self.min_confidence, self._raise_event)
            self._cameras[config.id] = worker
        return worker.start()

    def get(self, camera_id: str) -> CameraWorker | None:
        return self._cameras.get(camera_id)

    def remove(self, camera_id: str) -> bool:
        with self._lock:
            worker = self._cameras.pop(camera_id, None)
        if worker is None:
            return False
        worker.stop()
        return True

    def all(self) -> list[CameraWorker]:
        with self._lock:
            return list(self._cameras.values())

    def numbers(self) -> list[dict[str, Any]]:
        return [worker.numbers() for worker in self.all()]

    def _raise_event(self, worker: CameraWorker, result: FrameResult, alert: Alert) -> None:
        snapshot = None
        if self.snapshots is not None and not self.pictures.stats_only:
            snapshot = self.snapshots.save(
                self.pictures.render_jpeg(result.frame, result.detections))
        event = self.events.add(camera=worker.id, track=alert.track_id, label=alert.label,
                                duration=alert.duration, time=time.time(), frame=alert.frame,
                                box=alert.box, snapshot=snapshot)
        logger.info("camera %s: %s for %.1f s (track %d): event %d", worker.id, alert.label,
                    alert.duration, alert.track_id, event.id)
        self.sinks.publish(event)

    def _watch(self) -> None:
        last_purge = time.monotonic()
        while not self._closing.wait(self.watch_interval):
            now = time.monotonic()
            for worker in self.all():
                worker.check_stall(now)
            if self.snapshots is not None and now - last_purge > 60:
                self.snapshots.purge()
                last_purge = now

    def close(self, timeout: float = 3.0) -> None:
        self._closing.set()
        workers = self.all()
        for worker in workers:  # all at once: each may wait for its source
            worker._removed.set()
            worker._run_stop.set()
            worker._wake.set()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.stop(max(0.05, deadline - time.monotonic()))
        with self._lock:
            self._cameras.clear()
        self._watchdog.join(timeout=1.0)
