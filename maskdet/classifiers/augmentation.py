"""Random degradations of classifier inputs that real photos show, for training only.

Faces in street photos are small, blurred, badly lit, turned and partly hidden, where face-crop
datasets hold large, sharp, frontal close-ups. :class:`FaceAugmenter` turns a batch of
preprocessed faces (square ``uint8``, gray or colour, as
:class:`~maskdet.classifiers.preprocessing.Preprocessing` makes them) into such faces. Every
backend can use it: the CNN draws a fresh copy of every face each epoch, HOG+SVM adds fixed
extra copies to its training set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceAugmenter:
    """Random, label-preserving changes of square face images.

    Each change is applied to a face with its probability, independently:

    Args:
        flip: mirror left-right.
        rotation: rotate by up to this many degrees either way (with ``zoom`` and ``shift``
            one affine warp, edges reflected): turned heads and loose boxes.
        zoom: scale by a factor in ``[1 - zoom, 1 + zoom]``.
        shift: move by up to this fraction of the side: detector boxes off-centre.
        small: probability of shrinking to ``min_side``..``size`` px and enlarging back,
            as a face a few dozen pixels wide looks after resizing.
        min_side: the smallest side faces are shrunk to.
        blur: probability of a Gaussian blur (sigma 0.5-1.5 px of the input): defocus and
            motion.
        light: probability of a gamma change (0.5-2.2; above 1 darkens) with a contrast
            change of up to 40 %: dim rooms, backlight, overexposure.
        noise: probability of Gaussian sensor noise (sigma 2-10 grey levels).
        jpeg: probability of JPEG compression at quality 15-60.
        occlude: probability of covering a rectangle of 4-16 % of the face with noise or a
            flat colour: hands, hair, other people. Kept small and anywhere in the face, so
            that it cannot pass for a mask.

    Example:
        >>> faces = np.zeros((8, 64, 64, 3), np.uint8)
        >>> FaceAugmenter()(faces, np.random.default_rng(0)).shape
        (8, 64, 64, 3)
    """

    flip: float = 0.5
    rotation: float = 15.0
    zoom: float = 0.12
    shift: float = 0.06
    small: float = 0.35
    min_side: int = 12
    blur: float = 0.2
    light: float = 0.4
    noise: float = 0.2
    jpeg: float = 0.25
    occlude: float = 0.2

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A degraded copy of a batch ``(n, size, size)`` or ``(n, size, size, c)``."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(f"images must be a uint8 batch (n, size, size[, c]), got "
                             f"{images.dtype} {images.shape}")
        out = np.empty_like(images)
        for i, image in enumerate(images):
            out[i] = self.apply(image, rng)
        return out

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One degraded copy of one square face."""
        h, w = image.shape[:2]
        x = image
        if rng.random() < self.flip:
            x = x[:, ::-1]
        x = self._warp(np.ascontiguousarray(x), rng)
        if rng.random() < self.small:
            side = int(rng.integers(min(self.min_side, w), w + 1))
            if side < w:
                x = cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA)
                x = cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < self.blur:
            x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.5, 1.5)))
        if rng.random() < self.light:
            x = self._light(x, rng)
        if rng.random() < self.occlude:
            x = self._occlude(x, rng)
        if rng.random() < self.noise:
            sigma = float(rng.uniform(2, 10))
            x = np.clip(x + rng.normal(0, sigma, x.shape), 0, 255).astype(np.uint8)
        if rng.random() < self.jpeg:
            quality = int(rng.integers(15, 61))
            ok, data = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                x = cv2.imdecode(data, cv2.IMREAD_UNCHANGED).reshape(image.shape)
        return x.reshape(image.shape)

    def _warp(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = x.shape[:2]
        angle = float(rng.uniform(-self.rotation, self.rotation))
        scale = float(rng.uniform(1 - self.zoom, 1 + self.zoom))
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[:, 2] += rng.uniform(-self.shift, self.shift, 2) * (w, h)
        out = cv2.warpAffine(x, matrix, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101)
        return out.reshape(x.shape)

    @staticmethod
    def _light(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        gamma = float(np.exp(rng.uniform(np.log(0.5), np.log(2.2))))
        contrast = float(rng.uniform(0.6, 1.4))
        table = 255.0 * (np.arange(256) / 255.0) ** gamma
        table = np.clip((table - 128.0) * contrast + 128.0, 0, 255).astype(np.uint8)
        return cv2.LUT(x, table)

    @staticmethod
    def _occlude(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = x.shape[:2]
        area = rng.uniform(0.04, 0.16) * h * w
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
        rh = int(np.clip(round(np.sqrt(area * aspect)), 1, h))
        rw = int(np.clip(round(np.sqrt(area / aspect)), 1, w))
        top, left = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
        x = x.copy()
        patch_shape = (rh, rw, *x.shape[2:])
        if rng.random() < 0.5:
            x[top:top + rh, left:left + rw] = rng.integers(0, 256, patch_shape, dtype=np.uint8)
        else:
            color = rng.integers(0, 256, x.shape[2:] or (1,), dtype=np.uint8)
            x[top:top + rh, left:left + rw] = color if x.ndim == 3 else color[0]
        return x

    def to_dict(self) -> dict[str, float]:
        return asdict(self)
