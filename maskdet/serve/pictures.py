"""The pictures the service stores and serves -- snapshots, live views, annotated photos --
made in one place, so that none leaves with a face unblurred when ``blur_faces`` is on.

The faces hidden are more than the faces shown: a face the model is unsure of is left out
of the results (the operating point), but it is still a face. So every face the face
detector finds in the picture is hidden too -- the photo's own detections, or, for a camera's
frame, a detection run on the frame being drawn.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..detections import Detections
from ..draw import annotate, blur_faces, draw_status
from ..errors import MaskdetError
from ..faces import FaceDetector


class ImagesOff(MaskdetError):
    """The service runs ``stats_only``: it serves and stores numbers, never an image."""


class Pictures:
    """Draws the faces of a frame -- hidden first when ``blur_faces`` -- with their coloured
    boxes and labels, and encodes JPEGs.

    Args:
        blur_faces: hide every face before drawing the boxes.
        method: ``pixelate`` or ``blur`` (see :func:`maskdet.draw.blur_faces`).
        stats_only: no picture at all: :meth:`render` raises :class:`ImagesOff`.
        face_detector: finds the faces to hide in a frame whose every face is not given
            (None: only the faces given are hidden).
        quality: JPEG quality.
    """

    def __init__(self, blur_faces: bool = True, method: str = "pixelate",
                 stats_only: bool = False, face_detector: FaceDetector | None = None,
                 quality: int = 80) -> None:
        self.blur_faces = blur_faces
        self.method = method
        self.stats_only = stats_only
        self.face_detector = face_detector
        self.quality = quality
        self._lock = threading.Lock()  # a face detector is not thread-safe

    def check(self) -> None:
        if self.stats_only:
            raise ImagesOff("this service runs stats_only: it serves numbers, never an image")

    def hidden(self, image: np.ndarray, faces: Detections,
               found: Detections | None = None) -> Detections:
        """The boxes to hide: ``found`` (every face found in ``image``, the faces shown
        among them), else the faces shown and what the face detector finds in ``image``."""
        if found is not None:
            return found
        if self.face_detector is not None:
            with self._lock:
                found = self.face_detector.detect(image)
        boxes = [d.boxes for d in (faces, found) if d is not None and len(d)]
        if not boxes:
            return Detections.empty()
        stacked = np.concatenate(boxes)
        return Detections(boxes=stacked, face_scores=np.ones(len(stacked)))

    def render(self, image: np.ndarray, faces: Detections, status: str | None = None,
               found: Detections | None = None) -> np.ndarray:
        """A copy of ``image`` with the faces hidden (if ``blur_faces``) and labelled."""
        self.check()
        shown = image
        if self.blur_faces:
            shown = blur_faces(image, self.hidden(image, faces, found), method=self.method)
        out = annotate(shown, faces)
        if status:
            draw_status(out, status)
        return out

    def jpeg(self, image: np.ndarray) -> bytes:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - a uint8 BGR image always encodes
            raise MaskdetError("cannot encode the picture as JPEG")
        return buffer.tobytes()

    def render_jpeg(self, image: np.ndarray, faces: Detections, status: str | None = None,
                    found: Detections | None = None) -> bytes:
        return self.jpeg(self.render(image, faces, status, found))
