"""maskdet: tell whether the people in photos and video wear face masks.

Example:
    >>> import maskdet
    >>> mask_detector = maskdet.MaskDetector()  # doctest: +SKIP
    >>> faces = mask_detector.detect(maskdet.read_image("street.jpg"))  # doctest: +SKIP
    >>> for face in faces:  # doctest: +SKIP
    ...     print(face.box, face.label, face.score)

The package is laid out by stage, each importing only the stages before it (a test checks
it): ``errors``, ``files``, ``versions``, ``detections`` -> ``images`` -> ``draw`` -> ``data`` ->
``faces`` -> ``classifiers`` -> ``pretrained`` -> ``pipeline`` -> ``evaluation`` -> ``training``
-> ``video``, ``reports`` -> ``cli``. TensorFlow is imported only by the ``cnn`` backend,
matplotlib only when a report draws a figure.
"""

from __future__ import annotations

from . import samples
from .classifiers import (
    Classifier,
    ModelInfo,
    ModelSettings,
    Preprocessing,
    available_backends,
    create_classifier,
    load_classifier,
    read_manifest,
    read_model_info,
    register_backend,
    upgrade_bundle,
)
from .data import Dataset, Sample, load_dataset, load_image_folder, load_voc, split_dataset
from .detections import Detections, Face
from .draw import annotate
from .errors import (
    BackendError,
    BundleError,
    DatasetError,
    DetectorUnavailableError,
    ImageReadError,
    MaskdetError,
)
from .evaluation import evaluate_classifier, evaluate_model
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
from .pipeline import MaskDetector
from .pretrained import available_models, load_model
from .training import train
from .versions import MASKDET_VERSION as __version__
from .video import (
    Alert,
    AlertCommand,
    ComplianceStats,
    FaceTracker,
    FrameResult,
    MaskStream,
    StreamError,
    StreamSummary,
    Track,
    VideoSource,
    VideoWriter,
    ViolationMonitor,
    stop_on_signals,
    stream,
)

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
    "ModelInfo",
    "ModelSettings",
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
    "evaluate_model",
    "extract_faces",
    "frame_face",
    "load_classifier",
    "load_dataset",
    "load_image_folder",
    "load_model",
    "load_voc",
    "read_image",
    "read_manifest",
    "read_model_info",
    "samples",
    "register_backend",
    "split_dataset",
    "stop_on_signals",
    "stream",
    "train",
    "upgrade_bundle",
    "__version__",
]
