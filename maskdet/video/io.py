"""Video in and out: files, cameras and network streams; video files written atomically; a
window on screen.

:class:`VideoSource` reads a video file frame by frame (no frame is ever skipped), or a live
source -- a camera index such as ``0`` or a stream URL (``rtsp://``, ``http://``, ...) -- in a
background thread that keeps only the newest frame, so that slow processing never falls behind
real time; the frames it overwrote are counted as dropped. A live source that stops delivering
is reopened with exponential backoff, a bounded number of times. Frames that cannot be decoded
are skipped and counted.

:class:`VideoWriter` writes to a hidden temporary file next to the target and renames it into
place when closed, so that a finished file is always complete and playable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import MaskdetError, opencv_reason
from ..files import AtomicFile

logger = logging.getLogger(__name__)

#: URL schemes read as live network streams.
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "mms")

#: Video codec (FourCC) by output file extension.
FOURCC_BY_EXTENSION = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v",
                       ".avi": "MJPG"}

_NETWORK_TIMEOUT_MS = 10_000


class StreamError(MaskdetError):
    """A live source was lost and could not be reopened."""


@dataclass(frozen=True)
class SourceFrame:
    """One decoded frame: its number in the source, its time in seconds, the BGR image."""

    index: int
    time: float
    image: np.ndarray


def parse_source(source: str | int | os.PathLike) -> tuple[str, int | str]:
    """``("camera", index)``, ``("url", url)`` or ``("file", path)`` for a source argument.

    A whole number (``0`` or ``"0"``) is a camera index; ``scheme://...`` with a streaming
    scheme is a URL; anything else is a file (``/dev/video0`` included).
    """
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return "camera", int(source)
    text = os.fspath(source)
    if isinstance(text, bytes):
        text = text.decode()
    if re.fullmatch(r"\d+", text.strip()):
        return "camera", int(text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in STREAM_SCHEMES:
        return "url", text
    if scheme == "file":
        return "file", text[len("file://"):]
    return "file", text


def _quiet_opencv():
    """Silence OpenCV's own messages (a missing camera prints several) while opening: the
    caller reports a failure in one line of its own."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def quiet():
        level = log.getLogLevel()
        log.setLogLevel(log.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            log.setLogLevel(level)

    return quiet()


def open_capture(target: int | str) -> Any:
    """The default capture factory: ``cv2.VideoCapture`` with network timeouts for URLs."""
    with _quiet_opencv():
        if isinstance(target, int):
            return cv2.VideoCapture(target)
        if parse_source(target)[0] == "url":
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _NETWORK_TIMEOUT_MS,
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, _NETWORK_TIMEOUT_MS]
            return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        return cv2.VideoCapture(target)


