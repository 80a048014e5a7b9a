"""Reliability figures for BENCHMARKS.md (issue 19): repeatable CNN training and its spread over
seeds, peak memory on huge images, and a soak run of ``maskdet.stream``.

Each part measures and keeps its numbers in ``benchmarks/results/reliability-PART.json``;
``write`` renders them all as the "reliability" section of BENCHMARKS.md (kept when
``python -m benchmarks`` regenerates the rest). Run from the repository root with the
environment variables of ``.ci/run``::

    python -m benchmarks.reliability training --seeds 0 1 2 3 4   # ~25 min on 2 cores
    python -m benchmarks.reliability memory [--before /tmp/maskdet-before]
    python -m benchmarks.reliability soak --frames 20000          # ~3 min
    python -m benchmarks.reliability fuzz --seconds 300           # 5 min
    python -m benchmarks.reliability write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _save(part: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"reliability-{part}.json"
    data = {"machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                       f"Python {platform.python_version()}",
            "measured": time.strftime("%Y-%m-%d"), **data}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return path


def _load(part: str) -> dict[str, Any] | None:
    path = RESULTS / f"reliability-{part}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# -- training ------------------------------------------------------------------------------------
_DIGEST = """
import hashlib, sys
import maskdet
digest = hashlib.sha256()
for array in maskdet.load_classifier(sys.argv[1]).model_.get_weights():
    digest.update(array.tobytes())
