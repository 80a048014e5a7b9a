"""How a face's box moves between detections: a constant-velocity Kalman filter over the box's
centre and size, as in SORT, DeepSORT and ByteTrack, with noise proportional to the box's
size (a small face's box jitters by fewer pixels than a large one's).

Time is counted in video frames: a filter can be asked where the box is any number of frames
after its latest detection, so detection every N frames needs nothing special.
"""

from __future__ import annotations

import numpy as np

#: Noise of a box's position and of its speed per frame, as shares of its size (DeepSORT's
#: weights, 1/20 and 1/160 of the box height).
POSITION_NOISE = 1 / 20
VELOCITY_NOISE = 1 / 160


def _transition(frames: float) -> np.ndarray:
    f = np.eye(8)
    f[:4, 4:] = np.eye(4) * frames
    return f


class BoxKalmanFilter:
    """The state of one box: centre ``cx, cy``, size ``w, h`` and their speeds per frame.

    Args:
        box: the first detected ``x, y, w, h``.
        position_noise, velocity_noise: noise per frame as shares of the box's size.

    Example:
        >>> kf = BoxKalmanFilter([10, 10, 20, 20])
        >>> kf.update([14, 10, 20, 20], frames=2)
        >>> kf.box(frames=2).round(1).tolist()  # moved on at about 2 px a frame
        [16.4, 10.0, 20.0, 20.0]
    """

    def __init__(self, box, position_noise: float = POSITION_NOISE,
                 velocity_noise: float = VELOCITY_NOISE) -> None:
        x, y, w, h = (float(v) for v in box)
        self.position_noise = position_noise
        self.velocity_noise = velocity_noise
        self.mean = np.array([x + w / 2, y + h / 2, w, h, 0, 0, 0, 0], np.float64)
        size = max(w, h, 1.0)
        std = np.r_[np.full(4, 2 * position_noise * size), np.full(4, 10 * velocity_noise * size)]
        self.cov = np.diag(std ** 2)

    def _noise(self, frames: float) -> np.ndarray:
        size = max(self.mean[2], self.mean[3], 1.0)
        std = np.r_[np.full(4, self.position_noise * size),
                    np.full(4, self.velocity_noise * size)]
        return np.diag(std ** 2) * max(frames, 0.0)

    def box(self, frames: float = 0.0) -> np.ndarray:
        """The expected ``x, y, w, h`` ``frames`` frames after the latest update."""
        cx, cy, w, h = self.mean[:4] + self.mean[4:] * frames
        w, h = max(w, 1.0), max(h, 1.0)
        return np.array([cx - w / 2, cy - h / 2, w, h])

    def update(self, box, frames: float = 1.0) -> None:
        """Move the state on by ``frames`` and correct it with a detected ``x, y, w, h``."""
        f = _transition(frames)
        mean = f @ self.mean
        cov = f @ self.cov @ f.T + self._noise(frames)
        x, y, w, h = (float(v) for v in box)
        measured = np.array([x + w / 2, y + h / 2, w, h])
        size = max(w, h, 1.0)
        r = np.eye(4) * (self.position_noise * size) ** 2
        s = cov[:4, :4] + r
        gain = np.linalg.solve(s, cov[:4, :]).T  # cov H' S^-1, with H = [I 0]
        self.mean = mean + gain @ (measured - mean[:4])
        self.cov = cov - gain @ cov[:4, :]


__all__ = ["POSITION_NOISE", "VELOCITY_NOISE", "BoxKalmanFilter"]
