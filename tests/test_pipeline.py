"""`MaskDetector`: face detection + classification of photos, and its operating point."""

from __future__ import annotations

import re

import numpy as np
import pytest

from maskdet.classifiers import load_classifier
from maskdet.detections import Detections
from maskdet.draw import annotate
from maskdet.faces import FaceDetector, HaarDetector
from maskdet.pipeline import MaskDetector
from tests.helpers import classified, synthetic_face

CLASSES = ("with_mask", "without_mask")


class FixedDetector(FaceDetector):
    """Returns the same boxes for every image; records the images it was given."""

    name = "fixed"

    def __init__(self, boxes, scores=None) -> None:
        self.boxes = np.asarray(boxes, np.int32).reshape(-1, 4)
        self.scores = (np.full(len(self.boxes), 0.9, np.float32) if scores is None
                       else np.asarray(scores, np.float32))
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return Detections(boxes=self.boxes, face_scores=self.scores)


def count_predict_proba(classifier, monkeypatch) -> list[int]:
    """Wrap ``classifier.predict_proba``; returns a list of the batch size of each call."""
    calls: list[int] = []
    original = classifier.predict_proba

    def predict_proba(X):
        calls.append(len(X))
        return original(X)

    monkeypatch.setattr(classifier, "predict_proba", predict_proba, raising=False)
    return calls


@pytest.fixture
def classifier(trained_model):
    return load_classifier(trained_model)


def scene_with_faces(labels, seed: int = 1, face_size: int = 98, margin: float = 0.2):
    """A canvas with synthetic faces pasted in a row. Returns the image and the face boxes
    whose margin-enlarged squares are exactly the pasted faces."""
    rng = np.random.default_rng(seed)
    gap = 20
    width = gap + len(labels) * (face_size + gap)
    canvas = rng.integers(90, 140, (face_size + 2 * gap + 40, width, 3), dtype=np.uint8)
    inner = round(face_size / (1 + 2 * margin))
    offset = (face_size - inner) // 2
    boxes = []
    for i, label in enumerate(labels):
        x, y = gap + i * (face_size + gap), gap + (i % 2) * 30
        canvas[y : y + face_size, x : x + face_size] = synthetic_face(label, rng, face_size)
        boxes.append((x + offset, y + offset, inner, inner))
    return canvas, boxes


def test_scene_builder_squares_are_the_pasted_faces():
    from maskdet.faces import square_box

    _, boxes = scene_with_faces(["with_mask", "without_mask"])
    assert [square_box(b, 0.2) for b in boxes] == [(20, 20, 98, 98), (138, 50, 98, 98)]


