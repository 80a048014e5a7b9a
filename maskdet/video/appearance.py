"""What a face looks like, as a short unit vector: to know a face again after it was hidden or
out of view, where its box alone cannot tell.

:func:`color_layout` is cheap (tens of microseconds a face) and needs no model: the hue and
saturation histogram of the face and its surroundings (hair, collar, mask), which changes
little with brightness, and the coarse layout of its colours. Any other callable
``(image, boxes) -> (n, d) array`` of unit vectors can take its place (for instance a
network's embedding of the crops).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

#: A function giving one unit vector per box of an image: ``(image, boxes (n, 4)) -> (n, d)``.
AppearanceFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]

_HUE_BINS, _SATURATION_BINS, _GRID = 12, 4, 3
#: How much larger than the face box the region described is (hair, collar, mask straps).
CONTEXT = 1.4


def color_layout(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """One unit vector per ``x, y, w, h`` box of a BGR image: a hue-saturation histogram of the
    region around the face, and its colour (Lab a*, b*) on a 3 x 3 grid; shape (n, 66).

    Example:
        >>> image = np.zeros((50, 50, 3), np.uint8)
        >>> color_layout(image, np.array([[10, 10, 20, 20]])).shape
        (1, 66)
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), _HUE_BINS * _SATURATION_BINS + 2 * _GRID * _GRID), np.float32)
    for i, (x, y, bw, bh) in enumerate(boxes):
        cx, cy = x + bw / 2, y + bh / 2
        half = max(bw, bh) * CONTEXT / 2
        x1, y1 = max(0, int(cx - half)), max(0, int(cy - half))
        x2, y2 = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        patch = cv2.resize(image[y1:y2, x1:x2], (24, 24), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [_HUE_BINS, _SATURATION_BINS],
                            [0, 180, 0, 256]).ravel()
        hist = np.sqrt(hist / max(hist.sum(), 1e-9))  # Hellinger: unit length already
        lab = cv2.resize(cv2.cvtColor(patch, cv2.COLOR_BGR2LAB), (_GRID, _GRID),
                         interpolation=cv2.INTER_AREA)[..., 1:].astype(np.float32) - 128
        layout = lab.ravel()
        layout /= max(float(np.linalg.norm(layout)), 1e-9)
        vector = np.concatenate([hist, 0.7 * layout])
        out[i] = vector / max(float(np.linalg.norm(vector)), 1e-9)
    return out


#: Appearance descriptors by name (``KalmanTracker(appearance=...)``).
APPEARANCES: dict[str, AppearanceFunction] = {"color": color_layout}


__all__ = ["APPEARANCES", "CONTEXT", "AppearanceFunction", "color_layout"]
