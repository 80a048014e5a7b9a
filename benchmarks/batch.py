"""Batch detection on Dask measured: photos per second on the ``mask-scenes`` photos in one
process (plain ``maskdet detect``), on a cluster of one worker and of two, and Dask's cost per
task.

Usage (from the repository root, the ``dask`` extra installed)::

    MASKDET_TEST_SCENES=../shared/datasets/mask-scenes python -m benchmarks.batch \\
        [--rounds 3] [--limit N] [--out BENCHMARKS.md]

Writes the ``batch`` section of BENCHMARKS.md (``benchmarks/sections.py``):

1. **Commands**, whole processes as a user runs them (import, model loading, the cluster's
   start-up, every photo): ``maskdet detect IMAGES --json`` against ``--workers 1`` and
   ``--workers 2 --out FILE``; rounds alternate the three, medians.
2. **Steady state**, in one process with the clusters already started: ``detect_files`` in
   this process, on the 1-worker and on the 2-worker cluster (each run registers its worker
   plugin, so one model load per worker is in it), alternating; this process with OpenCV on
   one thread, as each of two workers on two cores runs it; and two independent processes
   without Dask, each on half of the photos with OpenCV on one thread: what the machine
   itself gives from a second process, the ceiling of two workers.
3. **Per task**: chunks of no file through the 2-worker cluster (submit, schedule, run,
   gather: what a task costs beyond its photos), and the difference of the steady-state times
   of one worker and of one process divided by the tasks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.sections import write_section

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    """The load averages (1, 5, 15 minutes), as ``uptime`` shows them."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and the worker processes it
    waited for) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def commands(images: Path, rounds: int, tmp: Path) -> dict[str, list[float]]:
    """Wall seconds of the three commands, alternating (and their CPU seconds, under
    ``"cpu NAME"``)."""
    base = [sys.executable, "-m", "maskdet", "detect", str(images), "--quiet"]
    modes = {"plain": [*base, "--json"],
             "workers 1": [*base, "--workers", "1", "--out", str(tmp / "w1.jsonl")],
             "workers 2": [*base, "--workers", "2", "--out", str(tmp / "w2.jsonl")]}
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(rounds):
        for name, command in modes.items():
            for out in tmp.glob("*.jsonl"):
                out.unlink()
            wall, cpu = _run(command)
            times[name].append(wall)
            times.setdefault(f"cpu {name}", []).append(cpu)
            print(f"command {name}: {wall:.1f} s, {cpu:.1f} CPU s", flush=True)
    return times


def steady_state(paths: list[Path], rounds: int, tmp: Path) -> dict[str, list[float]]:
    """Wall seconds of ``detect_files`` over ``paths`` here and on warm clusters."""
    import cv2

    from maskdet.batch import detect_files, open_client

    default_threads = cv2.getNumThreads()
    times: dict[str, list[float]] = {}
    # The two processes first: a LocalCluster leaves Dask's worker settings in this process'
    # environment (MALLOC_TRIM_THRESHOLD_=65536 made processes started later 1.7x slower).
    with TwoProcesses() as pair, open_client(workers=1) as one, \
            open_client(workers=2) as two:
        one.wait_for_workers(1)
        two.wait_for_workers(2)
        modes = {"plain": (None, default_threads), "plain, OpenCV 1 thread": (None, 1),
                 "workers 1": (one, default_threads), "workers 2": (two, default_threads),
                 "two processes": (pair, 1)}
        detect_files(paths[:20], out=tmp / "warm.jsonl", client=two)  # first imports
        for _ in range(rounds):
            for name, (client, threads) in modes.items():
                out = tmp / "steady.jsonl"
                out.unlink(missing_ok=True)
                cv2.setNumThreads(threads)
                start = time.perf_counter()
                if isinstance(client, TwoProcesses):
                    client.run(paths)
                else:
                    detect_files(paths, out=out, client=client)
                times.setdefault(name, []).append(time.perf_counter() - start)
                print(f"steady {name}: {len(paths) / times[name][-1]:.1f} photos/s",
                      flush=True)
        cv2.setNumThreads(default_threads)
        per_task = task_cost(two)
    return times | {"task": per_task}


_DETECTOR = None  # a pool process' MaskDetector, made by _warm_process


def _warm_process() -> None:
    """A pool process as a worker is: OpenCV on one thread, the model loaded and run once."""
    import cv2

    import maskdet

    cv2.setNumThreads(1)
    global _DETECTOR
    _DETECTOR = maskdet.MaskDetector()
    _DETECTOR.detect(maskdet.read_image(maskdet.samples.path("street")))


def _pid_after_pause(_: int) -> int:
    time.sleep(0.2)  # long enough that the other process takes the other task
    return os.getpid()


def _detect_here(paths: list[Path]) -> int:
    import maskdet

    return sum(len(_DETECTOR.detect(maskdet.read_image(p))) for p in paths)


class TwoProcesses:
    """Two warm processes without Dask, each detecting on half of the photos."""

    def __enter__(self) -> TwoProcesses:
        import multiprocessing

        self.pool = multiprocessing.get_context("spawn").Pool(2, initializer=_warm_process)
        # A process takes tasks only once its initializer ran: two pids, both warm.
        while len(set(self.pool.map(_pid_after_pause, range(2), chunksize=1))) < 2:
            pass
        return self

    def run(self, paths: list[Path]) -> None:
        self.pool.map(_detect_here, [paths[0::2], paths[1::2]], chunksize=1)

    def __exit__(self, *exc) -> None:
        self.pool.terminate()


