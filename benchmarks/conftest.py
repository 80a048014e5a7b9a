"""Benchmarks need the real data: they read it from the same variables as the tests.

``python -m benchmarks`` runs these files with two more variables: ``MASKDET_BENCH_MODELS``
(a folder of the model bundles it trained, ``<backend>.maskdet``, measured instead of quick
stand-ins) and ``MASKDET_BENCH_FACES_PER_CLASS`` (use only this many images per class of
mask-faces, for ``--quick``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks.report import BACKENDS


def _require(env: str) -> Path:
    value = os.environ.get(env)
    if not value or not Path(value).exists():
        pytest.skip(f"set {env} (see .ci/run) to run this benchmark")
    return Path(value)


@pytest.fixture(scope="session")
def mask_faces_split():
    """Face crops of the stratified 80/20 split of mask-faces (seed 0)."""
    from maskdet import extract_faces, load_dataset, split_dataset

    logging.getLogger("maskdet").setLevel(logging.ERROR)
    dataset = load_dataset(_require("MASKDET_TEST_FACES"))
    per_class = int(os.environ.get("MASKDET_BENCH_FACES_PER_CLASS") or 0)
    if per_class:
        keep = [i for c in dataset.classes
                for i in np.flatnonzero(dataset.labels == c)[:per_class]]
        dataset = dataset.subset(sorted(keep))
    split = split_dataset(dataset, test_size=0.2, seed=0)
    return extract_faces(split.train), extract_faces(split.test)


@pytest.fixture(scope="session")
def hog_svm(mask_faces_split):
    import maskdet

    train, _ = mask_faces_split
    return maskdet.create_classifier("hog-svm").fit(train.images, train.labels)


@pytest.fixture(scope="session")
def classifiers(mask_faces_split):
    """Every backend, fitted once: the bundles of ``MASKDET_BENCH_MODELS`` where given, else
    HOG+SVM trained on the training part and the CNNs trained for one epoch on 600 faces
    (latency does not depend on how well a network is trained)."""
    import maskdet

    models = os.environ.get("MASKDET_BENCH_MODELS")
    train, _ = mask_faces_split
    idx = np.random.default_rng(0).permutation(len(train.images))[:600]
    out = {}
    for name, (backend, params, _) in BACKENDS.items():
        bundle = Path(models) / f"{name}.maskdet" if models else None
        try:
            if bundle is not None and bundle.is_file():
                out[name] = maskdet.load_classifier(bundle)
            elif backend == "cnn":
                out[name] = maskdet.create_classifier(backend, epochs=1, **params).fit(
                    [train.images[i] for i in idx], train.labels[idx])
            else:
                out[name] = maskdet.create_classifier(backend, **params).fit(
                    train.images, train.labels)
        except maskdet.BackendError as exc:
            out[name] = exc
    return out


@pytest.fixture(params=list(BACKENDS))
def classifier(request, classifiers):
    clf = classifiers[request.param]
    if isinstance(clf, Exception):
        pytest.skip(f"{request.param} unavailable: {clf}")
    return clf


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    """The YuNet file maskdet ships (or ``$MASKDET_YUNET_MODEL``): the same one users run."""
    from maskdet.faces.model_file import find_yunet_model

    return find_yunet_model()
