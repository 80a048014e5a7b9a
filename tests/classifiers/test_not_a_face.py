"""The hidden ``not_a_face`` output: crops labelled so in training teach a model to tell what
a face detector takes for faces and is none; it is never a label, and ``MaskDetector`` drops
(and counts) the faces it calls no face."""

from __future__ import annotations

import numpy as np
import pytest

import maskdet
from maskdet.classifiers import NOT_A_FACE, ModelSettings
from maskdet.detections import Detections
from maskdet.faces import FaceDetector


def not_faces(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Stripes, flat colours and noise: what a face detector finds on clothes and walls."""
    out = []
    for k in range(n):
        size = int(rng.integers(60, 120))
        image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
        if k % 3 == 0:
            image[:, ::8] = rng.integers(0, 255, 3)
        elif k % 3 == 1:
            image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        out.append(image)
    return out


@pytest.fixture(scope="module")
def with_not_a_face(synthetic_faces):
    images, labels = synthetic_faces
    extra = not_faces(np.random.default_rng(5), 30)
    return maskdet.create_classifier("hog-svm", image_size=32).fit(
        list(images) + extra, np.concatenate([labels, [NOT_A_FACE] * len(extra)]))


def test_the_hidden_output_is_no_label(with_not_a_face, synthetic_faces):
    clf = with_not_a_face
    assert clf.classes_.tolist() == ["with_mask", "without_mask"]
    assert clf.output_classes_.tolist() == ["not_a_face", "with_mask", "without_mask"]
    assert clf.has_not_a_face
    faces, labels = synthetic_faces
    others = not_faces(np.random.default_rng(9), 12)
    proba = clf.predict_proba(list(faces[:20]) + others)
    assert proba.shape == (32, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(clf.predict(others)) <= {"with_mask", "without_mask"}
    given_face, not_a_face = clf.predict_face_proba(list(faces[:20]) + others)
    np.testing.assert_allclose(given_face, proba, atol=1e-6)
    # Told apart: faces are rarely called no face, the new patterns mostly are.
    assert np.median(not_a_face[:20]) < 0.2 and np.median(not_a_face[20:]) > 0.5
    assert clf.score(faces[:20], labels[:20]) >= 0.9


def test_it_travels_in_the_bundle_and_is_described(with_not_a_face, tmp_path):
    clf = with_not_a_face
    clf.settings_ = ModelSettings(not_a_face=0.8)
    path = clf.save(tmp_path / "nf.maskdet")
    assert maskdet.read_manifest(path)["classes"] == ["not_a_face", "with_mask", "without_mask"]
    loaded = maskdet.load_classifier(path)
    assert loaded.classes_.tolist() == ["with_mask", "without_mask"] and loaded.has_not_a_face
    assert loaded.settings_.not_a_face == 0.8
    crops = not_faces(np.random.default_rng(3), 4)
    for a, b in zip(loaded.predict_face_proba(crops), clf.predict_face_proba(crops)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert maskdet.read_model_info(path).labels == ("with_mask", "without_mask")
    lines = loaded.model_info().describe()
    assert lines[0] == "hog-svm model, classes with_mask, without_mask"
    assert ("  faces it calls not_a_face with probability >= 0.8 are dropped as no face "
            "(a hidden output, never a label)") in lines


def test_one_face_class_and_not_a_face_is_too_few(synthetic_faces):
    images, labels = synthetic_faces
    with pytest.raises(ValueError, match="need at least two classes of faces"):
        maskdet.create_classifier("hog-svm", image_size=32).fit(
            images[:20], np.where(labels[:20] == "with_mask", "with_mask", NOT_A_FACE))


class ThreeBoxes(FaceDetector):
    name = "three"

    def detect(self, image):
        return Detections(boxes=[[0, 0, 40, 40], [50, 0, 40, 40], [100, 0, 40, 40]],
                          face_scores=[0.9, 0.9, 0.9])


def test_mask_detector_drops_and_counts_what_is_no_face(with_not_a_face, monkeypatch):
    # The model's outputs, fixed per box (columns not_a_face, with_mask, without_mask).
    outputs = np.array([[0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.95, 0.0, 0.05]], np.float32)
    monkeypatch.setattr(with_not_a_face, "_predict_inputs", lambda inputs: outputs,
                        raising=False)
    with_not_a_face.settings_ = ModelSettings()
    image = np.zeros((60, 160, 3), np.uint8)
    detector = maskdet.MaskDetector(with_not_a_face, face_detector=ThreeBoxes())
    found = detector.detect(image)
    assert detector.max_not_a_face == 0.5
    assert found.boxes[:, 0].tolist() == [0] and found.labels.tolist() == ["with_mask"]
    # The face's probabilities are given a face: 0.6 and 0.3 of 0.9.
    np.testing.assert_allclose(found.probabilities, [[2 / 3, 1 / 3]], atol=1e-6)
    assert found.classes == ("with_mask", "without_mask")
    assert detector.not_faces_dropped == 2
    detector.detect(image)
    assert detector.not_faces_dropped == 4
    # The model's setting, or the argument, moves the line.
    with_not_a_face.settings_ = ModelSettings(not_a_face=0.9)
    kept = maskdet.MaskDetector(with_not_a_face, face_detector=ThreeBoxes()).detect(image)
    assert kept.boxes[:, 0].tolist() == [0, 50]
    assert kept.labels.tolist() == ["with_mask", "with_mask"]
    everything = maskdet.MaskDetector(with_not_a_face, face_detector=ThreeBoxes(),
                                      max_not_a_face=1.0).detect(image)
    assert len(everything) == 3 and everything.labels.tolist()[2] == "without_mask"
    with pytest.raises(ValueError, match="max_not_a_face must be above 0 and at most 1"):
        maskdet.MaskDetector(with_not_a_face, face_detector=ThreeBoxes(), max_not_a_face=0)


def test_a_model_without_it_drops_nothing(trained_model):
    clf = maskdet.load_classifier(trained_model)
    assert not clf.has_not_a_face
    assert clf.output_classes_.tolist() == clf.classes_.tolist()
    _, not_a_face = clf.predict_face_proba(not_faces(np.random.default_rng(1), 3))
    assert not_a_face.tolist() == [0.0, 0.0, 0.0]


def test_tracking_evaluation_shares_answers_and_drops_alike(with_not_a_face, monkeypatch):
    """The tracking evaluation classifies a face once for every tracker: with the not_a_face
    output its answers stay aligned with their faces, and it drops what MaskDetector drops."""
    from collections import OrderedDict

    from maskdet.video.tracking_evaluation import _SharedClassifications

    outputs = np.array([[0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.05, 0.15, 0.8]], np.float32)
    calls = []

    def predict_inputs(inputs):
        calls.append(len(inputs))
        return outputs[-len(inputs):]

    monkeypatch.setattr(with_not_a_face, "_predict_inputs", predict_inputs, raising=False)
    with_not_a_face.settings_ = ModelSettings()
    image = np.zeros((60, 160, 3), np.uint8)
    faces = ThreeBoxes().detect(image)
    shared = _SharedClassifications(with_not_a_face, ThreeBoxes(), OrderedDict())
    plain = maskdet.MaskDetector(with_not_a_face, face_detector=ThreeBoxes())
    expected = plain.classify(image, faces)
    calls.clear()
    for _ in range(2):
        got = shared.classify(image, faces)
        assert got.boxes[:, 0].tolist() == expected.boxes[:, 0].tolist() == [0, 100]
        assert got.labels.tolist() == expected.labels.tolist() == ["with_mask", "without_mask"]
        np.testing.assert_allclose(got.probabilities, expected.probabilities)
    assert calls == [3] and shared.not_faces_dropped == 2