def test_detect_labels_synthetic_faces(classifier, monkeypatch):
    # The fixture's model only recognises crops exactly like its 96-px training faces (the
    # synthetic faces are so regular that some HOG features barely vary): with margin 0.25 a
    # 64-px box gives exactly the 96-px pasted face, which margin 0.2 cannot.
    assert classifier.preprocessing.margin == 0.2
    classifier.set_params(margin=0.25)
    labels = ["with_mask", "without_mask", "without_mask", "with_mask",
              "with_mask", "without_mask", "with_mask", "without_mask"]
    image, boxes = scene_with_faces(labels, face_size=96, margin=0.25)
    assert boxes[0] == (36, 36, 64, 64)
    calls = count_predict_proba(classifier, monkeypatch)
    detector = MaskDetector(classifier, face_detector=FixedDetector(boxes))

    found = detector.detect(image)

    assert calls == [len(labels)]  # one batch for all faces of the image
    assert detector.face_detector.calls == 1
    assert len(found) == len(labels)
    assert found.classes == CLASSES == detector.classes
    assert found.boxes.tolist() == [list(b) for b in boxes]
    assert found.probabilities.shape == (len(labels), 2)
    np.testing.assert_allclose(found.probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(found.scores, found.probabilities.max(axis=1))
    correct = sum(str(p) == t for p, t in zip(found.labels, labels))
    assert correct >= len(labels) - 1, (found.labels.tolist(), labels)
    assert sum(found.counts().values()) == len(labels)


def test_classify_uses_the_crop_with_margin(classifier, monkeypatch):
    """The classifier sees the margin-enlarged square crop around each box."""
    image, boxes = scene_with_faces(["with_mask", "without_mask"])
    seen = []
    original = classifier.predict_proba

    def predict_proba(X):
        seen.extend(x.copy() for x in X)
        return original(X)

    monkeypatch.setattr(classifier, "predict_proba", predict_proba, raising=False)
    MaskDetector(classifier, face_detector=FixedDetector(boxes)).detect(image)
    assert [x.shape for x in seen] == [(98, 98, 3), (98, 98, 3)]
    np.testing.assert_array_equal(seen[0], image[20:118, 20:118])
    np.testing.assert_array_equal(seen[1], image[50:148, 138:236])


def test_accepts_a_bundle_path_or_a_classifier(trained_model, classifier):
    image, boxes = scene_with_faces(["with_mask", "without_mask", "with_mask"])
    results = [
        MaskDetector(source, face_detector=FixedDetector(boxes)).detect(image)
        for source in (trained_model, str(trained_model), classifier)
    ]
    assert isinstance(MaskDetector(str(trained_model), FixedDetector(boxes)).classifier,
                      type(classifier))
    for other in results[1:]:
        assert other.labels.tolist() == results[0].labels.tolist()
        np.testing.assert_allclose(other.probabilities, results[0].probabilities)


def test_face_detector_by_name(classifier):
    assert isinstance(MaskDetector(classifier, face_detector="haar").face_detector,
                      HaarDetector)


@pytest.mark.parametrize(
    "min_face, min_face_score, expected",
    [
        (0, 0.0, [0, 1, 2, 3]),
        (40, 0.0, [0, 2, 3]),  # box 1 is 30 px on its shorter side
        (50, 0.0, [0, 3]),  # box 0 is exactly 50 px: kept
        (51, 0.0, [3]),
        (0, 0.5, [0, 1, 3]),  # box 2 scores 0.25
        (0, 0.75, [0, 1]),  # box 1 scores exactly 0.75: kept
        (40, 0.5, [0, 3]),
        (50, 0.625, [0, 3]),
        (0, 0.95, []),
    ],
)
def test_min_face_and_min_face_score(classifier, monkeypatch, min_face, min_face_score,
                                     expected):
    boxes = [(10, 10, 50, 50), (100, 10, 60, 30), (200, 10, 45, 45), (300, 10, 60, 60)]
    scores = [0.875, 0.75, 0.25, 0.625]
    image = np.random.default_rng(0).integers(0, 256, (120, 400, 3), dtype=np.uint8)
    calls = count_predict_proba(classifier, monkeypatch)
    detector = MaskDetector(classifier, FixedDetector(boxes, scores), min_face=min_face,
                            min_face_score=min_face_score)

    found = detector.detect(image)

    assert found.boxes.tolist() == [list(boxes[i]) for i in expected]
    np.testing.assert_allclose(found.face_scores, [scores[i] for i in expected])
    assert len(found.labels) == len(expected) and found.classes == CLASSES
    assert calls == ([len(expected)] if expected else [])
    unclassified = detector.find_faces(image)
    assert unclassified.labels is None and len(unclassified) == len(expected)


def test_no_faces_gives_empty_classified_detections(classifier, monkeypatch):
    calls = count_predict_proba(classifier, monkeypatch)
    detector = MaskDetector(classifier, face_detector=FixedDetector(np.zeros((0, 4))))
    found = detector.detect(np.zeros((100, 100, 3), np.uint8))
    assert isinstance(found, Detections) and len(found) == 0
    assert found.classes == CLASSES
    assert found.labels.shape == (0,) and found.probabilities.shape == (0, 2)
    assert found.counts() == {"with_mask": 0, "without_mask": 0}
    assert found.to_dicts() == []
    assert calls == []


def test_haar_on_blank_image_gives_empty_classified_detections(classifier):
    found = MaskDetector(classifier, face_detector="haar").detect(
        np.full((200, 200, 3), 255, np.uint8))
    assert len(found) == 0 and found.classes == CLASSES


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((50, 50, 3), np.float32),
        np.zeros((50, 50, 3), np.float64),
        np.zeros((50, 50, 3), np.uint16),
        np.zeros((50, 50), np.uint8),
        np.zeros((50, 50, 4), np.uint8),
        np.zeros((50, 50, 3), np.uint8).tolist(),
    ],
    ids=["float32", "float64", "uint16", "gray", "bgra", "list"],
)
def test_detect_rejects_bad_images(classifier, image):
    detector = MaskDetector(classifier, face_detector=FixedDetector([(0, 0, 10, 10)]))
    with pytest.raises(ValueError, match="uint8 BGR"):
        detector.detect(image)
    assert detector.face_detector.calls == 0


@pytest.fixture
def photo():
    return np.random.default_rng(3).integers(0, 100, (300, 400, 3), dtype=np.uint8)


