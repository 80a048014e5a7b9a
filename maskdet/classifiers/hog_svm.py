"""HOG features + scikit-learn SVM: the fast classical backend (``hog-svm``).

Its weights are stored with ``skops.io``, not pickle: loading lets in only the scikit-learn
and NumPy types a HOG+SVM model is made of (:data:`TRUSTED_TYPES` beside skops' own list), so
a bundle from an unknown source cannot run code.
"""

from __future__ import annotations

import copy
import zipfile
from numbers import Integral, Real
from pathlib import Path

import cv2
import joblib
import numpy as np

from ..errors import BundleError
from ..faces.crops import DEFAULT_MARGIN
from .augmentation import FaceAugmenter
from .base import Classifier
from .params import Interval, StrOptions
from .preprocessing import Preprocessing

#: Below this many images HOG runs in-process: worker start-up would cost more than it saves.
_PARALLEL_MIN = 512
_WEIGHTS_FILE = "model.skops"
#: The weights of bundles before format 3 (``maskdet upgrade`` converts them).
_LEGACY_WEIGHTS_FILE = "model.joblib"
#: The types of a calibrated HOG+SVM pipeline that skops does not trust by default (it trusts
#: the public scikit-learn estimators and NumPy arrays).
TRUSTED_TYPES = ("sklearn.calibration._CalibratedClassifier",
                 "sklearn.calibration._SigmoidCalibration")


def color_layout(images: np.ndarray, grid: int) -> np.ndarray:
    """The mean colour (CIE Lab) of each cell of a ``grid`` x ``grid`` split of BGR ``uint8``
    faces (n, size, size, 3) -> (n, grid * grid * 3), scaled to 0-1.

    HOG sees only the gray gradients; where a mask sits, the lower face is one flat colour
    (often white, blue or black) instead of skin, which a coarse colour layout captures.
    """
    out = np.empty((len(images), grid * grid * 3), np.float32)
    for i, image in enumerate(images):
        lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
        out[i] = cv2.resize(lab, (grid, grid), interpolation=cv2.INTER_AREA).reshape(-1)
    return out / 255.0


def hog_features(
    images: np.ndarray,
    orientations: int = 9,
    pixels_per_cell: int = 8,
    cells_per_block: int = 2,
    n_jobs: int | None = None,
) -> np.ndarray:
    """HOG descriptors of gray ``uint8`` images of shape (n, size, size) -> (n, n_features).

    Large batches are split over ``n_jobs`` processes with joblib (None: all cores).
    """
    from skimage.feature import hog

    def one(image: np.ndarray) -> np.ndarray:
        return hog(image, orientations=orientations,
                   pixels_per_cell=(pixels_per_cell, pixels_per_cell),
                   cells_per_block=(cells_per_block, cells_per_block),
                   block_norm="L2-Hys", transform_sqrt=True, feature_vector=True)

    def chunk(batch: np.ndarray) -> np.ndarray:
        return np.stack([one(image) for image in batch]).astype(np.float32)

    if len(images) == 0:
        size = images.shape[1] if images.ndim == 3 else 64
        return np.zeros((0, len(one(np.zeros((size, size), np.uint8)))), np.float32)
    workers = joblib.effective_n_jobs(-1 if n_jobs is None else n_jobs)
    if len(images) < _PARALLEL_MIN or workers == 1:
        return chunk(images)
    batches = np.array_split(images, workers * 4)
    parts = joblib.Parallel(n_jobs=workers)(joblib.delayed(chunk)(b) for b in batches)
    return np.concatenate(parts)


