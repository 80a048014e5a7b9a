"""Video: sources and output files, face tracking, compliance counts, alerts, and the stream
that ties them together.

Modules, each importing only those listed before it (and the stages below video):
``io`` (:class:`VideoSource`, :class:`VideoWriter`, a window), ``tracking``
(:class:`FaceTracker`), ``compliance`` (:class:`ComplianceStats`, the CSV log), ``alerts``
(:class:`ViolationMonitor`, :class:`AlertCommand`) and ``streaming`` (:func:`stream`,
:class:`MaskStream`).
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
from .streaming import FrameResult, MaskStream, StopRequest, StreamSummary, stop_on_signals, stream
from .tracking import VIOLATION_LABELS, FaceTracker, Track

__all__ = [
    "VIOLATION_LABELS",
    "Alert",
    "AlertCommand",
    "ComplianceLog",
    "ComplianceStats",
    "Display",
    "FaceTracker",
    "FrameCompliance",
    "FrameResult",
    "MaskStream",
    "SourceFrame",
    "StopRequest",
    "StreamError",
    "StreamSummary",
    "Track",
    "VideoSource",
    "VideoWriter",
    "ViolationMonitor",
    "display_problem",
    "parse_source",
    "stop_on_signals",
    "stream",
]
