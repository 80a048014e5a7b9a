"""The bundled default models (maskdet.pretrained): name resolution, the default, and the
defaults of MaskDetector, stream() and the CLI. Mostly on copies of a small hog-svm bundle in a
temporary PRETRAINED_DIR; the real cnn bundle where it matters that it runs without
TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import maskdet
from maskdet import pretrained
from maskdet.cli import main
from maskdet.detections import Detections
from maskdet.errors import BundleError
from maskdet.faces import FaceDetector
from tests.helpers import synthetic_face


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    """An empty PRETRAINED_DIR."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    return folder


@pytest.fixture
def hog_only(models_dir, trained_model) -> Path:
    shutil.copy(trained_model, models_dir / "hog-svm.maskdet")
    return models_dir


@pytest.fixture
def both(hog_only, trained_model) -> Path:
    """Both bundle files; cnn.maskdet is only a stand-in (a hog-svm bundle)."""
    shutil.copy(trained_model, hog_only / "cnn.maskdet")
    return hog_only


class FixedFaces(FaceDetector):
    """One face box filling the given image."""

    name = "fixed"

    def detect(self, image):
        h, w = image.shape[:2]
        return Detections(boxes=[[0, 0, w, h]], face_scores=[0.9])


def test_available_models_and_pretrained_path(models_dir, trained_model):
    assert pretrained.PRETRAINED_MODELS == {"cnn": "cnn.maskdet", "hog-svm": "hog-svm.maskdet"}
    assert maskdet.available_models() == []
    shutil.copy(trained_model, models_dir / "hog-svm.maskdet")
    assert maskdet.available_models() == ["hog-svm"]
    assert pretrained.pretrained_path("hog-svm") == models_dir / "hog-svm.maskdet"
    with pytest.raises(BundleError) as info:
        pretrained.pretrained_path("cnn")
    message = str(info.value)
    assert "bundled cnn model is not installed" in message and "installed: hog-svm" in message
    assert "\n" not in message
    with pytest.raises(BundleError, match="unknown bundled model 'resnet'; bundled models: cnn, "
                                          "hog-svm"):
        pretrained.pretrained_path("resnet")
    shutil.copy(trained_model, models_dir / "cnn.maskdet")
    assert maskdet.available_models() == ["cnn", "hog-svm"]


def test_the_package_folder_is_the_default_location():
    assert pretrained.PRETRAINED_DIR == Path(pretrained.__file__).resolve().parent
    assert {"load_model", "available_models"} <= set(maskdet.__all__)


def test_the_default_is_the_cnn_whenever_its_bundle_is_there(hog_only, trained_model, caplog):
    assert pretrained.default_model_name() == "hog-svm"  # an installation without the cnn
    shutil.copy(trained_model, hog_only / "cnn.maskdet")
    assert pretrained.default_model_name() == "cnn"
    assert maskdet.load_model().metrics_ == maskdet.read_model_info(trained_model).metrics
    assert not caplog.records  # no warning, whatever is installed


def test_the_real_default_is_the_cnn_and_runs_without_tensorflow():
    """The shipped cnn bundle: the default, loaded and run on a sample photo in a process
    where TensorFlow cannot be imported at all."""
    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
            "import maskdet\n"
            "md = maskdet.MaskDetector()\n"
            "faces = md.detect(maskdet.read_image(maskdet.samples.path('street')))\n"
            "print(md.classifier.backend_name, len(faces), sorted(set(faces.labels)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[:2] == ["cnn", "5"] and "'without_mask']" in out


def test_threads_set_after_loading_take_effect_and_change_no_result():
    clf = maskdet.load_model("cnn")
    faces = [synthetic_face(label, np.random.default_rng(i))
             for i, label in enumerate(["with_mask", "without_mask"] * 3)]
    one_thread = clf.predict_proba(faces)
    assert clf._network._session.get_session_options().intra_op_num_threads == 1
    two_threads = clf.set_params(threads=2).predict_proba(faces)
    assert clf._network._session.get_session_options().intra_op_num_threads == 2
    np.testing.assert_allclose(two_threads, one_thread, atol=1e-6)


