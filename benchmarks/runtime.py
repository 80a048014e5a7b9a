"""The runtime measured: TensorFlow (maskdet before the ONNX Runtime change) against ONNX Runtime.

Usage (from the repository root, the ``train`` extra installed; ``../shared`` optional)::

    python -m benchmarks.runtime [--before REV] [--runs 5] [--out BENCHMARKS.md]

Writes the ``runtime`` section of BENCHMARKS.md (``benchmarks/sections.py``):

1. Start-up to the first result of ``maskdet detect SAMPLE --json`` (a whole process: import,
   model loading, one photo) and its peak RSS: the tree at ``REV`` (the CNN on TensorFlow,
   default: the commit before the change) against this one, alternating, median of ``runs``.
2. The CNN on preprocessed 64 px faces: Keras called directly (the fastest TensorFlow path)
   against ONNX Runtime, one face and per face of a batch of 256.
3. Parity: the largest difference of the two's probabilities on the held-out face crops
   (mask-faces test part and the scene crops, with MASKDET_TEST_FACES / _SCENES; else the
   sample photos' faces).
4. Video end to end at 640x480 (decode, detect, track, classify, annotate, write an MP4) with
   the default model, ``--every 2`` and ``--every 1``: frames per second, both trees, and the
   share of the frame time the face detector takes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.sections import write_section

ROOT = Path(__file__).resolve().parent.parent
#: The last commit whose CNN ran on TensorFlow.
DEFAULT_BEFORE = "412a4d9"


def _child_run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


@contextlib.contextmanager
def before_tree(rev: str):
    """A checkout of ``rev`` beside the repository (git worktree), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="maskdet-before-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       capture_output=True)


def startup(trees: dict[str, Path], photo: Path, runs: int,
            pythons: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """``maskdet detect PHOTO`` in a fresh process per run, from each tree (with this
    interpreter, or the one ``pythons`` gives for it: a plain install's)."""
    env = {**os.environ, "MASKDET_YUNET_MODEL": str(_yunet())}  # the old tree would download
    times: dict[str, list[float]] = {name: [] for name in trees}
    rss: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(runs):  # alternating, so that a busy moment hits both
        for name, tree in trees.items():
            python = (pythons or {}).get(name, sys.executable)
            seconds, mb = _child_run([python, "-m", "maskdet", "detect", str(photo),
                                      "--json", "--quiet"], tree, env)
            times[name].append(seconds)
            rss[name].append(mb)
    return {name: {"seconds": float(np.median(times[name])), "rss_mb": float(np.median(rss[name])),
                   "runs": runs} for name in trees}


def _yunet() -> Path:
    from maskdet.faces.model_file import find_yunet_model

    return find_yunet_model()


def _median_ms(fn, x, reps: int) -> float:
    fn(x)  # warm-up (graph tracing, arena)
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - start)
    return 1000 * float(np.median(out))


def held_out_crops() -> list[np.ndarray]:
    """The held-out face crops of both datasets (or the sample photos' faces)."""
    import maskdet
    from maskdet.data import split_dataset

    crops: list[np.ndarray] = []
    faces = os.environ.get("MASKDET_TEST_FACES")
    scenes = os.environ.get("MASKDET_TEST_SCENES")
    if faces and Path(faces).is_dir():
        test = split_dataset(maskdet.load_dataset(faces), 0.2, 0.0, 0).test
        crops += maskdet.extract_faces(test).images
    if scenes and Path(scenes).is_dir():
        test = split_dataset(maskdet.load_dataset(scenes, min_face=20), 0.3, 0.0, 0).test
        crops += maskdet.extract_faces(test).images
    if not crops:
        mask_detector = maskdet.MaskDetector()
        for path in maskdet.samples.paths():
            image = maskdet.read_image(path)
            crops += [maskdet.crop_face(image, box) for box in
                      mask_detector.find_faces(image).boxes]
    return crops


