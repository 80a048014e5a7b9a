"""What the service keeps: violation events (in memory, the latest ``max_events``) and their
snapshots (JPEG files in one folder, the latest ``max_snapshots``, none older than
``max_age``), each found by an id the service made, never by a name from a request."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_atomic

logger = logging.getLogger(__name__)

#: A snapshot's id: 32 random hex digits (its file is ``snap-<id>.jpg``).
SNAPSHOT_ID = re.compile(r"[0-9a-f]{32}")
_SNAPSHOT_FILE = re.compile(r"snap-([0-9a-f]{32})\.jpg")


@dataclass(frozen=True)
class Event:
    """A violation alert of a camera: a track unmasked for ``alert_after`` seconds.

    Attributes:
        id: increasing from 1 within a run of the service.
        camera: the camera's id.
        track: the track's id within the camera's current stream.
        label: the violation label (``without_mask``, ...).
        duration: seconds the face had been unmasked when the alert was raised.
        time: when (Unix time, seconds).
        frame: the frame number in the camera's stream.
        box: ``x, y, w, h`` of the face in that frame.
        snapshot: the id of the snapshot, None when none was kept (``stats_only``).
    """

    id: int
    camera: str
    track: int
    label: str
    duration: float
    time: float
    frame: int
    box: tuple[int, int, int, int]
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "camera": self.camera, "track": self.track, "label": self.label,
            "duration": round(self.duration, 3), "time": round(self.time, 3),
            "time_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)),
            "frame": self.frame, "box": list(self.box), "snapshot": self.snapshot,
            "snapshot_url": None if self.snapshot is None else f"/v1/snapshots/{self.snapshot}",
        }


class EventLog:
    """The latest ``max_events`` events, in memory (lost when the service stops)."""

    def __init__(self, max_events: int = 1000) -> None:
        self._events: deque[Event] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._next_id = 1
        self.total = 0

    def add(self, **values: Any) -> Event:
        """Record an event (its id is given here)."""
        values["time"] = round(values["time"], 3)  # as shown: ?since= of a shown time works
        with self._lock:
            event = Event(id=self._next_id, **values)
            self._next_id += 1
            self._events.append(event)
            self.total += 1
        return event

    def since(self, after_id: int = 0, since_time: float | None = None,
              camera: str | None = None, limit: int = 100) -> list[Event]:
        """The events after event ``after_id`` and after ``since_time``, oldest first, at
        most the ``limit`` latest of them."""
        with self._lock:
            events = [e for e in self._events if e.id > after_id
                      and (since_time is None or e.time > since_time)
                      and (camera is None or e.camera == camera)]
        return events[-limit:] if limit else []


class SnapshotStore:
    """Snapshot JPEGs in a folder, by random id, with a bounded count and age.

    Args:
        folder: where the files go; None: a new private temporary folder, removed by
            :meth:`close`. Files of an earlier run in the folder (``snap-<id>.jpg``) are
            taken over, and deleted by the same rules.
        max_age: seconds a snapshot is kept.
        max_count: snapshots kept; the oldest goes first.
    """

    def __init__(self, folder: str | os.PathLike | None = None, max_age: float = 86_400.0,
                 max_count: int = 500) -> None:
        self._temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="maskdet-snapshots-") if folder is None
                           else folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_age = max_age
        self.max_count = max_count
        self._files: OrderedDict[str, tuple[Path, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.deleted = 0
        earlier = []
        for path in self.folder.iterdir():
            match = _SNAPSHOT_FILE.fullmatch(path.name)
            if match and path.is_file():
                earlier.append((path.stat().st_mtime, match.group(1), path))
        for mtime, snap_id, path in sorted(earlier):
            self._files[snap_id] = (path, mtime)
        self.purge()

    def save(self, jpeg: bytes) -> str | None:
        """Keep a JPEG; returns its id (None when it could not be written)."""
        snap_id = secrets.token_hex(16)
        path = self.folder / f"snap-{snap_id}.jpg"
        try:
            write_atomic(path, jpeg)
        except OSError as exc:
            logger.warning("%s: cannot write the snapshot (%s)", path, exc)
            return None
        with self._lock:
            self._files[snap_id] = (path, time.time())
        self.purge()
        return snap_id

    def path(self, snap_id: str) -> Path | None:
        """The file of a snapshot kept, by id; None for any other string."""
        if not SNAPSHOT_ID.fullmatch(snap_id):
            return None
        with self._lock:
            entry = self._files.get(snap_id)
        return entry[0] if entry is not None and entry[0].is_file() else None

    def __len__(self) -> int:
        return len(self._files)

    def purge(self, now: float | None = None) -> int:
        """Delete the snapshots beyond ``max_count`` and older than ``max_age``."""
        now = time.time() if now is None else now
        doomed = []
        with self._lock:
            while self._files:
                snap_id, (path, saved) = next(iter(self._files.items()))
                if len(self._files) <= self.max_count and now - saved <= self.max_age:
                    break
                del self._files[snap_id]
                doomed.append(path)
        for path in doomed:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("%s: cannot delete the old snapshot (%s)", path, exc)
        self.deleted += len(doomed)
        return len(doomed)

    def close(self) -> None:
        """Remove the folder if it was a temporary one."""
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)
            with self._lock:
                self._files.clear()
