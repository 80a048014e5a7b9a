"""Violation alerts: tell once when a tracked face has been unmasked for a while.

:class:`ViolationMonitor` watches the tracks of each frame; when a track's smoothed label has
been a violation label for at least ``after`` seconds it saves a snapshot, calls the callback
with an :class:`Alert`, and never alerts for that track again (debounced: a flickering label
cannot fire twice, and a face that stays unmasked fires once). :class:`AlertCommand` is a
callback that runs a shell command, as ``maskdet video --on-violation CMD`` does.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..draw import annotate
from ..errors import MaskdetError, OutputLocationError
from ..images import write_image
from .tracking import FaceTracker, Track

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """A track that has been unmasked for at least the alert delay."""

    track_id: int
    label: str
    since: float
    """Time (s) since which the face has been unmasked."""
    time: float
    """Time (s) of the frame that raised the alert."""
    frame: int
    box: tuple[int, int, int, int]
    snapshot: Path | None
    """An image of the frame with the face marked, if a snapshot folder was given."""

    @property
    def duration(self) -> float:
        return self.time - self.since

    def to_dict(self) -> dict[str, Any]:
        return {"track": self.track_id, "label": self.label, "since": round(self.since, 3),
                "time": round(self.time, 3), "duration": round(self.duration, 3),
                "frame": self.frame, "box": list(self.box),
                "snapshot": None if self.snapshot is None else str(self.snapshot)}


class ViolationMonitor:
    """Fires one :class:`Alert` per track unmasked for at least ``after`` seconds.

    Args:
        after: seconds a track must stay unmasked (smoothed label) before it alerts.
        callback: called with each alert; its exceptions are logged, not raised, so that a
            failing alert handler does not stop the video.
        snapshot_dir: folder for snapshot images (created if needed), or None for none. A
            snapshot that cannot be written is a warning; the alert still fires.

    Raises:
        OutputLocationError: ``snapshot_dir`` is a file.
    """

    def __init__(self, after: float = 3.0, callback: Callable[[Alert], Any] | None = None,
                 snapshot_dir: str | os.PathLike | None = None) -> None:
        self.after = after
        self.callback = callback
        if snapshot_dir is not None and Path(snapshot_dir).exists() \
                and not Path(snapshot_dir).is_dir():
            raise OutputLocationError(f"{snapshot_dir}: snapshot folder exists and is not a "
                                      "folder")
        self.snapshot_dir = snapshot_dir
        self.fired = 0

    def check(self, tracks: Sequence[Track], frame: int, time: float,
              image: np.ndarray | None = None) -> list[Alert]:
        """Alerts for the tracks of one frame that just passed the delay."""
        alerts = []
        for t in tracks:
            # The tolerance: frame times are index / fps, so 1.4 - 0.4 may fall short of 1.0.
            if (t.alerted or t.unmasked_since is None
                    or time - t.unmasked_since < self.after - 1e-6):
                continue
            t.alerted = True
            box = tuple(int(round(v)) for v in t.box)
            snapshot = self._snapshot(t, frame, image) if image is not None else None
            alert = Alert(track_id=t.track_id, label=str(t.label), since=t.unmasked_since,
                          time=time, frame=frame, box=box, snapshot=snapshot)  # type: ignore
            self.fired += 1
            alerts.append(alert)
            if self.callback is not None:
                try:
                    self.callback(alert)
                except Exception:  # a user's handler must not end the stream
                    logger.exception("the violation callback failed for track %d", t.track_id)
        return alerts

    def _snapshot(self, track: Track, frame: int, image: np.ndarray) -> Path | None:
        if self.snapshot_dir is None:
            return None
        folder = Path(self.snapshot_dir)
        path = folder / f"track-{track.track_id}-frame-{frame}.jpg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_image(path, annotate(image, FaceTracker.to_detections([track])))
        except (OSError, MaskdetError) as exc:  # a full disk must not end the video
            logger.warning("%s: cannot write the snapshot (%s)", path,
                           getattr(exc, "strerror", None) or exc)
            return None
        return path


class AlertCommand:
    """An alert callback that runs a shell command, without waiting for it.

    In ``command``, ``{track}``, ``{label}``, ``{snapshot}``, ``{duration}``, ``{time}`` and
    ``{frame}`` are replaced by the alert's values (shell-quoted); the same values are in the
    environment as ``MASKDET_TRACK``, ``MASKDET_LABEL``, ``MASKDET_SNAPSHOT``,
    ``MASKDET_DURATION``, ``MASKDET_TIME`` and ``MASKDET_FRAME``. The command's output goes to
    stderr, so that ``--json`` output stays clean; it runs in its own session, so that Ctrl-C
    on the video does not cut an alert short. ``env`` adds variables of the caller's (the
    service's ``MASKDET_CAMERA``).

    Example:
        >>> AlertCommand('notify-send "no mask: track {track}"')  # doctest: +SKIP
    """

    def __init__(self, command: str, stdout: Any = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = command
        self.stdout = stdout
        self.env = dict(env or {})
        self._running: list[subprocess.Popen] = []
        self.started = 0
        self.failed = 0

    def __call__(self, alert: Alert) -> None:
        self._reap()
        values = {
            "track": str(alert.track_id),
            "label": alert.label,
            "snapshot": "" if alert.snapshot is None else str(alert.snapshot),
            "duration": f"{alert.duration:.2f}",
            "time": f"{alert.time:.3f}",
            "frame": str(alert.frame),
        }
        text = self.command
        for key, value in values.items():
            text = text.replace("{" + key + "}", shlex.quote(value))
        env = {**os.environ, **self.env,
               **{f"MASKDET_{k.upper()}": v for k, v in values.items()}}
        stdout = self.stdout if self.stdout is not None else 2  # the process's own stderr
        try:
            proc = subprocess.Popen(text, shell=True, env=env, stdin=subprocess.DEVNULL,
                                    stdout=stdout, start_new_session=True)
        except OSError as exc:
            self.failed += 1
            logger.warning("cannot run the alert command (%s)", exc)
            return
        self.started += 1
        self._running.append(proc)

    def _reap(self) -> None:
        running = []
        for proc in self._running:
            code = proc.poll()
            if code is None:
                running.append(proc)
            elif code != 0:
                self.failed += 1
                logger.warning("the alert command exited with status %d", code)
        self._running = running

    def close(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` seconds in all) for the commands still running."""
        for proc in self._running:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("the alert command (pid %d) is still running; not waiting",
                               proc.pid)
                timeout = 0.01
        self._reap()
        self._running = [p for p in self._running if p.poll() is None]
