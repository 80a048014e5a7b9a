"""Classifier backends by name.

Built-in: ``hog-svm`` and ``cnn`` (training the CNN needs the ``maskdet[train]`` extra). Third
parties add a backend in either of two ways:

* call :func:`register_backend` (``register_backend("my-net", MyClassifier)``), or
* declare an entry point in the ``maskdet.backends`` group of their package::

      [project.entry-points."maskdet.backends"]
      my-net = "my_package.module:MyClassifier"

A backend is a subclass of :class:`~maskdet.classifiers.base.Classifier`. Backends are
imported only when first used, so ``import maskdet`` stays light. :func:`load_classifier`
builds the backend a bundle names and loads its weights into it.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import BackendError, BundleError
from .base import Classifier
from .bundle import OLDEST_LOADED_FORMAT, open_bundle, read_manifest
from .info import ModelInfo

ENTRY_POINT_GROUP = "maskdet.backends"

#: name -> Classifier subclass or "module:attribute" (imported on first use).
_BACKENDS: dict[str, type[Classifier] | str] = {
    "hog-svm": "maskdet.classifiers.hog_svm:HogSvmClassifier",
    "cnn": "maskdet.classifiers.cnn:CnnClassifier",
}

_INSTALL_HINTS = {
    "tensorflow": "pip install 'maskdet[train]'",
    "keras": "pip install 'maskdet[train]'",
    "onnxruntime": "pip install onnxruntime",
    "skops": "pip install skops",
}


def register_backend(name: str, backend: type[Classifier] | str, *, replace: bool = False) -> None:
    """Make a backend available to :func:`create_classifier` and :func:`load_classifier`.

    Args:
        name: the registry name, as used in ``--backend`` and in bundle manifests.
        backend: a :class:`Classifier` subclass, or ``"module:Class"`` to import lazily.
        replace: allow replacing a backend of the same name.
    """
    if name in _registered_names() and not replace:
        raise ValueError(f"backend {name!r} is already registered (pass replace=True)")
    if not isinstance(backend, str) and not (
        isinstance(backend, type) and issubclass(backend, Classifier)
    ):
        raise TypeError("backend must be a Classifier subclass or a 'module:Class' string")
    _BACKENDS[name] = backend


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _registered_names() -> set[str]:
    return set(_BACKENDS) | set(_entry_points())


def available_backends() -> list[str]:
    """Names of the registered backends (built-in, registered and entry points), sorted."""
    return sorted(_registered_names())


def get_backend(name: str, for_bundle: Path | None = None) -> type[Classifier]:
    """The Classifier subclass registered under ``name``; imports it if needed."""
    target = _BACKENDS.get(name) or _entry_points().get(name)
    where = f"{for_bundle}: bundle needs " if for_bundle else ""
    error = BundleError if for_bundle else BackendError
    if target is None:
        raise error(f"{where}unknown classifier backend {name!r}; available: "
                    f"{', '.join(available_backends())}")
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = (exc.name or "").split(".")[0]
            hint = _INSTALL_HINTS.get(missing, f"pip install {missing}" if missing else "")
            raise error(f"{where}backend {name!r}, which needs {missing or module_name}, not "
                        f"installed" + (f" (install it with: {hint})" if hint else "")) from None
        target = getattr(module, attr)
        _BACKENDS[name] = target
    return target


def create_classifier(name: str, **params) -> Classifier:
    """Create an unfitted classifier of backend ``name`` with hyper-parameters ``params``.

    Example:
        >>> clf = create_classifier("hog-svm", C=10.0)
        >>> clf.get_params()["C"]
        10.0
    """
    backend = get_backend(name)
    try:
        return backend(**params)
    except TypeError as exc:
        raise BackendError(f"backend {name!r}: {exc}") from None


def load_classifier(path: str | os.PathLike) -> Classifier:
    """Load a classifier from a bundle written by :meth:`Classifier.save`.

    The backend is chosen from the manifest; the manifest and every weight file are checked
    against their recorded sha256 before anything is loaded, and no weight file can run code.
    The classifier's ``settings_`` and ``metrics_`` are the bundle's.

    Raises:
        BundleError: missing, not a bundle, truncated, altered, an old format (the message
            says how to convert it), a newer one, or a backend that is not installed.
    """
    return _load(Path(path))


def upgrade_bundle(path: str | os.PathLike, out: str | os.PathLike,
                   trust_pickle: bool = False) -> Path:
    """Convert a bundle of a format before 3 to the current one (``maskdet upgrade``): the
    same model, settings and metrics; a CNN gains its ONNX graph (needs TensorFlow to export
    it), HOG+SVM weights leave pickle for skops.

    Args:
        trust_pickle: HOG+SVM weights of old bundles are pickles, which run code when they are
            loaded: convert them only for bundles you trust, and say so here.

    Raises:
        BundleError: not an old bundle, an untrusted pickle, or its weights cannot be read.
    """
    path = Path(path)
    return _load(path, legacy=True, trust_pickle=trust_pickle).save(out)


def _load(path: Path, legacy: bool = False, trust_pickle: bool = False) -> Classifier:
    with open_bundle(path, oldest=1 if legacy else OLDEST_LOADED_FORMAT) as (manifest, weights):
        if legacy and manifest["format_version"] >= OLDEST_LOADED_FORMAT:
            raise BundleError(f"{path}: bundle format {manifest['format_version']} is current; "
                              "there is nothing to upgrade")
        info = ModelInfo.from_manifest(manifest, path)
        backend = get_backend(info.backend, for_bundle=path)
        try:
            classifier = backend(**info.params)
            classifier.check_params()
            preprocessing = classifier.preprocessing
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{path}: bundle parameters do not fit backend "
                              f"{info.backend!r} ({exc})") from None
        classifier._set_classes(info.classes)
        if preprocessing != info.preprocessing:
            raise BundleError(f"{path}: preprocessing in the manifest ({info.preprocessing}) "
                              f"does not match the backend's ({classifier.preprocessing})")
        try:
            if legacy:
                classifier._load_legacy_weights(weights, trust_pickle)
            else:
                classifier._load_weights(weights)
        except (BundleError, BackendError) as exc:
            raise type(exc)(f"{path}: {exc}") from None
        except Exception as exc:  # weights that the backend library cannot read
            raise BundleError(f"{path}: cannot load the weights "
                              f"({type(exc).__name__}: {exc})") from None
    classifier.settings_ = info.settings
    classifier.metrics_ = dict(info.metrics)
    return classifier


def read_model_info(path: str | os.PathLike) -> ModelInfo:
    """What a bundle records about its model (weights neither verified nor loaded)."""
    return ModelInfo.from_manifest(read_manifest(path), path)
