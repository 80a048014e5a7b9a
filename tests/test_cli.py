"""End-to-end tests of the `maskdet` command (run in-process through cli.main, and once as a
real subprocess to check the console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from tests.conftest import synthetic_face, write_class_folders


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-model")
    data = write_class_folders(tmp / "train", per_class=40, seed=11)
    path = tmp / "model.maskdet"
    code = main(["train", str(data), "--out", str(path), "-p", "image_size=48",
                 "--test-size", "0.25", "--quiet"])
    assert code == 0
    return path


def test_train_prints_metrics(tmp_path, class_folders, capsys):
    out_path = tmp_path / "m.maskdet"
    code, out, err = run(capsys, "train", class_folders, "--out", out_path, "-p", "C=3",
                         "--test-size", "0.25", "--seed", "1")
    assert code == 0, err
    assert out_path.is_file()
    assert "accuracy" in out and "with_mask" in out and "without_mask" in out
    assert "precision" in out and "confusion matrix" in out


def test_train_json_is_one_clean_object(tmp_path, class_folders, capsys):
    code, out, err = run(capsys, "train", class_folders, "--out", tmp_path / "m.maskdet",
                         "--json", "--test-size", "0.25", "-p", "image_size=48")
    assert code == 0, err
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert result["backend"] == "hog-svm"
    assert result["params"]["image_size"] == 48
    test = result["test"]
    assert test["n"] == 6  # 25% of 2 x 12 files
    assert set(test["per_class"]) == {"with_mask", "without_mask"}
    assert sum(map(sum, test["confusion_matrix"]["matrix"])) == 6
    assert 0.0 <= test["accuracy"] <= 1.0


def test_classify_json_lines(model, tmp_path, capsys):
    rng = np.random.default_rng(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, label in enumerate(["with_mask", "without_mask"] * 3):
        cv2.imwrite(str(folder / f"{i}_{label}.png"), synthetic_face(label, rng))
    code, out, err = run(capsys, "classify", folder, "--model", model, "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 6
    for line in lines:
        assert set(line) == {"path", "label", "scores"}
        assert set(line["scores"]) == {"with_mask", "without_mask"}
        assert abs(sum(line["scores"].values()) - 1) < 1e-3
        assert line["label"] == max(line["scores"], key=line["scores"].get)
    right = sum(Path(x["path"]).stem.split("_", 1)[1] == x["label"] for x in lines)
    assert right >= 5


def test_classify_skips_bad_file_and_keeps_the_rest(model, tmp_path, capsys):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), synthetic_face("with_mask", np.random.default_rng(0)))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    code, out, err = run(capsys, "classify", bad, good, "--model", model, "--json")
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(good)]
    assert f"{bad}: not an image" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["classify", "missing.jpg", "--model", "MODEL"], "missing.jpg: no such file"),
        (["classify", "x.jpg", "--model", "nomodel.maskdet"], "no such model file"),
        (["classify", "x.jpg"], "the bundled hog-svm model is not installed"),
        (["evaluate", "MODEL", "DATA", "--end-to-end"], "--end-to-end needs VOC scenes"),
        (["evaluate", "MODEL", "DATA", "--held-out"],
         "the model records no held-out part of a dataset named 'faces'"),
        (["evaluate", "MODEL", "DATA", "--iou", "0.3"], "--iou applies to --end-to-end"),
        (["evaluate", "MODEL", "DATA", "--min-confidence", "0.5"],
         "--min-confidence applies to --end-to-end"),
        (["detect", "x.jpg", "--model", "MODEL", "--min-confidence", "no_mask=0.5"],
         "min_confidence names labels the model does not have: ['no_mask']"),
        (["info", "cnn"], "the bundled cnn model is not installed"),
        (["evaluate", "MODEL", "no/such/dir"], "no/such/dir: no such dataset folder"),
        (["train", "no/such/dir", "--out", "m.maskdet"], "no such dataset folder"),
        (["train", "DATA", "--out", "m.maskdet", "--backend", "nope"], "unknown classifier"),
        (["train", "DATA", "--out", "m.maskdet", "-p", "C"], "KEY=VALUE"),
        (["classify", "x.jpg", "--model", "TEXT"], "not a maskdet model bundle"),
    ],
)
def test_user_errors_are_one_line(model, class_folders, tmp_path, capsys, monkeypatch, argv,
                                  message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("maskdet.pretrained.PRETRAINED_DIR", tmp_path / "no-bundled-models")
    (tmp_path / "TEXT").write_text("hello")
    argv = [str(model) if a == "MODEL" else str(class_folders) if a == "DATA" else a
            for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert message in err
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "Traceback" not in err


def test_usage_error_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2


def test_detect_with_fake_scene(model, tmp_path, capsys, monkeypatch):
    """detect on a generated scene with a stub face detector: JSON lines and annotated copies."""
    from maskdet import faces
    from maskdet.detections import Detections

    rng = np.random.default_rng(3)
    scene = np.full((240, 320, 3), 90, np.uint8)
    boxes = [(20, 40, 96, 96), (180, 60, 96, 96)]
    for (x, y, w, h), label in zip(boxes, ["with_mask", "without_mask"]):
        scene[y:y + h, x:x + w] = synthetic_face(label, rng, size=96)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene)

    class Fixed(faces.FaceDetector):
        name = "fixed"

        def detect(self, image):
            return Detections(boxes=boxes, face_scores=[0.9, 0.8])

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)
    save_dir = tmp_path / "out"
    code, out, err = run(capsys, "detect", path, "--model", model, "--detector", "haar",
                         "--json", "--save-dir", save_dir)
    assert code == 0, err
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["path"] == str(path)
    assert [f["box"] for f in line["faces"]] == [list(b) for b in boxes]
    assert {"box", "label", "score", "face_score"} <= set(line["faces"][0])
    assert line["faces"][0]["face_score"] == pytest.approx(0.9)
    annotated = cv2.imread(str(save_dir / "scene.png"))
    assert annotated.shape == scene.shape and not np.array_equal(annotated, scene)


@pytest.mark.parametrize(
    ("option", "kept"),
    [([], [0, 1]), (["--min-confidence", "0.75"], [0]),
     (["--min-confidence", "without_mask=0.99,with_mask=0.2"], [0]),
     (["--min-confidence", "with_mask=0.99"], [1])],
)
def test_detect_min_confidence(model, tmp_path, capsys, monkeypatch, option, kept):
    from maskdet import faces
    from maskdet.classifiers import base
    from maskdet.detections import Detections

    boxes = [(20, 40, 96, 96), (180, 60, 96, 96)]
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), np.full((240, 320, 3), 90, np.uint8))

    class Fixed(faces.FaceDetector):
        name = "fixed"

        def detect(self, image):
            return Detections(boxes=boxes, face_scores=[0.9, 0.8])

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)
    monkeypatch.setattr(base.Classifier, "predict_proba",
                        lambda self, X: np.array([[0.9, 0.1], [0.2, 0.8]], np.float32))
    code, out, err = run(capsys, "detect", path, "--model", model, "--detector", "haar",
                         "--json", *option)
    assert code == 0, err
    assert [f["box"] for f in json.loads(out)["faces"]] == [list(boxes[i]) for i in kept]


@pytest.mark.parametrize("value", ["high", "without_mask=", "=0.5"])
def test_detect_rejects_a_bad_min_confidence(model, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["detect", "x.jpg", "--model", str(model), "--min-confidence", value])
    assert info.value.code == 2
    assert "must be a number or LABEL=NUMBER" in capsys.readouterr().err


def test_evaluate_class_folders_json(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "eval", per_class=6, seed=9)
    code, out, err = run(capsys, "evaluate", model, data, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 12
    assert result["data"]["counts"] == {"with_mask": 6, "without_mask": 6}
    cm = np.array(result["confusion_matrix"]["matrix"])
    assert cm.sum() == 12 and cm.sum(axis=1).tolist() == [6, 6]
    assert result["accuracy"] == pytest.approx(np.trace(cm) / 12)


def test_evaluate_leaves_out_unknown_classes_unless_mapped(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "eval3", per_class=4, seed=2,
                               classes=("mask_weared_incorrect", "with_mask", "without_mask"))
    code, out, _ = run(capsys, "evaluate", model, data, "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 8
    assert result["unknown_labels"] == {"mask_weared_incorrect": 4}
    code, out, _ = run(capsys, "evaluate", model, data, "--json",
                       "--map", "mask_weared_incorrect=with_mask")
    result = json.loads(out)
    assert result["n"] == 12 and result["per_class"]["with_mask"]["support"] == 8


def test_info_and_backends(model, capsys):
    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0 and json.loads(out)["backend"] == "hog-svm"
    code, out, _ = run(capsys, "backends")
    assert "hog-svm" in out and "yunet" in out


def test_console_script_runs_as_a_process(model, tmp_path):
    """The installed `maskdet` command: exit codes, clean --json stdout, no traceback."""
    exe = shutil.which("maskdet") or [sys.executable, "-m", "maskdet"]
    cmd = [exe] if isinstance(exe, str) else exe
    face = tmp_path / "f.jpg"
    cv2.imwrite(str(face), synthetic_face("without_mask", np.random.default_rng(1)))
    ok = subprocess.run([*cmd, "classify", str(face), "--model", str(model), "--json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["path"] == str(face)
    bad = subprocess.run([*cmd, "classify", str(tmp_path / "nope.jpg"), "--model", str(model)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("maskdet: error:")
    assert "Traceback" not in bad.stderr


# -- on the real data (skips without ../shared) ------------------------------------------------
@pytest.mark.shared
@pytest.mark.slow
def test_real_data_train_classify_detect_evaluate(faces_dir, scenes_dir, yunet_model, tmp_path,
                                                  capsys):
    """Train on a stratified subset of mask-faces, then classify, detect and evaluate."""
    subset = tmp_path / "subset"
    for label in ("with_mask", "without_mask"):
        files = sorted(p for p in (faces_dir / label).iterdir() if p.suffix == ".jpg")[:60]
        (subset / label).mkdir(parents=True)
        for f in files:
            (subset / label / f.name).symlink_to(f)
    model = tmp_path / "real.maskdet"
    code, out, err = run(capsys, "train", subset, "--out", model, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["test"]["accuracy"] >= 0.75

    code, out, err = run(capsys, "classify", *sorted((faces_dir / "without_mask").iterdir())[-5:],
                         "--model", model, "--json")
    assert code == 0, err
    assert len(out.splitlines()) == 5

    scenes = sorted((scenes_dir / "images").iterdir())[:3]
    code, out, err = run(capsys, "detect", *scenes, "--model", model, "--detector", "yunet",
                         "--json")
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 3 and sum(len(x["faces"]) for x in lines) >= 3

    voc = tmp_path / "voc"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    for img in scenes:
        (voc / "images" / img.name).symlink_to(img)
        ann = scenes_dir / "annotations" / (img.stem + ".xml")
        (voc / "annotations" / ann.name).symlink_to(ann)
    code, out, err = run(capsys, "evaluate", model, voc, "--json", "--min-face", "10")
    assert code == 0, err
    result = json.loads(out)
    assert result["data"]["layout"] == "voc" and result["n"] >= 3


def test_evaluate_with_no_known_class_is_a_clear_error(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "other", per_class=3, classes=("cats", "dogs"))
    code, out, err = run(capsys, "evaluate", model, data)
    assert code == 1 and out == ""
    assert "none of the labels (cats, dogs) is a class of the model" in err
    assert "--map" in err and "Traceback" not in err


# -- evaluate --end-to-end and --held-out ------------------------------------------------------
# Face boxes (annotated and detected) of 68 px in the middle of 96 px synthetic faces pasted
# at (20, 40) and (180, 60): the classifier's crop (margin 0.2 a side) is the pasted face.
SCENE_FACES = [((34, 54, 68, 68), "with_mask"), ((194, 74, 68, 68), "without_mask")]
SMALL_FACE = (140, 200, 12, 12)  # an annotated 12 px unmasked face
SMALL_BOX = (139, 199, 14, 14)  # its detection (IoU 144/196)


def write_voc_scenes(root: Path, n: int) -> Path:
    """``n`` photos (different pixels) of the same layout: the two faces of SCENE_FACES and
    the small face."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for k in range(n):
        rng = np.random.default_rng(3 + k)
        scene = np.full((240, 320, 3), 90 + k, np.uint8)
        for (x, y, _, _), label in SCENE_FACES:
            scene[y - 14:y + 82, x - 14:x + 82] = synthetic_face(label, rng, size=96)
        x, y, w, h = SMALL_FACE
        scene[y:y + h, x:x + w] = cv2.resize(synthetic_face("without_mask", rng), (w, h))
        cv2.imwrite(str(root / "images" / f"p{k}.png"), scene)
        objects = [*SCENE_FACES, (SMALL_FACE, "without_mask")]
        xml = "".join(f"<object><name>{label}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
                      f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
                      for (x, y, w, h), label in objects)
        (root / "annotations" / f"p{k}.xml").write_text(
            f"<annotation><filename>p{k}.png</filename><size><width>320</width>"
            f"<height>240</height></size>{xml}</annotation>")
    return root


