"""Video: sources and output files, face tracking, compliance counts, alerts, and the stream
that ties them together.

Modules, each importing only those listed before it (and the stages below video):
``io`` (:class:`VideoSource`, :class:`VideoWriter`, a window), ``motion`` (a box's Kalman
filter), ``appearance`` (what a face looks like, to know it again), ``tracking``
(:class:`FaceTracker`, what every tracker is, and :class:`IouTracker`), ``kalman_tracker``
(:class:`KalmanTracker`, the default) and ``external_trackers`` (ByteTrack, norfair),
``trackers`` (:func:`create_tracker`: trackers by name), ``compliance``
(:class:`ComplianceStats`, the CSV log), ``clips`` (clips with exact ground truth, made from
labelled photos), ``alerts`` (:class:`ViolationMonitor`, :class:`AlertCommand`),
``streaming`` (:func:`stream`, :class:`MaskStream`) and ``tracking_evaluation``
(:func:`evaluate_tracking`: trackers measured on clips).
"""

from .alerts import Alert, AlertCommand, ViolationMonitor
from .compliance import ComplianceLog, ComplianceStats, FrameCompliance
from .io import (
    Display,
    SourceFrame,
    StreamError,
    VideoSource,
    VideoWriter,
    display_problem,
    parse_source,
)
from .kalman_tracker import KalmanTracker
from .streaming import FrameResult, MaskStream, StopRequest, StreamSummary, stop_on_signals, stream
from .trackers import DEFAULT_TRACKER, available_trackers, create_tracker, register_tracker
from .tracking import VIOLATION_LABELS, FaceTracker, IouTracker, Track

__all__ = [
    "DEFAULT_TRACKER",
    "VIOLATION_LABELS",
    "Alert",
    "AlertCommand",
    "ComplianceLog",
    "ComplianceStats",
    "Display",
    "FaceTracker",
    "FrameCompliance",
    "FrameResult",
    "IouTracker",
    "KalmanTracker",
    "MaskStream",
    "SourceFrame",
    "StopRequest",
    "StreamError",
    "StreamSummary",
    "Track",
    "VideoSource",
    "VideoWriter",
    "ViolationMonitor",
    "available_trackers",
    "create_tracker",
    "display_problem",
    "parse_source",
    "register_tracker",
    "stop_on_signals",
    "stream",
]
