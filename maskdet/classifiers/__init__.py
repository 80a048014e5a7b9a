"""Mask classifiers: the common interface, the registry of backends, and model bundles."""

from .base import Classifier, check_images
from .bundle import load_classifier, read_manifest
from .registry import available_backends, create_classifier, get_backend, register_backend

__all__ = [
    "Classifier",
    "available_backends",
    "check_images",
    "create_classifier",
    "get_backend",
    "load_classifier",
    "read_manifest",
    "register_backend",
]
