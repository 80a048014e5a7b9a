"""Bundled default models, so that ``maskdet detect photo.jpg`` works without training.

The package ships model bundles in this folder: ``cnn.maskdet`` (the small CNN, the default;
it runs on ONNX Runtime, no TensorFlow needed) and ``hog-svm.maskdet`` (HOG+SVM).
:func:`load_model` turns whatever names a model -- nothing (the default), a bundled model's
name, a bundle path or a fitted classifier -- into a classifier.

Example:
    >>> import maskdet
    >>> maskdet.available_models()  # doctest: +SKIP
    ['cnn', 'hog-svm']
    >>> clf = maskdet.load_model("hog-svm")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from ..classifiers import Classifier, load_classifier
from ..errors import BundleError

#: The folder of the bundled model files.
PRETRAINED_DIR: Path = Path(__file__).resolve().parent

#: Bundled model name -> bundle file name in :data:`PRETRAINED_DIR`.
PRETRAINED_MODELS: dict[str, str] = {"cnn": "cnn.maskdet", "hog-svm": "hog-svm.maskdet"}

#: The bundled model used when none is given (the more accurate one, above all on street
#: photos; see MODEL_CARD.md).
DEFAULT_MODEL = "cnn"


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
    """The bundled model used when none is given: ``"cnn"``, or ``"hog-svm"`` in an
    installation that lacks the cnn bundle."""
    if (PRETRAINED_DIR / PRETRAINED_MODELS[DEFAULT_MODEL]).is_file():
        return DEFAULT_MODEL
    return "hog-svm"


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
        BundleError: a missing, damaged or altered bundle (one line naming it).
    """
    if isinstance(model, Classifier):
        return model
    if model is None:
        model = default_model_name()
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a Classifier, a bundled model name or a bundle path, "
                        f"got {type(model).__name__}")
    return load_classifier(model_path(model))


__all__ = [
    "DEFAULT_MODEL",
    "PRETRAINED_DIR",
    "PRETRAINED_MODELS",
    "available_models",
    "default_model_name",
    "load_model",
    "model_path",
    "pretrained_path",
]
