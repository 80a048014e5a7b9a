"""A browser's own camera: frames sent over a WebSocket go through :func:`maskdet.stream`
(tracking, label votes, compliance, as a camera's would), and each frame's faces go back.

The browser sends the next frame when it has the answer to the last one, so a session never
queues frames: it runs as fast as the service can answer, and holds one frame at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..classifiers import Classifier
from ..video import MaskStream, SourceFrame, VideoSource, stream
from .photos import PhotoDetector


class PushedFrames(VideoSource):
    """A live video source fed by the caller (:meth:`push`) instead of a device: the stream
    takes the newest frame pushed; a frame pushed over one not yet taken is counted as
    dropped."""

    def __init__(self, name: str = "webcam") -> None:
        super().__init__(name, live=True, max_reconnects=0)
        self._pushed: SourceFrame | None = None
        self._pushed_cond = threading.Condition()
        self._ended = False
        self._start = time.monotonic()
        self._next = 0

    @property
    def name(self) -> str:
        return str(self.source)

    def open(self) -> PushedFrames:
        return self

    def push(self, image: np.ndarray) -> None:
        with self._pushed_cond:
            if self._pushed is not None:
                self.dropped += 1
            self._pushed = SourceFrame(self._next, time.monotonic() - self._start, image)
            self._next += 1
            self.frames_read += 1
            self._pushed_cond.notify_all()

    def frames(self, stop: threading.Event | None = None) -> Iterator[SourceFrame]:
        while True:
            with self._pushed_cond:
                while self._pushed is None and not self._ended and not (
                        stop is not None and stop.is_set()):
                    self._pushed_cond.wait(0.1)
                if self._pushed is None:
                    return
                frame, self._pushed = self._pushed, None
            yield frame

    def close(self) -> None:
        with self._pushed_cond:
            self._ended = True
            self._pushed_cond.notify_all()


class WebcamSession:
    """One browser's stream: :meth:`process` takes an encoded frame and returns its faces.

    Not thread-safe: one frame at a time (the WebSocket's loop calls it in turn).
    """

    def __init__(self, classifier: Classifier, photos: PhotoDetector, face_detector: str,
                 min_confidence: Any = None) -> None:
        self.photos = photos
        self.source = PushedFrames()
        self.stream: MaskStream = stream(self.source, model=classifier,
                                         face_detector=face_detector, every=1,
                                         min_confidence=min_confidence)
        self._results = iter(self.stream)

    def process(self, data: bytes) -> dict[str, Any]:
        """The faces of one encoded frame (JPEG, PNG, WebP), JSON-ready.

        Raises:
            PhotoError: the frame is not an image or too large (the session goes on).
        """
        image = self.photos.decode(data, "frame")
        self.source.push(image)
        result = next(self._results)
        h, w = image.shape[:2]
        out = result.to_dict()
        out.update(width=w, height=h)
        return out

    def close(self) -> None:
        self.source.close()
        self._results.close()  # type: ignore[attr-defined]
