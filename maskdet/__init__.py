"""maskdet: tell whether the people in photos and video wear face masks.

Example:
    >>> import maskdet
    >>> detector = maskdet.MaskDetector()  # doctest: +SKIP
    >>> faces = detector.detect(maskdet.read_image("street.jpg"))  # doctest: +SKIP
    >>> for face in faces:  # doctest: +SKIP
    ...     print(face.box, face.label, face.score)

Layers, each importing only those before it: ``data`` -> ``faces`` -> ``preprocessing`` ->
``augmentation`` -> ``classifiers`` -> ``pretrained`` -> ``pipeline`` -> ``cli``. TensorFlow is
imported only by the ``cnn`` backend.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .alerts import Alert, AlertCommand, ViolationMonitor
from .classifiers import (
    Classifier,
    available_backends,
    create_classifier,
    load_classifier,
    read_manifest,
    register_backend,
)
from .compliance import ComplianceStats
from .data import Dataset, Sample, load_dataset, load_image_folder, load_voc, split_dataset
from .detections import Detections, Face
from .errors import (
    BackendError,
    BundleError,
    DatasetError,
    DetectorUnavailableError,
    ImageReadError,
    MaskdetError,
)
from .evaluation import evaluate_classifier
from .faces import (
    FaceDetector,
    HaarDetector,
    YuNetDetector,
    create_face_detector,
    crop_face,
    extract_faces,
    frame_face,
)
from .images import read_image
from .pipeline import MaskDetector, annotate
from .preprocessing import Preprocessing
from .pretrained import available_models, load_model
from .streaming import FrameResult, MaskStream, StreamSummary, stop_on_signals, stream
from .tracking import FaceTracker, Track
from .training import train
from .video import StreamError, VideoSource, VideoWriter

try:
    __version__ = version("maskdet")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
    "Alert",
    "AlertCommand",
    "BackendError",
    "BundleError",
    "Classifier",
    "ComplianceStats",
    "Dataset",
    "DatasetError",
    "Detections",
    "DetectorUnavailableError",
    "Face",
    "FaceDetector",
    "FaceTracker",
    "FrameResult",
    "HaarDetector",
    "ImageReadError",
    "MaskDetector",
    "MaskStream",
    "MaskdetError",
    "Preprocessing",
    "Sample",
    "StreamError",
    "StreamSummary",
    "Track",
    "VideoSource",
    "VideoWriter",
    "ViolationMonitor",
    "YuNetDetector",
    "annotate",
    "available_backends",
    "available_models",
    "create_classifier",
    "create_face_detector",
    "crop_face",
    "evaluate_classifier",
    "extract_faces",
    "frame_face",
    "load_classifier",
    "load_dataset",
    "load_image_folder",
    "load_model",
    "load_voc",
    "read_image",
    "read_manifest",
    "register_backend",
    "split_dataset",
    "stop_on_signals",
    "stream",
    "train",
    "__version__",
]
