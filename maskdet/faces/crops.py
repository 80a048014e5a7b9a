"""Face-crop geometry, shared by training and inference: the margin around a face box, square
boxes, cutting a face out of a photo, and framing a face-folder image on its face."""

from __future__ import annotations

import cv2
import numpy as np

from ..detections import Detections

#: Margin added on each side of a face box before cropping, as a fraction of the box's side.
DEFAULT_MARGIN = 0.2

#: In a face-folder image, a face whose longer side is below this fraction of the image's
#: shorter side is a face in a scene (a group, a street), not a close-up. On ``mask-faces``
#: YuNet's largest face spans 0.95 of the image in the median photo; 306 with_mask and 60
#: without_mask photos fall below 0.4.
SCENE_FACE_FRACTION = 0.4


def square_box(box, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """The square ``x, y, side, side`` centred on ``box`` (x, y, w, h), enlarged by ``margin``
    of the longer side on each side. May extend past the image."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    side_i = max(1, int(round(side)))
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side_i, side_i


def crop_face(image: np.ndarray, box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Cut a square face crop around ``box`` (x, y, w, h) with ``margin``.

    The square is clipped to the image; where it stuck out, the crop is padded by repeating
    the edge pixels, so that the face stays centred and the crop square.
    """
    x, y, side, _ = square_box(box, margin)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    bx, by, bw, bh = (float(v) for v in box)
    # The box itself must touch the image, not only its margin (else the crop is all padding).
    if x2 <= x1 or y2 <= y1 or bx >= w or by >= h or bx + bw <= 0 or by + bh <= 0:
        raise ValueError(f"face box {tuple(box)} lies outside the {w}x{h} image")
    crop = image[y1:y2, x1:x2]
    pads = (y1 - y, (y + side) - y2, x1 - x, (x + side) - x2)
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
    return crop


def frame_face(image: np.ndarray, faces: Detections, margin: float = DEFAULT_MARGIN
               ) -> np.ndarray:
    """The view of a face-folder image that a classifier should see, given the faces found in it.

    * No face found: the image as it is (the classifier's preprocessing takes its centre
      square, as for any face crop).
    * The largest face is small (longer side below :data:`SCENE_FACE_FRACTION` of the image's
      shorter side): the image is a scene, so the face is cropped with ``margin``, as
      :func:`crop_face` cuts faces from photos at inference.
    * Otherwise (a close-up): the largest square of the image, placed as near to centred on
      the face as the image allows -- the same scale as the centre square, but a tall photo
      of a face low in the frame keeps the chin and the mask.
    """
    if not len(faces):
        return image
    h, w = image.shape[:2]
    areas = faces.boxes[:, 2].astype(np.float64) * faces.boxes[:, 3]
    x, y, bw, bh = (float(v) for v in faces.boxes[int(np.argmax(areas))])
    side = min(h, w)
    if max(bw, bh) < SCENE_FACE_FRACTION * side:
        return crop_face(image, (x, y, bw, bh), margin)
    left = int(round(min(max(x + bw / 2 - side / 2, 0), w - side)))
    top = int(round(min(max(y + bh / 2 - side / 2, 0), h - side)))
    return image[top:top + side, left:left + side]