print(digest.hexdigest()[:16])
"""


def _weights_digest(bundle: str) -> str:
    """A digest of the trained network's weight arrays (the bundle's files also hold the
    time they were saved)."""
    done = subprocess.run([sys.executable, "-c", _DIGEST, bundle], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def _train_once(faces: str, seed: int, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        command = ["maskdet", "train", faces, "--backend", "cnn", "--test-size", "0.2",
                   "--seed", str(seed), "--out", f"{tmp}/m.maskdet", "--json", "--quiet",
                   *extra]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        result = json.loads(done.stdout)
        digest = _weights_digest(f"{tmp}/m.maskdet")
    return {"seed": seed, "options": extra, "accuracy": result["test"]["accuracy"],
            "balanced_accuracy": result["test"]["balanced_accuracy"],
            "fit_seconds": result["training"]["fit_seconds"], "wall_seconds": round(wall, 1),
            "weights_sha256": digest}


def run_training(args: argparse.Namespace) -> None:
    faces = args.faces or os.environ.get("MASKDET_TEST_FACES")
    if not faces:
        sys.exit("set MASKDET_TEST_FACES or pass --faces")
    runs: list[dict[str, Any]] = []
    free = ["-p", "deterministic=false"]
    if args.cost:  # pairs, alternating, so that a busy machine slows both alike
        plan = [(args.seeds[0], options) for _ in range(args.cost) for options in ([], free)]
    else:
        plan = [(s, []) for s in args.seeds] + [(args.seeds[0], [])] * args.repeat
        plan += [(args.seeds[0], free)] * args.nondeterministic
    part = "training-cost" if args.cost else "training"
    for seed, extra in plan:
        runs.append(_train_once(faces, seed, extra))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
        _save(part, {"command": "maskdet train FACES --backend cnn --test-size 0.2 --seed S",
                     "runs": runs})


def _training_markdown(data: dict[str, Any]) -> list[str]:
    runs = data["runs"]
    plain = [r for r in runs if not r["options"]]
    by_seed: dict[int, list[dict]] = {}
    for r in plain:
        by_seed.setdefault(r["seed"], []).append(r)
    firsts = [rs[0] for rs in by_seed.values()]
    acc = [r["accuracy"] for r in firsts]
    out = ["### Repeatable CNN training", "",
           f"`{data['command']}` (`-p deterministic=false` where said), "
           f"{data['machine']}, {data['measured']}:", "",
           "| seed | run | test accuracy | balanced accuracy | fit s | weights (sha256) |",
           "|---|---|---|---|---|---|"]
    for r in runs:
        n = sum(1 for x in runs[:runs.index(r) + 1]
                if x["seed"] == r["seed"] and x["options"] == r["options"])
        how = f"{n}" + (" (deterministic=false)" if r["options"] else "")
        out.append(f"| {r['seed']} | {how} | {r['accuracy']:.4f} | "
                   f"{r['balanced_accuracy']:.4f} | {r['fit_seconds']:.0f} | "
                   f"`{r['weights_sha256']}` |")
    out.append("")
    repeats = [rs for rs in by_seed.values() if len(rs) > 1]
    for rs in repeats:
        same = len({r["weights_sha256"] for r in rs}) == 1
        out.append(f"* Seed {rs[0]['seed']} run {len(rs)} times: "
                   + ("the same weights, byte for byte, and the same numbers."
                      if same else "**different weights**."))
    if len(acc) > 1:
        out.append(f"* Across {len(acc)} seeds (the split and so the test part change with "
                   f"the seed; the network's own seed stays 0): accuracy "
                   f"{statistics.mean(acc):.4f} mean, {statistics.stdev(acc):.4f} standard "
                   f"deviation, {min(acc):.4f}-{max(acc):.4f} range. A difference between "
                   "two backends smaller than about two standard deviations is not a "
                   "difference.")
    cost = _load("training-cost")
    every = runs + (cost["runs"] if cost else [])
    free = [r for r in every if r["options"]]
    det = [r for r in every if not r["options"] and free and r["seed"] == free[0]["seed"]]
    def weights(rs: list[dict]) -> str:
        n = len({r["weights_sha256"] for r in rs})
        return "the same weights every time" if n == 1 else f"{n} different sets of weights"

    if free and det:
        out.append(f"* Seed {free[0]['seed']}, all runs here and below: deterministic "
                   f"{len(det)} times, " + ", ".join(f"{r['accuracy']:.4f}" for r in det)
                   + f" ({weights(det)}); with `-p deterministic=false` {len(free)} times, "
                   + ", ".join(f"{r['accuracy']:.4f}" for r in free) + f" ({weights(free)}).")
    if cost:
        det = [r["fit_seconds"] for r in cost["runs"] if not r["options"]]
        fast = [r["fit_seconds"] for r in cost["runs"] if r["options"]]
        out.append(f"* Cost of determinism (`python -m benchmarks.reliability training "
                   f"--cost {len(det)}`: {len(det)} pairs of seed-{cost['runs'][0]['seed']} "
                   f"runs, alternating, {cost['measured']}): fit "
                   + ", ".join(f"{d:.0f}" for d in det) + " s deterministic against "
                   + ", ".join(f"{f:.0f}" for f in fast) + " s without; median ratio "
                   f"x{statistics.median(det) / statistics.median(fast):.2f} (per pair "
                   + ", ".join(f"x{d / f:.2f}" for d, f in zip(det, fast)) + ").")
    out.append("* Fit times come from a 2-core machine shared with other work (load average "
               "4-5 while they ran): they are noisy; the pairs above alternate to share it "
               "alike.")
    return out


# -- memory ----------------------------------------------------------------------------------
#: The address space a measured process may take: the "before" code grew to 23 GB on the
#: decompression bomb, more than a shared 24 GB machine can spare.
AS_LIMIT = 8 * 2**30

_PEAK = """
import resource, sys
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from maskdet.cli import main
code = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"PEAK {peak} {code}", file=sys.stderr)
"""


def _peak_rss(argv: list[str], tree: Path | None) -> dict[str, Any]:
    """Peak RSS (MiB) and exit status of ``maskdet ARGV`` in a fresh process; ``tree``: run
    that checkout's maskdet instead (a "before" measurement)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, str(AS_LIMIT), *argv],
                          capture_output=True, text=True, env=env, cwd=tree or ROOT)
    seconds = time.perf_counter() - start
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    if not peak:  # killed (exit 137) or crashed with a traceback: its last line says how
        return {"peak_mib": None, "status": done.returncode, "seconds": round(seconds, 1),
                "message": (done.stderr.strip().splitlines() or [""])[-1][:200],
                "traceback": "Traceback" in done.stderr}
    _, kb, code = peak[-1].split()
    return {"peak_mib": round(int(kb) / 1024), "status": int(code),
            "seconds": round(seconds, 1), "message": errors[0][:200] if errors else ""}


