"""A small convolutional network: the ``cnn`` backend, trained with Keras, run with ONNX Runtime.

Using a trained network needs no TensorFlow: when the network is trained it is exported to an
ONNX graph (Keras' own ``model.export(format="onnx")``), which predicts -- in the process that
trained it as in any other -- and goes into the bundle with the Keras weights (kept for further
training). TensorFlow and Keras (``pip install 'maskdet[train]'``) are imported only to train,
export or reload those Keras weights.

Two architectures:

* ``small`` (default): a compact modern network, 3x3 convolutions with batch normalisation,
  residual depthwise-separable blocks, global average pooling and dropout; 122k parameters,
  64 px faces.
* ``seed``: the project's original network, Conv2D 32, 64, 128, 128 (3x3, ReLU) each followed
  by 2x2 max-pooling, Flatten, Dense 512 ReLU, softmax, trained with RMSprop and strong
  augmentation (rotation 40 degrees, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip). It
  took 192 px faces; here it defaults to 96 px, which trains four times faster on a CPU.

Training uses a ``tf.data`` pipeline that augments batches in parallel, cosine learning-rate
decay, and early stopping on a validation part with the best weights restored. The network
takes RGB faces valued 0-255 and scales them itself, so the ``.keras`` and ``.onnx`` files are
self-contained.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BackendError
from ..faces.crops import DEFAULT_MARGIN
from .augmentation import FaceAugmenter
from .base import Classifier, check_images
from .params import Interval, StrOptions
from .preprocessing import Preprocessing

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

logger = logging.getLogger(__name__)

_TRAIN_HINT = "pip install 'maskdet[train]'"


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    Since TensorFlow 2.19 its C++ start-up notices ("oneDNN custom operations are on", "All
    log messages before absl::InitializeLog() ...") are written before TF_CPP_MIN_LOG_LEVEL is
    read, so the only way to keep them out of the command line's stderr is at the fd level.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _tensorflow():
    """Keras and TensorFlow, imported on first use (training, exporting, Keras weights).

    Raises:
        BackendError: TensorFlow is not installed (the message says what to install), or
            Keras runs on another backend.
    """
    if "keras" not in sys.modules or "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        try:
            with _stderr_silenced():
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
        except ImportError as exc:
            raise BackendError(f"training the cnn backend needs TensorFlow ({exc.name} is not "
                               f"installed): {_TRAIN_HINT}") from None
        # Keras reports some notices (e.g. about tf.data) through absl; they are not for users.
        logging.getLogger("absl").setLevel(logging.ERROR)
    keras, tf = sys.modules["keras"], sys.modules["tensorflow"]
    if keras.backend.backend() != "tensorflow":
        raise BackendError(f"the cnn backend needs Keras' tensorflow backend, but Keras runs "
                           f"on {keras.backend.backend()!r} (unset KERAS_BACKEND)")
    return keras, tf


ARCHITECTURES = ("small", "seed")
AUGMENTATIONS = ("light", "robust")
_WEIGHTS_FILE = "model.keras"
_ONNX_FILE = "model.onnx"
#: Metadata keys of the exported ONNX graph, for those who run it without maskdet.
ONNX_METADATA = ("maskdet.classes", "maskdet.preprocessing", "maskdet.input")

#: Values of the parameters left at None, per architecture (chosen on a validation part of
#: mask-faces' training data; see the class documentation).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "small": {"image_size": 64, "epochs": 25, "learning_rate": 3e-3},
    "seed": {"image_size": 96, "epochs": 30, "learning_rate": 3e-4},
}

#: Inference runs in chunks of this many faces, so that memory stays bounded.
_PREDICT_CHUNK = 256

#: Batch normalisation's running statistics follow the weights closely: with Keras' default
#: (0.99) they lag far behind on data sets of a few thousand faces, and validation accuracy
#: stayed near chance for the first epochs.
_BN_MOMENTUM = 0.9


def build_model(architecture: str, image_size: int, n_classes: int) -> keras.Model:
    """The untrained network: RGB faces valued 0-255 (n, size, size, 3) -> probabilities.

    ``small``: a 3x3 stride-2 stem (16 filters), then three stages at 1/2, 1/4 and 1/8 of the
    input side with a 3x3 convolution of 32, 64 and 128 filters, the last two stages followed
    by a residual depthwise-separable block; batch normalisation and ReLU after every
    convolution; global average pooling, dropout 0.2 and a softmax layer (122k parameters).

    ``seed``: Conv2D 32, 64, 128, 128 (3x3, ReLU, no padding) each followed by 2x2
    max-pooling, Flatten, Dense 512 ReLU, softmax. Needs ``image_size >= 46``.

    Args:
        architecture: ``"small"`` or ``"seed"``.
        image_size: side of the square input.
        n_classes: number of output classes.

    Example:
        >>> build_model("seed", 96, 2).count_params()  # doctest: +SKIP
        1290946
    """
    keras, _ = _tensorflow()
    layers = keras.layers
    inputs = keras.Input((image_size, image_size, 3), name="face")
    x = layers.Rescaling(1 / 255)(inputs)
    if architecture == "small":
        x = _conv_bn(x, 16, strides=2)
        x = _conv_bn(x, 32)
        for filters in (64, 128):
            x = layers.MaxPooling2D()(x)
            x = _conv_bn(x, filters)
            x = _separable_residual(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(0.2)(x)
    elif architecture == "seed":
        side = image_size
        for _ in range(4):
            side = (side - 2) // 2
        if side < 1:
            raise ValueError(f"the seed architecture needs image_size >= 46, got {image_size}")
        for filters in (32, 64, 128, 128):
            x = layers.Conv2D(filters, 3, activation="relu")(x)
            x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dense(512, activation="relu")(x)
    else:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"maskdet_{architecture}")


def _conv_bn(x: keras.KerasTensor, filters: int, strides: int = 1, kernel: int = 3
             ) -> keras.KerasTensor:
    keras, _ = _tensorflow()
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=_BN_MOMENTUM)(x)
    return keras.layers.ReLU()(x)


def _separable_residual(x: keras.KerasTensor) -> keras.KerasTensor:
    """x + pointwise(depthwise(x)): depth for a third of the cost of a second 3x3 convolution
    (a plain one doubled the epoch time on two cores; this adds half and ~0.4 points)."""
    keras, _ = _tensorflow()
    y = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    y = keras.layers.BatchNormalization(momentum=_BN_MOMENTUM)(y)
    y = keras.layers.ReLU()(y)
    y = _conv_bn(y, x.shape[-1], kernel=1)
    return keras.layers.Add()([x, y])


def _augmenter(architecture: str, seed: int | None) -> keras.Sequential:
    """Random transforms of float RGB batches (0-255), for training only."""
    keras, _ = _tensorflow()
    layers = keras.layers
    if architecture == "seed":
        # The original network's ImageDataGenerator settings.
        transforms = [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(40 / 360, fill_mode="nearest", seed=seed),
            layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=seed),
            layers.RandomShear(0.2, 0.2, fill_mode="nearest", seed=seed),
            layers.RandomZoom(0.2, fill_mode="nearest", seed=seed),
        ]
    else:
        # Milder: the crops are centred on the face already, and the small network underfits
        # (stronger settings, rotation 15 and shifts 0.1, cost a point on validation data).
        transforms = [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed),
            layers.RandomZoom(0.1, fill_mode="reflect", seed=seed),
            layers.RandomTranslation(0.05, 0.05, fill_mode="reflect", seed=seed),
            layers.RandomBrightness(0.1, seed=seed),
            layers.RandomContrast(0.1, seed=seed),
        ]
    return keras.Sequential(transforms, name="augment")


def _configure_threads(threads: int | None) -> None:
    """Limit TensorFlow's thread pools; possible only before TensorFlow first runs an op."""
    if threads is None:
        return
    _, tf = _tensorflow()
    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads() == threads
            and threading.get_inter_op_parallelism_threads() == threads):
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        logger.warning("threads=%s ignored: TensorFlow is already running in this process "
                       "with its thread pools set", threads)