@pytest.fixture
def fixed_detector(monkeypatch):
    """`--detector haar` becomes a stub that finds the faces of write_voc_scenes."""
    from maskdet import faces
    from maskdet.detections import Detections

    class Fixed(faces.FaceDetector):
        name = "fixed"

        def detect(self, image):
            return Detections(boxes=[box for box, _ in SCENE_FACES] + [SMALL_BOX],
                              face_scores=[0.9, 0.8, 0.7])

    monkeypatch.setitem(faces.DETECTORS, "haar", Fixed)


def test_evaluate_end_to_end_json(model, tmp_path, capsys, fixed_detector):
    voc = write_voc_scenes(tmp_path / "scenes", 2)
    code, out, err = run(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                         "--json")
    assert code == 0, err
    m = json.loads(out)  # strict JSON: no NaN
    assert m["detector"] == "fixed" and m["images"] == 2 and m["iou"] == 0.5
    assert m["min_face"] == 0 and m["ignored_small"] == {} and m["min_confidence"] == {}
    assert m["ground_truth"] == {"with_mask": 2, "without_mask": 4}
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    # Three detections a photo, each labelled with one class.
    assert sum(c["detections"] for c in m["per_class"].values()) == 6

    code, out, err = run(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                         "--json", "--min-face", "13")
    assert code == 0, err
    m = json.loads(out)
    assert m["min_face"] == 13 and m["ignored_small"] == {"without_mask": 2}
    assert m["ground_truth"] == {"with_mask": 2, "without_mask": 2}
    # The big faces are classified right; the detections of the small ones are ignored.
    for c in ("with_mask", "without_mask"):
        pc = m["per_class"][c]
        assert (pc["ground_truth"], pc["detections"], pc["tp"], pc["fp"]) == (2, 2, 2, 0)
        assert pc["precision"] == pc["recall"] == pc["ap"] == 1.0
    assert m["mean_ap"] == 1.0
    assert m["by_size"]["<20"]["detector_recall"] == {"with_mask": None, "without_mask": None}


