"""Shared fixtures. Real data comes from ../shared through environment variables that
`.ci/run` sets; tests that need it skip with a reason where it is absent."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.detections import Detections
from maskdet.faces import FaceDetector

FACES_ENV = "MASKDET_TEST_FACES"  # ../shared/datasets/mask-faces
SCENES_ENV = "MASKDET_TEST_SCENES"  # ../shared/datasets/mask-scenes
YUNET_ENV = "MASKDET_YUNET_MODEL"  # ../shared/models/face_detection_yunet_2026may.onnx


def _shared_path(env: str) -> Path | None:
    value = os.environ.get(env)
    return Path(value) if value and Path(value).exists() else None


def _require(env: str, what: str) -> Path:
    path = _shared_path(env)
    if path is None:
        pytest.skip(f"{what} not available: set {env} (as .ci/run does, from ../shared)")
    return path


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The real `mask-faces` class-folder dataset."""
    return _require(FACES_ENV, "the mask-faces dataset")


@pytest.fixture(scope="session")
def scenes_dir() -> Path:
    """The real `mask-scenes` VOC dataset."""
    return _require(SCENES_ENV, "the mask-scenes dataset")


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    """The YuNet ONNX model file."""
    return _require(YUNET_ENV, "the YuNet model")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's cache, and never download during tests."""
    monkeypatch.setenv("MASKDET_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))

    def no_download(*args, **kwargs):
        from maskdet.errors import DetectorUnavailableError

        raise DetectorUnavailableError("downloads are disabled in tests")

    monkeypatch.setattr("maskdet.faces.download_yunet_model", no_download)


@pytest.fixture(autouse=True)
def _maskdet_logging():
    """Let caplog see maskdet's records even after the CLI configured its own handler."""
    logger = logging.getLogger("maskdet")
    yield
    logger.handlers[:] = []
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def synthetic_face(label: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """A drawn 'face': skin-coloured ellipse with eyes; 'with_mask' adds a light mask shape
    over the lower half, 'without_mask' a mouth. Separable by HOG; face size, position and
    colours vary so that a model trained on them generalises to other crops."""
    img = np.full((size, size, 3), rng.integers(60, 200), np.uint8)
    img[:] = img + rng.integers(0, 30, (size, size, 3), dtype=np.uint8)
    s = size * rng.uniform(0.85, 1.05)  # the face's own scale
    cx = size // 2 + int(rng.integers(-size // 16, size // 16 + 1))
    cy = size // 2 + int(rng.integers(-size // 16, size // 16 + 1))
    skin = tuple(int(v) for v in rng.integers([90, 120, 160], [130, 170, 230]))
    cv2.ellipse(img, (cx, cy), (int(s * 0.32), int(s * 0.42)), 0, 0, 360, skin, -1)
    for dx in (-s / 7, s / 7):
        cv2.circle(img, (int(cx + dx), int(cy - s * 0.1)), max(2, int(s / 24)), (40, 30, 30), -1)
    if label == "with_mask":
        color = tuple(int(v) for v in rng.integers([180, 150, 100], [255, 230, 200]))
        pts = np.array([[cx - s / 3, cy + s * 0.05], [cx + s / 3, cy + s * 0.05],
                        [cx + s / 4, cy + s * 0.35], [cx - s / 4, cy + s * 0.35]], np.int32)
        cv2.fillPoly(img, [pts], color)
    else:
        cv2.ellipse(img, (cx, int(cy + s * 0.2)), (int(s / 8), max(1, int(s / 20))), 0, 0, 360,
                    (60, 60, 150), -1)
    return img


@pytest.fixture(scope="session")
def synthetic_faces():
    """80 synthetic face crops (40 per class) with labels."""
    rng = np.random.default_rng(0)
    labels = ["with_mask", "without_mask"] * 40
    images = [synthetic_face(label, rng) for label in labels]
    return images, np.array(labels)


def write_class_folders(root: Path, per_class: int = 12, classes=("with_mask", "without_mask"),
                        seed: int = 0) -> Path:
    """A small class-folder dataset of synthetic faces written as JPEG/PNG files."""
    rng = np.random.default_rng(seed)
    for label in classes:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ext = ".png" if i % 3 == 0 else ".jpg"
            face = synthetic_face("with_mask" if label == "with_mask" else "without_mask", rng)
            cv2.imwrite(str(folder / f"{label}_{i}{ext}"), face)
    return root


@pytest.fixture
def class_folders(tmp_path) -> Path:
    return write_class_folders(tmp_path / "faces")


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, synthetic_faces) -> Path:
    """A small HOG+SVM bundle trained on synthetic faces."""
    import maskdet

    images, labels = synthetic_faces
    path = tmp_path_factory.mktemp("model") / "synthetic.maskdet"
    maskdet.create_classifier("hog-svm", image_size=48).fit(images, labels).save(path)
    return path


class MarkerDetector(FaceDetector):
    """Finds a face where the top-left pixel is white: the box stored in pixels (0, 1..4),
    blue channel, after a weak 8 x 8 decoy at the corner."""

    name = "marker"

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        if image[0, 0].tolist() != [255, 255, 255]:
            return Detections.empty()
        x, y, w, h = (int(v) for v in image[0, 1:5, 0])
        # a weak decoy box, then the real one: the most confident face must be used
        return Detections(boxes=[[0, 0, 8, 8], [x, y, w, h]], face_scores=[0.3, 0.9])
