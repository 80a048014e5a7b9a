"""Trackers measured on generated clips: the plumbing on perfect detections, and a floor on a
real held-out photo with YuNet and the bundled model."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest

from maskdet.data import load_dataset
from maskdet.detections import Detections
from maskdet.errors import MaskdetError
from maskdet.evaluation.tracking import read_mot
from maskdet.faces import FaceDetector
from maskdet.video.clips import make_clips
from maskdet.video.tracking_evaluation import clips_from, evaluate_tracking
from tests.helpers import run_cli, write_voc_scenes

pytest.importorskip("motmetrics", reason="tracking metrics need motmetrics (maskdet[tracking])")


class OracleDetector(FaceDetector):
    """Finds exactly the faces a clip's ground truth counts, from the frame's pixels."""

    name = "oracle"

    def __init__(self, clips):
        self.faces = {}
        for clip in clips:
            rows = read_mot(clip.truth, clip.labels)
            cap = cv2.VideoCapture(str(clip.video))
            k = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                k += 1
                boxes = [r.box for r in rows if r.frame == k and r.conf > 0]
                self.faces[self.key(frame)] = boxes
            cap.release()

    @staticmethod
    def key(image):
        return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest()

    def detect(self, image):
        boxes = self.faces[self.key(image)]
        if not boxes:
            return Detections.empty()
        return Detections(boxes=np.array(boxes), face_scores=np.full(len(boxes), 0.95))


@pytest.fixture(scope="module")
def synthetic_clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("track-eval")
    dataset = load_dataset(write_voc_scenes(root / "voc", 2))
    return make_clips(dataset, root / "clips", frames=30, seed=3,
                      classes=("with_mask", "without_mask"), min_face=20, occlusions=0)


def test_perfect_detections_score_perfect_identities(synthetic_clips, trained_model):
    results = evaluate_tracking(synthetic_clips, ["kalman", "iou"], model=trained_model,
                                face_detector=OracleDetector(synthetic_clips))
    assert {m.gt_tracks for m in results.values()} == {6}  # three faces of >= 20 px a photo
    m = results["kalman"]
    assert m.clips == 2 and m.id_switches == 0 and m.idf1 >= 0.95, m
    # Every counted person is a real face, counted once, under the label it has.
    assert m.counted_people == m.true_people == {"with_mask": 2, "without_mask": 4}
    # The first tracker loses faces when the camera jumps (dropped frames), even here.
    assert results["iou"].idf1 < m.idf1


def test_clips_from_names_what_it_cannot_use(tmp_path, synthetic_clips):
    with pytest.raises(MaskdetError, match="no such folder"):
        clips_from(tmp_path / "none", tmp_path / "out")
    with pytest.raises(MaskdetError, match="no clips"):
        clips_from(tmp_path, tmp_path / "out")
    folder = synthetic_clips[0].folder
    assert [c.folder for c in clips_from(folder.parent, tmp_path / "out")] == [
        c.folder for c in synthetic_clips]
    assert clips_from(folder, tmp_path / "out")[0].folder == folder
    with pytest.raises(MaskdetError, match="--held-out needs a VOC folder"):
        clips_from(folder, tmp_path / "out", held_out=[])
    with pytest.raises(MaskdetError, match="unlabelled faces need a VOC folder"):
        clips_from(folder, tmp_path / "out", unlabelled={"x": [(0, 0, 5, 5)]})


def test_cli_usage_and_input_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        run_cli(capsys, "evaluate-tracking", tmp_path, "--tracker", "sort")
    assert exit_.value.code == 2 and "invalid choice: 'sort'" in capsys.readouterr().err
    code, out, err = run_cli(capsys, "evaluate-tracking", tmp_path / "none", "--model",
                             "hog-svm")
    assert code == 1 and err.strip().endswith("none: no such folder") and out == ""
    assert err.count("\n") == 1 and err.startswith("maskdet: error: ")
    bad = tmp_path / "unlabelled.json"
    for text, message in [("{", "not JSON"), ('{"faces": [1]}', "expected {photo"),
                          ('{"p1": [[1, 2, 3]]}', "'p1' must hold [x, y, w, h] boxes"),
                          ('{"p1": [[1, 2, 0, 4]]}', "'p1' must hold [x, y, w, h] boxes")]:
        bad.write_text(text)
        code, out, err = run_cli(capsys, "evaluate-tracking", tmp_path, "--model", "hog-svm",
                                 "--unlabelled", bad)
        assert code == 1 and message in err and err.count("\n") == 1, (text, err)
    code, _, err = run_cli(capsys, "evaluate-tracking", tmp_path, "--model", "hog-svm",
                           "--unlabelled", tmp_path / "missing.json")
    assert code == 1 and "missing.json: cannot read the unlabelled faces" in err


def test_read_unlabelled_takes_the_mapping_or_a_faces_key(tmp_path):
    from maskdet.data import read_unlabelled

    path = tmp_path / "u.json"
    path.write_text('{"about": "reviewed", "faces": {"p1": [[1, 2, 3, 4.5]], "p2": []}}')
    assert read_unlabelled(path) == {"p1": [(1.0, 2.0, 3.0, 4.5)], "p2": []}
    path.write_text('{"p1": [[1, 2, 3, 4]]}')
    assert read_unlabelled(path) == {"p1": [(1.0, 2.0, 3.0, 4.0)]}


@pytest.mark.shared
@pytest.mark.slow
def test_regression_floor_on_a_held_out_clip(capsys, scenes_dir, yunet_model, tmp_path):
    """One 60-frame clip of a held-out street photo, YuNet and the bundled default model:
    the default tracker keeps its identities about as well as measured when it was chosen
    (IDF1 0.863 and no switch for 5 faces; iou 0.838), with a margin."""
    code, out, err = run_cli(capsys, "evaluate-tracking", scenes_dir, "--held-out",
                             "--clips", 1, "--frames", 60, "--min-faces", 3, "--seed", 2,
                             "--tracker", "kalman", "--tracker", "iou", "--json",
                             "--save-clips", tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert report["clips"] == 1 and report["frames"] == 60
    kalman, iou = report["trackers"]["kalman"], report["trackers"]["iou"]
    assert kalman["gt_tracks"] >= 3
    assert kalman["idf1"] >= 0.8 and kalman["switches_per_track"] <= 0.2
    assert kalman["idf1"] >= iou["idf1"] - 0.02
