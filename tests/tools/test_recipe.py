"""The recipe of the bundled models (recipes/default_models.py), run on tiny synthetic sources,
and the shipped bundles checked against the format it writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import maskdet
from maskdet.data import held_out_part, load_dataset, split_dataset
from maskdet.evaluation import precision_lower_bound
from maskdet.pretrained import PRETRAINED_DIR, PRETRAINED_MODELS
from recipes import default_models as recipe
from tests.helpers import SCENE_FACES, SceneFaces, write_class_folders, write_voc_scenes

TINY_HOG = {"image_size": 32, "augment_copies": 1}
TINY_CNN = {"image_size": 32, "epochs": 2, "batch_size": 8, "validation_fraction": 0.0,
            "threads": 1}


class FixedDetector(SceneFaces):
    name = "fixed"  # the framing the bundles record


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shared") / "datasets"
    write_class_folders(root / recipe.FACES, per_class=15)
    write_voc_scenes(root / recipe.SCENES, 10)
    return root


@pytest.fixture(scope="module")
def built(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrained")
    report = recipe.build(data_dir, out, ["hog-svm"], detector=FixedDetector(),
                          params={"hog-svm": TINY_HOG})
    return out, report


def keys(tree, depth=3):
    """The nested key structure of a JSON-like dict, down to ``depth`` levels."""
    if not isinstance(tree, dict) or depth == 0:
        return None
    return {k: keys(v, depth - 1) for k, v in tree.items()}


def test_sources_are_split_per_source_and_recorded(data_dir):
    sources = recipe.load_sources(data_dir)
    faces, scenes = sources.entries
    assert faces.to_dict() == {"name": "mask-faces", "layout": "folders", "files": 30,
                               "test_size": 0.2, "seed": 0, "test_files": 6}
    assert scenes.name == "mask-scenes" and scenes.files == 10
    assert scenes.test_files == 3 and scenes.test_size == 0.3
    expected = split_dataset(load_dataset(data_dir / "mask-scenes"), 0.3, 0.0, 0).test.paths
    assert set(sources.scenes_test.paths) == set(expected)
    assert not set(sources.scenes_test.paths) & set(sources.scenes_train.paths)


def test_scene_crops_add_detector_boxes_and_leave_out_small_faces(data_dir):
    sources = recipe.load_sources(data_dir)
    photos = len(set(sources.scenes_train.paths))
    boxes = recipe.detector_boxes(sources.scenes_train, FixedDetector())
    images, labels = recipe.scene_crops(sources.scenes_train, 0.2, boxes)
    # Two labelled faces of at least 10 px per photo (the 12 px one too), each also found
    # by the detector: 3 labelled crops + 3 detector crops.
    assert len(images) == 6 * photos
    assert sorted(set(labels)) == ["with_mask", "without_mask"]
    images, labels = recipe.scene_crops(sources.scenes_train, 0.2, min_face=20)
    assert len(images) == 2 * photos and list(labels).count("with_mask") == photos


def test_three_class_model_keeps_mask_weared_incorrect(tmp_path):
    root = write_voc_scenes(tmp_path / "voc", 2)
    # The small face of the first photo is worn under the nose.
    xml = root / "annotations" / "p0.xml"
    xml.write_text(xml.read_text().replace(
        "<name>without_mask</name><bndbox><xmin>140</xmin>",
        "<name>mask_weared_incorrect</name><bndbox><xmin>140</xmin>"))
    scenes = load_dataset(root)
    _, two = recipe.scene_crops(scenes, 0.2)
    _, three = recipe.scene_crops(scenes, 0.2, drop=recipe.dropped_labels("cnn3"))
    assert "mask_weared_incorrect" not in set(two) and len(two) == 5
    assert list(three).count("mask_weared_incorrect") == 1 and len(three) == 6
    assert recipe.dropped_labels("cnn") == recipe.DROP == recipe.dropped_labels("hog-svm")
    assert recipe.dropped_labels(("mask_weared_incorrect", "with_mask", "without_mask")) == {}
    assert recipe.dropped_labels(("with_mask", "without_mask")) == recipe.DROP
    assert recipe.MODELS["cnn3"][0] == "cnn"


def test_build_writes_bundles_with_sources_and_held_out_metrics(built, data_dir):
    out, report = built
    path = out / "hog-svm.maskdet"
    info = maskdet.read_model_info(path)
    metrics = info.metrics
    assert [s.name for s in info.settings.sources] == ["mask-faces", "mask-scenes"]
    assert info.settings.framing == "fixed"  # the detector the recipe was given
    held = metrics["recipe"]["held_out"]
    assert held["mask_faces_test"]["n"] == 6
    assert held["mask_scenes_test_crops"]["n"] == 2 * 3  # two faces >= 20 px per test photo
    for part in ("mask_scenes_test_end_to_end", "mask_scenes_test_end_to_end_all_faces"):
        e2e = held[part]
        assert e2e["images"] == 3 and e2e["min_face"] == 20
        assert e2e["per_class"]["without_mask"]["ground_truth"] == 3  # 12 px faces ignored
    # The operating point, chosen on validation photos, is what MaskDetector applies.
    point = metrics["operating_point"]
    assert set(point) <= {"min_confidence", "note", "validation", "face_score", "face_scores",
                          "not_a_face", "not_a_face_thresholds"}
    assert info.settings.not_a_face == point.get("not_a_face")
    assert info.settings.min_confidence == point.get("min_confidence", {})
    # A detector other than YuNet is used as it is: no face score to choose.
    assert info.settings.face_score is None and "face_score" not in point
    assert set(point["face_scores"]) == {"None"}
    assert info.settings.operating_point_note == point.get("note", "")
    assert maskdet.MaskDetector(path).min_confidence == point.get("min_confidence", {})
    assert held["mask_scenes_test_end_to_end"]["min_confidence"] == point.get(
        "min_confidence", {})
    assert held["mask_scenes_test_end_to_end_all_faces"]["min_confidence"] == {}
    assert report["hog-svm"]["operating_point"] == point
    # metrics.json holds the same numbers as the bundle.
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["hog-svm"]["held_out"] == json.loads(json.dumps(held))
    assert saved == json.loads(json.dumps(report, default=str))
    # The recorded split finds the held-out part again.
    scenes = load_dataset(data_dir / "mask-scenes")
    assert set(held_out_part(scenes, info.settings.sources).paths) == set(
        recipe.load_sources(data_dir).scenes_test.paths)


class TwoFaces(maskdet.FaceDetector):
    """Finds the two faces of SCENE_FACES: the masked one with score 0.9, the other 0.8."""

    name = "two-faces"

    def detect(self, image):
        return maskdet.Detections(boxes=[box for box, _ in SCENE_FACES], face_scores=[0.9, 0.8])


def test_operating_point_is_the_lowest_confidence_reaching_the_precision(built, data_dir,
                                                                          monkeypatch):
    out, _ = built
    classifier = maskdet.load_classifier(out / "hog-svm.maskdet")
    # Both faces called unmasked: the masked one (a false positive) at confidence 0.9 x 0.6,
    # the unmasked one at 0.8 x 0.9.
    monkeypatch.setattr(classifier, "predict_proba",
                        lambda X: np.array([[0.4, 0.6], [0.1, 0.9]], np.float32)[: len(X)])
    photos = load_dataset(data_dir / recipe.SCENES)
    point = recipe.choose_operating_point(
        *recipe.validation_results(classifier, photos, TwoFaces()))
    assert point["min_confidence"] == {"without_mask": 0.63}  # between 0.54 and 0.72
    validation = point["validation"]
    assert validation["images"] == 10 and validation["recall"] == 1.0
    assert validation["tp"] == validation["detections"] == 10
    assert validation["precision"] == 1.0 and validation["all_faces"]["precision"] == 0.5
    # 10 of 10 right: a precision of at least 0.859 with 90 % confidence.
    assert validation["precision_lower_bound"] == pytest.approx(0.8589, abs=1e-4)
    # At the operating point the false positives are gone, end to end.
    e2e = recipe.end_to_end(classifier, photos, TwoFaces(), point["min_confidence"])
    assert e2e["per_class"]["without_mask"]["precision"] == 1.0
    assert e2e["per_class"]["without_mask"]["tp"] == 10
    interval = e2e["intervals"]["without_mask"]
    assert interval["tp"] == 10 and interval["precision_interval"] == [1.0, 1.0]
    # No confidence reaches the precision when the false positive is the more certain one.
    monkeypatch.setattr(classifier, "predict_proba",
                        lambda X: np.array([[0.01, 0.99], [0.3, 0.7]], np.float32)[: len(X)])
    assert recipe.choose_operating_point(
        *recipe.validation_results(classifier, photos, TwoFaces())) == {}


def test_scene_folds_split_the_scene_training_photos_by_file(data_dir):
    sources = recipe.load_sources(data_dir)
    folds = recipe.scene_folds(sources, 3)
    photos = set(sources.scenes_train.paths)
    held = [set(fold.scenes_test.paths) for fold in folds]
    assert sorted(len(h) for h in held) == [2, 2, 3]  # 7 training photos
    assert set().union(*held) == photos and sum(map(len, held)) == len(photos)
    for fold, part in zip(folds, held):
        assert set(fold.scenes_train.paths) == photos - part  # every face of a photo moves
        assert len(fold.scenes_train) + len(fold.scenes_test) == len(sources.scenes_train)
        assert fold.faces_train is sources.faces_train and fold.scenes_test.layout == "voc"
        assert not part & set(sources.scenes_test.paths)  # the test part is not touched
    with pytest.raises(ValueError, match="7 scene training photos cannot be split in 8"):
        recipe.scene_folds(sources, 8)


def test_operating_point_pools_photos_scored_by_models_that_did_not_train_on_them(
        data_dir, monkeypatch):
    trained, scored = [], []
    train, results = recipe.train_model, recipe.validation_results

    def spy_train(name, sources, *args, **kwargs):
        trained.append(set(sources.scenes_train.paths))
        return train(name, sources, *args, **kwargs)

    def spy_results(classifier, photos, detector, **kwargs):
        scored.append(set(photos.paths))
        return results(classifier, photos, detector, **kwargs)

    monkeypatch.setattr(recipe, "train_model", spy_train)
    monkeypatch.setattr(recipe, "validation_results", spy_results)
    # 7 of 7 right is no evidence of 0.85 (the bound is 0.81): ask for less, to get a point
    monkeypatch.setattr(recipe, "OPERATING_PRECISION", 0.5)
    sources = recipe.load_sources(data_dir)
    detector = FixedDetector()
    boxes = recipe.detector_boxes(sources.scenes_train, detector)
    point = recipe.cross_validated_operating_point("hog-svm", sources, boxes, detector,
                                                   TINY_HOG, folds=3)
    assert len(trained) == len(scored) == 3
    assert all(not model & photos for model, photos in zip(trained, scored))
    assert set().union(*scored) == set(sources.scenes_train.paths)
    validation = point["validation"]
    assert validation["images"] == 7 and validation["folds"] == 3
    assert validation["ground_truth"] == 7  # one unmasked face >= 20 px a photo
    assert validation["precision_lower_bound"] == pytest.approx(
        precision_lower_bound(validation["tp"], validation["detections"], 0.9))
    assert "pooled over 3 folds" in point["note"]
    assert 0 < point["min_confidence"]["without_mask"] < 1
    # The spread of the point: each fold's figures there, which sum to the pooled ones.
    folds = validation["at_point_per_fold"]["without_mask"]
    assert [f["photos"] for f in folds] == [len(p) for p in scored]
    assert sum(f["tp"] for f in folds) == validation["tp"]
    assert sum(f["detections"] for f in folds) == validation["detections"]
    assert sum(f["ground_truth"] for f in folds) == 7
    pooled = validation["at_point_pooled"]["without_mask"]
    assert pooled["precision"] == validation["precision"] and pooled["photos"] == 7
    low, high = pooled["precision_interval"]
    assert low <= min(f["precision"] for f in folds if f["precision"] is not None) <= high


def test_bootstrap_interval_resamples_photos():
    # Ten photos: nine with one face found right, one with two false detections.
    tallies = np.array([[1, 1, 1]] * 9 + [[0, 2, 0]])
    out = recipe.bootstrap_interval(tallies, confidence=0.9, resamples=4000, seed=0)
    assert (out["tp"], out["detections"], out["ground_truth"]) == (9, 11, 9)
    assert out["precision"] == pytest.approx(9 / 11) and out["recall"] == 1.0
    low, high = out["precision_interval"]
    # The bad photo, drawn k times of 10, gives (10 - k) / (10 + k): k = 0 (probability
    # 0.35) is precision 1; k >= 3 has probability 0.07 and k >= 4 0.013, so the lower 5 %
    # falls at k = 3, 7 / 13.
    assert high == 1.0 and low == pytest.approx(7 / 13, abs=1e-4)  # rounded to 4 places
    assert out["recall_interval"] == [1.0, 1.0]
    again = recipe.bootstrap_interval(tallies, confidence=0.9, resamples=4000, seed=0)
    assert again == out  # seeded
    assert recipe.bootstrap_interval(np.zeros((0, 3), np.int64))["precision"] is None


def test_remeasure_rewrites_the_metrics_not_the_weights(built, data_dir, tmp_path):
    import shutil

    out, report = built
    copy = tmp_path / "pretrained"
    shutil.copytree(out, copy)
    before = maskdet.load_classifier(copy / "hog-svm.maskdet")
    again = recipe.remeasure(data_dir, copy, ["hog-svm"], detector=FixedDetector())
    after = maskdet.load_classifier(copy / "hog-svm.maskdet")
    def scores(held_out):  # all but the timings
        return {part: {k: v for k, v in m.items() if k != "ms_per_face"}
                for part, m in json.loads(json.dumps(held_out, default=str)).items()}

    # The same model, the same numbers.
    assert scores(again["hog-svm"]["held_out"]) == scores(report["hog-svm"]["held_out"])
    assert after.metrics_["recipe"]["fit_seconds"] == before.metrics_["recipe"]["fit_seconds"]
    faces = [np.full((40, 40, 3), v, np.uint8) for v in (30, 120, 200)]
    np.testing.assert_allclose(after.predict_proba(faces), before.predict_proba(faces))
    # Choosing the operating point again trains fold models, not the shipped one: the same
    # settings give the same point (HOG+SVM trains the same way every time), the same weights.
    recipe.set_operating_point(after, {"min_confidence": {"without_mask": 0.5}})
    after.save(copy / "hog-svm.maskdet")
    assert maskdet.load_classifier(copy / "hog-svm.maskdet").settings_.min_confidence == {
        "without_mask": 0.5}
    again = recipe.remeasure(data_dir, copy, ["hog-svm"], detector=FixedDetector(),
                             operating_point=True, params={"hog-svm": TINY_HOG})
    rechosen = maskdet.load_classifier(copy / "hog-svm.maskdet")
    assert again["hog-svm"]["operating_point"] == report["hog-svm"]["operating_point"]
    assert rechosen.metrics_["operating_point"] == report["hog-svm"]["operating_point"]
    assert rechosen.settings_.min_confidence == report["hog-svm"]["operating_point"].get(
        "min_confidence", {})
    np.testing.assert_allclose(rechosen.predict_proba(faces), before.predict_proba(faces))


def test_build_cnn(data_dir, tmp_path):
    pytest.importorskip("tensorflow", reason="training a cnn needs TensorFlow (maskdet[train])")
    report = recipe.build(data_dir, tmp_path, ["cnn", "cnn-nf"], detector=FixedDetector(),
                          params={"cnn": TINY_CNN, "cnn-nf": TINY_CNN})
    clf = maskdet.load_classifier(tmp_path / "cnn.maskdet")
    assert clf.get_params()["augment"] == "robust"
    assert clf.get_params()["class_weight"] == "balanced"
    assert report["cnn"]["held_out"]["mask_faces_test"]["n"] == 6
    assert not clf.has_not_a_face and clf.settings_.not_a_face is None
    # With the hidden not_a_face output: trained on random crops of the training photos
    # besides, its threshold chosen in the folds among those compared.
    nf = maskdet.load_classifier(tmp_path / "cnn-nf.maskdet")
    assert nf.has_not_a_face and nf.classes_.tolist() == ["with_mask", "without_mask"]
    counts = report["cnn-nf"]["train_counts"]
    assert counts["not_a_face"] == 7 * recipe.RANDOM_NOT_FACES  # 7 training photos
    assert {k: v for k, v in counts.items() if k != "not_a_face"} == report["cnn"]["train_counts"]
    point = report["cnn-nf"]["operating_point"]
    assert nf.settings_.not_a_face == point["not_a_face"] in recipe.NOT_A_FACE_THRESHOLDS
    assert set(point["not_a_face_thresholds"]) == {str(r) for r in recipe.NOT_A_FACE_THRESHOLDS}
    held = report["cnn-nf"]["held_out"]["mask_scenes_test_end_to_end"]
    assert held["not_faces_dropped"] >= 0 and held["ignored_unlabelled"] == 0


class CornerFace(maskdet.FaceDetector):
    """Finds one small face, 20 px at the top-left corner, in every image."""

    name = "corner"

    def detect(self, image):
        return maskdet.Detections(boxes=[[0, 0, 20, 20]], face_scores=[0.9])


def test_compare_framing_trains_each_way_on_validation_splits(data_dir, capsys, monkeypatch):
    framed_calls = []  # per mask-faces extraction: was a framing detector given?
    extract = recipe.extract_faces

    def spy(dataset, **kwargs):
        if dataset.layout == "folders":
            framed_calls.append(kwargs.get("framing") is not None)
        return extract(dataset, **kwargs)

    monkeypatch.setattr(recipe, "extract_faces", spy)
    rows = recipe.compare_framing(data_dir, ["hog-svm"], seeds=(5, 6), detector=CornerFace(),
                                  params={"hog-svm": TINY_HOG})
    assert [(r["seed"], r["framing"]) for r in rows] == [
        (5, False), (5, True), (6, False), (6, True)]
    faces_train = recipe.load_sources(data_dir).faces_train
    for row in rows:
        # 20 % of the mask-faces *training* part: the test part stays untouched
        assert row["n"] == len(split_dataset(faces_train, 0.2, 0.0, row["seed"]).test) == 5
        assert row["errors"] == round(row["n"] * (1 - row["accuracy"]))
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == rows
    # each row: its training part, then its validation part, framed only in the framed rows
    assert framed_calls == [framed for r in rows for framed in (r["framing"],) * 2]


@pytest.mark.parametrize("name", sorted(PRETRAINED_MODELS))
def test_shipped_bundles_match_the_recipe(name, built):
    """The bundles in the package were written by the recipe, with its settings."""
    path = PRETRAINED_DIR / PRETRAINED_MODELS[name]
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with python -m recipes.default_models")
    limit_mb = {"cnn": 2.0, "hog-svm": 5.0}[name]
    assert path.stat().st_size <= limit_mb * 1e6
    info = maskdet.read_model_info(path)
    backend, params = recipe.MODELS[name]
    assert info.backend == backend
    assert {k: info.params[k] for k in params} == params
    out, _ = built
    written = maskdet.read_model_info(out / "hog-svm.maskdet")
    assert keys(info.metrics["recipe"]) == keys(written.metrics["recipe"])
    # The operating point the recipe chose, where MaskDetector reads it.
    point = info.metrics["operating_point"]
    assert set(point) <= {"min_confidence", "note", "validation", "face_score", "face_scores",
                          "not_a_face", "not_a_face_thresholds"}
    assert info.settings.not_a_face == point.get("not_a_face")
    assert info.settings.min_confidence == point.get("min_confidence", {})
    # and the face score chosen with it, among those compared, with how each fold did there
    assert info.settings.face_score == point["face_score"]
    assert str(point["face_score"]) in point["face_scores"]
    assert set(point["face_scores"]) == {str(t) for t in recipe.PROPOSAL_SCORES}
    assert len(point["validation"]["at_point_per_fold"]["without_mask"]) == recipe.OPERATING_FOLDS
    assert all(label in info.classes and 0 < value < 1
               for label, value in info.settings.min_confidence.items())
    assert [s.name for s in info.settings.sources] == ["mask-faces", "mask-scenes"]
    assert info.settings.framing == "yunet"
    shipped = json.loads((PRETRAINED_DIR / "metrics.json").read_text())
    assert shipped[name]["held_out"] == info.metrics["recipe"]["held_out"]


def test_face_score_is_the_one_finding_most_faces_with_masked_faces_precise():
    from maskdet.evaluation import SceneResult

    def photo(gt, preds):
        return SceneResult(np.array([b for b, _ in gt], float).reshape(-1, 4),
                           np.array([label for _, label in gt], dtype=object),
                           np.array([b for b, _, _ in preds], float).reshape(-1, 4),
                           np.array([label for _, label, _ in preds], dtype=object),
                           np.array([score for _, _, score in preds], float))

    a, b, c, d = (10, 10, 30, 30), (50, 10, 30, 30), (100, 10, 30, 30), (150, 60, 30, 30)
    unmasked = [photo([(a, "without_mask")], [(a, "without_mask", 0.9)])] * 20
    masked = [(b, "with_mask"), (c, "with_mask")]
    # From 0.75 YuNet finds one masked face of two a photo; from 0.6 both; from 0.5 also a
    # false face, called masked, in every photo.
    results = {
        0.75: unmasked + [photo(masked, [(b, "with_mask", 0.9)])] * 30,
        0.6: unmasked + [photo(masked, [(b, "with_mask", 0.9), (c, "with_mask", 0.6)])] * 30,
        0.5: unmasked + [photo(masked, [(b, "with_mask", 0.9), (c, "with_mask", 0.6),
                                        (d, "with_mask", 0.5)])] * 30,
    }
    score, point, table = recipe.choose_face_score(results, ["with_mask", "without_mask"])
    assert score == 0.6 and point["min_confidence"] == {"without_mask": 0.45}
    assert [table[k]["found"] for k in ("0.75", "0.6", "0.5")] == [50, 80, 80]
    assert [table[k]["recall_sum"] for k in ("0.75", "0.6", "0.5")] == [1.5, 2.0, 2.0]
    assert table["0.6"]["with_mask"]["recall"] == 1.0 and table["0.75"]["accepted"]
    # 60 of 90 masked calls right, against 30 of 30 at 0.75: refused, whatever it finds.
    assert table["0.5"]["with_mask"]["precision"] == pytest.approx(60 / 90)
    assert not table["0.5"]["accepted"]
    # Equal finds: the higher score.
    results[0.6] = results[0.75]
    assert recipe.choose_face_score(results, ["with_mask", "without_mask"])[0] == 0.75


def test_random_not_faces_avoid_the_faces_and_stay_inside():
    rng = np.random.default_rng(0)
    taken = np.array([[0, 0, 100, 100], [150, 20, 40, 50]], float)
    boxes = np.array([b for _ in range(50)
                      for b in recipe.random_not_face_boxes((240, 320), taken, rng)])
    assert len(boxes) == 50 * recipe.RANDOM_NOT_FACES
    assert (boxes[:, 2] >= 10).all() and (boxes[:, 2] <= 120).all()
    np.testing.assert_allclose(boxes[:, 3], boxes[:, 2] * 1.15)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, :2] + boxes[:, 2:] <= [320, 240]).all()
    assert maskdet.detections.box_iou(boxes, taken).max() < 0.05
    # No room: fewer, not a box on a face.
    assert recipe.random_not_face_boxes((40, 40), np.array([[0, 0, 40, 40]], float), rng) == []


def test_not_face_crops_take_the_reviewed_non_faces_of_the_photos_given(data_dir, tmp_path,
                                                                        monkeypatch):
    scenes = load_dataset(data_dir / recipe.SCENES)
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(json.dumps({"faces": {}, "unsure": {},
                                    "not_faces": {"p0": [[120, 10, 40, 40]],
                                                  "elsewhere": [[0, 0, 9, 9]]}}))
    monkeypatch.setattr(recipe, "REVIEWED_DETECTIONS", reviewed)
    crops = recipe.not_face_crops(scenes, 0.2, {})
    assert len(crops) == 1 + 10 * recipe.RANDOM_NOT_FACES
    # The reviewed one comes first, cut as faces are (margin 0.2 around 40 px: 56 px).
    assert crops[0].shape[:2] == (56, 56)


def test_not_a_face_threshold_is_the_one_with_the_best_map():
    from maskdet.evaluation import SceneResult

    gt = (np.array([[10, 10, 30, 30]], float), np.array(["with_mask"], dtype=object))
    face = ([10, 10, 30, 30], "with_mask", 0.9)
    hand = ([100, 10, 30, 30], "with_mask", 0.95)  # a false face, ranked first

    def photo(*preds):
        return SceneResult(*gt, np.array([b for b, _, _ in preds], float).reshape(-1, 4),
                           np.array([label for _, label, _ in preds], dtype=object),
                           np.array([score for _, _, score in preds], float))

    classes = ["with_mask", "without_mask"]
    results = {0.5: [photo()] * 4, 0.7: [photo(face)] * 4, 0.9: [photo(face, hand)] * 4,
               1.0: [photo(face, hand)] * 4}
    best, table = recipe.choose_not_a_face(results, classes)
    assert best == 0.7 and table["0.7"] == 1.0 and table["0.9"] < 1.0 and table["0.5"] == 0.0
    results[0.9] = results[0.7]  # a tie: the higher threshold, dropping fewer faces
    assert recipe.choose_not_a_face(results, classes)[0] == 0.9
