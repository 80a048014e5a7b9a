"""Per-face classification and per-frame detection latency (pytest-benchmark).

Run: ``python -m pytest benchmarks --benchmark-only --benchmark-columns=median,iqr,rounds``
(with MASKDET_TEST_FACES and MASKDET_YUNET_MODEL set as in .ci/run). Divide the batch medians
by the batch size for the per-face cost. ``python -m benchmarks`` runs this file on the models
it trained and puts the medians in BENCHMARKS.md.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest


@pytest.mark.parametrize("batch", [1, 64, 256])
def test_classify(benchmark, classifier, mask_faces_split, batch):
    _, test = mask_faces_split
    faces = (test.images * (batch // len(test.images) + 1))[:batch]
    benchmark.extra_info["faces"] = batch
    proba = benchmark(classifier.predict_proba, faces)
    assert proba.shape == (batch, 2)


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_face_detection_per_frame(benchmark, yunet_model, mask_faces_split, name, size):
    import maskdet

    detector = maskdet.create_face_detector(name)
    _, test = mask_faces_split
    frame = cv2.resize(test.images[0], size)  # a face filling the frame: a realistic load
    benchmark.extra_info["frame"] = f"{size[0]}x{size[1]}"
    benchmark(detector.detect, frame)


def _four_face_frame(images) -> np.ndarray:
    frame = np.zeros((480, 640, 3), np.uint8)
    for i, face in enumerate(images[:4]):
        y, x = divmod(i, 2)
        frame[y * 240:(y + 1) * 240, x * 320 + 40:x * 320 + 280] = cv2.resize(face, (240, 240))
    return frame


def test_whole_frame(benchmark, yunet_model, classifier, mask_faces_split):
    """Detect (YuNet) + classify one 640x480 frame holding four faces."""
    import maskdet

    _, test = mask_faces_split
    frame = _four_face_frame(test.images)
    mask_detector = maskdet.MaskDetector(classifier, face_detector="yunet")
    faces = benchmark(mask_detector.detect, frame)
    benchmark.extra_info["faces"] = len(faces)
    assert len(faces) >= 1