def run_memory(args: argparse.Namespace) -> None:
    import cv2
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.helpers import zeros_png

    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.png"
        bomb.write_bytes(zeros_png(30000, 30000))
        rng = np.random.default_rng(0)
        photo = Path(tmp) / "photo24mp.jpg"  # 6000 x 4000: noise, blurred a little
        image = cv2.GaussianBlur(rng.integers(0, 256, (4000, 6000, 3), np.uint8), (5, 5), 0)
        cv2.imwrite(str(photo), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        huge = Path(tmp) / "12000.jpg"
        cv2.imwrite(str(huge), cv2.resize(image, (12000, 12000)),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        small = Path(tmp) / "photo.jpg"  # the baseline: models and libraries loaded
        cv2.imwrite(str(small), cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA))
        del image
        cases = [("640x480 JPEG (the baseline)", small, []),
                 ("30000x30000 PNG of zeros (bomb)", bomb, []),
                 ("24 MP JPEG (6000x4000)", photo, []),
                 ("12000x12000 JPEG (144 MP)", huge, []),
                 ("12000x12000 JPEG, `--max-megapixels 200`", huge,
                  ["--max-megapixels", "200"])]
        rows = []
        for name, path, extra in cases:
            argv = ["detect", str(path), "--model", "hog-svm", "--face-detector", "yunet",
                    "--quiet", *extra]
            row = {"input": name, "file_mib": round(path.stat().st_size / 2**20, 1),
                   "command": "maskdet " + " ".join(argv[:1] + [path.name] + argv[2:])}
            if args.before and not extra:  # the option is new
                row["before"] = _peak_rss(argv, Path(args.before))
            row["after"] = _peak_rss(argv, None)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    _save("memory", {"rows": rows, "before": args.before_label if args.before else None})


def _memory_markdown(data: dict[str, Any]) -> list[str]:
    def cell(m: dict[str, Any] | None) -> str:
        if m is None:
            return "-"
        if m["peak_mib"] is None:
            how = "traceback" if m.get("traceback") else "killed"
            gist = m["message"].rsplit("error: ", 1)[-1]
            return f"{how} (exit {m['status']}) after {m['seconds']} s: `{gist[:80]}`"
        return f"{m['peak_mib']:,} MiB, exit {m['status']}, {m['seconds']} s"

    out = ["### Peak memory on huge images", "",
           "`python -m benchmarks.reliability memory --before TREE` runs `maskdet detect "
           "FILE --model hog-svm --face-detector yunet` in a fresh process (peak RSS from "
           f"getrusage) with its address space limited to {AS_LIMIT // 2**30} GiB, "
           f"{data['machine']}, {data['measured']}; before: "
           f"{data.get('before') or 'not measured'}.", "",
           "| input | file | before | after |", "|---|---|---|---|"]
    for r in data["rows"]:
        out.append(f"| {r['input']} | {r['file_mib']} MiB | {cell(r.get('before'))} | "
                   f"{cell(r['after'])} |")
    rows = {r["input"]: r for r in data["rows"]}
    base, photo = rows.get("640x480 JPEG (the baseline)"), rows.get("24 MP JPEG (6000x4000)")
    if base and photo and photo.get("before") and photo["before"]["peak_mib"]:
        extra = [photo[k]["peak_mib"] - base[k]["peak_mib"] for k in ("before", "after")]
        after = (f"{extra[1]:,} MiB above it" if extra[1] > 0 else
                 "its peak stayed within the baseline's")
        out += ["", f"The baseline is the libraries and the bundled model loading. The 24 MP "
                    f"photo took {extra[0]:,} MiB above it before; after, {after} (YuNet "
                    "sees it at 2048 px; the photo itself is 69 MiB decoded)."]
    notes = [r for r in data["rows"] if r["after"].get("message")]
    if notes:
        out += ["", "After, the messages were:", ""]
        out += [f"* {r['input']}: `{r['after']['message']}`" for r in notes]
    return out


# -- soak ----------------------------------------------------------------------------------
class _LoopingCapture:
    """``cv2.VideoCapture`` of a clip that starts again at its end, ``total`` frames in all:
    one long stream of really decoded frames from a small file."""

    def __init__(self, path: str, total: int) -> None:
        import cv2

        self._cv2 = cv2
        self.path, self.total, self.read_frames = path, total, 0
        self.cap = cv2.VideoCapture(path)

    def isOpened(self) -> bool:
        return self.cap.isOpened()

    def read(self):
        if self.read_frames >= self.total:
            return False, None
        ok, frame = self.cap.read()
        if not ok:  # the end of the clip: from the start again
            self.cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        self.read_frames += ok
        return ok, frame

    def get(self, prop):
        if prop == self._cv2.CAP_PROP_FRAME_COUNT:
            return float(self.total)
        return self.cap.get(prop)

    def release(self) -> None:
        self.cap.release()


def run_soak(args: argparse.Namespace) -> None:
    import threading

    import numpy as np
    import psutil

    sys.path.insert(0, str(ROOT))
    import maskdet
    from maskdet.video import VideoSource
    from tests.helpers import BlobDetector, clip_faces, clip_frame, synthetic_face, write_clip

    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        patches = clip_faces("with_mask", "without_mask", "with_mask", seed=3)
        # Faces move, leave and come back: tracks start and end all the time.
        frames = [clip_frame(patches[: 1 + (i // 50) % 3],
                             [(10 + (i * 3) % 120, 20), (200 - (i * 2) % 90, 120),
                              (120, 10 + (i * 5) % 100)][: 1 + (i // 50) % 3])
                  for i in range(args.loop)]
        clip = str(write_clip(Path(tmp) / "soak.avi", frames, fps=25))
        rng = np.random.default_rng(0)
        labels = ["with_mask", "without_mask"] * 20
        model = maskdet.create_classifier("hog-svm", pca_components=20, calibration_cv=2)
        model.fit([synthetic_face(label, rng) for label in labels], labels)
        detector = maskdet.MaskDetector(model, face_detector=BlobDetector(), min_confidence=0)
        source = VideoSource(clip, live=False,
                             capture_factory=lambda target: _LoopingCapture(target, args.frames))
        samples = []
        start = time.perf_counter()
        stream = maskdet.stream(source, model=detector, every=2, annotate=True,
                                alert_after=1.0, window=10.0)
        for result in stream:
            if (result.index + 1) % 1000 == 0:
                samples.append({"frame": result.index + 1,
                                "rss_mib": round(process.memory_info().rss / 2**20, 1),
                                "threads": process.num_threads(),
                                "python_threads": threading.active_count(),
                                "open_files": process.num_fds()})
        seconds = time.perf_counter() - start
        summary = stream.summary
    first, last = samples[0], samples[-1]
    _save("soak", {"frames": summary.processed, "seconds": round(seconds, 1),
                   "clip": f"a generated {len(frames)}-frame 320x240 clip (FFV1) decoded "
                           "again and again",
                   "tracks": summary.tracks, "alerts": summary.alerts, "samples": samples,
                   "rss_growth_mib": round(last["rss_mib"] - first["rss_mib"], 1),
                   "thread_growth": last["threads"] - first["threads"],
                   "fd_growth": last["open_files"] - first["open_files"]})


def _soak_markdown(data: dict[str, Any]) -> list[str]:
    s = data["samples"]
    peak = max(x["rss_mib"] for x in s)
    return [
        "### Soak: 20,000 frames through `maskdet.stream`", "",
        f"`python -m benchmarks.reliability soak --frames {data['frames']}`: "
        f"{data['clip']}, as one stream; a stub face detector (boxes the drawn faces), "
        "HOG+SVM, detection every 2nd frame, annotation and alerts on; "
        f"{data['machine']}, {data['measured']}. Sampled every 1,000 frames (psutil). "
        f"{sum(v for k, v in data['tracks'].items() if k not in ('compliant', 'violating'))} "
        f"distinct tracks, {data['alerts']} alerts.", "",
        "| | at frame 1,000 | at the end | growth |", "|---|---|---|---|",
        f"| RSS | {s[0]['rss_mib']} MiB | {s[-1]['rss_mib']} MiB (peak {peak}) | "
        f"{data['rss_growth_mib']:+} MiB |",
        f"| threads (OS) | {s[0]['threads']} | {s[-1]['threads']} | "
        f"{data['thread_growth']:+} |",
        f"| open file descriptors | {s[0]['open_files']} | {s[-1]['open_files']} | "
        f"{data['fd_growth']:+} |",
        "",
        f"{data['frames']} frames in {data['seconds']:.0f} s "
        f"({data['frames'] / data['seconds']:.0f} frames/s).",
    ]


# -- fuzzing ---------------------------------------------------------------------------------
def run_fuzz(args: argparse.Namespace) -> None:
    """Each target of tests/fuzz/harness.py for ``--seconds``, all at once, with atheris."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for target in ("image", "voc", "bundle"):
            folder = Path(tmp) / target
            folder.mkdir()
            command = [sys.executable, "-m", "tests.fuzz.harness", target,
                       f"-max_total_time={args.seconds}", "-timeout=20", "-rss_limit_mb=3000",
                       f"-artifact_prefix={folder}/", "-print_final_stats=1",
                       str(folder / "corpus")]
            procs[target] = (subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True), folder)
        rows = []
        for target, (proc, folder) in procs.items():
            _, err = proc.communicate(timeout=args.seconds + 600)
            stats = dict(m.groups() for m in re.finditer(r"^stat::(\w+):\s*(\d+)", err, re.M))
            done = [line for line in err.splitlines() if "DONE" in line]
            cov = done[-1].split("cov: ")[1].split()[0] if done and "cov: " in done[-1] else "?"
            crashes = sorted(p.name for p in folder.iterdir()
                             if p.name.startswith(("crash-", "timeout-", "oom-")))
            rows.append({"target": target, "status": proc.returncode,
                         "runs": int(stats.get("number_of_executed_units", 0)),
                         "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
                         "coverage_edges": cov, "corpus": len(list((folder / "corpus")
                                                                   .iterdir())),
                         "crashes": crashes})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    _save("fuzz", {"seconds": args.seconds, "rows": rows})


def _fuzz_markdown(data: dict[str, Any]) -> list[str]:
    out = [f"### Fuzzing, {data['seconds'] // 60} minutes a target", "",
           f"`python -m benchmarks.reliability fuzz --seconds {data['seconds']}` (atheris, the "
           "three targets at once; seeds: small generated files), "
           f"{data['machine']}, {data['measured']}:", "",
           "Coverage counts the branches of maskdet's own Python code that atheris "
           "instruments; OpenCV's C decoders are exercised but not instrumented.", "",
           "| target | inputs run | coverage (edges) | corpus | peak RSS | crashes |",
           "|---|---|---|---|---|---|"]
    out += [f"| {r['target']} | {r['runs']:,} | {r['coverage_edges']} | {r['corpus']} | "
            f"{r['peak_rss_mb']} MB | {len(r['crashes'])} |" for r in data["rows"]]
    return [*out, "", "Crashes found while the harnesses were written, each now a regression "
                      "test (`tests/fuzz/test_fuzz.py`): a VOC `<width>inf</width>` "
                      "(OverflowError) and boxes of `nan`/`inf` coordinates (fixed); three "
                      "bundle manifests that the loader did not turn into a `BundleError` "
                      "(`\"image_size\": \"abc\"`, a negative `image_size`, a file entry that "
                      "is not an object), then, once the fuzzer was let past the manifest's "
                      "checksum, a parameter name holding a line break, zip members that "
                      "zipfile fails on with zlib.error, UnicodeDecodeError or "
                      "NotImplementedError, a PNG whose IDAT chunk declares 4 GB (OpenCV "
                      "allocated it: 3.5 GB peak for a 200-byte file); and, in a CI run's "
                      "30-second slice, a 150-byte PNG whose bytes after IEND declare a "
                      "4 GB chunk (OpenCV read on past IEND: 4.1 GB peak; now only the PNG "
                      "up to IEND is decoded); all fixed."]


# -- the section ---------------------------------------------------------------------------
#: The rows of issue 19's table: the input, what happens now, the regression test.
INPUTS_TRIED = [
    ("30000x30000 PNG of zeros (2.6 MB), then a good photo",
     "one line naming the file and its size; the good photo is processed; exit 1",
     "tests/cli/test_detect.py::test_a_decompression_bomb_in_a_batch_is_one_line_and_the_"
     "rest_goes_on"),
    ("the same under a memory limit (`cv2.error: Insufficient memory`), then a good photo",
     "refused from its header before any allocation; an OpenCV decode error is one line "
     "naming the file, and the good photo is processed",
     "tests/cli/test_detect.py::test_an_opencv_memory_error_skips_that_photo_only"),
    ("12000x12000 JPEG", "refused (144 MP > 50 MP); with `--max-megapixels 200`, YuNet sees "
     "it at 2048 px", "tests/faces/test_detectors.py::test_yunet_shrinks_large_photos_to_"
     "max_side"),
    ("a folder holding a directory symlink loop", "each real file once",
     "tests/cli/test_detect.py::test_a_symlink_loop_reports_each_photo_once"),
    ("`--save-dir` an existing file, or a folder that cannot be created",
     "one line, before the model loads",
     "tests/cli/test_detect.py::test_a_save_dir_that_cannot_be_a_folder_is_one_line"),
    ("`video --snapshot-dir` a file (or a folder that cannot be created)",
     "one line, before the model loads; a snapshot that cannot be written later is a warning",
     "tests/cli/test_video.py::test_output_places_are_checked_before_the_model_loads"),
    ("`train --backend cnn -p batch_size=0`, `-p epochs=0`, `-p epochs=abc`",
     "one line naming the parameter and its range, before any image is read",
     "tests/cli/test_train.py::test_bad_hyper_parameters_are_one_line_before_reading_data"),
    ("a truncated MJPG .avi", "`ended early (the file declares 40 frames; 21 could be read)` "
     "in the summary, `ended_early` in the JSON; never `done` after an error",
     "tests/cli/test_video.py::test_a_truncated_file_says_it_ended_early"),
    ("`--min-confidence 2`", "usage error (exit 2) before anything loads",
     "tests/cli/test_detect.py::test_out_of_range_numbers_are_usage_errors"),
]

FAULTS = """Faults injected into live streams (`tests/video/test_faults.py`: a fake capture and a
fake clock, and one real loopback HTTP MJPEG server): a stall, failed reads, a burst of
frames, corrupt frames, a slow consumer (only the newest frame is processed, latency bounded),
a lost stream reconnected within the configured backoff, track ids and counts consistent
across a reconnect, a server killed and restarted. Fuzzing (`tests/fuzz/`): `decode_image`,
the VOC parser and the bundle loader, coverage-guided with atheris (a bounded slice in CI)
or with hypothesis where atheris is not installed; see README "Fuzzing"."""


def _inputs_markdown() -> list[str]:
    out = ["### Inputs tried and faults injected", "",
           "Of the 47 bad inputs tried in issue 19, nine were not handled well; each has a "
           "regression test now:", "", "| input | now | test |", "|---|---|---|"]
    out += [f"| {i} | {now} | `{test}` |" for i, now, test in INPUTS_TRIED]
    return [*out, "", FAULTS]


def run_write(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.sections import write_section

    lines = ["## Reliability", "", *_inputs_markdown(), ""]
    for part, render in (("training", _training_markdown), ("memory", _memory_markdown),
                         ("soak", _soak_markdown), ("fuzz", _fuzz_markdown)):
        data = _load(part)
        if data is not None:
            lines += [*render(data), ""]
    write_section(args.out, "reliability", "\n".join(lines))
    print(f"wrote the reliability section of {args.out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("training", help="CNN training: repeatability, spread over seeds")
    p.add_argument("--faces", help="mask-faces (default: $MASKDET_TEST_FACES)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--repeat", type=int, default=1, help="extra runs of the first seed")
    p.add_argument("--nondeterministic", type=int, default=1,
                   help="runs of the first seed with deterministic=false (the cost)")
    p.add_argument("--cost", type=int, default=0, metavar="PAIRS",
                   help="only measure the cost: PAIRS deterministic/free runs of the first "
                        "seed, alternating (kept apart, as training-cost)")
    p.set_defaults(func=run_training)
    p = sub.add_parser("memory", help="peak RSS of detect on huge images")
    p.add_argument("--before", help="a checkout of the code before, to measure it too")
    p.add_argument("--before-label", default="the code before", help="what --before is")
    p.set_defaults(func=run_memory)
    p = sub.add_parser("soak", help="a long run of maskdet.stream")
    p.add_argument("--frames", type=int, default=20_000)
    p.add_argument("--loop", type=int, default=500, help="frames of the generated clip")
    p.set_defaults(func=run_soak)
    p = sub.add_parser("fuzz", help="a longer run of each fuzz target (atheris)")
    p.add_argument("--seconds", type=int, default=300)
    p.set_defaults(func=run_fuzz)
    p = sub.add_parser("write", help="write the section into BENCHMARKS.md")
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    p.set_defaults(func=run_write)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
