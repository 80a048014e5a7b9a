"""The package layout, checked from the code itself: stages import only the stages below them,
modules inside a stage only those listed before them, nothing imports in a circle; the public
API does not lose a name by accident; ``import maskdet`` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import maskdet

PACKAGE = Path(maskdet.__file__).resolve().parent

#: The stages, lowest first. A module may import its own stage and the stages of earlier
#: entries; stages of one entry are independent (neither imports the other).
LAYERS: list[set[str]] = [
    {"errors", "files", "versions", "samples"},
    {"detections", "images"},
    {"draw"},
    {"data"},
    {"faces"},
    {"classifiers"},
    {"pretrained"},
    {"pipeline"},
    {"evaluation"},
    {"training"},
    {"video", "reports", "batch"},
    {"serve"},
    {"cli"},
]

#: Inside a package, the modules lowest first, in the same sense (``__init__`` may import all
#: of its package's modules).
PACKAGE_LAYERS: dict[str, list[set[str]]] = {
    "faces": [{"model_file", "crops"}, {"detectors"}, {"extract"}],
    "classifiers": [{"preprocessing", "augmentation", "params"}, {"info"}, {"bundle"}, {"base"},
                    {"registry"}, {"hog_svm", "cnn"}],
    "evaluation": [{"classification", "scenes", "tracking"}, {"model"}],
    "video": [{"io", "motion", "appearance"}, {"tracking"}, {"kalman_tracker", "external_trackers"},
              {"trackers"}, {"compliance", "clips"}, {"alerts"}, {"streaming"},
              {"tracking_evaluation"}],
    "reports": [{"html", "analysis"}, {"dataset", "model"}],
    "batch": [{"inputs", "results"}, {"tasks"}, {"cluster"}, {"engine"}, {"detect", "evaluate"}],
    "cli": [{"options"}, {"train", "classify", "detect", "evaluate", "evaluate_tracking",
                          "analyze", "models", "video", "serve"}],
    "serve": [{"config"}, {"storage", "pictures", "metrics", "photos"}, {"sinks"},
              {"cameras", "webcam"}, {"app"}, {"server"}],
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The maskdet modules that a file imports, at any depth of the code (function-level
    imports too), resolved to the modules that exist."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            # ``from .. import samples`` imports the submodule, not the package's names.
            targets = [t for t in submodules if t in known] or [target]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, known) for p in files}


def rank(levels: list[set[str]], name: str) -> int | None:
    return next((i for i, group in enumerate(levels) if name in group), None)


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes up or sideways: between stages, and inside a package."""
    problems = []
    for module, targets in graph.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] == "__main__":
            continue  # the package's front door and ``python -m maskdet`` import everything
        stage = parts[1]
        own = rank(LAYERS, stage)
        if own is None:
            problems.append(f"{module}: stage {stage!r} is not in LAYERS")
            continue
        for target in targets:
            t = target.split(".")
            if len(t) < 2:
                problems.append(f"{module} imports the package maskdet itself")
                continue
            if t[1] != stage:
                theirs = rank(LAYERS, t[1])
                if theirs is None or theirs >= own:
                    problems.append(f"{module} imports {target}: stage {stage} may only "
                                    "import the stages below it")
                continue
            inner = PACKAGE_LAYERS.get(stage)
            if inner is None or len(parts) == 2 or len(t) == 2:
                continue  # a one-module stage, or a package's __init__ (its public face)
            mine, theirs = rank(inner, parts[2]), rank(inner, t[2])
            if mine is None or theirs is None:
                problems.append(f"{module} or {target} is not in PACKAGE_LAYERS[{stage!r}]")
            elif theirs >= mine:
                problems.append(f"{module} imports {target}: not below it in {stage}/")
    return sorted(problems)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of module imports (a module importing its own package's ``__init__`` is a
    parent's face, not a circle, and is skipped)."""
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return cycles


def test_every_module_is_in_a_layer():
    graph = import_graph()
    stages = {m.split(".")[1] for m in graph if m.count(".") >= 1} - {"__main__"}
    assert stages <= set().union(*LAYERS), stages - set().union(*LAYERS)
    for stage, levels in PACKAGE_LAYERS.items():
        modules = {m.split(".")[2] for m in graph if m.startswith(f"maskdet.{stage}.")}
        assert modules == set().union(*levels), (stage, modules ^ set().union(*levels))


def test_imports_go_down_the_layers_only():
    assert layer_violations(import_graph()) == []


def test_no_import_cycles():
    assert import_cycles(import_graph()) == []


@pytest.mark.parametrize(("module", "target", "message"), [
    ("maskdet.data", "maskdet.pipeline", "stage data may only import the stages below it"),
    ("maskdet.video.io", "maskdet.reports", "stage video may only import the stages below"),
    ("maskdet.reports.html", "maskdet.video", "stage reports may only import"),  # sideways
    ("maskdet.classifiers.bundle", "maskdet.classifiers.registry", "not below it in"),
    ("maskdet.faces.crops", "maskdet.faces.detectors", "not below it in faces/"),
])
def test_an_upward_import_is_caught(module, target, message):
    graph = import_graph()
    graph[module] = graph[module] | {target}
    problems = layer_violations(graph)
    assert any(p.startswith(f"{module} imports {target}") and message in p for p in problems)


def test_a_circle_is_caught():
    graph = import_graph()
    graph["maskdet.classifiers.base"] = graph["maskdet.classifiers.base"] | {
        "maskdet.classifiers.registry"}
    assert ["maskdet.classifiers.base", "maskdet.classifiers.registry",
            "maskdet.classifiers.base"] in import_cycles(graph)


# -- the public API ------------------------------------------------------------------------
PUBLIC_API = {
    "Alert", "AlertCommand", "BackendError", "BundleError", "Classifier", "ComplianceStats",
    "Dataset", "DatasetError", "Detections", "DetectorUnavailableError", "Face",
    "FaceDetector", "FaceTracker", "FrameResult", "HaarDetector", "ImageReadError",
    "MaskDetector", "MaskStream", "MaskdetError", "ModelInfo", "ModelSettings",
    "Preprocessing", "Sample", "StreamError", "StreamSummary", "Track", "VideoSource",
    "VideoWriter", "ViolationMonitor", "YuNetDetector", "annotate", "available_backends",
    "available_models", "create_classifier", "create_face_detector", "crop_face",
    "evaluate_classifier", "evaluate_model", "extract_faces", "frame_face",
    "load_classifier", "load_dataset", "load_image_folder", "load_model", "load_voc",
    "read_image", "read_manifest", "read_model_info", "register_backend", "samples",
    "split_dataset", "stop_on_signals", "stream", "train", "upgrade_bundle", "__version__",
}

#: The stages a user imports from, and names each must keep.
SUBPACKAGE_API = {
    "maskdet.data": {"Dataset", "SourceSplit", "held_out_part", "load_dataset",
                     "source_split", "split_dataset"},
    "maskdet.faces": {"CachedFaceDetector", "FaceCrops", "FaceDetector", "YuNetDetector",
                      "create_face_detector", "crop_face", "extract_faces", "frame_face"},
    "maskdet.classifiers": {"Classifier", "ModelInfo", "ModelSettings", "load_classifier",
                            "read_model_info", "register_backend", "upgrade_bundle"},
    "maskdet.samples": {"paths", "path", "SAMPLES"},
    "maskdet.evaluation": {"evaluate_model", "evaluate_scenes", "match_detections",
                           "average_precision", "scene_detection_metrics", "scene_results"},
    "maskdet.video": {"MaskStream", "VideoSource", "VideoWriter", "FaceTracker", "stream"},
    "maskdet.reports": {"analyze_dataset", "write_dataset_report", "write_model_report",
                        "write_classifier_report"},
    "maskdet.batch": {"detect_files", "iter_detections", "evaluate_model", "open_client",
                      "expand_inputs", "read_results", "write_parquet", "BatchSummary"},
    "maskdet.cli": {"main", "build_parser"},
    "maskdet.serve": {"create_app", "load_config", "ServeConfig", "CameraConfig",
                      "ConfigError", "run"},
}


def test_public_api_is_complete():
    assert set(maskdet.__all__) == PUBLIC_API
    for name in maskdet.__all__:
        assert getattr(maskdet, name) is not None


@pytest.mark.parametrize("module", sorted(SUBPACKAGE_API))
def test_subpackage_api(module):
    import importlib

    mod = importlib.import_module(module)
    assert SUBPACKAGE_API[module] <= set(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name}, which it lacks"


def test_no_submodule_is_hidden_by_a_name_of_its_package():
    """``maskdet.video.streaming`` must be the module, not a function of ``maskdet.video``
    (a name that hides a module breaks ``monkeypatch`` paths and ``from ... import``)."""
    import importlib

    for module in import_graph():
        parent, _, child = module.rpartition(".")
        if parent and child != "__main__":  # importing __main__ would run the command
            loaded = importlib.import_module(module)
            assert getattr(importlib.import_module(parent), child) is loaded, module


# -- weight --------------------------------------------------------------------------------
def test_import_maskdet_is_light():
    heavy = ("tensorflow", "keras", "matplotlib", "motmetrics", "trackers", "norfair",
             "supervision")
    code = ("import sys, maskdet, maskdet.cli; maskdet.create_classifier('hog-svm'); "
            "maskdet.video.create_tracker(); "
            f"print(*[m in sys.modules for m in {heavy!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * len(heavy)


def test_the_default_mask_detector_needs_no_tensorflow():
    code = "import maskdet, sys; maskdet.MaskDetector(); assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_default_model_runs_without_scikit_learn_or_scipy():
    # They cost ~0.9 s and ~100 MB to import, more than the rest of a detection's start-up.
    heavy = ("sklearn", "scipy", "tensorflow")
    code = ("import sys, maskdet, maskdet.cli\n"
            "faces = maskdet.MaskDetector().detect(maskdet.read_image("
            "maskdet.samples.path('street')))\n"
            "assert len(faces) > 0\n"
            f"print(*[m in sys.modules for m in {heavy!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * len(heavy)


def test_without_onnxruntime_the_cnn_says_what_to_install():
    code = ("import sys; sys.modules['onnxruntime'] = None\n"
            "import numpy as np, maskdet\n"
            "clf = maskdet.load_model('cnn')\n"
            "try:\n"
            "    clf.predict_proba([np.zeros((64, 64, 3), np.uint8)])\n"
            "except maskdet.BackendError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "the cnn backend needs ONNX Runtime: pip install onnxruntime"


def test_the_service_is_imported_only_by_its_command():
    """``import maskdet`` and the command line without ``serve`` load no web library."""
    code = ("import sys, maskdet, maskdet.cli; maskdet.cli.build_parser(); "
            "print(*[m in sys.modules for m in ('fastapi', 'uvicorn', 'prometheus_client', "
            "'paho', 'maskdet.serve')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * 5
