"""The `Classifier` interface every backend implements.

A classifier follows scikit-learn's estimator contract: hyper-parameters are stored unchanged
by ``__init__``; ``fit(X, y)`` returns ``self``; ``predict``/``predict_proba`` raise
``NotFittedError`` before ``fit``; ``predict_proba`` columns follow ``classes_``. ``X`` is a
sequence of face crops, ``uint8`` BGR arrays of shape (H, W, 3) of any size: the backend's
:class:`~maskdet.classifiers.preprocessing.Preprocessing` turns them into its input.

A backend subclasses `Classifier` and implements four hooks: ``_fit_inputs``,
``_predict_inputs``, ``_save_weights`` and ``_load_weights`` (and ``preprocessing``).
:meth:`Classifier.save` writes a bundle; :func:`~maskdet.classifiers.registry.load_classifier`
reads one back.
"""

from __future__ import annotations

import os
import time
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ..errors import BackendError
from ..versions import library_versions
from .bundle import write_bundle
from .info import ModelInfo, ModelSettings
from .preprocessing import Preprocessing, as_bgr


def check_images(X: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Validate a sequence of images; a 4-D array (n, H, W, 3) counts as n images."""
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim == 3 and X.shape[-1] == 3:
        raise ValueError("X must be a sequence of images; got a single H x W x 3 image "
                         "(wrap it in a list)")
    try:
        images = list(X)
    except TypeError:
        raise ValueError(f"X must be a sequence of images, got {type(X).__name__}") from None
    return [as_bgr(image) for image in images]


class Classifier(ClassifierMixin, BaseEstimator):
    """Base class of mask classifiers (backends).

    Attributes set by ``fit``:
        classes_: array of class names, the columns of ``predict_proba``.
        metrics_: dict of measurements (sample counts, training seconds); training code may
            add held-out metrics. :meth:`save` stores them in the bundle.
        settings_: how the model is to be used (:class:`~maskdet.classifiers.info.
            ModelSettings`: operating point, framing, training sources); empty after ``fit``,
            set by training code, stored in the bundle and applied by
            :class:`~maskdet.pipeline.MaskDetector`.
    """

    #: The registry name of the backend (``"hog-svm"``, ``"cnn"``).
    backend_name: ClassVar[str] = ""
    #: No settings until training code sets them (immutable, so a safe shared default).
    settings_: ModelSettings = ModelSettings()
    #: The allowed values of each hyper-parameter, in scikit-learn's notation
    #: (``sklearn.utils._param_validation``: ``Interval``, ``StrOptions``, ``None``, ...).
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    @property
    @abstractmethod
    def preprocessing(self) -> Preprocessing:
        """The preprocessing settings this classifier's input goes through."""

    # -- hooks for backends ---------------------------------------------------------------
    @abstractmethod
    def _fit_inputs(self, inputs: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        """Learn from preprocessed inputs and class indices ``y`` in ``range(n_classes)``."""

    @abstractmethod
    def _predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """Probabilities (n, n_classes) for preprocessed inputs."""

    @abstractmethod
    def _save_weights(self, directory: Path) -> None:
        """Write the learned weights as files into ``directory``."""

    @abstractmethod
    def _load_weights(self, directory: Path) -> None:
        """Read the weights written by :meth:`_save_weights` (``classes_`` is already set)."""

    def _load_legacy_weights(self, directory: Path, trust_pickle: bool) -> None:
        """Read the weights of a bundle of a format before 3 (see
        :func:`~maskdet.classifiers.registry.upgrade_bundle`); backends that had none need not
        implement it."""
        raise BackendError(f"the {self.backend_name} backend has no older bundle format")

    def _library_versions(self) -> dict[str, str]:
        """Versions of the libraries the weights depend on, for the bundle manifest."""
        return {}

    # -- the public interface -------------------------------------------------------------
    def check_params(self) -> None:
        """Check every hyper-parameter against its allowed values; ``fit`` does it first,
        and training code may call it before reading any data.

        Raises:
            sklearn.utils._param_validation.InvalidParameterError: (a ``ValueError``) naming
                the parameter, its allowed range and the value given, e.g. "The
                'batch_size' parameter of CnnClassifier must be an int in the range [1,
                inf). Got 0 instead."
        """
        validate_parameter_constraints(self._parameter_constraints,
                                       self.get_params(deep=False),
                                       caller_name=type(self).__name__)

    def fit(self, X: Sequence[np.ndarray], y: Sequence[str]) -> Classifier:
        """Train on face crops ``X`` with labels ``y`` (array-like of shape (n_samples,))."""
        self.check_params()
        images = check_images(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(images):
            raise ValueError(f"y must have shape ({len(images)},), got {y.shape}")
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"need at least two classes to train, got {classes.tolist()}")
        start = time.perf_counter()
        inputs = self.preprocessing.apply_batch(images)
        self._fit_inputs(inputs, y_idx, len(classes))
        self.classes_ = classes
        self.settings_ = ModelSettings()
        self.metrics_ = {
            "n_train": int(len(images)),
            "train_counts": {str(c): int(n) for c, n in zip(classes, np.bincount(y_idx))},
            "train_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities, array of shape (n_samples, n_classes) in ``classes_`` order."""
        check_is_fitted(self, "classes_")
        images = check_images(X)
        if not images:
            return np.zeros((0, len(self.classes_)), np.float32)
        proba = self._predict_inputs(self.preprocessing.apply_batch(images))
        return np.asarray(proba, dtype=np.float32)

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class names, array of shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)] if len(proba) else self.classes_[:0]

    def model_info(self) -> ModelInfo:
        """The record of this fitted classifier that :meth:`save` writes into its bundle."""
        check_is_fitted(self, "classes_")
        return ModelInfo(
            backend=self.backend_name, classes=tuple(str(c) for c in self.classes_),
            params=self.get_params(deep=False), preprocessing=self.preprocessing,
            settings=self.settings_, metrics=dict(getattr(self, "metrics_", {})),
            versions={**library_versions(), **self._library_versions()})

    def export(self, path: str | os.PathLike, format: str = "onnx") -> Path:
        """Write the model in a format other programs run (the ``cnn`` backend: ``onnx``)."""
        raise BackendError(f"the {self.backend_name} backend cannot be exported to {format}")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the classifier to one bundle file (see :mod:`maskdet.classifiers.bundle`),
        atomically; the classifier itself is left as it was. Returns ``path``."""
        return write_bundle(path, self.model_info().to_manifest(), self._save_weights)
