"""The `Classifier` interface every backend implements.

A classifier follows scikit-learn's estimator contract: hyper-parameters are stored unchanged
by ``__init__``; ``fit(X, y)`` returns ``self``; ``predict``/``predict_proba`` raise
``NotFittedError`` before ``fit``; ``predict_proba`` columns follow ``classes_``. ``X`` is a
sequence of face crops, ``uint8`` BGR arrays of shape (H, W, 3) of any size: the backend's
:class:`~maskdet.classifiers.preprocessing.Preprocessing` turns them into its input.

A model may also learn to tell the crops that are not faces at all (hands, bags, backs of
heads that a face detector took for faces): faces labelled :data:`NOT_A_FACE` in training
give it a hidden output. It is never a label: ``classes_`` and ``predict_proba`` are over
the face classes (given a face), and :meth:`Classifier.predict_face_proba` also gives the
probability of not being a face, which :class:`~maskdet.pipeline.MaskDetector` drops faces on.

A backend subclasses `Classifier` and implements four hooks: ``_fit_inputs``,
``_predict_inputs``, ``_save_weights`` and ``_load_weights`` (and ``preprocessing``).
:meth:`Classifier.save` writes a bundle; :func:`~maskdet.classifiers.registry.load_classifier`
reads one back.
"""

from __future__ import annotations

import inspect
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import BackendError
from ..versions import library_versions
from .bundle import write_bundle
from .info import NOT_A_FACE, ModelInfo, ModelSettings
from .params import validate_params
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


class Classifier(ABC):
    """Base class of mask classifiers (backends).

    A scikit-learn classifier (``clone``, ``GridSearchCV``, ``cross_val_score`` work on it)
    that does not import scikit-learn: ``get_params``, ``set_params``, ``score`` and the tags
    are written out here, so that loading and running a CNN model never pays scikit-learn's
    0.9 s and 100 MB import.

    Attributes set by ``fit``:
        classes_: array of class names, the columns of ``predict_proba`` (face classes only).
        output_classes_: the model's outputs: ``classes_`` plus :data:`NOT_A_FACE` where it
            was trained on such crops (what the bundle records).
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
    #: (:mod:`maskdet.classifiers.params`: ``Interval``, ``StrOptions``, ``None``, ...).
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    #: scikit-learn before 1.6 reads this instead of ``__sklearn_tags__``.
    _estimator_type: ClassVar[str] = "classifier"

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

    # -- scikit-learn's estimator contract ------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The hyper-parameters: the keyword arguments of ``__init__``."""
        if cls.__init__ is object.__init__:
            return []
        signature = inspect.signature(cls.__init__)
        for p in signature.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args "
                                   "(scikit-learn's convention)")
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind is not p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters by name (``deep``: also those of nested estimators)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Classifier:
        """Set hyper-parameters by name (``name__sub`` for a nested estimator's); returns
        ``self``."""
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid "
                                 f"parameters are: {valid!r}.")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        """``CnnClassifier(epochs=5)``: the parameters that differ from their defaults."""
        signature = inspect.signature(type(self).__init__).parameters
        changed = []
        for name, value in self.get_params(deep=False).items():
            default = signature[name].default
            same = value is default or (type(value) is type(default) and _equal(value, default))
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):  # noqa: ANN204 (sklearn.utils.Tags, imported when asked)
        """What scikit-learn (1.6 and later) asks of a classifier: it needs ``y``, and ``X``
        is a sequence of images, not a 2-D array."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags(two_d_array=False))

    def score(self, X: Sequence[np.ndarray], y: Sequence[str],
              sample_weight: Sequence[float] | None = None) -> float:
        """Mean accuracy on face crops ``X`` with labels ``y`` (as scikit-learn's
        classifiers)."""
        correct = np.asarray(self.predict(X)) == np.asarray(y)
        return float(np.average(correct, weights=sample_weight))

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            from sklearn.exceptions import NotFittedError  # only on this error: it is slow

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

    # -- the public interface -------------------------------------------------------------
    def check_params(self) -> None:
        """Check every hyper-parameter against its allowed values; ``fit`` does it first,
        and training code may call it before reading any data.

        Raises:
            maskdet.classifiers.params.InvalidParameterError: (a ``ValueError``) naming
                the parameter, its allowed range and the value given, e.g. "The
                'batch_size' parameter of CnnClassifier must be an int in the range [1,
                inf). Got 0 instead."
        """
        validate_params(self._parameter_constraints, self.get_params(deep=False),
                        caller_name=type(self).__name__)

    def fit(self, X: Sequence[np.ndarray], y: Sequence[str]) -> Classifier:
        """Train on face crops ``X`` with labels ``y`` (array-like of shape (n_samples,))."""
        self.check_params()
        images = check_images(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(images):
            raise ValueError(f"y must have shape ({len(images)},), got {y.shape}")
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes[classes != NOT_A_FACE]) < 2:
            raise ValueError(f"need at least two classes of faces to train, got "
                             f"{classes.tolist()}")
        start = time.perf_counter()
        inputs = self.preprocessing.apply_batch(images)
        self._fit_inputs(inputs, y_idx, len(classes))
        self._set_classes(classes)
        self.settings_ = ModelSettings()
        self.metrics_ = {
            "n_train": int(len(images)),
            "train_counts": {str(c): int(n) for c, n in zip(classes, np.bincount(y_idx))},
            "train_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def _set_classes(self, output_classes: Sequence[str]) -> None:
        """Set ``output_classes_`` (the model's outputs, in order) and ``classes_`` (those
        less :data:`NOT_A_FACE`)."""
        self.output_classes_ = np.asarray(output_classes)
        self.classes_ = self.output_classes_[self.output_classes_ != NOT_A_FACE]

    @property
    def has_not_a_face(self) -> bool:
        """Whether the model has the hidden :data:`NOT_A_FACE` output."""
        self._check_fitted()
        return len(getattr(self, "output_classes_", self.classes_)) > len(self.classes_)

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities, array of shape (n_samples, n_classes) in ``classes_`` order
        (given a face, for a model with the hidden :data:`NOT_A_FACE` output)."""
        return self.predict_face_proba(X)[0]

    def predict_face_proba(self, X: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The class probabilities given a face, shape (n_samples, n_classes) in ``classes_``
        order, and the probability that a crop is no face at all, shape (n_samples,): the
        hidden :data:`NOT_A_FACE` output, zeros for a model without it."""
        self._check_fitted()
        images = check_images(X)
        if not images:
            return np.zeros((0, len(self.classes_)), np.float32), np.zeros(0, np.float32)
        proba = np.asarray(self._predict_inputs(self.preprocessing.apply_batch(images)),
                           dtype=np.float32)
        if not self.has_not_a_face:
            return proba, np.zeros(len(proba), np.float32)
        hidden = self.output_classes_ == NOT_A_FACE
        faces = proba[:, ~hidden]
        faces /= np.maximum(faces.sum(axis=1, keepdims=True), np.float32(1e-12))
        return faces, proba[:, hidden].sum(axis=1)

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class names, array of shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)] if len(proba) else self.classes_[:0]

    def model_info(self) -> ModelInfo:
        """The record of this fitted classifier that :meth:`save` writes into its bundle."""
        self._check_fitted()
        return ModelInfo(
            backend=self.backend_name,
            classes=tuple(str(c) for c in getattr(self, "output_classes_", self.classes_)),
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


def _equal(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN (for the repr)."""
    try:
        return bool(a == b) or (a != a and b != b)
    except (TypeError, ValueError):  # arrays and the like: shown
        return False
