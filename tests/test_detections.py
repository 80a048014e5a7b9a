"""`Detections`: validation, indexing, conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdet.detections import Detections, Face, box_iou

CLASSES = ("with_mask", "without_mask")


def make(n: int = 4, classified: bool = False, tracked: bool = False) -> Detections:
    """n faces whose every attribute encodes the face's index i."""
    i = np.arange(n)
    dets = Detections(
        boxes=np.stack([i * 10, i * 10 + 1, i + 5, i + 6], axis=1),
        face_scores=0.5 + i / 10,
        landmarks=np.arange(n * 10, dtype=np.float32).reshape(n, 5, 2),
        track_ids=i + 100 if tracked else None,
    )
    if classified:
        # even i: with_mask (0.9), odd i: without_mask (0.8)
        p = np.where((i % 2 == 0)[:, None], [[0.9, 0.1]], [[0.2, 0.8]])
        dets = dets.with_classification(p, CLASSES)
    return dets


def assert_is_faces(dets: Detections, indices) -> None:
    """``dets`` holds exactly the faces ``indices`` of ``make()``, all arrays aligned."""
    indices = list(indices)
    full = make(6, classified=dets.labels is not None, tracked=dets.track_ids is not None)
    np.testing.assert_array_equal(dets.boxes, full.boxes[indices])
    np.testing.assert_array_equal(dets.face_scores, full.face_scores[indices])
    np.testing.assert_array_equal(dets.landmarks, full.landmarks[indices])
    assert dets.boxes[:, 0].tolist() == [10 * j for j in indices]
    if dets.labels is not None:
        assert dets.labels.tolist() == [CLASSES[j % 2] for j in indices]
        np.testing.assert_array_equal(dets.scores, full.scores[indices])
        np.testing.assert_array_equal(dets.probabilities, full.probabilities[indices])
        assert dets.classes == CLASSES
    if dets.track_ids is not None:
        assert dets.track_ids.tolist() == [100 + j for j in indices]


# -- construction ---------------------------------------------------------------------------

def test_dtypes_and_rounding():
    dets = Detections(boxes=[[1.4, 2.6, 10.0, 20.2]], face_scores=[0.75])
    assert dets.boxes.dtype == np.int32 and dets.boxes.tolist() == [[1, 3, 10, 20]]
    assert dets.face_scores.dtype == np.float32
    assert dets.landmarks is None and dets.labels is None and dets.scores is None
    assert dets.probabilities is None and dets.track_ids is None and dets.classes == ()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"boxes": [[1, 2, 3]], "face_scores": [0.5]}, "boxes must have shape"),
        ({"boxes": [1, 2, 3, 4], "face_scores": [0.5]}, "boxes must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [0.5, 0.6]}, "face_scores must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [[0.5]]}, "face_scores must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": []}, "face_scores must have shape"),
        ({"boxes": [], "face_scores": [0.5]}, "face_scores must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [1], "landmarks": np.zeros((1, 5))},
         "landmarks must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [1], "labels": ["a", "b"]},
         "labels must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [1], "scores": [[0.1]]},
         "scores must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [1], "probabilities": [[0.1, 0.9]],
          "classes": ("a", "b", "c")}, "probabilities must have shape"),
        ({"boxes": [[1, 2, 3, 4]], "face_scores": [1], "track_ids": [1, 2]},
         "track_ids must have shape"),
    ],
)
def test_shapes_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


@pytest.mark.parametrize(
    "boxes, scores",
    [([], []), (np.zeros((0, 4)), np.zeros(0)), (np.zeros((0,)), [])],
)
def test_zero_faces_from_empty_inputs(boxes, scores):
    dets = Detections(boxes=boxes, face_scores=scores, landmarks=[])
    assert len(dets) == 0
    assert dets.boxes.shape == (0, 4) and dets.face_scores.shape == (0,)
    assert dets.landmarks.shape == (0, 5, 2)


def test_empty():
    dets = Detections.empty()
    assert len(dets) == 0 and list(dets) == [] and dets.to_dicts() == []
    assert dets.boxes.shape == (0, 4) and dets.face_scores.shape == (0,)
    assert dets.xyxy.shape == (0, 4) and dets.area.shape == (0,)
    assert dets.counts() == {}


def test_frozen():
    with pytest.raises(AttributeError):
        make().boxes = np.zeros((0, 4))


# -- len / iteration ------------------------------------------------------------------------

def test_len_and_iteration_yield_plain_python_faces():
    dets = make(3, classified=True, tracked=True)
    assert len(dets) == 3
    faces = list(dets)
    assert faces[1] == Face(box=(10, 11, 6, 7), face_score=pytest.approx(0.6),
                            label="without_mask", score=pytest.approx(0.8), track_id=101)
    for face in faces:
        assert isinstance(face, Face)
        assert all(type(v) is int for v in face.box)
        assert type(face.face_score) is float
        assert type(face.label) is str
        assert type(face.score) is float
        assert type(face.track_id) is int
    assert [f.label for f in faces] == ["with_mask", "without_mask", "with_mask"]


