"""Benchmarks need the real data: they read it from the same variables as the tests."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest


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
    split = split_dataset(load_dataset(_require("MASKDET_TEST_FACES")), test_size=0.2, seed=0)
    return extract_faces(split.train), extract_faces(split.test)


@pytest.fixture(scope="session")
def hog_svm(mask_faces_split):
    import maskdet

    train, _ = mask_faces_split
    return maskdet.create_classifier("hog-svm").fit(train.images, train.labels)


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    return _require("MASKDET_YUNET_MODEL")
