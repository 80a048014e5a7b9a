"""Bundled default models, so that ``maskdet detect photo.jpg`` works without training.

The package ships model bundles in this folder: ``cnn.maskdet`` (the Keras CNN, the default;
needs TensorFlow, ``pip install "maskdet[cnn]"``) and ``hog-svm.maskdet`` (HOG+SVM; works
without TensorFlow). :func:`load_model` turns whatever names a model -- nothing (the default),
a bundled model's name, a bundle path or a fitted classifier -- into a classifier.

Example:
    >>> import maskdet
    >>> maskdet.available_models()  # doctest: +SKIP
    ['cnn', 'hog-svm']
    >>> clf = maskdet.load_model("hog-svm")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from ..classifiers import Classifier, load_classifier, read_manifest
from ..errors import BundleError

logger = logging.getLogger(__name__)

#: The folder of the bundled model files.
PRETRAINED_DIR: Path = Path(__file__).resolve().parent

#: Bundled model name -> bundle file name in :data:`PRETRAINED_DIR`.
PRETRAINED_MODELS: dict[str, str] = {"cnn": "cnn.maskdet", "hog-svm": "hog-svm.maskdet"}

_CNN_HINT = 'pip install "maskdet[cnn]", or use the hog-svm model (--model hog-svm)'
_fallback_warned = False


def _tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported, without importing it (that takes seconds)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def available_models() -> list[str]:
    """Names of the bundled models whose bundle file is installed."""
    return [name for name, file in PRETRAINED_MODELS.items() if (PRETRAINED_DIR / file).is_file()]


def pretrained_path(name: str) -> Path:
    """The bundle file of the bundled model ``name``.

    Raises:
        BundleError: ``name`` is not a bundled model, or its file is not installed.
    """
    if name not in PRETRAINED_MODELS:
        raise BundleError(f"unknown bundled model {name!r}; bundled models: "
                          f"{', '.join(PRETRAINED_MODELS)} (or give a model bundle path)")
    path = PRETRAINED_DIR / PRETRAINED_MODELS[name]
    if not path.is_file():
        installed = ", ".join(available_models()) or "none"
        raise BundleError(f"the bundled {name} model is not installed ({path} is missing; "
                          f"installed: {installed}); give a model bundle with --model (train "
                          "one with: maskdet train DATA --out MODEL)")
    return path


def default_model_name() -> str:
    """The bundled model used when none is given: ``"cnn"`` when TensorFlow is installed and
    the cnn bundle is there, else ``"hog-svm"``.

    Falling back because TensorFlow is missing logs one warning, once per process.
    """
    global _fallback_warned

    cnn_file = PRETRAINED_DIR / PRETRAINED_MODELS["cnn"]
    if not _tensorflow_installed():
        if cnn_file.is_file() and not _fallback_warned:
            _fallback_warned = True
            logger.warning('TensorFlow is not installed: using the hog-svm default model (pip '
                           'install "maskdet[cnn]" for the more accurate cnn model)')
        return "hog-svm"
    return "cnn" if cnn_file.is_file() else "hog-svm"


def model_path(model: str | os.PathLike) -> Path:
    """The bundle file that ``model`` names: a bundled model's name (unless a file of that
    name exists) or a path.

    Raises:
        BundleError: a bundled model's name whose file is not installed.
    """
    if isinstance(model, str) and model in PRETRAINED_MODELS and not Path(model).exists():
        return pretrained_path(model)
    return Path(model)


def load_model(model: Classifier | str | os.PathLike | None = None) -> Classifier:
    """A fitted classifier from whatever names one.

    Args:
        model: a fitted :class:`~maskdet.classifiers.Classifier` (returned as is); None for
            the default bundled model (see :func:`default_model_name`); a bundled model's name
            (``"cnn"``, ``"hog-svm"``) unless a file of that name exists; or the path of a
            model bundle (see :func:`~maskdet.classifiers.load_classifier`).

    Raises:
        BundleError: a missing or damaged bundle, or the cnn model without TensorFlow (the
            message says what to install, or to use the hog-svm model instead).
    """
    if isinstance(model, Classifier):
        return model
    if model is None:
        model = default_model_name()
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a Classifier, a bundled model name or a bundle path, "
                        f"got {type(model).__name__}")
    path = model_path(model)
    if model == "cnn" and path != Path(model) and not _tensorflow_installed():
        raise BundleError(f"the bundled cnn model needs TensorFlow, which is not installed: "
                          f"{_CNN_HINT}")
    try:
        return load_classifier(path)
    except BundleError:
        if _tensorflow_installed() or _backend_of(path) != "cnn":
            raise
        raise BundleError(f"{path}: a cnn model needs TensorFlow, which is not installed: "
                          f"{_CNN_HINT}") from None


def _backend_of(path: Path) -> str | None:
    try:
        return read_manifest(path).get("backend")
    except BundleError:
        return None


__all__ = [
    "PRETRAINED_DIR",
    "PRETRAINED_MODELS",
    "available_models",
    "default_model_name",
    "load_model",
    "model_path",
    "pretrained_path",
]