def task_cost(client, tasks: int = 400) -> list[float]:
    """Seconds per task of chunks of no file on ``client`` (three runs)."""
    from maskdet.batch import cluster
    from maskdet.batch.tasks import DetectorSpec

    spec, _ = DetectorSpec.create()
    out = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in cluster.chunk_results(client, spec, "detect", [[]] * tasks):
            pass
        out.append((time.perf_counter() - start) / tasks)
    return out


def render(n: int, command_times: dict[str, list[float]], steady: dict[str, list[float]],
           tasks: int, chunk: int, command: str, loads: tuple[str, str], rounds: int) -> str:
    med = {k: statistics.median(v) for k, v in command_times.items()}
    smed = {k: statistics.median(v) for k, v in steady.items() if k != "task"}
    lines = [
        "## Batch detection on Dask",
        "",
        f"`maskdet detect` on the {n} `mask-scenes` photos (the default `cnn` model, YuNet), "
        "on this 2-core machine, in one process and on a Dask cluster of one and of two "
        f"worker processes (`--workers N`: one thread each; {tasks} tasks of {chunk} photos); "
        f"medians of {rounds} alternating rounds, measured in one run "
        f"(load average before and after: {loads[0]}, {loads[1]}).",
        "",
        "| mode | command: wall s | command: photos/s | command: CPU ms per photo | "
        "steady state: photos/s | steady state: against plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("plain", "workers 1", "workers 2"):
        lines.append(f"| {name} | {med[name]:.1f} | {n / med[name]:.1f} | "
                     f"{med['cpu ' + name] / n * 1000:.0f} | "
                     f"{n / smed[name]:.1f} | {smed['plain'] / smed[name]:.2f}x |")
    lines.append(f"| plain, OpenCV 1 thread (as each of 2 workers runs) | | | | "
                 f"{n / smed['plain, OpenCV 1 thread']:.1f} | "
                 f"{smed['plain'] / smed['plain, OpenCV 1 thread']:.2f}x |")
    if "two processes" in smed:
        lines.append(f"| two processes without Dask, OpenCV 1 thread each (the ceiling of "
                     f"2 workers) | | | | {n / smed['two processes']:.1f} | "
                     f"{smed['plain'] / smed['two processes']:.2f}x |")
    task_ms = statistics.median(steady["task"]) * 1000
    extra_ms = (smed["workers 1"] - smed["plain"]) / tasks * 1000
    lines += [
        "",
        f"* 1 → 2 workers: **{smed['workers 1'] / smed['workers 2']:.2f}x** in the steady "
        f"state, {med['workers 1'] / med['workers 2']:.2f}x for the whole command (target "
        "≥ 1.8x).",
        *([f"* What the machine gives: two processes without Dask "
           f"**{smed['plain, OpenCV 1 thread'] / smed['two processes']:.2f}x** one process "
           "with OpenCV on one thread; 2 workers reach "
           f"**{smed['two processes'] / smed['workers 2']:.0%}** of the two processes "
           "(what Dask costs). `--workers 1` runs OpenCV on both cores (the cores shared "
           "among the workers), so the 1 → 2 ratio starts from more than one core's rate."]
          if "two processes" in smed else []),
        f"* `--workers 1` against plain: **{smed['plain'] / smed['workers 1']:.2f}x** in the "
        f"steady state (target ≥ 0.9x), {med['plain'] / med['workers 1']:.2f}x for the whole "
        "command, which also starts the cluster (scheduler, worker process, the model in it).",
        f"* Per task: {task_ms:.1f} ms for a chunk of no photo through the 2-worker cluster "
        f"(submit, schedule, run, gather); the steady-state time of one worker less that of "
        f"one process is {extra_ms:.1f} ms per task of {chunk} photos "
        f"({smed['plain'] / n * 1000:.0f} ms per photo in one process).",
        "* Steady state: the clusters started before timing; each run registers its worker "
        "plugin (one model load per worker). Command: whole processes, start-up included; "
        "their CPU time (user + system, worker processes included) does not depend on how "
        "busy the machine is as their wall time does.",
        "* On N machines: README.md, \"How far it scales\" (the scheduler at about a "
        "thousand tasks a second, the storage at a few MB/s per core).",
        "",
        f"Measured with `{command}`. Other work shared the machine's 2 cores during this run "
        "(see the load averages): rerun it on a quiet machine for the figures that count.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=Path, default=os.environ.get("MASKDET_TEST_SCENES"),
                        help="the mask-scenes dataset (default: $MASKDET_TEST_SCENES)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.scenes is None or not (args.scenes / "images").is_dir():
        raise SystemExit("give the mask-scenes dataset: --scenes DIR or MASKDET_TEST_SCENES")
    from maskdet.batch import default_chunk_size
    from maskdet.images import list_image_files

    load_before = _load()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        images = args.scenes / "images"
        if args.limit:
            images = tmp / "images"
            images.mkdir()
            for path in list_image_files(args.scenes / "images")[:args.limit]:
                (images / path.name).symlink_to(path)
        paths = list_image_files(images)
        command_times = commands(images, args.rounds, tmp)
        steady = steady_state(paths, args.rounds, tmp)
    chunk = default_chunk_size(len(paths), 1)
    tasks = -(-len(paths) // chunk)
    command = "MASKDET_TEST_SCENES=../shared/datasets/mask-scenes python -m benchmarks.batch"
    command += "".join(f" --{k} {v}" for k, v in (("rounds", args.rounds),
                                                   ("limit", args.limit))
                       if v and not (k == "rounds" and v == 3))
    text = render(len(paths), command_times, steady, tasks, chunk, command,
                  (load_before, _load()), args.rounds)
    print(text)
    write_section(args.out, "batch", text)
    print(f"wrote the batch section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