def test_evaluate_end_to_end_min_confidence(model, tmp_path, capsys, fixed_detector):
    voc = write_voc_scenes(tmp_path / "scenes", 2)
    # The fixed detector's face scores are at most 0.9: nothing reaches 0.95.
    code, out, err = run(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                         "--json", "--min-confidence", "0.95")
    assert code == 0, err
    m = json.loads(out)
    assert m["min_confidence"] == {"with_mask": 0.95, "without_mask": 0.95}
    assert sum(c["detections"] for c in m["per_class"].values()) == 0
    assert m["per_class"]["without_mask"]["recall"] == 0.0
    # The face detector found every face; the threshold dropped them after it.
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    code, out, err = run(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                         "--min-confidence", "without_mask=0.95")
    assert code == 0, err
    assert out.splitlines()[0].endswith(", without_mask confidence >= 0.95):")


def test_evaluate_end_to_end_table(model, tmp_path, capsys, fixed_detector):
    voc = write_voc_scenes(tmp_path / "scenes", 1)
    code, out, err = run(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                         "--min-face", "13", "--iou", "0.6")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (f"{model} on {voc} (voc, end to end with the fixed face detector, "
                        "faces >= 13 px):")
    assert lines[1].split() == ["class", "precision", "recall", "AP", "detections", "faces"]
    assert lines[2].split() == ["with_mask", "1.0000", "1.0000", "1.0000", "1", "1"]
    assert lines[3].split() == ["without_mask", "1.0000", "1.0000", "1.0000", "1", "1"]
    assert lines[4] == "mean AP 1.0000   (IoU >= 0.6, 1 photos)"
    assert lines[5] == "face detector recall: with_mask 1.0000 of 1, without_mask 1.0000 of 1"
    assert lines[6] == "ignored (faces below 13 px): without_mask 1"