def network(crops: list[np.ndarray]) -> dict[str, Any]:
    """Keras called directly against ONNX Runtime on the bundled CNN's own inputs."""
    import maskdet
    from maskdet.classifiers.cnn import keras_predict_function

    clf = maskdet.load_model("cnn")
    inputs = clf.preprocessing.apply_batch(crops)
    keras_fn = keras_predict_function(clf.keras_model(), clf.preprocessing.size)
    onnx_fn = clf._network  # what predict_proba calls after preprocessing

    def keras_probabilities(x):
        return np.concatenate([keras_fn(x[i:i + 256]).numpy() for i in range(0, len(x), 256)])

    batch = np.resize(inputs, (256, *inputs.shape[1:]))
    two_threads = maskdet.load_model("cnn").set_params(threads=2)
    out: dict[str, Any] = {"crops": len(crops)}
    for name, fn in (("keras", keras_probabilities), ("onnxruntime", onnx_fn),
                     ("onnxruntime threads=2", two_threads._predict_inputs)):
        out[name] = {"one_ms": _median_ms(fn, inputs[:1], 200),
                     "batch_ms_per_face": _median_ms(fn, batch, 30) / 256}
    diff = np.abs(keras_probabilities(inputs) - onnx_fn(inputs))
    out["max_abs_difference"] = float(diff.max())
    out["same_label"] = float(np.mean(keras_probabilities(inputs).argmax(1)
                                      == onnx_fn(inputs).argmax(1)))
    return out


_VIDEO_SCRIPT = """
import json, sys, time
import maskdet
video, out, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
frames = maskdet.stream(video, None, "yunet", every=every, annotate=True)
detector = (getattr(frames, "mask_detector", None) or frames.detector).face_detector
spent = [0.0]
real = detector.detect
def timed(image):
    start = time.perf_counter()
    try:
        return real(image)
    finally:
        spent[0] += time.perf_counter() - start
detector.detect = timed
with maskdet.VideoWriter(out, fps=25) as writer:
    for result in frames:
        writer.write(result.annotated)
s = frames.summary
print(json.dumps({"fps": s.processed / s.seconds, "frames": s.processed,
                  "detector_share": spent[0] / s.seconds}))
"""


def make_clip(path: Path) -> Path:
    """200 frames at 640x480: 8 street photos (the sample photos without ../shared), panned."""
    import cv2

    import maskdet
    from benchmarks.test_video_fps import FRAMES_PER_PHOTO, SIZE, _panned

    scenes = os.environ.get("MASKDET_TEST_SCENES")
    if scenes and Path(scenes).is_dir():
        from collections import Counter

        per_photo = Counter(s.path for s in maskdet.load_dataset(scenes).samples)
        photos = sorted(p for p, n in per_photo.items() if 3 <= n <= 8)[:8]
    else:
        photos = maskdet.samples.paths() * 3
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, SIZE)
    for photo in photos[:8]:
        for frame in _panned(maskdet.read_image(photo), FRAMES_PER_PHOTO):
            writer.write(frame)
    writer.release()
    return path