def test_load_model_resolves_names_paths_and_classifiers(hog_only, trained_model, tmp_path,
                                                         monkeypatch):
    face = synthetic_face("with_mask", np.random.default_rng(4))
    expected = maskdet.load_classifier(trained_model).predict_proba([face])
    by_name = maskdet.load_model("hog-svm")
    by_default = maskdet.load_model()  # no cnn bundle here: hog-svm
    by_path = maskdet.load_model(trained_model)
    by_str_path = maskdet.load_model(str(trained_model))
    for clf in (by_name, by_default, by_path, by_str_path):
        np.testing.assert_allclose(clf.predict_proba([face]), expected)
    assert maskdet.load_model(by_path) is by_path  # a fitted classifier as is
    assert pretrained.model_path("hog-svm") == hog_only / "hog-svm.maskdet"
    # A file named like a bundled model is that file, not the bundled model.
    monkeypatch.chdir(tmp_path)
    Path("hog-svm").write_text("not a bundle")
    assert pretrained.model_path("hog-svm") == Path("hog-svm")
    with pytest.raises(BundleError, match="hog-svm: not a maskdet model bundle"):
        maskdet.load_model("hog-svm")
    with pytest.raises(BundleError, match="no such model file"):
        maskdet.load_model(tmp_path / "absent.maskdet")
    with pytest.raises(TypeError):
        maskdet.load_model(3)  # type: ignore[arg-type]


def test_missing_default_bundle_is_one_line(models_dir):
    with pytest.raises(BundleError) as info:
        maskdet.load_model()
    message = str(info.value)
    assert "bundled hog-svm model is not installed" in message and "--model" in message
    assert "\n" not in message


def test_mask_detector_without_a_classifier_uses_the_default(hog_only, trained_model):
    face = synthetic_face("without_mask", np.random.default_rng(8))
    detector = maskdet.MaskDetector(face_detector=FixedFaces())
    reference = maskdet.MaskDetector(trained_model, face_detector=FixedFaces())
    assert detector.classifier.metrics_ == maskdet.read_model_info(trained_model).metrics
    assert detector.classes == reference.classes == ("with_mask", "without_mask")
    got, want = detector.detect(face), reference.detect(face)
    assert got.labels.tolist() == want.labels.tolist()
    np.testing.assert_allclose(got.scores, want.scores)
    by_name = maskdet.MaskDetector("hog-svm", face_detector=FixedFaces())
    np.testing.assert_allclose(by_name.detect(face).scores, want.scores)


def test_stream_without_a_model_uses_the_default(hog_only, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (96, 96))
    frame = synthetic_face("with_mask", np.random.default_rng(2))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    results = list(maskdet.stream(path, face_detector=FixedFaces(), every=1))
    assert len(results) == 3
    assert all(len(r.detections) == 1 for r in results)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_uses_the_default_and_names(hog_only, tmp_path, capsys):
    face = tmp_path / "face.png"
    cv2.imwrite(str(face), synthetic_face("without_mask", np.random.default_rng(1)))
    code, out, err = run(capsys, "classify", face, "--json")
    assert code == 0, err
    assert set(json.loads(out)["scores"]) == {"with_mask", "without_mask"}
    code, out, err = run(capsys, "classify", face, "-m", "hog-svm", "--json")
    assert code == 0, err
    code, out, err = run(capsys, "info", "hog-svm", "--json")
    assert code == 0 and json.loads(out)["backend"] == "hog-svm"
    code, out, err = run(capsys, "info", "cnn")
    assert code == 1 and "bundled cnn model is not installed" in err


def test_cli_backends_lists_the_bundled_models(models_dir, trained_model, capsys):
    assert "bundled models: none" in run(capsys, "backends")[1]
    shutil.copy(trained_model, models_dir / "hog-svm.maskdet")
    assert "bundled models: hog-svm (default)\n" in run(capsys, "backends")[1]
    shutil.copy(trained_model, models_dir / "cnn.maskdet")
    code, out, err = run(capsys, "backends")
    assert "bundled models: cnn (default), hog-svm\n" in out and err == ""
