"""Trackers by name, as classifiers are by backend: ``create_tracker("kalman")``.

========== ===========================================================================
name       tracker
========== ===========================================================================
kalman     :class:`~maskdet.video.kalman_tracker.KalmanTracker`, the default: Kalman
           motion, doubtful detections kept for known faces, re-identification by look
iou        :class:`~maskdet.video.tracking.IouTracker`, maskdet's first: greedy IoU
centroid   the same, by centre distance
bytetrack  Roboflow ``trackers``' ByteTrack (``maskdet[tracking]``)
norfair    norfair with IoU distance (``maskdet[tracking]``)
========== ===========================================================================

``register_tracker(name, factory)`` adds one.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import MaskdetError
from .external_trackers import ByteTrackTracker, NorfairTracker
from .kalman_tracker import KalmanTracker
from .tracking import FaceTracker, IouTracker

#: The tracker :func:`~maskdet.video.streaming.stream` uses unless told otherwise.
DEFAULT_TRACKER = "kalman"

TRACKERS: dict[str, Callable[..., FaceTracker]] = {
    "kalman": KalmanTracker,
    "iou": IouTracker,
    "centroid": lambda **params: IouTracker(association="centroid", **params),
    "bytetrack": ByteTrackTracker,
    "norfair": NorfairTracker,
}


def available_trackers() -> list[str]:
    """The tracker names :func:`create_tracker` knows."""
    return list(TRACKERS)


def register_tracker(name: str, factory: Callable[..., FaceTracker]) -> None:
    """Make ``create_tracker(name, **params)`` call ``factory(**params)``."""
    TRACKERS[name] = factory


def create_tracker(name: str | FaceTracker = DEFAULT_TRACKER, **params) -> FaceTracker:
    """A tracker by name (see the table above), with its parameters; a tracker is returned
    as it is.

    Raises:
        MaskdetError: an unknown name, or a tracker whose library is not installed.
    """
    if isinstance(name, FaceTracker):
        return name
    if name not in TRACKERS:
        raise MaskdetError(f"unknown tracker {name!r}; choose from "
                           f"{', '.join(available_trackers())}")
    return TRACKERS[name](**params)


__all__ = ["DEFAULT_TRACKER", "TRACKERS", "available_trackers", "create_tracker",
           "register_tracker"]