def _as_frame(image: Any) -> np.ndarray | None:
    """The image as ``uint8`` BGR (H, W, 3), or None when it is not a usable frame."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        return None
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return None


class VideoSource:
    """A video file, a camera or a network stream, read frame by frame.

    Args:
        source: a camera index (``0``), a stream URL, or a video file.
        live: treat the source as live (newest frame only, drops counted, wall-clock times,
            reconnects); None: cameras and URLs are live, files are not, nor URLs of videos
            whose length is known (remote files).
        max_reconnects: attempts to reopen a lost live source before giving up (0: none).
        reconnect_delay: seconds before the first attempt; doubles with each attempt...
        max_reconnect_delay: ...up to this.
        max_unreadable: consecutive failed reads after which a file is taken to have ended
            and a live source to be lost.
        capture_factory: opens the target (an int or a str) and returns an object with
            ``cv2.VideoCapture``'s ``isOpened``, ``read``, ``get`` and ``release``.
        clock: seconds, for the times of live frames (default ``time.monotonic``).
        wait: waits out a reconnect delay, ``wait(seconds) -> bool``, True when the source
            is being closed meanwhile (default: a sleep that :meth:`close` cuts short). With
            ``clock``, a test's fake clock (as camera watchdog tests do).

    Attributes (updated while reading): ``frames_read``, ``dropped``, ``unreadable``,
    ``reconnects`` (successful), ``reconnect_attempts``; ``frame_count``, the frames a file
    declares (None when unknown), and ``ended_early``, True once a file has ended before
    its declared length (truncated, or damaged at the end).

    Raises:
        MaskdetError: from :meth:`open`, with one line naming the source, when it cannot be
            opened.

    Example:
        >>> with VideoSource("street.mp4").open() as source:  # doctest: +SKIP
        ...     for frame in source.frames():
        ...         print(frame.index, frame.time, frame.image.shape)
    """

    def __init__(
        self,
        source: str | int | os.PathLike,
        live: bool | None = None,
        max_reconnects: int = 5,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 8.0,
        max_unreadable: int = 25,
        capture_factory: Callable[[int | str], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.source = source
        self.kind, self.target = parse_source(source)
        self.live = (self.kind != "file") if live is None else bool(live)
        self._live_given = live
        self.max_reconnects = max_reconnects
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.max_unreadable = max_unreadable
        self.capture_factory = capture_factory or open_capture
        self.clock = clock
        self.frames_read = 0
        self.dropped = 0
        self.unreadable = 0
        self.reconnects = 0
        self.reconnect_attempts = 0
        self.error: str | None = None
        self.fps: float | None = None
        self.size: tuple[int, int] | None = None
        self.frame_count: int | None = None
        self.ended_early = False
        self._cap: Any = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._latest: SourceFrame | None = None
        self._finished = False
        self._closing = threading.Event()
        self._wait = wait or self._closing.wait
        self._warned_unreadable = False
        self._outage_attempts = 0  # reconnect attempts since the last good frame

    @property
    def name(self) -> str:
        return f"camera {self.target}" if self.kind == "camera" else str(self.target)

    # -- opening ----------------------------------------------------------------------------
    def open(self) -> VideoSource:
        """Open the source; returns ``self``."""
        if self._cap is not None:
            return self
        if self.kind == "file":
            path = Path(self.target)
            if not path.exists():
                raise MaskdetError(f"{path}: no such file")
            if path.is_dir():
                raise MaskdetError(f"{path}: is a folder, not a video")
        cap = self._make_capture()
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            reason = {
                "camera": "no such camera, no permission, or it is in use",
                "url": "unreachable, refused, or not a video stream",
                "file": "not a video, or a format OpenCV cannot decode",
            }[self.kind]
            raise MaskdetError(f"{self.name}: cannot open ({reason})")
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0)
        self.fps = fps if 1.0 <= fps <= 240.0 else None
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
                                                                 or 0)
        self.size = (w, h) if w > 0 and h > 0 else None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if self.kind == "url" and self._live_given is None and count > 0 and self.fps:
            # A URL with a length is a remote file, not a live stream: read every frame, and
            # do not "reconnect" (restart it) at its end.
            logger.info("%s: a video of %d frames, read as a file", self.name, count)
            self.live = False
        self.frame_count = count if count > 0 and not self.live else None
        return self

    def _make_capture(self) -> Any:
        try:
            return self.capture_factory(self.target)
        except (cv2.error, OSError) as exc:
            logger.debug("%s: opening failed: %s", self.name, exc)
            return None

    # -- reading ----------------------------------------------------------------------------
    def frames(self, stop: threading.Event | None = None) -> Iterator[SourceFrame]:
        """The frames of the source, until it ends, ``stop`` is set or :meth:`close`.

        Raises:
            StreamError: a live source was lost and could not be reopened.
        """
        self.open()
        if self.live:
            yield from self._live_frames(stop)
        else:
            yield from self._file_frames(stop)

    def _skipped(self, n: int, index: int) -> None:
        self.unreadable += n
        if not self._warned_unreadable:
            logger.warning("%s: skipped an unreadable frame near frame %d (further ones are "
                           "only counted)", self.name, index)
            self._warned_unreadable = True

    def _file_frames(self, stop: threading.Event | None) -> Iterator[SourceFrame]:
        index = 0
        failures = 0  # failed reads: unreadable frames if a good one follows, else the end
        while not self._closing.is_set() and not (stop is not None and stop.is_set()):
            ok, image = self._cap.read()
            if not ok:
                failures += 1
                if failures > self.max_unreadable:
                    self._check_length(index)
                    break
                continue
            frame = _as_frame(image)
            if frame is None:
                self._skipped(1, index + failures)
                index += 1
                continue
            if failures:
                self._skipped(failures, index)
                index += failures
                failures = 0
            t = index / self.fps if self.fps else float(self._cap.get(cv2.CAP_PROP_POS_MSEC)
                                                        or 0) / 1000.0
            self.frames_read += 1
            yield SourceFrame(index, t, frame)
            index += 1

    def _check_length(self, frames: int) -> None:
        """The reads failed for good: the file ended. Short of its declared length, it was
        cut off or damaged (a truncated MJPG .avi reads half and then fails)."""
        if self.frame_count is not None and frames < self.frame_count:
            self.ended_early = True
            logger.warning("%s: the file ended after frame %d of the %d it declares "
                           "(truncated or damaged)", self.name, frames, self.frame_count)

    def _live_frames(self, stop: threading.Event | None) -> Iterator[SourceFrame]:
        if self._thread is None:
            self._t0 = self.clock()
            self._thread = threading.Thread(target=self._capture, name="maskdet-capture",
                                            daemon=True)
            self._thread.start()
        while True:
            with self._cond:
                while (self._latest is None and not self._finished
                       and not (stop is not None and stop.is_set())):
                    # A short timeout: a signal handler that sets `stop` is noticed promptly.
                    self._cond.wait(0.1)
                if stop is not None and stop.is_set():
                    return
                if self._latest is None:  # finished and nothing left
                    break
                item, self._latest = self._latest, None
            yield item
        if self.error:
            raise StreamError(self.error)

    def _capture(self) -> None:
        """Capture thread: read continuously, keep the newest frame, count the drops."""
        seq = 0
        failures = 0
        try:
            while not self._closing.is_set():
                ok, image = self._cap.read()
                frame = _as_frame(image) if ok else None
                if frame is None:
                    failures += 1
                    if failures <= self.max_unreadable and ok:
                        continue  # a frame came but is unusable: skip it
                    if failures < 3 and self._cap.isOpened():
                        continue  # one failed read is not yet a lost stream
                    if not self._reconnect():
                        break
                    failures = 0
                    continue
                if failures:
                    self._skipped(failures, seq)
                    seq += failures
                    failures = 0
                self._outage_attempts = 0
                stamp = self.clock() - self._t0
                with self._cond:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = SourceFrame(seq, stamp, frame)
                    self.frames_read += 1
                    self._cond.notify_all()
                seq += 1
        except Exception as exc:  # an OpenCV failure ends the stream with a message
            self.error = f"{self.name}: reading failed ({exc})"
        finally:
            if self._cap is not None:
                self._cap.release()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _reconnect(self) -> bool:
        """Reopen the source with exponential backoff. The attempts are counted until a
        frame arrives, so a source that reopens but gives nothing is given up too."""
        if self.max_reconnects <= 0:
            self.error = f"{self.name}: stream lost (reconnecting is off)"
            return False
        while self._outage_attempts < self.max_reconnects:
            self._outage_attempts += 1
            attempt = self._outage_attempts
            delay = min(self.max_reconnect_delay, self.reconnect_delay * 2 ** (attempt - 1))
            logger.warning("%s: stream lost; reconnecting in %.1f s (attempt %d of %d)",
                           self.name, delay, attempt, self.max_reconnects)
            if self._wait(delay) or self._closing.is_set():
                return False
            self.reconnect_attempts += 1
            self._cap.release()
            cap = self._make_capture()
            if cap is not None and cap.isOpened():
                self._cap = cap
                self.reconnects += 1
                logger.warning("%s: reconnected", self.name)
                return True
            if cap is not None:
                cap.release()
        self.error = (f"{self.name}: stream lost; gave up after {self.max_reconnects} "
                      "reconnect attempts")
        return False

    # -- closing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop reading and release the source (waits up to 2 s for the capture thread)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():  # blocked in a network read; it ends on its timeout
                logger.debug("%s: capture thread still busy; left to finish", self.name)
        elif self._cap is not None:
            self._cap.release()

    def __enter__(self) -> VideoSource:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


class VideoWriter:
    """Writes frames to a video file, atomically: to a hidden temporary file in the same
    folder, renamed into place by :meth:`close` (also on an exception or Ctrl-C, so that
    every frame written is kept and the file is playable).

    The codec follows the extension: ``mp4v`` for ``.mp4``/``.m4v``/``.mov``/``.mkv``,
    ``MJPG`` for ``.avi``. The frame size is taken from the first frame; later frames of
    another size are resized to it.

    Args:
        path: the video file to write.
        fps: frames per second recorded in the file.
        fourcc: a four-letter codec code, overriding the extension's.

    Example:
        >>> with VideoWriter("out.mp4", fps=25) as writer:  # doctest: +SKIP
        ...     writer.write(frame)
    """

    def __init__(self, path: str | os.PathLike, fps: float = 25.0,
                 fourcc: str | None = None) -> None:
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if fourcc is None and ext not in FOURCC_BY_EXTENSION:
            raise MaskdetError(f"{self.path}: unsupported video file extension; use one of "
                               f"{', '.join(FOURCC_BY_EXTENSION)}")
        folder = self.path.parent
        if not folder.is_dir():
            raise MaskdetError(f"{self.path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise MaskdetError(f"{self.path}: folder {folder} is not writable")
        self.fps = float(fps)
        self.fourcc = fourcc or FOURCC_BY_EXTENSION[ext]
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self._writer: cv2.VideoWriter | None = None
        self._out: AtomicFile | None = None
        self.closed = False

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR ``uint8`` frame."""
        if self.closed:
            raise ValueError(f"{self.path}: writer is closed")
        if self._writer is None:
            h, w = frame.shape[:2]
            self._out = AtomicFile(self.path)
            self._writer = cv2.VideoWriter(str(self._out.tmp),
                                           cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
            if not self._writer.isOpened():
                self._writer = None
                self._out.discard()
                raise MaskdetError(f"{self.path}: cannot write video with codec "
                                   f"{self.fourcc} (not available in this OpenCV)")
            self.size = (w, h)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> Path | None:
        """Finish the file and move it into place; returns its path, or None if no frame
        was written (no file is made then)."""
        if self.closed:
            return self.path if self.frames else None
        self.closed = True
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        self._out.commit()
        self._check()
        return self.path

    def _check(self) -> None:
        cap = cv2.VideoCapture(str(self.path))
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
        finally:
            cap.release()
        if count != self.frames:
            logger.warning("%s: reopened with %d frames, %d were written", self.path,
                           count, self.frames)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def display_problem() -> str | None:
    """Why a window cannot be shown here, or None if it probably can."""
    gui = re.search(r"GUI:\s*(\S+)", cv2.getBuildInformation())
    if gui and gui.group(1).upper() == "NONE":
        return "this OpenCV build has no GUI support (a headless build)"
    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set)"
    return None


class Display:
    """A window showing frames; :meth:`show` returns False once the user closes it or presses
    ``q`` or Esc.

    Raises:
        MaskdetError: when no window can be opened here (see :func:`display_problem`).
    """

    def __init__(self, title: str = "maskdet") -> None:
        problem = display_problem()
        if problem:
            raise MaskdetError(f"cannot show video: {problem}")
        self.title = title
        self._opened = False

    def show(self, image: np.ndarray) -> bool:
        try:
            cv2.imshow(self.title, image)
            key = cv2.waitKey(1) & 0xFF
            if self._opened and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return False
        except cv2.error as exc:
            raise MaskdetError(f"cannot show video: {opencv_reason(exc)}") from None
        self._opened = True
        return key not in (ord("q"), 27)

    def close(self) -> None:
        if self._opened:
            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            self._opened = False
