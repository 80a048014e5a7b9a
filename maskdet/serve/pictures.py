"""The pictures the service stores and serves -- snapshots, live views, annotated photos --
made in one place, so that none leaves with a face unblurred when ``blur_faces`` is on."""

from __future__ import annotations

import cv2
import numpy as np

from ..detections import Detections
from ..draw import annotate, blur_faces, draw_status
from ..errors import MaskdetError


class ImagesOff(MaskdetError):
    """The service runs ``stats_only``: it serves and stores numbers, never an image."""


class Pictures:
    """Draws the faces of a frame -- pixelated or blurred first when ``blur_faces`` -- with
    their coloured boxes and labels, and encodes JPEGs.

    Args:
        blur_faces: hide every face before drawing its box.
        method: ``pixelate`` or ``blur`` (see :func:`maskdet.draw.blur_faces`).
        stats_only: no picture at all: :meth:`render` raises :class:`ImagesOff`.
        quality: JPEG quality.
    """

    def __init__(self, blur_faces: bool = True, method: str = "pixelate",
                 stats_only: bool = False, quality: int = 80) -> None:
        self.blur_faces = blur_faces
        self.method = method
        self.stats_only = stats_only
        self.quality = quality

    def check(self) -> None:
        if self.stats_only:
            raise ImagesOff("this service runs stats_only: it serves numbers, never an image")

    def render(self, image: np.ndarray, faces: Detections, status: str | None = None
               ) -> np.ndarray:
        """A copy of ``image`` with the faces hidden (if ``blur_faces``) and labelled."""
        self.check()
        shown = blur_faces(image, faces, method=self.method) if self.blur_faces else image
        out = annotate(shown, faces)
        if status:
            draw_status(out, status)
        return out

    def jpeg(self, image: np.ndarray) -> bytes:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - a uint8 BGR image always encodes
            raise MaskdetError("cannot encode the picture as JPEG")
        return buffer.tobytes()

    def render_jpeg(self, image: np.ndarray, faces: Detections, status: str | None = None
                    ) -> bytes:
        return self.jpeg(self.render(image, faces, status))
