"""Faces: detectors that find them in photos, and the crops a classifier sees.

* :mod:`~maskdet.faces.detectors` -- :class:`FaceDetector` and the ``yunet`` and ``haar``
  detectors, by name (:func:`create_face_detector`);
* :mod:`~maskdet.faces.model_file` -- where YuNet's model file comes from;
* :mod:`~maskdet.faces.crops` -- crop geometry: the margin, square boxes, :func:`crop_face`,
  :func:`frame_face`;
* :mod:`~maskdet.faces.extract` -- the face crops of a whole dataset (:func:`extract_faces`).
"""

from .crops import DEFAULT_MARGIN, SCENE_FACE_FRACTION, crop_face, frame_face, square_box
from .detectors import (
    ALIASES,
    DETECTORS,
    YUNET_BOX_ADJUSTMENT,
    CachedFaceDetector,
    FaceDetector,
    HaarDetector,
    YuNetDetector,
    adjust_boxes,
    available_detectors,
    create_face_detector,
)
from .extract import FaceCrops, extract_faces
from .model_file import PACKAGED_YUNET, YUNET_ENV, YUNET_FILENAME, YUNET_SHA256, find_yunet_model

__all__ = [
    "ALIASES",
    "DEFAULT_MARGIN",
    "DETECTORS",
    "PACKAGED_YUNET",
    "SCENE_FACE_FRACTION",
    "YUNET_BOX_ADJUSTMENT",
    "YUNET_ENV",
    "YUNET_FILENAME",
    "YUNET_SHA256",
    "CachedFaceDetector",
    "FaceCrops",
    "FaceDetector",
    "HaarDetector",
    "YuNetDetector",
    "adjust_boxes",
    "available_detectors",
    "create_face_detector",
    "crop_face",
    "extract_faces",
    "find_yunet_model",
    "frame_face",
    "square_box",
]