def held_out_model(model: Path, tmp_path: Path, source: Path, test_size: float = 0.5) -> Path:
    """``model`` saved again with a training source: all of ``source``, split 50/50, seed 0."""
    from maskdet import load_classifier, load_dataset, split_dataset

    whole = load_dataset(source)
    test = split_dataset(whole, test_size, 0.0, 0).test
    entry = {"name": source.name, "layout": whole.layout, "files": len(set(whole.paths)),
             "test_size": test_size, "seed": 0, "test_files": len(set(test.paths))}
    path = tmp_path / "held.maskdet"
    load_classifier(model).save(path, metrics={"training": {"sources": [entry]}})
    return path


def test_evaluate_held_out_class_folders(model, tmp_path, capsys):
    from maskdet import load_dataset, split_dataset

    data = write_class_folders(tmp_path / "heldsrc", per_class=10, seed=4)
    bundle = held_out_model(model, tmp_path, data)
    test = split_dataset(load_dataset(data), 0.5, 0.0, 0).test
    assert len(test) == 10
    code, out, err = run(capsys, "evaluate", bundle, data, "--held-out", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["held_out"] == {"files": 10, "faces": 10}
    assert result["n"] == 10
    assert {c: m["support"] for c, m in result["per_class"].items()} == test.counts()
    code, out, err = run(capsys, "evaluate", bundle, data, "--held-out")
    assert code == 0, err
    assert out.splitlines()[0] == f"held-out part of {data}: 10 files, 10 faces"
    assert out.splitlines()[1] == f"{bundle} on {data} (folders, held-out part):"
    # Another folder of the same name but other files: the split cannot be found again.
    other = write_class_folders(tmp_path / "elsewhere" / "heldsrc", per_class=6, seed=5)
    code, out, err = run(capsys, "evaluate", bundle, other, "--held-out")
    assert code == 1 and "12 files, but the model's source 'heldsrc' had 20" in err
    # A folder the model records nothing about.
    unrecorded = write_class_folders(tmp_path / "unrecorded", per_class=3, seed=6)
    code, out, err = run(capsys, "evaluate", bundle, unrecorded, "--held-out")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "maskdet: error: the model records no held-out part of a dataset named 'unrecorded' "
        "(its training sources: heldsrc)"]


