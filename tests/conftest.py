"""Shared fixtures. Real data comes from ../shared through environment variables that
`.ci/run` sets; tests that need it skip with a reason where it is absent."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    BlobDetector,
    clip_faces,
    clip_frame,
    scene_image,
    synthetic_face,
    write_class_folders,
    write_clip,
    write_voc,
)

FACES_ENV = "MASKDET_TEST_FACES"  # ../shared/datasets/mask-faces
SCENES_ENV = "MASKDET_TEST_SCENES"  # ../shared/datasets/mask-scenes


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
    """The YuNet ONNX model file: the one that ships with maskdet (or $MASKDET_YUNET_MODEL)."""
    from maskdet.faces.model_file import find_yunet_model

    return find_yunet_model()


@pytest.fixture(autouse=True)
def _maskdet_logging():
    """Let caplog see maskdet's records even after the CLI configured its own handler."""
    logger = logging.getLogger("maskdet")
    yield
    logger.handlers[:] = []
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def synthetic_faces():
    """80 synthetic face crops (40 per class) with labels."""
    rng = np.random.default_rng(0)
    labels = ["with_mask", "without_mask"] * 40
    images = [synthetic_face(label, rng) for label in labels]
    return images, np.array(labels)


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


@pytest.fixture
def voc_dir(tmp_path) -> Path:
    root = write_voc(tmp_path / "scenes", [
        ("a", scene_image(1), [("with_mask", (10, 10, 40, 40)),
                               ("without_mask", (50, 10, 90, 50))]),
        ("b", scene_image(2), [("mask_weared_incorrect", (100, 60, 150, 110)),
                               ("with_mask", (170, 10, 200, 40)),  # wholly outside (w=160)
                               ("without_mask", (140, 100, 180, 140))]),  # clipped
        ("c", scene_image(3), [("with_mask", (5, 5, 30, 30))]),
        ("d", None, [("with_mask", (5, 5, 30, 30))]),  # its image is missing
        ("e", scene_image(5), [("with_mask", (0, 0, 6, 8)),  # tiny face
                               ("without_mask", (20, 20, 60, 60))]),
    ])
    (root / "annotations" / "c.xml").write_text("<annotation><filename>c.png</filename>")
    return root


@pytest.fixture(scope="module")
def static_video(tmp_path_factory) -> Path:
    """20 frames at 10 fps: a masked face on the left, a bare one on the right."""
    patches = clip_faces("with_mask", "without_mask")
    frame = clip_frame(patches, [(30, 60), (190, 80)])
    return write_clip(tmp_path_factory.mktemp("video") / "static.avi", [frame] * 20)


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory) -> Path:
    """30 frames: two faces sliding towards each other, 3 px a frame."""
    patches = clip_faces("with_mask", "without_mask", seed=2)
    frames = [clip_frame(patches, [(10 + 3 * i, 10), (220 - 3 * i, 140)]) for i in range(30)]
    return write_clip(tmp_path_factory.mktemp("video") / "moving.avi", frames)


@pytest.fixture(autouse=True)
def _ffmpeg_log_level(monkeypatch):
    """`maskdet video` quiets FFmpeg through the environment: undo it after each test."""
    monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", os.environ.get("OPENCV_FFMPEG_LOGLEVEL", "-8"))


@pytest.fixture
def blob_detector(monkeypatch):
    """Make the CLI's face detector the stub."""
    monkeypatch.setattr("maskdet.video.streaming.create_face_detector",
                        lambda *args, **kwargs: BlobDetector())