class HogSvmClassifier(Classifier):
    """Histogram-of-oriented-gradients features of the gray face (optionally with a coarse
    colour layout), scaled, then an SVM.

    The defaults were chosen on the stratified 80/20 split of ``mask-faces``: 48 px faces,
    8 px cells, 12 orientations, mirrored training copies and 200 principal components reached
    0.96 accuracy; 64 px and 6 px cells were no better and several times slower.

    Probabilities come from sigmoid calibration on cross-validation folds
    (``CalibratedClassifierCV(ensemble=False)``), so ``predict`` is the arg-max of
    ``predict_proba`` and prediction costs one SVM.

    Args:
        image_size: side of the square gray face the HOG is computed on.
        orientations, pixels_per_cell, cells_per_block: HOG parameters.
        kernel: ``"rbf"`` (default) or ``"linear"`` (a LinearSVC: faster, less accurate).
        C: SVM regularisation (larger: fits the training data more closely).
        gamma: RBF kernel width (``"scale"`` or a float); ignored by the linear kernel.
        calibration_cv: folds used to calibrate probabilities.
        flip_augment: also train on the mirror image of every face (faces are left-right
            symmetric; this adds about 1.5 points of accuracy on ``mask-faces``).
        augment_copies: also train on this many randomly degraded copies of every face
            (:class:`~maskdet.classifiers.augmentation.FaceAugmenter`: smaller, blurred,
            darker, turned, partly covered), for photos unlike the training faces.
        color_grid: also describe the face's colours, as the mean colour of each cell of a
            ``color_grid`` x ``color_grid`` grid (see :func:`color_layout`); 0 (the default):
            HOG of the gray face alone.
        pca_components: reduce the HOG features to this many principal components before
            the SVM (faster training and prediction), or None to keep them all.
        class_weight: None or ``"balanced"`` for unbalanced classes.
        margin: crop margin around detected faces (see :class:`Preprocessing`).
        n_jobs: processes for HOG extraction on large batches (None: all cores).
        random_state: seed of the calibration folds and of the degraded copies.

    Example:
        >>> import maskdet
        >>> clf = maskdet.create_classifier("hog-svm")  # doctest: +SKIP
        >>> clf.fit(face_images, labels).predict_proba(new_faces)  # doctest: +SKIP
    """

    backend_name = "hog-svm"
    _parameter_constraints = {
        "image_size": [Interval(Integral, 8, 1024, closed="both")],
        "orientations": [Interval(Integral, 1, 360, closed="both")],
        "pixels_per_cell": [Interval(Integral, 1, None, closed="left")],
        "cells_per_block": [Interval(Integral, 1, None, closed="left")],
        "kernel": [StrOptions({"rbf", "linear"})],
        "C": [Interval(Real, 0, None, closed="neither")],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0, None, closed="neither")],
        "calibration_cv": [Interval(Integral, 2, None, closed="left")],
        "flip_augment": ["boolean"],
        "augment_copies": [Interval(Integral, 0, 100, closed="both")],
        "color_grid": [Interval(Integral, 0, 64, closed="both")],
        "pca_components": [Interval(Integral, 1, None, closed="left"), None],
        "class_weight": [StrOptions({"balanced"}), None],
        "margin": [Interval(Real, 0, 2, closed="both")],
        "n_jobs": [Integral, None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def __init__(
        self,
        image_size: int = 48,
        orientations: int = 12,
        pixels_per_cell: int = 8,
        cells_per_block: int = 2,
        kernel: str = "rbf",
        C: float = 10.0,
        gamma: float | str = "scale",
        calibration_cv: int = 3,
        flip_augment: bool = True,
        augment_copies: int = 0,
        color_grid: int = 0,
        pca_components: int | None = 200,
        class_weight: str | None = None,
        margin: float = DEFAULT_MARGIN,
        n_jobs: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.image_size = image_size
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.calibration_cv = calibration_cv
        self.flip_augment = flip_augment
        self.augment_copies = augment_copies
        self.color_grid = color_grid
        self.pca_components = pca_components
        self.class_weight = class_weight
        self.margin = margin
        self.n_jobs = n_jobs
        self.random_state = random_state

    @property
    def preprocessing(self) -> Preprocessing:
        color = "bgr" if self.color_grid else "gray"
        return Preprocessing(size=int(self.image_size), color=color, margin=float(self.margin))

    def _features(self, inputs: np.ndarray) -> np.ndarray:
        gray = inputs
        if inputs.ndim == 4:
            gray = np.stack([cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for image in inputs])
        features = hog_features(gray, self.orientations, self.pixels_per_cell,
                                self.cells_per_block, n_jobs=self.n_jobs)
        if self.color_grid:
            features = np.hstack([features, color_layout(inputs, int(self.color_grid))])
        return features

    def _make_model(self, folds: list[tuple[np.ndarray, np.ndarray]], n_features: int):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.decomposition import PCA
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC, LinearSVC

        if self.kernel == "rbf":
            svm = SVC(kernel="rbf", C=self.C, gamma=self.gamma, class_weight=self.class_weight,
                      cache_size=500)
        elif self.kernel == "linear":
            svm = LinearSVC(C=self.C, class_weight=self.class_weight, dual="auto",
                            max_iter=5000, random_state=self.random_state)
        else:
            raise ValueError(f"kernel must be 'rbf' or 'linear', got {self.kernel!r}")
        steps = [StandardScaler()]
        if self.pca_components:
            # Small training sets cannot have more components than samples in a fold.
            fewest = min(len(train) for train, _ in folds)
            n = min(int(self.pca_components), n_features, fewest)
            steps.append(PCA(n_components=n, random_state=self.random_state))
        return CalibratedClassifierCV(make_pipeline(*steps, svm), method="sigmoid", cv=folds,
                                      ensemble=False)

    def _fit_inputs(self, inputs: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        from sklearn.model_selection import StratifiedKFold

        self.check_params()
        block = int(self.pixels_per_cell) * int(self.cells_per_block)
        if block > int(self.image_size):
            raise ValueError(f"pixels_per_cell x cells_per_block ({block}) must be at most "
                             f"image_size ({self.image_size}): no HOG block fits the face")
        smallest = int(np.bincount(y).min())
        if smallest < self.calibration_cv:
            raise ValueError(f"each class needs at least calibration_cv={self.calibration_cv} "
                             f"training images; the smallest has {smallest}")
        features = self._features(inputs)
        kfold = StratifiedKFold(self.calibration_cv, shuffle=True, random_state=self.random_state)
        folds = list(kfold.split(features, y))
        # Extra copies of a face go to the calibration fold of their original, so that the
        # calibration never scores a model on a copy of its own training image.
        n = len(features)
        copies = [features]
        if self.flip_augment:
            copies.append(self._features(inputs[:, :, ::-1]))
        if int(self.augment_copies) > 0:
            rng = np.random.default_rng(self.random_state)
            augmenter = FaceAugmenter()
            copies += [self._features(augmenter(inputs, rng))
                       for _ in range(int(self.augment_copies))]
        if len(copies) > 1:
            k = len(copies)
            features = np.concatenate(copies)
            y = np.tile(y, k)
            folds = [(np.concatenate([a + i * n for i in range(k)]),
                      np.concatenate([b + i * n for i in range(k)])) for a, b in folds]
        self.model_ = self._make_model(folds, features.shape[1])
        self.model_.fit(features, y)

    def _predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        proba = self.model_.predict_proba(self._features(inputs))
        # The model was fit on class indices 0..k-1: its columns are in output_classes_ order.
        return proba

    def _save_weights(self, directory: Path) -> None:
        import skops.io

        # The support vectors and principal axes are most of the file; as float32 it is half
        # the size, and the probabilities change by less than 1e-5.
        model = copy.deepcopy(self.model_)
        _cast_large_arrays(model, np.float32)
        skops.io.dump(model, directory / _WEIGHTS_FILE, compression=zipfile.ZIP_DEFLATED,
                      compresslevel=9)

    def _load_weights(self, directory: Path) -> None:
        import skops.io

        path = directory / _WEIGHTS_FILE
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise BundleError(f"the weights hold types a HOG+SVM model does not have, refused "
                              f"unloaded: {', '.join(untrusted[:5])}")
        model = skops.io.load(path, trusted=list(TRUSTED_TYPES))
        _cast_large_arrays(model, np.float64)  # libsvm computes in float64
        self.model_ = model

    def _load_legacy_weights(self, directory: Path, trust_pickle: bool) -> None:
        if not trust_pickle:
            raise BundleError("its HOG+SVM weights are a pickle, which runs code when loaded: "
                              "convert it only if you trust where it comes from "
                              "(--trust-pickle)")
        model = joblib.load(directory / _LEGACY_WEIGHTS_FILE)
        _cast_large_arrays(model, np.float64)
        self.model_ = model


#: The fitted arrays that grow with the training data or the feature size.
_LARGE_ARRAYS = ("support_vectors_", "components_")


def _cast_large_arrays(model, dtype) -> None:
    """Cast the large fitted arrays of a calibrated HOG+SVM pipeline to ``dtype``, in place."""
    for calibrated in getattr(model, "calibrated_classifiers_", []):
        for _, step in calibrated.estimator.steps:
            for name in _LARGE_ARRAYS:
                value = getattr(step, name, None)
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    setattr(step, name, np.ascontiguousarray(value, dtype=dtype))
