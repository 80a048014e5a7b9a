"""`maskdet evaluate`: crops and end to end, held-out parts, classes left out or mapped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_cli, write_class_folders, write_voc_scenes


def test_evaluate_class_folders_json(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "eval", per_class=6, seed=9)
    code, out, err = run_cli(capsys, "evaluate", model, data, "--json")
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
    code, out, _ = run_cli(capsys, "evaluate", model, data, "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 8
    assert result["unknown_labels"] == {"mask_weared_incorrect": 4}
    code, out, _ = run_cli(capsys, "evaluate", model, data, "--json",
                           "--map", "mask_weared_incorrect=with_mask")
    result = json.loads(out)
    assert result["n"] == 12 and result["per_class"]["with_mask"]["support"] == 8


def test_evaluate_with_no_known_class_is_a_clear_error(model, tmp_path, capsys):
    data = write_class_folders(tmp_path / "other", per_class=3, classes=("cats", "dogs"))
    code, out, err = run_cli(capsys, "evaluate", model, data)
    assert code == 1 and out == ""
    assert "none of the labels (cats, dogs) is a class of the model" in err
    assert "--map" in err and "Traceback" not in err


# -- evaluate --end-to-end and --held-out ------------------------------------------------------
def test_evaluate_end_to_end_json(model, tmp_path, capsys, fixed_detector):
    voc = write_voc_scenes(tmp_path / "scenes", 2)
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                             "--json")
    assert code == 0, err
    m = json.loads(out)  # strict JSON: no NaN
    assert m["detector"] == "fixed" and m["images"] == 2 and m["iou"] == 0.5
    assert m["min_face"] == 0 and m["ignored_small"] == {} and m["min_confidence"] == {}
    assert m["ground_truth"] == {"with_mask": 2, "without_mask": 4}
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    # Three detections a photo, each labelled with one class.
    assert sum(c["detections"] for c in m["per_class"].values()) == 6

    code, out, err = run_cli(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
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
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                             "--json", "--min-confidence", "0.95")
    assert code == 0, err
    m = json.loads(out)
    assert m["min_confidence"] == {"with_mask": 0.95, "without_mask": 0.95}
    assert sum(c["detections"] for c in m["per_class"].values()) == 0
    assert m["per_class"]["without_mask"]["recall"] == 0.0
    # The face detector found every face; the threshold dropped them after it.
    assert m["detector_recall"] == {"with_mask": 1.0, "without_mask": 1.0}
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
                             "--min-confidence", "without_mask=0.95")
    assert code == 0, err
    assert out.splitlines()[0].endswith(", without_mask confidence >= 0.95):")


def test_evaluate_end_to_end_table(model, tmp_path, capsys, fixed_detector):
    voc = write_voc_scenes(tmp_path / "scenes", 1)
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--end-to-end", "--detector", "haar",
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
    from maskdet import ModelSettings, load_classifier, load_dataset
    from maskdet.data import source_split

    _, entry = source_split(load_dataset(source), test_size, 0)
    path = tmp_path / "held.maskdet"
    classifier = load_classifier(model)
    classifier.settings_ = ModelSettings(sources=(entry,))
    classifier.save(path)
    return path


def test_evaluate_held_out_class_folders(model, tmp_path, capsys):
    from maskdet import load_dataset, split_dataset

    data = write_class_folders(tmp_path / "heldsrc", per_class=10, seed=4)
    bundle = held_out_model(model, tmp_path, data)
    test = split_dataset(load_dataset(data), 0.5, 0.0, 0).test
    assert len(test) == 10
    code, out, err = run_cli(capsys, "evaluate", bundle, data, "--held-out", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["held_out"] == {"files": 10, "faces": 10}
    assert result["n"] == 10
    assert {c: m["support"] for c, m in result["per_class"].items()} == test.counts()
    code, out, err = run_cli(capsys, "evaluate", bundle, data, "--held-out")
    assert code == 0, err
    assert out.splitlines()[0] == f"held-out part of {data}: 10 files, 10 faces"
    assert out.splitlines()[1] == f"{bundle} on {data} (folders, held-out part):"
    # Another folder of the same name but other files: the split cannot be found again.
    other = write_class_folders(tmp_path / "elsewhere" / "heldsrc", per_class=6, seed=5)
    code, out, err = run_cli(capsys, "evaluate", bundle, other, "--held-out")
    assert code == 1 and "12 files, but the model's source 'heldsrc' had 20" in err
    # A folder the model records nothing about.
    unrecorded = write_class_folders(tmp_path / "unrecorded", per_class=3, seed=6)
    code, out, err = run_cli(capsys, "evaluate", bundle, unrecorded, "--held-out")
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
    code, out, err = run_cli(capsys, "evaluate", bundle, voc, "--held-out", "--end-to-end",
                             "--detector", "haar", "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["held_out"] == {"files": 2, "faces": 6}
    assert m["images"] == 2
    assert m["ground_truth"] == {"with_mask": 2, "without_mask": 4}


def test_evaluate_end_to_end_ignores_the_faces_listed_as_unlabelled(model, tmp_path, capsys,
                                                                    fixed_detector):
    """The small face's annotation is removed from one photo: its detection is then false,
    unless ``--unlabelled`` lists it (neither hit nor false)."""
    from tests.helpers import SMALL_FACE

    voc = write_voc_scenes(tmp_path / "scenes", 2)
    xml = voc / "annotations" / "p0.xml"
    x, y, w, h = SMALL_FACE
    small = (f"<object><name>without_mask</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
             f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>")
    xml.write_text(xml.read_text().replace(small, ""))
    args = ("evaluate", model, voc, "--end-to-end", "--detector", "haar", "--json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    plain = json.loads(out)
    assert plain["ground_truth"] == {"with_mask": 2, "without_mask": 3}
    assert sum(c["fp"] for c in plain["per_class"].values()) == 1
    listed = tmp_path / "unlabelled.json"
    listed.write_text(json.dumps({"about": "reviewed", "faces": {"p0": [list(SMALL_FACE)]}}))
    code, out, err = run_cli(capsys, *args, "--unlabelled", listed)
    assert code == 0, err
    m = json.loads(out)
    assert m["ground_truth"] == plain["ground_truth"] and m["ignored_unlabelled"] == 1
    assert sum(c["fp"] for c in m["per_class"].values()) == 0
    assert sum(c["detections"] for c in m["per_class"].values()) == 5
    code, out, err = run_cli(capsys, *args[:-1], "--unlabelled", listed)
    assert "ignored (faces the annotations leave out): 1" in out.splitlines()
    # A bad file, or the option without --end-to-end: one line naming it.
    listed.write_text('{"p0": [[1, 2, 3]]}')
    code, out, err = run_cli(capsys, *args, "--unlabelled", listed)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "'p0' must hold [x, y, w, h] boxes" in err
    code, out, err = run_cli(capsys, "evaluate", model, voc, "--unlabelled", listed)
    assert code == 1 and "--unlabelled applies to --end-to-end evaluation only" in err