def _probabilities(model: keras.Model, x: tf.Tensor) -> tf.Tensor:
    _, tf = _tensorflow()
    return model(tf.cast(x, tf.float32), training=False)


def keras_predict_function(model: keras.Model, image_size: int):
    """``model`` called directly by Keras, as one traced graph for ``uint8`` batches of any
    length (for comparisons with the ONNX graph; maskdet predicts with ONNX Runtime).

    Calling it costs about a millisecond, where ``model.predict()`` costs some 30 ms per call
    in Keras' loop set-up. The function is a ``partial`` rather than a closure because
    TensorFlow counts traces by code object: closures made for many classifiers (in a grid
    search, say) would look like one function retraced, and draw a retracing warning.
    """
    _, tf = _tensorflow()
    spec = tf.TensorSpec([None, image_size, image_size, 3], tf.uint8)
    return tf.function(functools.partial(_probabilities, model), input_signature=[spec])


def _history_callback():
    """A Keras callback that records per-epoch metrics plus the learning rate and the epoch's
    seconds (a class made on first use: Keras is imported only to train)."""
    keras, _ = _tensorflow()

    class History(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history: dict[str, list[float]] = {}
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            row = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
            row["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            row["seconds"] = round(time.perf_counter() - self._start, 3)
            for key, value in row.items():
                self.history.setdefault(key, []).append(value)

    return History()


def export_onnx(model: keras.Model, image_size: int, metadata: dict[str, str]) -> bytes:
    """The Keras network as an ONNX graph (input ``face``: float32 RGB 0-255 of shape
    (n, size, size, 3); output: the class probabilities), with ``metadata`` in it.

    Raises:
        BackendError: tf2onnx, which Keras' exporter uses, is not installed.
    """
    _tensorflow()
    if importlib.util.find_spec("tf2onnx") is None:
        raise BackendError(f"exporting the cnn backend to ONNX needs tf2onnx: {_TRAIN_HINT}")
    import onnx

    model(np.zeros((1, image_size, image_size, 3), np.float32), training=False)  # "called"
    with tempfile.TemporaryDirectory(prefix="maskdet-onnx-") as tmp, \
            warnings.catch_warnings(), _stderr_silenced():
        warnings.simplefilter("ignore")  # tf2onnx's own deprecation notices
        model.export(Path(tmp) / "model.onnx", format="onnx", verbose=False)
        graph = onnx.load(Path(tmp) / "model.onnx")
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    return graph.SerializeToString()


class _OnnxNetwork:
    """An ONNX graph run with ONNX Runtime on the CPU; the session is made on first use."""

    def __init__(self, graph: bytes, threads: int | None) -> None:
        self.graph = graph
        self.threads = threads
        self._session = None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        if self._session is None:
            self._session = self._open()
        name = self._session.get_inputs()[0].name
        x = inputs.astype(np.float32, copy=False)
        parts = [self._session.run(None, {name: x[i:i + _PREDICT_CHUNK]})[0]
                 for i in range(0, len(x), _PREDICT_CHUNK)]
        return np.concatenate(parts)

    def _open(self):
        try:
            import onnxruntime
        except ImportError:
            raise BackendError("the cnn backend needs ONNX Runtime: pip install onnxruntime") \
                from None
        options = onnxruntime.SessionOptions()
        # One thread by default: a photo's few faces gain nothing from more, and the other
        # cores stay with the face detector and video decoding (no oversubscription).
        options.intra_op_num_threads = int(self.threads or 1)
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        try:
            return onnxruntime.InferenceSession(self.graph, options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 -- a graph that ONNX Runtime cannot run
            raise BackendError(f"ONNX Runtime cannot load the network ({exc})") from None


class CnnClassifier(Classifier):
    """A convolutional network trained with Keras on RGB face crops.

    Parameters left at None take the architecture's default. ``small``: 64 px, 25 epochs,
    peak learning rate 3e-3 with AdamW (weight decay 1e-4); on mask-faces it reaches about
    0.98 accuracy in under three minutes on two CPU cores. 72 and 80 px, stronger
    augmentation and a wider head did no better on a validation part of the training data.
    ``seed``: 96 px (the original took 192 px, four times the work), 30 epochs, 3e-4 with
    RMSprop; about 0.94 on mask-faces.

    Args:
        architecture: ``"small"`` (compact, batch-normalised) or ``"seed"`` (the original
            project's network).
        image_size: side of the square RGB input in pixels (None: the architecture's default).
        epochs: most epochs to train (early stopping may end sooner).
        batch_size: faces per training step.
        learning_rate: peak learning rate of the cosine schedule.
        validation_fraction: part of the training data held out, stratified, for early
            stopping when ``fit`` gets no ``validation_data``; 0 trains on everything for
            ``epochs`` epochs.
        patience: epochs without a better validation loss before training stops; the weights
            of the best epoch are kept.
        augment: ``True`` or ``"light"``: randomly flip, rotate, zoom, shift (and for ``small``
            brighten) the training faces; ``"robust"``: a fresh
            :class:`~maskdet.classifiers.augmentation.FaceAugmenter` copy of every face each
            epoch (also shrunk, blurred, darkened, noisy, JPEG-compressed and partly covered,
            as faces in street photos are); ``False``: none.
        class_weight: None or ``"balanced"`` (weigh classes inversely to their frequency).
        threads: when training, TensorFlow's intra- and inter-op threads (None: TensorFlow's
            default, all cores; set only before TensorFlow first runs in the process); when
            predicting, ONNX Runtime's (None: one, fastest for a photo's few faces on 2 cores,
            leaving the other core to the face detector; 2 about halves the time per face
            of large batches of crops). May be changed after loading.
        verbose: Keras' progress output (0: none, 1: bar, 2: a line per epoch).
        random_state: seed of the validation split, weights, shuffling and augmentation
            (set through ``keras.utils.set_random_seed``, which also seeds Python's, NumPy's
            and TensorFlow's global generators).
        deterministic: with a ``random_state``, train reproducibly: the same data,
            parameters and seed give the same weights on the same machine and software
            (TensorFlow's op determinism, which also runs the augmentation's random ops in
            order; it stays on in the process once set). Its cost in training time is
            measured in BENCHMARKS.md ("Reliability"). False: faster, not repeatable.
        margin: crop margin around detected faces (see :class:`Preprocessing`).

    Attributes set by ``fit`` (besides ``classes_``, ``metrics_`` and ``settings_``):
        model_: the trained ``keras.Model`` (not set on a loaded classifier: see
            :meth:`keras_model`).
        onnx_graph_: the network as an ONNX graph (bytes), what predicts; also set on a
            loaded classifier.
        history_: per-epoch lists ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``
            (with validation), ``lr`` and ``seconds``; also in ``metrics_["history"]``, and
            so in the saved bundle (a loaded classifier has it only there).

    Example:
        >>> import maskdet
        >>> clf = maskdet.create_classifier("cnn", epochs=20)  # doctest: +SKIP
        >>> clf.fit(face_images, labels).predict_proba(new_faces)  # doctest: +SKIP
    """

    backend_name = "cnn"
    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_size": [Interval(Integral, 16, 512, closed="both"), None],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, 8192, closed="both")],
        "learning_rate": [Interval(Real, 0, 1, closed="right"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "augment": ["boolean", StrOptions(set(AUGMENTATIONS))],
        "class_weight": [StrOptions({"balanced"}), None],
        "threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "deterministic": ["boolean"],
        "margin": [Interval(Real, 0, 2, closed="both")],
    }

    def __init__(
        self,
        architecture: str = "small",
        image_size: int | None = None,
        epochs: int | None = None,
        batch_size: int = 32,
        learning_rate: float | None = None,
        validation_fraction: float = 0.1,
        patience: int = 10,
        augment: bool | str = True,
        class_weight: str | None = None,
        threads: int | None = None,
        verbose: int = 0,
        random_state: int | None = 0,
        deterministic: bool = True,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.architecture = architecture
        self.image_size = image_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.augment = augment
        self.class_weight = class_weight
        self.threads = threads
        self.verbose = verbose
        self.random_state = random_state
        self.deterministic = deterministic
        self.margin = margin

    def effective_param(self, name: str) -> Any:
        """The value of a parameter, the architecture's default where it is left at None
        (``image_size``, ``epochs``, ``learning_rate``)."""
        value = getattr(self, name)
        if value is not None:
            return value
        if self.architecture not in _DEFAULTS:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, "
                             f"got {self.architecture!r}")
        return _DEFAULTS[self.architecture][name]

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(size=int(self.effective_param("image_size")), color="rgb",
                             margin=float(self.margin))

    # -- training -------------------------------------------------------------------------
    def fit(self, X: Sequence[np.ndarray], y: Sequence[str],
            validation_data: tuple[Sequence[np.ndarray], Sequence[str]] | None = None,
            ) -> CnnClassifier:
        """Train on face crops ``X`` with labels ``y``.

        Args:
            X: face crops, ``uint8`` BGR (H, W, 3) arrays of any size.
            y: their class names.
            validation_data: ``(images, labels)`` for early stopping; None carves
                ``validation_fraction`` out of ``X``.
        """
        self.check_params()
        self._validation = None
        if validation_data is not None:
            images, labels = validation_data
            classes = np.unique(np.asarray(y))
            labels = np.asarray(labels)
            unknown = sorted(set(labels.tolist()) - set(classes.tolist()))
            if unknown:
                raise ValueError(f"validation_data has classes not in y: {unknown}")
            self._validation = (self.preprocessing.apply_batch(check_images(images)),
                                np.searchsorted(classes, labels))
        try:
            super().fit(X, y)
        finally:
            del self._validation
        # Predictions come from the exported graph, here as after loading: what is measured
        # after training is what every user of the bundle gets.
        self._export_graph()
        self.metrics_["history"] = self.history_
        if "val_loss" in self.history_:
            self.metrics_["best_epoch"] = int(np.argmin(self.history_["val_loss"])) + 1
        return self

    def _split_validation(self, inputs: np.ndarray, y: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """Hold out a stratified ``validation_fraction`` of the training data, if it can."""
        fraction = float(self.validation_fraction or 0)
        n_classes = int(y.max()) + 1
        n_val = int(round(fraction * len(y)))
        if fraction <= 0 or np.bincount(y).min() < 2 or n_val < n_classes \
                or len(y) - n_val < n_classes:
            if fraction > 0:
                logger.warning("too few images for a validation part of %.0f %%; training "
                               "without early stopping", 100 * fraction)
            return inputs, y, None
        from sklearn.model_selection import train_test_split

        train_x, val_x, train_y, val_y = train_test_split(
            inputs, y, test_size=n_val, stratify=y, random_state=self.random_state)
        return train_x, train_y, (val_x, val_y)

    def _augmentation(self) -> str | None:
        if self.augment is False or self.augment is None:
            return None
        if self.augment is True:
            return "light"
        return str(self.augment)  # one of AUGMENTATIONS: check_params made sure

    def _dataset(self, inputs: np.ndarray, y: np.ndarray, training: bool) -> tf.data.Dataset:
        _, tf = _tensorflow()
        data = tf.data.Dataset.from_tensor_slices((inputs, y.astype(np.int32)))
        augmentation = self._augmentation() if training else None
        if training:
            data = data.shuffle(len(inputs), seed=self.random_state,
                                reshuffle_each_iteration=True)
        if augmentation == "robust":
            # Endless, so that the batch counter runs on across epochs and every batch gets
            # its own, reproducible random stream (fit() is given steps_per_epoch).
            data = data.repeat()
        data = data.batch(int(self.batch_size))
        if augmentation == "light":
            augment = _augmenter(self.architecture, self.random_state)
            # Whole batches at a time, in parallel with the training step.
            data = data.map(lambda x, t: (augment(tf.cast(x, tf.float32), training=True), t),
                            num_parallel_calls=tf.data.AUTOTUNE)
        elif augmentation == "robust":
            augmenter = FaceAugmenter()
            seed = 0 if self.random_state is None else int(self.random_state)

            def degrade(step: np.ndarray, x: np.ndarray) -> np.ndarray:
                return augmenter(x, np.random.default_rng([seed, int(step)]))

            def robust(step, batch):
                x, t = batch
                out = tf.numpy_function(degrade, [step, x], tf.uint8, stateful=False)
                return tf.cast(tf.ensure_shape(out, x.shape), tf.float32), t

            data = data.enumerate().map(robust, num_parallel_calls=tf.data.AUTOTUNE)
        else:
            data = data.map(lambda x, t: (tf.cast(x, tf.float32), t))
        return data.prefetch(tf.data.AUTOTUNE)

    def _optimizer(self, steps: int) -> keras.optimizers.Optimizer:
        keras, _ = _tensorflow()
        peak = float(self.effective_param("learning_rate"))
        warmup = min(steps // 10, 200)
        # Cosine decay to zero: at a constant rate validation accuracy kept swinging between
        # 0.82 and 0.96 from epoch to epoch; decayed, the last epochs settle. A short warm-up
        # keeps the first steps, on untrained batch statistics, from overshooting.
        schedule = keras.optimizers.schedules.CosineDecay(
            peak / 10 if warmup else peak, max(1, steps - warmup), alpha=0.0,
            warmup_target=peak if warmup else None, warmup_steps=warmup)
        if self.architecture == "seed":
            return keras.optimizers.RMSprop(schedule)
        return keras.optimizers.AdamW(schedule, weight_decay=1e-4)

    def _fit_inputs(self, inputs: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.check_params()
        if self.architecture == "seed" and int(self.effective_param("image_size")) < 46:
            raise ValueError(f"the seed architecture needs image_size >= 46, "
                             f"got {self.image_size}")
        if importlib.util.find_spec("tf2onnx") is None:  # fail before training, not after
            raise BackendError(f"exporting the cnn backend to ONNX needs tf2onnx: {_TRAIN_HINT}")
        keras, tf = _tensorflow()
        _configure_threads(self.threads)
        if self.random_state is not None:
            keras.utils.set_random_seed(int(self.random_state))
            if self.deterministic:
                # Without it, three runs of the same command scored 0.967, 0.979 and 0.972:
                # the augmentation's random ops ran in parallel in no fixed order, and
                # threaded reductions summed in no fixed order.
                tf.config.experimental.enable_op_determinism()
        validation = getattr(self, "_validation", None)
        if validation is None:
            inputs, y, validation = self._split_validation(inputs, y)
        epochs = int(self.effective_param("epochs"))
        steps = epochs * -(-len(inputs) // int(self.batch_size))
        model = build_model(self.architecture, int(self.effective_param("image_size")), n_classes)
        model.compile(optimizer=self._optimizer(steps), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = _history_callback()
        callbacks: list[keras.callbacks.Callback] = [history]
        if validation is not None:
            callbacks.append(keras.callbacks.EarlyStopping(
                "val_loss", patience=int(self.patience), restore_best_weights=True))
        class_weight = None
        if self.class_weight == "balanced":
            counts = np.bincount(y, minlength=n_classes)
            class_weight = {i: len(y) / (n_classes * c) for i, c in enumerate(counts) if c}
        steps_per_epoch = -(-len(inputs) // int(self.batch_size))
        model.fit(
            self._dataset(inputs, y, training=True), epochs=epochs,
            steps_per_epoch=steps_per_epoch if self._augmentation() == "robust" else None,
            validation_data=None if validation is None else self._dataset(*validation, False),
            callbacks=callbacks, class_weight=class_weight, shuffle=False,
            verbose=int(self.verbose))
        self.model_ = model
        self.history_ = history.history
        self._keras_file = None

    def _export_graph(self) -> None:
        """Export the trained network to the ONNX graph that predicts, with the classes and
        the preprocessing in its metadata."""
        size = int(self.effective_param("image_size"))
        metadata = {
            "maskdet.classes": json.dumps([str(c) for c in self.output_classes_]),
            "maskdet.preprocessing": json.dumps(self.preprocessing.to_dict()),
            "maskdet.input": f"float32 RGB faces valued 0-255, shape (n, {size}, {size}, 3)"}
        self._set_graph(export_onnx(self.model_, size, metadata))

    def _set_graph(self, graph: bytes) -> None:
        self.onnx_graph_ = graph
        self._network = _OnnxNetwork(graph, self.threads)

    # -- inference ------------------------------------------------------------------------
    def _predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        if self._network.threads != self.threads:  # set_params(threads=...) after loading
            self._network = _OnnxNetwork(self._network.graph, self.threads)
        return self._network(inputs)

    def keras_model(self) -> keras.Model:
        """The Keras network, to train further or to compare with: the one ``fit`` trained,
        else the one the bundle keeps (needs TensorFlow)."""
        model = getattr(self, "model_", None)
        if model is not None:
            return model
        if getattr(self, "_keras_file", None) is None:
            raise BackendError("this classifier holds no Keras weights")
        keras, _ = _tensorflow()
        with tempfile.TemporaryDirectory(prefix="maskdet-keras-") as tmp:
            path = Path(tmp) / _WEIGHTS_FILE
            path.write_bytes(self._keras_file)
            self.model_ = keras.saving.load_model(path, compile=False)
        return self.model_

    def export(self, path: str | os.PathLike, format: str = "onnx") -> Path:
        """Write the network as an ONNX graph (the one maskdet runs; classes and preprocessing
        in its metadata)."""
        if format != "onnx":
            raise BackendError(f"the cnn backend exports to onnx, not {format!r}")
        from ..files import write_atomic

        return write_atomic(path, self.onnx_graph_)

    # -- persistence ----------------------------------------------------------------------
    def _save_weights(self, directory: Path) -> None:
        (directory / _ONNX_FILE).write_bytes(self.onnx_graph_)
        model = getattr(self, "model_", None)
        if model is None:  # loaded from a bundle: keep its Keras weights as they were
            if getattr(self, "_keras_file", None) is not None:
                (directory / _WEIGHTS_FILE).write_bytes(self._keras_file)
            return
        if getattr(model, "optimizer", None) is not None:
            # An uncompiled copy: the optimizer state (two values per weight for AdamW) would
            # triple the file, and a loaded model only predicts. Rebuilt from the config, as
            # keras.models.clone_model keeps the compiled optimizer.
            keras, _ = _tensorflow()
            model = keras.Model.from_config(self.model_.get_config())
            model.set_weights(self.model_.get_weights())
        model.save(directory / _WEIGHTS_FILE)

    def _load_weights(self, directory: Path) -> None:
        self._set_graph((directory / _ONNX_FILE).read_bytes())
        keras_file = directory / _WEIGHTS_FILE
        self._keras_file = keras_file.read_bytes() if keras_file.is_file() else None
        self.model_ = None

    def _load_legacy_weights(self, directory: Path, trust_pickle: bool) -> None:
        # Bundles before format 3 hold the Keras weights only: export them to the graph.
        keras, _ = _tensorflow()
        self.model_ = keras.saving.load_model(directory / _WEIGHTS_FILE, compile=False)
        self._keras_file = None
        self._export_graph()

    def _library_versions(self) -> dict[str, str]:
        from ..versions import package_version

        out = {"onnxruntime": package_version("onnxruntime")}
        if "tensorflow" in sys.modules:  # the ones it was trained or exported with
            keras, tf = _tensorflow()
            out.update(tensorflow=tf.__version__, keras=keras.__version__)
        return {k: v for k, v in out.items() if v}