def video(trees: dict[str, Path], clip: Path, runs: int) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "MASKDET_YUNET_MODEL": str(_yunet())}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for every in (2, 1):
            for name, tree in trees.items():
                script = _VIDEO_SCRIPT
                rows = []
                for _ in range(runs):
                    out = subprocess.run([sys.executable, "-c", script, str(clip),
                                          str(Path(tmp) / "out.mp4"), str(every)], cwd=tree,
                                         env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        raise SystemExit(f"video run failed in {tree}: {out.stderr[-2000:]}")
                    rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                results[f"{name} every {every}"] = {
                    "fps": float(np.median([r["fps"] for r in rows])),
                    "detector_share": float(np.median([r["detector_share"] for r in rows])),
                    "frames": rows[0]["frames"], "runs": runs}
    return results


def render(start: dict, net: dict, vid: dict, command: str, before: str) -> str:
    tf, ort = start["tensorflow"], start["onnxruntime"]
    k, o = net["keras"], net["onnxruntime"]
    lines = [
        "## Runtime: TensorFlow against ONNX Runtime",
        "",
        f"`{command}` (one run on this machine; medians; before = maskdet at `{before}`, "
        "whose CNN ran on TensorFlow). Targets of the runtime issue in brackets.",
        "",
        "| | TensorFlow (before) | ONNX Runtime (now) | ratio |",
        "| :-- | --: | --: | --: |",
        f"| `maskdet detect SAMPLE --json`: start-up to first result (≤ 1.0 s) | "
        f"{tf['seconds']:.2f} s | {ort['seconds']:.2f} s | {tf['seconds'] / ort['seconds']:.1f}x |",
        f"| same: peak RSS (≤ 200 MB) | {tf['rss_mb']:.0f} MB | {ort['rss_mb']:.0f} MB | "
        f"{tf['rss_mb'] / ort['rss_mb']:.1f}x |",
    ]
    if "plain" in start:  # what `pip install maskdet` gives: no pandas for scikit-learn to load
        plain = start["plain"]
        lines += [
            f"| same, plain install (`pip install maskdet`, nothing else): start-up | | "
            f"{plain['seconds']:.2f} s | {tf['seconds'] / plain['seconds']:.1f}x |",
            f"| same, plain install: peak RSS | | {plain['rss_mb']:.0f} MB | "
            f"{tf['rss_mb'] / plain['rss_mb']:.1f}x |"]
    lines += [
        f"| CNN, one face (≤ 0.3 ms) | {k['one_ms']:.3f} ms | {o['one_ms']:.3f} ms | "
        f"{k['one_ms'] / o['one_ms']:.1f}x |",
        f"| CNN, per face in a batch of 256 (≤ 0.2 ms) | {k['batch_ms_per_face']:.3f} ms | "
        f"{o['batch_ms_per_face']:.3f} ms | "
        f"{k['batch_ms_per_face'] / o['batch_ms_per_face']:.1f}x |",
    ]
    if "onnxruntime threads=2" in net:  # the classifier's threads=2, for batches of crops
        t = net["onnxruntime threads=2"]
        lines += [
            f"| same, one face, `threads=2` | | {t['one_ms']:.3f} ms | "
            f"{k['one_ms'] / t['one_ms']:.1f}x |",
            f"| same, per face in a batch of 256, `threads=2` | | "
            f"{t['batch_ms_per_face']:.3f} ms | "
            f"{k['batch_ms_per_face'] / t['batch_ms_per_face']:.1f}x |"]
    for every, target in ((2, 100), (1, 50)):
        b, a = vid[f"tensorflow every {every}"], vid[f"onnxruntime every {every}"]
        lines.append(f"| video 640x480, default model, `--every {every}` (≥ {target} fps) | "
                     f"{b['fps']:.0f} fps | {a['fps']:.0f} fps | {a['fps'] / b['fps']:.1f}x |")
    lines += [
        "",
        f"Parity on {net['crops']} held-out face crops: the largest difference between Keras' "
        f"and ONNX Runtime's probabilities is {net['max_abs_difference']:.1e}; the label is the "
        f"same for {net['same_label']:.2%} of them. The CNN timings are of the network on "
        "preprocessed 64 px faces (Keras called directly, as maskdet did, against an ONNX "
        "Runtime session with one thread, maskdet's default).",
        "",
        "Share of the video's wall time spent in the face detector (YuNet): "
        + ", ".join(f"{name} {v['detector_share']:.0%}" for name, v in vid.items())
        + f" ({vid['onnxruntime every 2']['frames']} frames).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runtime",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the TensorFlow-era commit")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--plain-python", metavar="PYTHON",
                        help="also the start-up of a plain install: the python of a venv "
                             "holding only maskdet's wheel and its dependencies (scikit-learn "
                             "imports pandas where it is installed, as in a development venv)")
    args = parser.parse_args(argv)
    import maskdet

    command = "python -m benchmarks.runtime" + (f" --runs {args.runs}" if args.runs != 5 else "")
    if args.plain_python:
        command += " --plain-python PLAIN_VENV/bin/python"
    with before_tree(args.before) as old, tempfile.TemporaryDirectory() as tmp:
        trees = {"tensorflow": old, "onnxruntime": ROOT}
        pythons = {}
        if args.plain_python:  # run from an empty folder: the wheel, not this tree
            trees["plain"] = Path(tmp)
            pythons["plain"] = args.plain_python
        start = startup(trees, maskdet.samples.path("street"), args.runs, pythons)
        trees.pop("plain", None)
        print(json.dumps(start), flush=True)
        net = network(held_out_crops())
        print(json.dumps(net), flush=True)
        vid = video(trees, make_clip(Path(tmp) / "clip.mp4"), max(1, args.runs // 2))
        print(json.dumps(vid), flush=True)
    write_section(args.out, "runtime", render(start, net, vid, command, args.before))
    print(f"wrote the runtime section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
