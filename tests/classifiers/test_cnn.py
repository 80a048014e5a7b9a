"""The CNN backend (``cnn``): training with Keras, inference with ONNX Runtime, bundles, the CLI,
and TensorFlow only where training needs it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training the cnn backend needs TensorFlow "
                                         "(maskdet[train])")

import h5py  # noqa: E402  (installed with TensorFlow)
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

import maskdet  # noqa: E402
from maskdet.classifiers import cnn  # noqa: E402
from maskdet.cli import main  # noqa: E402
from tests.helpers import synthetic_face, write_class_folders  # noqa: E402

#: Tiny and fast: 32 px faces, no augmentation, batches of 4 so that three epochs are 60 steps
#: (with fewer, batch normalisation's running statistics lag behind the weights).
TINY = {"image_size": 32, "epochs": 3, "batch_size": 4, "augment": False,
        "validation_fraction": 0.0}


@pytest.fixture(scope="module")
def fitted(synthetic_faces):
    images, labels = synthetic_faces
    return maskdet.create_classifier("cnn", **TINY).fit(images, labels)


def test_registry_creates_cnn_with_unchanged_params():
    assert "cnn" in maskdet.available_backends()
    clf = maskdet.create_classifier("cnn", architecture="seed", epochs=5)
    assert isinstance(clf, cnn.CnnClassifier)
    params = clf.get_params()
    assert params["architecture"] == "seed" and params["epochs"] == 5
    assert params["image_size"] is None  # the architecture's default is resolved later
    assert clf.preprocessing == maskdet.Preprocessing(size=96, color="rgb", margin=0.2)


def test_tiny_training_learns(fitted, synthetic_faces):
    images, labels = synthetic_faces
    assert list(fitted.classes_) == ["with_mask", "without_mask"]
    proba = fitted.predict_proba(images)
    assert proba.shape == (80, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = fitted.predict(images)
    assert list(pred) == list(fitted.classes_[proba.argmax(axis=1)])
    assert (pred == labels).mean() >= 0.8  # chance is 0.5
    assert fitted.predict_proba([]).shape == (0, 2)


def test_history_is_recorded(fitted):
    history = fitted.history_
    assert {"loss", "accuracy", "lr", "seconds"} <= set(history)
    assert all(len(values) == 3 for values in history.values())
    assert history["lr"][-1] < history["lr"][0]  # cosine decay
    assert fitted.metrics_["history"] is history
    assert fitted.metrics_["n_train"] == 80


def test_validation_data_early_stopping_and_class_weight(synthetic_faces):
    images, labels = synthetic_faces
    # Unbalanced training data: 40 with a mask, 10 without.
    keep = [i for i, label in enumerate(labels[:60]) if label == "with_mask" or i % 4 == 1]
    clf = cnn.CnnClassifier(**{**TINY, "epochs": 2}, class_weight="balanced")
    clf.fit([images[i] for i in keep], labels[keep], validation_data=(images[60:], labels[60:]))
    assert len(clf.history_["val_loss"]) == 2 and len(clf.history_["val_accuracy"]) == 2
    assert 1 <= clf.metrics_["best_epoch"] <= 2
    with pytest.raises(ValueError, match="not in y"):
        clf.fit(images[:10], labels[:10], validation_data=(images[:2], ["other", "other"]))


def test_validation_fraction_is_carved_from_training_data(synthetic_faces):
    images, labels = synthetic_faces
    clf = cnn.CnnClassifier(**{**TINY, "epochs": 1, "validation_fraction": 0.25}).fit(
        images[:40], labels[:40])
    assert "val_accuracy" in clf.history_
    assert clf.metrics_["n_train"] == 40  # all of it was given to fit


def test_save_load_identical_probabilities(fitted, synthetic_faces, tmp_path):
    path = fitted.save(tmp_path / "cnn.maskdet")
    loaded = maskdet.load_classifier(path)
    assert isinstance(loaded, cnn.CnnClassifier)
    images = synthetic_faces[0]
    np.testing.assert_allclose(loaded.predict_proba(images), fitted.predict_proba(images),
                               rtol=1e-6, atol=1e-7)
    assert loaded.get_params() == fitted.get_params()
    manifest = maskdet.read_manifest(path)
    assert manifest["backend"] == "cnn"
    assert manifest["preprocessing"] == {"size": 32, "color": "rgb", "margin": 0.2}
    assert {"tensorflow", "keras", "onnxruntime"} <= set(manifest["versions"])
    assert sorted(manifest["files"]) == ["weights/model.keras", "weights/model.onnx"]
    assert manifest["metrics"]["history"]["loss"] == pytest.approx(fitted.history_["loss"])
    with zipfile.ZipFile(path) as zf:
        assert "weights/model.keras" in zf.namelist()
        weights = zipfile.ZipFile(io.BytesIO(zf.read("weights/model.keras")))
        h5 = h5py.File(io.BytesIO(weights.read("model.weights.h5")), "r")
        assert "layers" in h5 and "optimizer" not in h5  # no optimizer state in the bundle


def test_the_onnx_graph_gives_the_keras_probabilities(fitted, synthetic_faces):
    """Predictions come from the exported ONNX graph; Keras itself agrees with it."""
    images = synthetic_faces[0]
    inputs = fitted.preprocessing.apply_batch(images)
    direct = cnn.keras_predict_function(fitted.keras_model(), 32)(inputs).numpy()
    np.testing.assert_allclose(fitted.predict_proba(images), direct, atol=1e-5)


def test_export_writes_the_graph_with_its_metadata(fitted, synthetic_faces, tmp_path):
    import onnx
    import onnxruntime

    path = fitted.export(tmp_path / "net.onnx")
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(meta["maskdet.classes"]) == ["with_mask", "without_mask"]
    assert json.loads(meta["maskdet.preprocessing"]) == fitted.preprocessing.to_dict()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = fitted.preprocessing.apply_batch(synthetic_faces[0][:4]).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, fitted.predict_proba(synthetic_faces[0][:4]), atol=1e-6)


def test_a_loaded_cnn_predicts_without_tensorflow(fitted, synthetic_faces, tmp_path):
    path = fitted.save(tmp_path / "cnn.maskdet")
    faces = tmp_path / "faces.npy"
    np.save(faces, np.stack(synthetic_faces[0][:4]))
    code = ("import sys, numpy as np, maskdet\n"
            f"clf = maskdet.load_classifier({str(path)!r})\n"
            f"print(clf.predict_proba(list(np.load({str(faces)!r}))).round(5).tolist())\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[1] == "False False"
    np.testing.assert_allclose(json.loads(out[0]),
                               fitted.predict_proba(synthetic_faces[0][:4]), atol=1e-5)


def test_chunked_prediction_matches_one_batch(fitted, synthetic_faces, monkeypatch):
    images = synthetic_faces[0][:20]
    whole = fitted.predict_proba(images)
    monkeypatch.setattr(cnn, "_PREDICT_CHUNK", 6)
    np.testing.assert_allclose(fitted.predict_proba(images), whole, rtol=1e-5, atol=1e-6)


def test_clone_and_not_fitted(fitted, synthetic_faces):
    twin = clone(fitted)
    assert twin is not fitted and twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "model_")
    with pytest.raises(NotFittedError):
        twin.predict(synthetic_faces[0][:2])
    with pytest.raises(NotFittedError):
        cnn.CnnClassifier().predict_proba(synthetic_faces[0][:2])


def test_robust_augmentation_trains_and_repeats(synthetic_faces):
    images, labels = synthetic_faces
    params = {**TINY, "epochs": 2, "augment": "robust", "threads": 1}
    a = cnn.CnnClassifier(**params).fit(images, labels)
    # Endless input with steps per epoch: each epoch still sees len(X) / batch_size steps.
    assert len(a.history_["loss"]) == 2
    assert (a.predict(images) == labels).mean() >= 0.7
    # The degraded copies come from (seed, batch number): the batches are the same again.
    batches = [x.numpy() for x, _ in a._dataset(a.preprocessing.apply_batch(images[:8]),
                                                 np.zeros(8, int), training=True).take(3)]
    again = [x.numpy() for x, _ in a._dataset(a.preprocessing.apply_batch(images[:8]),
                                               np.zeros(8, int), training=True).take(3)]
    for x, y in zip(batches, again):
        np.testing.assert_array_equal(x, y)


def test_bad_parameters_are_errors(synthetic_faces):
    images, labels = synthetic_faces
    with pytest.raises(ValueError, match="augment"):
        cnn.CnnClassifier(**{**TINY, "augment": "heavy"}).fit(images[:8], labels[:8])
    with pytest.raises(ValueError, match="architecture"):
        cnn.CnnClassifier(architecture="huge").fit(images[:8], labels[:8])
    with pytest.raises(ValueError, match="class_weight"):
        cnn.CnnClassifier(**TINY, class_weight="auto").fit(images[:8], labels[:8])


def test_seed_architecture_layers():
    model = cnn.build_model("seed", 96, 3)
    kinds = [type(layer).__name__ for layer in model.layers
             if type(layer).__name__ in {"Conv2D", "MaxPooling2D", "Flatten", "Dense"}]
    assert kinds == ["Conv2D", "MaxPooling2D"] * 4 + ["Flatten", "Dense", "Dense"]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64, 128, 128]
    assert all(c.kernel_size == (3, 3) and c.activation.__name__ == "relu" for c in convs)
    hidden, output = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert hidden.units == 512 and hidden.activation.__name__ == "relu"
    assert output.units == 3 and output.activation.__name__ == "softmax"
    assert model.input_shape == (None, 96, 96, 3)


def test_small_architecture_is_compact():
    model = cnn.build_model("small", 64, 2)
    assert 50_000 <= model.count_params() <= 150_000
    assert any(type(layer).__name__ == "BatchNormalization" for layer in model.layers)
    assert any(type(layer).__name__ == "GlobalAveragePooling2D" for layer in model.layers)


def test_cli_trains_and_classifies(tmp_path, capsys):
    data = write_class_folders(tmp_path / "faces", per_class=16, seed=3)
    model = tmp_path / "cnn.maskdet"
    code = main(["train", str(data), "--out", str(model), "--backend", "cnn", "-p", "epochs=2",
                 "-p", "image_size=32", "--test-size", "0.25", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["backend"] == "cnn" and result["test"]["n"] == 8
    assert len(result["training"]) and model.is_file()
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(4)
    import cv2

    for i, label in enumerate(["with_mask", "without_mask"]):
        cv2.imwrite(str(folder / f"{i}.png"), synthetic_face(label, rng))
    code = main(["classify", str(folder), "--model", str(model), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    assert all(set(line["scores"]) == {"with_mask", "without_mask"} for line in lines)


def test_tensorflow_is_lazy_and_quiet():
    """``import maskdet`` and a ``cnn`` classifier do not load TensorFlow; training does,
    without noise (no oneDNN / absl start-up notices, no exporter warnings)."""
    code = ("import sys, numpy as np, maskdet\n"
            "print('tensorflow' in sys.modules, 'cnn' in maskdet.available_backends())\n"
            "clf = maskdet.create_classifier('cnn', image_size=32, epochs=1, batch_size=4,\n"
            "                                augment=False, validation_fraction=0)\n"
            "print('tensorflow' in sys.modules)\n"
            "faces = [np.full((40, 40, 3), v, np.uint8) for v in range(0, 250, 25)]\n"
            "clf.fit(faces, ['with_mask', 'without_mask'] * 5)\n"
            "print('tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True", "False", "True"]
    assert out.stderr == ""


def test_missing_tensorflow_is_a_clear_error_only_when_training():
    code = ("import sys; sys.modules['tensorflow'] = None\n"
            "import numpy as np, maskdet\n"
            "clf = maskdet.create_classifier('cnn')\n"
            "faces = [np.full((40, 40, 3), v, np.uint8) for v in range(0, 250, 25)]\n"
            "print(maskdet.load_model('cnn').predict(faces[:2]).tolist())\n"
            "try:\n"
            "    clf.fit(faces, ['with_mask', 'without_mask'] * 5)\n"
            "except maskdet.BackendError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(json.loads(out[0].replace("'", '"'))) == 2  # the bundled cnn runs without it
    assert "needs TensorFlow" in out[1] and "pip install 'maskdet[train]'" in out[1]


def test_training_twice_gives_the_same_weights(synthetic_faces):
    """Issue 19: the same data, parameters and seed give the same model. With augmentation
    (random layers run by tf.data) and a validation part, the sources of run-to-run change."""
    images, labels = synthetic_faces
    params = {**TINY, "epochs": 2, "augment": True, "validation_fraction": 0.2,
              "random_state": 7}
    first, second = (cnn.CnnClassifier(**params).fit(images, labels) for _ in range(2))
    a, b = first.model_.get_weights(), second.model_.get_weights()
    assert len(a) == len(b) > 10
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert first.history_["loss"] == second.history_["loss"]
    np.testing.assert_array_equal(first.predict_proba(images[:8]),
                                  second.predict_proba(images[:8]))
    other = cnn.CnnClassifier(**{**params, "random_state": 8}).fit(images, labels)
    assert not all(np.array_equal(x, y) for x, y in zip(a, other.model_.get_weights()))


@pytest.mark.parametrize("param, value, allowed", [
    ("batch_size", 0, "an int in the range [1, 8192]"),
    ("epochs", 0, "an int in the range [1, inf) or None"),
    ("epochs", "abc", "an int in the range [1, inf) or None"),
    ("image_size", 8, "an int in the range [16, 512] or None"),
    ("validation_fraction", 1.0, "a float in the range [0.0, 1.0)"),
    ("patience", -1, "an int in the range [0, inf)"),
    ("learning_rate", 0, "a float in the range (0.0, 1.0] or None"),
    ("threads", 0, "an int in the range [1, inf) or None"),
    ("deterministic", "yes", "a bool"),
])
def test_parameters_are_checked_before_training(synthetic_faces, param, value, allowed):
    images, labels = synthetic_faces
    with pytest.raises(ValueError) as info:
        cnn.CnnClassifier(**{**TINY, param: value}).fit(images[:8], labels[:8])
    assert str(info.value).startswith(f"The '{param}' parameter of CnnClassifier must be ")
    assert allowed in str(info.value) and "\n" not in str(info.value)


def test_a_not_a_face_output_is_hidden_and_runs_in_onnx(synthetic_faces, tmp_path):
    images, labels = synthetic_faces
    rng = np.random.default_rng(4)
    noise = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(20)]
    clf = maskdet.create_classifier("cnn", **TINY).fit(
        list(images) + noise, np.concatenate([labels, ["not_a_face"] * len(noise)]))
    assert clf.classes_.tolist() == ["with_mask", "without_mask"]
    graph = cnn._OnnxNetwork(clf.onnx_graph_, 1)
    assert graph(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 3)
    loaded = maskdet.load_classifier(clf.save(tmp_path / "nf.maskdet"))
    crops = noise[:3] + list(images[:3])
    proba, not_a_face = loaded.predict_face_proba(crops)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(not_a_face, clf.predict_face_proba(crops)[1], atol=1e-5)
    assert not_a_face[:3].mean() > not_a_face[3:].mean()
