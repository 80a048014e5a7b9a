"""End-to-end video throughput at 640x480: decode, detect, track, classify, annotate and write
an MP4, as ``maskdet video FILE --output OUT`` does (pytest-benchmark).

Run: ``python -m pytest benchmarks/test_video_fps.py --benchmark-only
--benchmark-columns=median,rounds -s`` (with MASKDET_TEST_FACES, MASKDET_TEST_SCENES and
MASKDET_YUNET_MODEL set as in .ci/run). The processed frames per second of each
configuration are printed and stored in ``extra_info["fps"]``; the target is 25 or more with
YuNet + HOG-SVM on 2 cores.

The video: 8 street photos of mask-scenes holding 3 to 8 labelled faces each, scaled to cover
640x480 and panned slowly for 25 frames each (200 frames); without MASKDET_TEST_SCENES, four
mask-faces crops per frame instead.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

FRAMES_PER_PHOTO = 25
SIZE = (640, 480)


def _panned(image: np.ndarray, n: int) -> list[np.ndarray]:
    h, w = image.shape[:2]
    s = max(SIZE[0] / w, SIZE[1] / h) * 1.1
    big = cv2.resize(image, (int(w * s) + 1, int(h * s) + 1), interpolation=cv2.INTER_AREA)
    dx, dy = big.shape[1] - SIZE[0], big.shape[0] - SIZE[1]
    return [big[dy * k // n: dy * k // n + SIZE[1], dx * k // n: dx * k // n + SIZE[0]]
            for k in range(n)]


@pytest.fixture(scope="session")
def video_640x480(tmp_path_factory, mask_faces_split) -> Path:
    import maskdet

    frames: list[np.ndarray] = []
    scenes = os.environ.get("MASKDET_TEST_SCENES")
    if scenes and Path(scenes).is_dir():
        dataset = maskdet.load_dataset(scenes)
        per_photo = Counter(s.path for s in dataset.samples)
        photos = sorted(p for p, n in per_photo.items() if 3 <= n <= 8)[:8]
        for photo in photos:
            frames += _panned(maskdet.read_image(photo), FRAMES_PER_PHOTO)
    else:
        _, test = mask_faces_split
        for k in range(8):
            collage = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
            for i, face in enumerate(test.images[4 * k: 4 * k + 4]):
                y, x = divmod(i, 2)
                collage[y * 240 + 20:y * 240 + 220, x * 320 + 60:x * 320 + 260] = cv2.resize(
                    face, (200, 200))
            frames += _panned(collage, FRAMES_PER_PHOTO)
    path = tmp_path_factory.mktemp("video") / "bench.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, SIZE)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def cnn(mask_faces_split):
    """A CNN of the ``cnn`` backend trained briefly: its speed, not its accuracy, is measured."""
    import maskdet

    train, _ = mask_faces_split
    try:
        clf = maskdet.create_classifier("cnn", epochs=1)
    except maskdet.BackendError as exc:
        pytest.skip(f"cnn backend unavailable: {exc}")
    idx = np.random.default_rng(0).permutation(len(train.images))[:600]
    return clf.fit([train.images[i] for i in idx], train.labels[idx])


def _measure(benchmark, video: Path, model, out: Path, **options) -> None:
    import maskdet

    runs = []

    def run():
        frames = maskdet.stream(video, model=model, face_detector="yunet", annotate=True,
                                **options)
        with maskdet.VideoWriter(out, fps=25) as writer:
            faces = 0
            for result in frames:
                writer.write(result.annotated)
                faces += len(result.detections)
        runs.append((frames.summary.processed, frames.summary.seconds, faces))

    benchmark.pedantic(run, rounds=3, iterations=1)
    processed, _, faces = runs[-1]
    fps = sorted(p / s for p, s, _ in runs)[len(runs) // 2]  # the median run
    benchmark.extra_info.update(fps=round(fps, 1), frames=processed,
                                faces_per_frame=round(faces / processed, 2), **options)
    print(f"\n{video.name} 640x480 {options}: {fps:.1f} processed frames/s "
          f"({faces / processed:.1f} faces per frame)")
    assert processed == FRAMES_PER_PHOTO * 8


@pytest.mark.parametrize("every, detect_scale", [(1, 1.0), (2, 1.0), (3, 1.0), (1, 0.5)],
                         ids=["every1", "every2-default", "every3", "every1-half-scale"])
def test_video_fps_yunet_hog_svm(benchmark, video_640x480, yunet_model, hog_svm, tmp_path,
                                 every, detect_scale):
    _measure(benchmark, video_640x480, hog_svm, tmp_path / "out.mp4", every=every,
             detect_scale=detect_scale)


def test_video_fps_yunet_cnn(benchmark, video_640x480, yunet_model, cnn, tmp_path):
    _measure(benchmark, video_640x480, cnn, tmp_path / "out.mp4", every=2)
