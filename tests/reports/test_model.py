"""The model report: confusion matrix, curves and misclassified faces matching hand-made
cases, and the reports of `maskdet train` and `maskdet evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.cli import main
from maskdet.data import Sample
from maskdet.faces import FaceCrops
from maskdet.reports import write_classifier_report, write_model_report
from tests.helpers import check_report, distinct_picture, write_class_folders

CLASSES = ["with_mask", "without_mask"]


def hand_made_case():
    """8 faces: true with_mask x4 (one predicted wrong), without_mask x4 (two wrong)."""
    y = ["with_mask"] * 4 + ["without_mask"] * 4
    p_without = np.array([0.1, 0.2, 0.3, 0.8, 0.9, 0.7, 0.4, 0.45])
    proba = np.column_stack([1 - p_without, p_without])
    rng = np.random.default_rng(0)
    images = [distinct_picture(rng, 64, 64) for _ in y]
    samples = [Sample(Path(f"/data/{i}.jpg"), label) for i, label in enumerate(y)]
    return y, proba, images, samples


def test_model_report_matches_the_hand_made_case(tmp_path):
    from sklearn.metrics import roc_auc_score

    y, proba, images, samples = hand_made_case()
    write_model_report(tmp_path, CLASSES, y, proba, images=images, samples=samples,
                       metrics={"ms_per_face": 1.5})
    numbers, page = check_report(tmp_path, "metrics.json")

    m = numbers["metrics"]
    assert m["confusion_matrix"] == {"labels": CLASSES, "matrix": [[3, 1], [2, 2]]}
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["per_class"]["without_mask"]["precision"] == pytest.approx(2 / 3)
    assert m["ms_per_face"] == 1.5
    auc = roc_auc_score(np.array(y) == "without_mask", proba[:, 1])
    assert numbers["roc"]["without_mask"]["auc"] == pytest.approx(auc)
    assert m["roc_auc"] == pytest.approx(auc)
    assert set(numbers["pr"]) == set(CLASSES)
    mis = numbers["misclassified"]
    assert mis["total"] == mis["shown"] == 3
    # The most confident mistake first: face 3 (with_mask, 0.8 without_mask).
    assert [it["index"] for it in mis["items"]] == [3, 6, 7]
    assert mis["items"][0] == {"index": 3, "true": "with_mask", "predicted": "without_mask",
                               "score": 0.8, "true_score": 0.2, "path": "/data/3.jpg",
                               "box": None}
    assert numbers["figures"] == ["confusion_matrix.png", "roc_curves.png", "pr_curves.png",
                                  "misclassified.png"]
    assert "history" not in numbers
    text = " ".join(page.text)
    assert "/data/6.jpg" in text


def test_misclassified_grid_grows_with_the_mistakes(tmp_path):
    rng = np.random.default_rng(1)
    y = ["with_mask"] * 20
    images = [distinct_picture(rng, 48, 48) for _ in y]

    def grid_height(n_wrong: int, folder: Path) -> int:
        proba = np.array([[0.2, 0.8]] * n_wrong + [[0.9, 0.1]] * (20 - n_wrong))
        write_model_report(folder, CLASSES, y, proba, images=images, max_misclassified=12)
        numbers = json.loads((folder / "metrics.json").read_text())
        assert numbers["misclassified"]["total"] == n_wrong
        assert numbers["misclassified"]["shown"] == min(n_wrong, 12)
        return cv2.imread(str(folder / "misclassified.png")).shape[0]

    one_row, two_rows = grid_height(5, tmp_path / "a"), grid_height(15, tmp_path / "b")
    assert two_rows > 1.6 * one_row  # 5 tiles: one row of 8; 12 shown: two rows

    # No mistakes: no grid (and no ROC/PR for a single class present).
    write_model_report(tmp_path / "c", CLASSES, y, np.array([[0.9, 0.1]] * 20), images=images)
    numbers, _ = check_report(tmp_path / "c", "metrics.json")
    assert numbers["misclassified"] == {"total": 0, "shown": 0, "items": []}
    assert numbers["figures"] == ["confusion_matrix.png"]


def test_training_curves_drawn_only_with_a_history(tmp_path):
    y, proba, images, _ = hand_made_case()
    history = {"loss": [0.9, 0.6, 0.4], "accuracy": [0.6, 0.8, 0.9],
               "val_loss": [0.8, 0.5, 0.55], "val_accuracy": [0.65, 0.85, 0.84],
               "lr": [1e-3, 5e-4, 1e-4]}
    write_model_report(tmp_path, CLASSES, y, proba, images=images, history=history)
    numbers, _ = check_report(tmp_path, "metrics.json")
    assert numbers["figures"][0] == "training_curves.png"
    assert numbers["history"] == history
    wide = cv2.imread(str(tmp_path / "training_curves.png"))
    assert wide.shape[1] > 2 * wide.shape[0]  # three panels side by side

    # The same folder rewritten without a history: the stale figure goes away.
    write_model_report(tmp_path, CLASSES, y, proba, images=images)
    numbers, _ = check_report(tmp_path, "metrics.json")
    assert "training_curves.png" not in numbers["figures"]
    assert not (tmp_path / "training_curves.png").exists()


def test_classifier_report_takes_the_history_from_the_classifier(tmp_path, synthetic_faces):
    import maskdet

    images, labels = synthetic_faces
    clf = maskdet.create_classifier("hog-svm", image_size=48).fit(images[:60], labels[:60])
    clf.metrics_["history"] = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    test = FaceCrops(images=list(images[60:]), labels=np.array(labels[60:], dtype=object),
                     samples=[Sample(Path(f"{i}.png"), str(lab))
                              for i, lab in enumerate(labels[60:])],
                     classes=CLASSES)
    write_classifier_report(tmp_path, clf, test)
    numbers, _ = check_report(tmp_path, "metrics.json")
    assert numbers["n"] == 20
    assert "training_curves.png" in numbers["figures"]
    assert numbers["history"] == {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_train_and_evaluate_write_reports(tmp_path, capsys, trained_model):
    data = write_class_folders(tmp_path / "faces", per_class=12, seed=3)
    code, out, err = run(capsys, "train", data, "--out", tmp_path / "m.maskdet", "-p",
                         "image_size=48", "--test-size", "0.25", "--report", tmp_path / "tr",
                         "--json")
    assert code == 0, err
    summary = json.loads(out)
    numbers, _ = check_report(tmp_path / "tr", "metrics.json")
    assert summary["report"] == str(tmp_path / "tr" / "report.html")
    assert numbers["n"] == summary["test"]["n"] == 6
    assert numbers["metrics"]["confusion_matrix"] == summary["test"]["confusion_matrix"]
    assert "training_curves.png" not in numbers["figures"]  # HOG+SVM keeps no history

    code, out, err = run(capsys, "evaluate", trained_model, data, "--report", tmp_path / "ev")
    assert code == 0, err
    assert f"report: {tmp_path / 'ev' / 'report.html'}" in out
    numbers, _ = check_report(tmp_path / "ev", "metrics.json")
    assert numbers["n"] == 24
    matrix = np.array(numbers["metrics"]["confusion_matrix"]["matrix"])
    assert matrix.sum() == 24 and list(matrix.sum(axis=1)) == [12, 12]
    wrong = int(matrix.sum() - np.trace(matrix))
    assert numbers["misclassified"]["total"] == wrong