def test_evaluate_held_out_end_to_end(model, tmp_path, capsys, fixed_detector):
    from maskdet import load_dataset, split_dataset

    voc = write_voc_scenes(tmp_path / "scenes", 4)
    bundle = held_out_model(model, tmp_path, voc)
    test_files = sorted({p.name for p in split_dataset(load_dataset(voc), 0.5, 0.0, 0)
                         .test.paths})
    assert len(test_files) == 2
    code, out, err = run(capsys, "evaluate", bundle, voc, "--held-out", "--end-to-end",
                         "--detector", "haar", "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["held_out"] == {"files": 2, "faces": 6}
    assert m["images"] == 2
    assert m["ground_truth"] == {"with_mask": 2, "without_mask": 4}


def write_face_in_photo_folders(root: Path, per_class: int, seed: int) -> Path:
    """Class folders of 160 px photos, each with a 40 px drawn face somewhere on a noisy
    background; the top-left pixels carry the face box for MarkerDetector."""
    rng = np.random.default_rng(seed)
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            photo = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
            x, y = (int(v) for v in rng.integers(8, 112, 2))
            photo[y:y + 40, x:x + 40] = synthetic_face(label, rng, size=40)
            photo[0, :5] = 0
            photo[0, 0] = 255
            photo[0, 1:5, 0] = (x, y, 40, 40)
            assert cv2.imwrite(str(root / label / f"{i:02d}.png"), photo)
    return root


def test_train_frame_faces_and_evaluate_frames_the_same_way(tmp_path, capsys, monkeypatch):
    from maskdet import faces
    from maskdet.classifiers import load_classifier
    from maskdet.data import load_dataset
    from maskdet.errors import DetectorUnavailableError
    from tests.conftest import MarkerDetector

    create = faces.create_face_detector
    monkeypatch.setattr(faces, "create_face_detector",
                        lambda name, **kw: MarkerDetector() if name == "marker" else
                        create(name, **kw))
    data = write_face_in_photo_folders(tmp_path / "photos", per_class=30, seed=3)
    model = tmp_path / "framed.maskdet"
    code, out, err = run(capsys, "train", data, "--out", model, "--frame-faces", "marker",
                         "-p", "image_size=32", "-p", "margin=0.1", "--json",
                         "--test-size", "0.25")
    assert code == 0, err
    result = json.loads(out)
    assert result["training"]["framing"] == "marker"
    assert result["test"]["accuracy"] >= 0.9
    assert load_classifier(model).metrics_["training"]["framing"] == "marker"
    code, out, err = run(capsys, "info", model)
    assert code == 0 and "framed on the face marker finds" in out

    # evaluate frames the photos as training did; whole, the same model sees 8 px faces
    code, out, err = run(capsys, "evaluate", model, data, "--held-out", "--json")
    assert code == 1 and "no held-out part" in err  # (train records no sources: by design)
    code, out, err = run(capsys, "evaluate", model, data, "--json")
    assert code == 0, err
    framed = json.loads(out)["accuracy"]
    assert framed >= 0.9
    clf = load_classifier(model)
    whole = faces.extract_faces(load_dataset(data))
    assert np.mean(clf.predict(whole.images) == whole.labels) < framed - 0.15
    # classify frames each photo too
    code, out, err = run(capsys, "classify", data / "with_mask", data / "without_mask",
                         "--model", model, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 60
    assert np.mean([Path(r["path"]).parent.name == r["label"] for r in rows]) >= 0.9

    # Without the detector, classify says so in one line and goes on with whole images;
    # evaluate, a measurement, stops with a clear error instead.
    def unavailable(name, **kw):
        raise DetectorUnavailableError(f"{name}: no model here")

    monkeypatch.setattr(faces, "create_face_detector", unavailable)
    code, out, err = run(capsys, "classify", data / "with_mask" / "00.png", "--model", model)
    assert code == 0 and out.startswith(str(data / "with_mask" / "00.png"))
    assert "classifying the images whole" in err and "marker: no model here" in err
    code, out, err = run(capsys, "evaluate", model, data)
    assert code == 1 and out == ""
    assert err.strip() == "maskdet: error: marker: no model here"

    with pytest.raises(SystemExit) as info:
        main(["train", str(data), "--out", str(tmp_path / "x.maskdet"),
              "--frame-faces", "marker", "--detect-faces", "marker"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
