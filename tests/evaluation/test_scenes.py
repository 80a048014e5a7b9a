"""Detection metrics on hand-made boxes whose answers are worked out by hand, and the
scoring of a MaskDetector over labelled photos."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from maskdet.evaluation import (
    SceneResult,
    average_precision,
    match_detections,
    recall_at_precision,
    scene_detection_metrics,
    size_bucket,
    size_bucket_names,
)


def test_match_duplicate_detection_is_one_tp_one_fp():
    gt = [[0, 0, 10, 10]]
    # The more confident duplicate wins the face even though it overlaps less.
    is_tp, matched, ignored = match_detections([[0, 0, 10, 10], [1, 0, 10, 10]], [0.6, 0.9], gt)
    assert is_tp.tolist() == [False, True]
    assert matched.tolist() == [-1, 0]
    assert not ignored.any()


def test_match_takes_best_free_box_and_respects_threshold():
    gt = [[0, 0, 10, 10], [8, 0, 10, 10]]
    # Detection A overlaps gt0 fully; B overlaps gt1 at 8/12 wide -> IoU 80/120 = 0.667.
    is_tp, matched, _ = match_detections([[0, 0, 10, 10], [10, 0, 10, 10]], [0.9, 0.8], gt)
    assert is_tp.tolist() == [True, True]
    assert matched.tolist() == [0, 1]
    # Shifted by 5: IoU 1/3 < 0.5 is a false positive, but a true one at threshold 0.3.
    assert match_detections([[5, 0, 10, 10]], [1.0], [[0, 0, 10, 10]])[0].tolist() == [False]
    assert match_detections([[5, 0, 10, 10]], [1.0], [[0, 0, 10, 10]], iou=0.3)[0].tolist() \
        == [True]


def test_match_ignored_ground_truth():
    gt = [[0, 0, 10, 10], [50, 50, 10, 10]]
    is_tp, matched, ignored = match_detections(
        [[0, 0, 10, 10], [50, 50, 10, 10], [90, 90, 10, 10]], [0.9, 0.8, 0.7], gt,
        gt_ignore=[False, True])
    assert is_tp.tolist() == [True, False, False]
    assert ignored.tolist() == [False, True, False]
    assert matched.tolist() == [0, 1, -1]


def test_match_without_boxes():
    is_tp, matched, ignored = match_detections(np.zeros((0, 4)), [], [[0, 0, 5, 5]])
    assert is_tp.shape == matched.shape == ignored.shape == (0,)
    assert match_detections([[0, 0, 5, 5]], [1.0], np.zeros((0, 4)))[0].tolist() == [False]


@pytest.mark.parametrize("scores, tp, n_gt, expected", [
    ([0.9, 0.8, 0.7], [True, False, True], 3, (1 + 2 / 3) / 3),
    ([0.9, 0.8], [True, True], 2, 1.0),
    ([0.9, 0.8], [True, True], 4, 0.5),                 # half the faces never detected
    ([0.9, 0.8], [False, True], 1, 0.5),                # precision 1/2 at recall 1
    ([0.7, 0.8, 0.9], [True, False, True], 3, (1 + 2 / 3) / 3),  # ranked by score, not order
    ([0.9, 0.8, 0.7, 0.6], [False, True, False, True], 2, 0.5 * 0.5 + 0.5 * 0.5),
    ([], [], 3, 0.0),
    ([0.5], [False], 2, 0.0),
])
def test_average_precision_known_rankings(scores, tp, n_gt, expected):
    assert average_precision(scores, tp, n_gt) == pytest.approx(expected)


def test_average_precision_interpolates_precision():
    # Ranking TP FP FP TP TP with 3 GT: precision 1, .5, .33, .5, .6 at recall 1/3,1/3,1/3,2/3,1;
    # interpolated: 1 up to recall 1/3, then 0.6 -> AP = 1/3 + 0.6 * 2/3.
    ap = average_precision([5, 4, 3, 2, 1], [True, False, False, True, True], 3)
    assert ap == pytest.approx(1 / 3 + 0.6 * 2 / 3)


@pytest.mark.parametrize("scores, tp, n_gt, precision, expected", [
    ([0.9, 0.8, 0.7, 0.6], [True, False, True, True], 4, 0.7, (0.75, 0.6)),   # 3 of 4 kept
    ([0.9, 0.8, 0.7, 0.6], [True, False, True, True], 4, 0.9, (0.25, 0.9)),   # only the first
    ([0.9, 0.8, 0.7, 0.6], [False, True, True, True], 4, 0.9, (0.0, None)),   # never reached
    ([0.9, 0.5, 0.5], [True, True, False], 2, 0.9, (0.5, 0.9)),  # ties go together
    ([], [], 3, 0.5, (0.0, None)),
])
def test_recall_at_precision(scores, tp, n_gt, precision, expected):
    recall, threshold = recall_at_precision(scores, tp, n_gt, precision)
    assert recall == pytest.approx(expected[0])
    assert threshold == (None if expected[1] is None else pytest.approx(expected[1]))


def test_average_precision_without_ground_truth_is_nan():
    assert math.isnan(average_precision([0.5], [False], 0))


@pytest.mark.parametrize("side, name", [(0, "<20"), (19.9, "<20"), (20, "20-40"), (39, "20-40"),
                                        (40, ">=40"), (400, ">=40")])
def test_size_bucket(side, name):
    assert size_bucket(side) == name


def test_size_bucket_names():
    assert size_bucket_names() == ["<20", "20-40", ">=40"]
    assert size_bucket_names((10, 20, 30)) == ["<10", "10-20", "20-30", ">=30"]


def _scene():
    """One photo: two masked faces (a small one and a big one), one unmasked, one incorrect."""
    gt_boxes = [[0, 0, 50, 50], [100, 0, 10, 12], [200, 0, 30, 30], [300, 0, 25, 25]]
    gt_labels = ["with_mask", "with_mask", "without_mask", "mask_weared_incorrect"]
    pred_boxes = [
        [0, 0, 50, 50],       # with_mask, right (big face)
        [2, 0, 50, 50],       # with_mask, duplicate of it -> FP, bucketed >=40 via... own size
        [200, 0, 30, 30],     # labelled with_mask but the face is without_mask -> FP
        [300, 0, 25, 25],     # without_mask on the incorrect-mask face -> ignored
        [500, 500, 15, 15],   # without_mask on background -> FP (<20 by its own size)
    ]
    pred_labels = ["with_mask", "with_mask", "with_mask", "without_mask", "without_mask"]
    pred_scores = [0.9, 0.8, 0.7, 0.95, 0.6]
    return SceneResult(np.array(gt_boxes), np.array(gt_labels, dtype=object),
                       np.array(pred_boxes), np.array(pred_labels, dtype=object),
                       np.array(pred_scores))


def test_scene_detection_metrics_by_hand():
    m = scene_detection_metrics([_scene()], ["with_mask", "without_mask"])
    assert m["ground_truth"] == {"mask_weared_incorrect": 1, "with_mask": 2, "without_mask": 1}
    # Found regardless of label: big masked face, unmasked face, incorrect face; not the tiny one.
    assert m["detector_recall"] == {"mask_weared_incorrect": 1.0, "with_mask": 0.5,
                                    "without_mask": 1.0}
    wm = m["per_class"]["with_mask"]
    # Ranked 0.9 TP, 0.8 FP (duplicate), 0.7 FP (wrong face); 2 GT -> AP = 1 * 1/2.
    assert (wm["tp"], wm["fp"], wm["ground_truth"]) == (1, 2, 2)
    assert wm["precision"] == pytest.approx(1 / 3)
    assert wm["recall"] == pytest.approx(0.5)
    assert wm["ap"] == pytest.approx(0.5)
    wo = m["per_class"]["without_mask"]
    # The detection on the incorrect-mask face is ignored; the background one is a FP.
    assert (wo["tp"], wo["fp"], wo["detections"]) == (0, 1, 1)
    assert wo["recall"] == 0.0 and wo["ap"] == 0.0
    assert m["mean_ap"] == pytest.approx(0.25)


def test_scene_detection_metrics_by_size():
    m = scene_detection_metrics([_scene()], ["with_mask", "without_mask"])
    small, mid, big = (m["by_size"][b] for b in ("<20", "20-40", ">=40"))
    assert small["ground_truth"] == {"mask_weared_incorrect": 0, "with_mask": 1,
                                     "without_mask": 0}
    assert small["detector_recall"]["with_mask"] == 0.0
    assert math.isnan(small["detector_recall"]["without_mask"])   # no such face
    assert (small["with_mask"]["ground_truth"], small["with_mask"]["detections"]) == (1, 0)
    assert small["without_mask"]["fp"] == 1                        # the 15 px background box
    # The big face: one TP and its duplicate (50 px wide, so >=40 by its own size).
    assert (big["with_mask"]["tp"], big["with_mask"]["fp"]) == (1, 1)
    assert big["with_mask"]["ap"] == pytest.approx(1.0)
    # The 30 px unmasked face: missed by its class, and one with_mask FP of 30 px.
    assert mid["without_mask"]["ground_truth"] == 1 and mid["without_mask"]["tp"] == 0
    assert mid["with_mask"]["fp"] == 1


def test_scene_detection_metrics_sums_over_images():
    empty = SceneResult(np.array([[0, 0, 30, 30]]), np.array(["without_mask"], dtype=object),
                        np.zeros((0, 4)), np.array([], dtype=object), np.zeros(0))
    m = scene_detection_metrics([_scene(), empty], ["with_mask", "without_mask"])
    assert m["images"] == 2
    assert m["ground_truth"]["without_mask"] == 2
    assert m["detector_recall"]["without_mask"] == 0.5
    assert m["per_class"]["without_mask"]["ground_truth"] == 2


def fixed_mask_detector(trained_model, monkeypatch, boxes, face_scores, proba, min_face=0):
    """A MaskDetector whose face detector finds ``boxes`` in every photo and whose model gives
    the rows of ``proba`` to the faces it is given, in order."""
    from maskdet import Detections, FaceDetector, MaskDetector, load_classifier

    class Fixed(FaceDetector):
        def detect(self, image):
            return Detections(boxes=boxes, face_scores=face_scores)

    classifier = load_classifier(trained_model)
    monkeypatch.setattr(classifier, "predict_proba",
                        lambda X: np.asarray(proba, np.float32)[:len(X)])
    return MaskDetector(classifier, face_detector=Fixed(), min_face=min_face, min_confidence=0)


def test_evaluate_scenes_runs_a_detector_over_voc_photos(tmp_path, trained_model, monkeypatch):
    import cv2

    from maskdet import load_voc
    from maskdet.evaluation import evaluate_scenes

    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((100, 200, 3), np.uint8))
    objects = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{x}</xmin><ymin>10</ymin>"
        f"<xmax>{x + 30}</xmax><ymax>40</ymax></bndbox></object>"
        for name, x in (("with_mask", 10), ("without_mask", 100)))
    (tmp_path / "annotations" / "a.xml").write_text(
        f"<annotation><filename>a.png</filename><size><width>200</width><height>100</height>"
        f"</size>{objects}</annotation>")

    mask_detector = fixed_mask_detector(trained_model, monkeypatch,
                                        [[10, 10, 30, 30], [100, 10, 30, 30]], [0.9, 0.8],
                                        [[0.8, 0.2], [0.7, 0.3]])
    m = evaluate_scenes(mask_detector, load_voc(tmp_path))
    assert m["images"] == 1 and m["skipped"] == []
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    assert m["per_class"]["with_mask"]["tp"] == 1 and m["per_class"]["with_mask"]["fp"] == 1
    assert m["per_class"]["without_mask"]["recall"] == 0.0
    assert m["by_size"]["20-40"]["with_mask"]["ap"] == pytest.approx(1.0)


def _small_face_scene():
    """A 50 px masked face and a 12 px masked face, both detected (the small one by a 14 px
    box, IoU 144/196), and a 12 px unmasked face that nothing detects; plus an 8 px false
    detection on the background."""
    gt_boxes = [[0, 0, 50, 50], [100, 0, 12, 12], [200, 0, 12, 12]]
    gt_labels = ["with_mask", "with_mask", "without_mask"]
    pred_boxes = [[0, 0, 50, 50], [99, 0, 14, 14], [400, 400, 8, 8]]
    pred_labels = ["with_mask", "with_mask", "without_mask"]
    pred_scores = [0.9, 0.95, 0.5]
    return SceneResult(np.array(gt_boxes), np.array(gt_labels, dtype=object),
                       np.array(pred_boxes), np.array(pred_labels, dtype=object),
                       np.array(pred_scores))


def test_min_face_ignores_small_ground_truth():
    classes = ["with_mask", "without_mask"]
    every = scene_detection_metrics([_small_face_scene()], classes)
    assert every["min_face"] == 0 and every["ignored_small"] == {}
    assert every["ground_truth"] == {"with_mask": 2, "without_mask": 1}
    assert every["detector_recall"] == {"with_mask": 1.0, "without_mask": 0.0}
    assert (every["per_class"]["with_mask"]["tp"], every["per_class"]["with_mask"]["fp"]) == (2, 0)
    assert every["per_class"]["without_mask"]["fp"] == 1            # the 8 px box

    m = scene_detection_metrics([_small_face_scene()], classes, min_face=13)
    assert m["min_face"] == 13
    assert m["ignored_small"] == {"with_mask": 1, "without_mask": 1}
    # The small faces are not counted: neither in the ground truth nor in the detector recall.
    assert m["ground_truth"] == {"with_mask": 1}
    assert m["detector_recall"] == {"with_mask": 1.0}
    wm = m["per_class"]["with_mask"]
    # The 14 px detection matches an ignored face: neither a TP nor a FP.
    assert (wm["ground_truth"], wm["detections"], wm["tp"], wm["fp"]) == (1, 1, 1, 0)
    assert wm["precision"] == 1.0 and wm["recall"] == 1.0 and wm["ap"] == 1.0
    wo = m["per_class"]["without_mask"]
    # The 12 px unmasked face is not missed; the 8 px detection is dropped (below min_face).
    assert (wo["ground_truth"], wo["detections"], wo["fp"]) == (0, 0, 0)
    assert math.isnan(wo["recall"]) and math.isnan(wo["ap"])
    assert m["mean_ap"] == 1.0
    small = m["by_size"]["<20"]
    assert small["ground_truth"] == {"with_mask": 0}
    assert (small["with_mask"]["detections"], small["with_mask"]["fp"]) == (0, 0)


def _write_voc(root, objects):
    import cv2

    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    cv2.imwrite(str(root / "images" / "a.png"), np.zeros((100, 200, 3), np.uint8))
    xml = "".join(f"<object><name>{name}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
                  f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
                  for name, (x, y, w, h) in objects)
    (root / "annotations" / "a.xml").write_text(
        f"<annotation><filename>a.png</filename><size><width>200</width><height>100</height>"
        f"</size>{xml}</annotation>")
    return root


def test_evaluate_scenes_with_min_face(tmp_path, trained_model, monkeypatch):
    from maskdet import load_voc
    from maskdet.evaluation import evaluate_scenes

    dataset = load_voc(_write_voc(tmp_path, [("with_mask", (10, 10, 30, 30)),
                                             ("without_mask", (100, 10, 10, 10))]))

    def mask_detector(min_face):
        return fixed_mask_detector(trained_model, monkeypatch,
                                   [[10, 10, 30, 30], [99, 9, 12, 12]], [0.9, 0.8],
                                   [[0.8, 0.2], [0.6, 0.4]], min_face=min_face)

    m = evaluate_scenes(mask_detector(11), dataset)
    assert m["min_face"] == 11 and m["ignored_small"] == {"without_mask": 1}
    assert m["ground_truth"] == {"with_mask": 1}
    # The 12 px box on the 10 px unmasked face, labelled with_mask, is ignored, not a FP.
    assert (m["per_class"]["with_mask"]["tp"], m["per_class"]["with_mask"]["fp"]) == (1, 0)
    assert m["per_class"]["without_mask"]["ground_truth"] == 0
    everything = evaluate_scenes(mask_detector(0), dataset)
    assert everything["per_class"]["with_mask"]["fp"] == 1
    assert everything["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}


@pytest.mark.parametrize(
    ("tp", "n", "confidence", "expected"),
    [(18, 18, 0.9, 0.9164), (20, 22, 0.9, 0.7997), (10, 10, 0.9, 0.8589),
     (85, 100, 0.5, 0.85), (0, 5, 0.9, 0.0), (0, 0, 0.9, 0.0), (900, 1000, 0.95, 0.8833)],
)
def test_precision_lower_bound_is_the_wilson_bound(tp, n, confidence, expected):
    from maskdet.evaluation import precision_lower_bound

    assert precision_lower_bound(tp, n, confidence) == pytest.approx(expected, abs=1e-4)


def test_precision_lower_bound_grows_with_evidence():
    from maskdet.evaluation import precision_lower_bound

    bounds = [precision_lower_bound(9 * k, 10 * k) for k in (1, 3, 10, 100)]
    assert bounds == sorted(bounds) and 0.88 < bounds[-1] < 0.9


def test_detector_recall_counts_the_faces_found_before_a_confidence_threshold():
    from maskdet.evaluation import SceneResult, scene_detection_metrics

    gt = np.array([[0, 0, 40, 40], [100, 0, 40, 40]], float)
    labels = np.array(["with_mask", "without_mask"], object)
    # The detector found both faces; a confidence threshold dropped the unmasked one.
    kept = SceneResult(gt, labels, gt[:1], labels[:1], np.array([0.9]), found_boxes=gt)
    m = scene_detection_metrics([kept], ["with_mask", "without_mask"])
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    assert m["per_class"]["without_mask"]["recall"] == 0.0
    # Without found_boxes the labelled detections are all the detector found.
    plain = SceneResult(gt, labels, gt[:1], labels[:1], np.array([0.9]))
    assert scene_detection_metrics([plain], ["with_mask", "without_mask"])[
        "detector_recall"] == {"with_mask": 1.0, "without_mask": 0.0}


def test_scene_result_above_an_operating_point():
    r = SceneResult(np.zeros((0, 4)), np.array([], dtype=object),
                    np.array([[0, 0, 9, 9], [10, 0, 9, 9], [20, 0, 9, 9]]),
                    np.array(["with_mask", "without_mask", "without_mask"], dtype=object),
                    np.array([0.2, 0.3, 0.8]))
    kept = r.above({"without_mask": 0.5})
    assert kept.pred_labels.tolist() == ["with_mask", "without_mask"]  # with_mask not named
    assert kept.pred_scores.tolist() == [0.2, 0.8]
    assert kept.pred_boxes.tolist() == [[0, 0, 9, 9], [20, 0, 9, 9]]
    assert r.above({}) is r
    assert len(r.above({"with_mask": 0.25, "without_mask": 0.9}).pred_scores) == 0


def test_faces_the_annotations_leave_out_are_ignored_not_false():
    """A detection on a reviewed unlabelled face (the background one of _scene, at 500, 500)
    is neither a hit nor false; the face is no ground truth and not a miss."""
    scene = replace(_scene(), path="/photos/street7.png")
    classes = ["with_mask", "without_mask"]
    before = scene_detection_metrics([scene], classes)["per_class"]["without_mask"]
    assert (before["tp"], before["fp"]) == (0, 1)
    reviewed = scene.with_unlabelled({"street7": [(501, 499, 15, 16)], "other": [(0, 0, 9, 9)]})
    assert len(reviewed.gt_boxes) == len(scene.gt_boxes) + 1 and reviewed.gt_labels[-1] is None
    m = scene_detection_metrics([reviewed], classes)
    after = m["per_class"]["without_mask"]
    assert (after["tp"], after["fp"], after["detections"]) == (0, 0, 0)
    assert m["ground_truth"] == scene_detection_metrics([scene], classes)["ground_truth"]
    assert None not in m["detector_recall"] and m["ignored_unlabelled"] == 1
    assert m["ignored_small"] == {}
    # The other labels are scored as before; a photo without faces listed, or without a path,
    # is left as it was.
    assert m["per_class"]["with_mask"] == scene_detection_metrics(
        [scene], classes)["per_class"]["with_mask"]
    assert scene.with_unlabelled({"other": [(0, 0, 9, 9)]}) is scene
    assert _scene().with_unlabelled({"street7": [(501, 499, 15, 16)]}).gt_boxes.shape == (4, 4)
