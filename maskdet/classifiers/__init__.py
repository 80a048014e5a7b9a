"""Mask classifiers: the common interface, the registry of backends, and model bundles.

Modules, each importing only those listed before it: ``preprocessing`` (face crop -> model
input), ``augmentation`` (training-time degradations), ``info`` (:class:`ModelInfo`, the
typed record of a bundle), ``bundle`` (the file format), ``base`` (:class:`Classifier`),
``registry`` (backends by name, loading bundles), and the backends ``hog_svm`` and ``cnn``.
"""

from .base import Classifier, check_images
from .bundle import read_manifest
from .info import NOT_A_FACE, ModelInfo, ModelSettings
from .preprocessing import Preprocessing
from .registry import (
    available_backends,
    create_classifier,
    get_backend,
    load_classifier,
    read_model_info,
    register_backend,
    upgrade_bundle,
)

__all__ = [
    "NOT_A_FACE",
    "Classifier",
    "ModelInfo",
    "ModelSettings",
    "Preprocessing",
    "available_backends",
    "check_images",
    "create_classifier",
    "get_backend",
    "load_classifier",
    "read_manifest",
    "read_model_info",
    "register_backend",
    "upgrade_bundle",
]