def test_mask_detector_annotate(classifier, photo):
    detector = MaskDetector(classifier, face_detector=FixedDetector([(50, 100, 80, 90)]))
    dets = classified([(50, 100, 80, 90)], ["without_mask"])
    np.testing.assert_array_equal(detector.annotate(photo, dets), annotate(photo, dets))


CONFIDENCE_BOXES = [(10, 10, 50, 50), (100, 10, 50, 50), (200, 10, 50, 50), (300, 10, 50, 50)]


CONFIDENCE_FACE_SCORES = [0.9, 0.9, 0.5, 1.0]


#: labels with, without, without, without; confidences 0.855, 0.72, 0.45, 0.6
CONFIDENCE_PROBA = np.array([[0.95, 0.05], [0.2, 0.8], [0.1, 0.9], [0.4, 0.6]], np.float32)


def detect_with_fixed_probabilities(classifier, monkeypatch, **options):
    monkeypatch.setattr(classifier, "predict_proba",
                        lambda X: CONFIDENCE_PROBA[: len(X)], raising=False)
    detector = MaskDetector(classifier, FixedDetector(CONFIDENCE_BOXES, CONFIDENCE_FACE_SCORES),
                            **options)
    image = np.zeros((80, 400, 3), np.uint8)
    return detector, detector.detect(image)


@pytest.mark.parametrize(
    ("min_confidence", "kept"),
    [
        (0, [0, 1, 2, 3]),
        (0.5, [0, 1, 3]),
        (0.7, [0, 1]),
        (0.86, []),
        ({"without_mask": 0.7}, [0, 1]),
        ({"without_mask": 0.5}, [0, 1, 3]),
        ({"with_mask": 0.9}, [1, 2, 3]),
    ],
)
def test_min_confidence_drops_faces_below_it_per_label(classifier, monkeypatch, min_confidence,
                                                       kept):
    _, found = detect_with_fixed_probabilities(classifier, monkeypatch,
                                               min_confidence=min_confidence)
    assert found.boxes.tolist() == [list(CONFIDENCE_BOXES[i]) for i in kept]
    expected = [0.855, 0.72, 0.45, 0.6]
    np.testing.assert_allclose(found.confidences, [expected[i] for i in kept], rtol=1e-5)


def test_default_min_confidence_is_the_models_operating_point(classifier, monkeypatch,
                                                              tmp_path):
    from dataclasses import replace

    assert classifier.settings_.min_confidence == {}
    _, found = detect_with_fixed_probabilities(classifier, monkeypatch)
    assert len(found) == 4  # no operating point: nothing is dropped

    classifier.settings_ = replace(classifier.settings_, min_confidence={"without_mask": 0.7})
    reloaded = load_classifier(classifier.save(tmp_path / "m.maskdet"))
    assert reloaded.settings_.min_confidence == {"without_mask": 0.7}
    detector, found = detect_with_fixed_probabilities(reloaded, monkeypatch)
    assert detector.min_confidence == {"without_mask": 0.7}
    assert found.boxes.tolist() == [list(CONFIDENCE_BOXES[i]) for i in (0, 1)]
    _, everything = detect_with_fixed_probabilities(reloaded, monkeypatch, min_confidence=0)
    assert len(everything) == 4


@pytest.mark.parametrize(
    ("min_confidence", "message"),
    [({"no_mask": 0.5}, "labels the model does not have: ['no_mask']"),
     (1.5, "between 0 and 1, got 1.5"),
     ({"without_mask": -0.1}, "between 0 and 1, got -0.1 for 'without_mask'")],
)
def test_min_confidence_rejects_bad_values(classifier, min_confidence, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        MaskDetector(classifier, FixedDetector([]), min_confidence=min_confidence)


def test_find_faces_on_a_resized_image_gives_boxes_in_the_image_pixels(classifier):
    class HalfSeen(FaceDetector):
        """Finds a 20 px face at (30, 10) of the image it is given; records its size."""

        def __init__(self):
            self.sizes = []

        def detect(self, image):
            self.sizes.append(image.shape[:2])
            return Detections(boxes=[[30, 10, 20, 20]], face_scores=[0.9],
                              landmarks=np.full((1, 5, 2), 10.0))

    image = np.zeros((100, 200, 3), np.uint8)
    face_detector = HalfSeen()
    mask_detector = MaskDetector(classifier, face_detector, min_face=30)
    found = mask_detector.find_faces(image, scale=0.5)
    assert face_detector.sizes == [(50, 100)]
    assert found.boxes.tolist() == [[60, 20, 40, 40]]  # back in the image's pixels
    assert found.landmarks[0, 0].tolist() == [20.0, 20.0]
    assert len(mask_detector.find_faces(image)) == 0  # 20 px at full size: below min_face