def test_iteration_unclassified_has_none():
    face = next(iter(make(1)))
    assert face.box == (0, 1, 5, 6)
    assert face.label is None and face.score is None and face.track_id is None


# -- indexing -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "index, expected",
    [
        (2, [2]),
        (np.int64(0), [0]),
        (-1, [5]),
        (slice(1, 4), [1, 2, 3]),
        (slice(None, None, -2), [5, 3, 1]),
        ([4, 0, 4], [4, 0, 4]),
        (np.array([3, 1]), [3, 1]),
        (np.array([True, False, True, False, False, True]), [0, 2, 5]),
        (np.zeros(6, bool), []),
    ],
)
@pytest.mark.parametrize("classified", [False, True])
def test_indexing_keeps_arrays_aligned(index, expected, classified):
    dets = make(6, classified=classified, tracked=classified)
    selected = dets[index]
    assert isinstance(selected, Detections)
    assert len(selected) == len(expected)
    assert_is_faces(selected, expected)
    assert len(dets) == 6  # the original is untouched


def test_boolean_mask_from_a_comparison():
    dets = make(6, classified=True)
    masked = dets[dets.labels == "without_mask"]
    assert_is_faces(masked, [1, 3, 5])
    assert_is_faces(dets[dets.face_scores > 0.75], [3, 4, 5])


@pytest.mark.parametrize("index, exception", [(6, IndexError), ([0, 9], IndexError),
                                              (np.ones(3, bool), IndexError)])
def test_bad_index(index, exception):
    with pytest.raises(exception):
        make(6)[index]


# -- geometry ---------------------------------------------------------------------------------

def test_xyxy_and_area():
    dets = Detections(boxes=[[10, 20, 30, 40], [0, 0, 1, 2]], face_scores=[1, 1])
    assert dets.xyxy.tolist() == [[10, 20, 40, 60], [0, 0, 1, 2]]
    assert dets.boxes.tolist() == [[10, 20, 30, 40], [0, 0, 1, 2]]  # xyxy is a copy
    assert dets.area.tolist() == [1200, 2]


def test_area_does_not_overflow():
    dets = Detections(boxes=[[0, 0, 100_000, 100_000]], face_scores=[1])
    assert dets.area.tolist() == [10_000_000_000]


# -- classification ---------------------------------------------------------------------------

def test_with_classification():
    dets = make(3)
    probabilities = [[0.3, 0.7], [0.6, 0.4], [0.05, 0.95]]
    classified = dets.with_classification(np.array(probabilities), list(CLASSES))
    assert classified.labels.tolist() == ["without_mask", "with_mask", "without_mask"]
    np.testing.assert_allclose(classified.scores, [0.7, 0.6, 0.95], rtol=1e-6)
    np.testing.assert_allclose(classified.probabilities, probabilities, rtol=1e-6)
    assert classified.probabilities.dtype == np.float32
    assert classified.classes == CLASSES
    np.testing.assert_array_equal(classified.boxes, dets.boxes)
    np.testing.assert_array_equal(classified.landmarks, dets.landmarks)
    assert dets.labels is None  # a copy


def test_with_classification_three_classes():
    classes = ("a", "b", "c")
    dets = make(2).with_classification([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], classes)
    assert dets.labels.tolist() == ["c", "a"]
    assert dets.counts() == {"a": 1, "b": 0, "c": 1}


def test_with_classification_of_zero_faces():
    dets = Detections.empty().with_classification(np.zeros((0, 2)), CLASSES)
    assert len(dets) == 0 and dets.classes == CLASSES
    assert dets.labels.shape == (0,) and dets.scores.shape == (0,)
    assert dets.probabilities.shape == (0, 2)
    assert dets.counts() == {"with_mask": 0, "without_mask": 0}


def test_with_classification_wrong_size():
    with pytest.raises(ValueError):
        make(3).with_classification(np.zeros((2, 2)), CLASSES)


# -- conversion -------------------------------------------------------------------------------

def test_to_dicts_is_json_ready():
    dets = make(2, classified=True)
    dicts = dets.to_dicts()
    assert dicts == [
        {"box": [0, 1, 5, 6], "label": "with_mask", "score": 0.9, "face_score": 0.5},
        {"box": [10, 11, 6, 7], "label": "without_mask", "score": 0.8, "face_score": 0.6},
    ]
    assert json.loads(json.dumps(dicts)) == dicts


