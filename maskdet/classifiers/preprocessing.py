"""The one preprocessing path from a face crop to a classifier's input.

Training and inference both call :meth:`Preprocessing.apply` with the settings stored in the
model bundle, so the two cannot drift apart (no train/serve skew).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from ..faces.crops import DEFAULT_MARGIN

COLOR_MODES = ("gray", "bgr", "rgb")


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept gray (H, W), BGR (H, W, 3) or BGRA (H, W, 4) ``uint8`` images; return BGR."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    raise ValueError(f"images must be H x W x 3 (BGR), got shape {image.shape}")


def center_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an image.

    Face-crop datasets hold portrait and landscape crops whose aspect ratio differs between
    classes (median h/w 1.26 with mask, 0.96 without on ``mask-faces``); stretching them to a
    square would let a model learn the aspect ratio instead of the mask.
    """
    h, w = image.shape[:2]
    if h == w:
        return image
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return image[y : y + side, x : x + side]


@dataclass(frozen=True)
class Preprocessing:
    """Settings of the shared preprocessing: crop margin, square size and colour mode.

    Args:
        size: side of the square classifier input, in pixels.
        color: ``"gray"``, ``"bgr"`` or ``"rgb"``.
        margin: margin around a detected face box when cropping from a scene (fraction of
            the box side on each side); stored so that inference crops like training did.

    Example:
        >>> prep = Preprocessing(size=64, color="gray")
        >>> prep.apply(np.zeros((120, 90, 3), np.uint8)).shape
        (64, 64)
    """

    size: int = 64
    color: str = "gray"
    margin: float = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        if self.color not in COLOR_MODES:
            raise ValueError(f"color must be one of {COLOR_MODES}, got {self.color!r}")
        if int(self.size) < 8:
            raise ValueError(f"size must be at least 8 pixels, got {self.size}")

    def apply(self, image: np.ndarray) -> np.ndarray:
        """One face crop -> ``uint8`` array (size, size) for gray or (size, size, 3)."""
        image = center_square(as_bgr(image))
        side = image.shape[0]
        interpolation = cv2.INTER_AREA if side > self.size else cv2.INTER_LINEAR
        image = cv2.resize(image, (self.size, self.size), interpolation=interpolation)
        if self.color == "gray":
            return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if self.color == "rgb":
            return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return image

    def apply_batch(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Many face crops -> one ``uint8`` array of shape (n, size, size[, 3])."""
        shape = (self.size, self.size) if self.color == "gray" else (self.size, self.size, 3)
        out = np.empty((len(images), *shape), np.uint8)
        for i, image in enumerate(images):
            out[i] = self.apply(image)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(size=int(data["size"]), color=str(data["color"]),
                   margin=float(data.get("margin", DEFAULT_MARGIN)))
