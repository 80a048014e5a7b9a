"""maskdet: tell whether the people in photos and video wear face masks.

Example:
    >>> import maskdet
    >>> detector = maskdet.MaskDetector("model.maskdet")  # doctest: +SKIP
    >>> faces = detector.detect(maskdet.read_image("street.jpg"))  # doctest: +SKIP
    >>> for face in faces:  # doctest: +SKIP
    ...     print(face.box, face.label, face.score)

Layers, each importing only those before it: ``data`` -> ``faces`` -> ``preprocessing`` ->
``classifiers`` -> ``pipeline`` -> ``cli``. TensorFlow is imported only by the ``cnn`` backend.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .classifiers import (
    Classifier,
    available_backends,
    create_classifier,
    load_classifier,
    read_manifest,
    register_backend,
)
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
)
from .images import read_image
from .pipeline import MaskDetector, annotate
from .preprocessing import Preprocessing
from .training import train

try:
    __version__ = version("maskdet")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
    "BackendError",
    "BundleError",
    "Classifier",
    "Dataset",
    "DatasetError",
    "Detections",
    "DetectorUnavailableError",
    "Face",
    "FaceDetector",
    "HaarDetector",
    "ImageReadError",
    "MaskDetector",
    "MaskdetError",
    "Preprocessing",
    "Sample",
    "YuNetDetector",
    "annotate",
    "available_backends",
    "create_classifier",
    "create_face_detector",
    "crop_face",
    "evaluate_classifier",
    "extract_faces",
    "load_classifier",
    "load_dataset",
    "load_image_folder",
    "load_voc",
    "read_image",
    "read_manifest",
    "register_backend",
    "split_dataset",
    "train",
    "__version__",
]