def test_to_dicts_unclassified_and_tracked():
    dicts = make(2, tracked=True).to_dicts()
    assert dicts == [{"box": [0, 1, 5, 6], "track": 100, "face_score": 0.5},
                     {"box": [10, 11, 6, 7], "track": 101, "face_score": 0.6}]
    assert json.loads(json.dumps(dicts)) == dicts


def test_to_dicts_rounds_scores():
    dets = Detections(boxes=[[1, 2, 3, 4]], face_scores=[0.123456]).with_classification(
        [[0.987654, 0.012346]], CLASSES)
    assert dets.to_dicts() == [
        {"box": [1, 2, 3, 4], "label": "with_mask", "score": 0.9877, "face_score": 0.1235}]


@pytest.mark.parametrize(
    "probabilities, expected",
    [
        ([[0.9, 0.1], [0.8, 0.2]], {"with_mask": 2, "without_mask": 0}),
        ([[0.1, 0.9], [0.8, 0.2]], {"with_mask": 1, "without_mask": 1}),
        ([[0.1, 0.9], [0.3, 0.7]], {"with_mask": 0, "without_mask": 2}),
    ],
)
def test_counts_include_zero_classes(probabilities, expected):
    dets = make(2).with_classification(probabilities, CLASSES)
    counts = dets.counts()
    assert counts == expected
    assert list(counts) == list(CLASSES)


def test_counts_unclassified_is_empty():
    assert make(3).counts() == {}


# -- box_iou ---------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, expected", [
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ([0, 0, 10, 10], [5, 0, 10, 10], 50 / 150),           # half overlap: 50 / (100+100-50)
    ([0, 0, 10, 10], [5, 5, 10, 10], 25 / 175),
    ([0, 0, 10, 10], [10, 0, 10, 10], 0.0),               # touching edges
    ([0, 0, 10, 10], [2, 2, 5, 5], 25 / 100),              # one inside the other
    ([0, 0, 0, 10], [0, 0, 0, 10], 0.0),                   # no area
])
def test_box_iou_known_pairs(a, b, expected):
    assert box_iou([a], [b])[0, 0] == pytest.approx(expected)


def test_box_iou_shape_and_empty():
    iou = box_iou([[0, 0, 10, 10], [100, 100, 4, 4]], [[0, 0, 10, 10], [5, 0, 10, 10],
                                                       [101, 101, 2, 2]])
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou, [[1, 1 / 3, 0], [0, 0, 4 / 16]])
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


# -- supervision ---------------------------------------------------------------------------
def test_to_and_from_supervision_keep_everything():
    sv = pytest.importorskip("supervision")
    faces = Detections(boxes=[[10, 20, 30, 40], [100, 0, 20, 20]], face_scores=[0.9, 0.5],
                       track_ids=[7, 8]).with_classification([[0.2, 0.8], [0.6, 0.4]],
                                                              CLASSES)
    got = faces.to_supervision()
    assert isinstance(got, sv.Detections) and len(got) == 2
    np.testing.assert_array_equal(got.xyxy, [[10, 20, 40, 60], [100, 0, 120, 20]])
    np.testing.assert_allclose(got.confidence, [0.72, 0.3], rtol=1e-6)  # face x label
    assert got.class_id.tolist() == [1, 0] and got.tracker_id.tolist() == [7, 8]
    assert got.data["class_name"].tolist() == ["without_mask", "with_mask"]
    back = Detections.from_supervision(got, CLASSES)
    assert back.boxes.tolist() == faces.boxes.tolist()
    assert back.labels.tolist() == faces.labels.tolist()
    np.testing.assert_allclose(back.scores, faces.scores)
    np.testing.assert_allclose(back.face_scores, faces.face_scores)
    assert back.track_ids.tolist() == [7, 8] and back.classes == CLASSES


def test_supervision_annotators_work_on_maskdet_faces():
    """Blur the faces with supervision's own annotator: the box regions change, the rest not."""
    sv = pytest.importorskip("supervision")
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    faces = Detections(boxes=[[20, 30, 40, 40]], face_scores=[0.9])
    blurred = sv.BlurAnnotator(kernel_size=15).annotate(image.copy(), faces.to_supervision())
    assert not np.array_equal(blurred[30:70, 20:60], image[30:70, 20:60])
    np.testing.assert_array_equal(blurred[:, 80:], image[:, 80:])
    dets = sv.Detections(xyxy=np.array([[0.0, 0.0, 10.0, 10.0]]), class_id=np.array([0]),
                         confidence=np.array([0.5]))
    plain = Detections.from_supervision(dets, CLASSES)  # any supervision detections
    assert plain.labels.tolist() == ["with_mask"] and plain.boxes.tolist() == [[0, 0, 10, 10]]
    assert plain.face_scores.tolist() == [0.5] and plain.scores.tolist() == [1.0]
