"""The service measured: ``POST /v1/detect`` under 1, 8 and 64 concurrent clients, and two
640x480 camera clips at once, on ``maskdet serve`` (uvicorn) on 127.0.0.1.

Usage (from the repository root, the ``serve`` extra installed)::

    python -m benchmarks.service [--seconds 10] [--model cnn] [--out BENCHMARKS.md]

Writes the ``service`` section of BENCHMARKS.md (``benchmarks/sections.py``):

1. The single-process rate: :class:`maskdet.MaskDetector` decoding and detecting the sample
   photos in a loop, in this process, nothing else running -- what the service is measured
   against.
2. ``/v1/detect`` with 1, 8 and 64 clients (asyncio + httpx, in this process, each sending
   the next photo when it has the answer to the last) for ``--seconds`` each: requests per
   second, p50 / p99 latency, errors.
3. Two cameras playing 640x480 clips of the sample photos (looping files, read as fast as
   they are processed) for ``--seconds``: frames per second of each, and the p99 latency of
   the API (``GET /v1/cameras`` and ``POST /v1/detect``, one client) while they run.

Every request goes to 127.0.0.1 only. The clients run on the same cores as the service, and
other work on the machine shows in the figures: the load average is reported with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import maskdet
from benchmarks.sections import write_section

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m benchmarks.service"


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def single_process_rate(photos: list[bytes], model: str, seconds: float) -> float:
    from maskdet.images import decode_image

    detector = maskdet.MaskDetector(model)
    for data in photos:  # warm up
        detector.detect(decode_image(data))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        detector.detect(decode_image(photos[n % len(photos)]))
        n += 1
    return n / (time.perf_counter() - start)


class Service:
    """``maskdet serve`` in a process of its own on a free loopback port."""

    def __init__(self, config: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "maskdet", "serve", "--config", str(config), "--port",
             str(self.port), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("maskdet serve did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def load(url: str, photos: list[bytes], clients: int, seconds: float) -> dict:
    """``clients`` closed-loop clients posting photos for ``seconds``."""
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        stop_at = time.perf_counter() + seconds

        async def one(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    response = await client.post("/v1/detect", content=photos[i % len(photos)],
                                                 headers={"Content-Type": "image/png"})
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)
                i += 1

        start = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(clients)))
        elapsed = time.perf_counter() - start
    return {"clients": clients, "requests": len(latencies), "rate": len(latencies) / elapsed,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "errors": errors}


def write_clip(path: Path, seconds: float = 8.0, fps: int = 25) -> Path:
    """A 640x480 clip of the sample photos, each panned for a while."""
    frames = []
    per_photo = int(seconds * fps / 3)
    for p in maskdet.samples.paths():
        photo = cv2.resize(maskdet.read_image(p), (640 + per_photo, 480))
        frames += [np.ascontiguousarray(photo[:, i:i + 640]) for i in range(per_photo)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def cameras_run(folder: Path, model: str, photos: list[bytes], seconds: float) -> dict:
    import httpx

    clips = [write_clip(folder / f"camera{i}.avi") for i in (1, 2)]
    config = folder / "cameras.toml"
    config.write_text(f'[model]\nmodel = "{model}"\n' + "".join(
        f'[[cameras]]\nid = "camera{i}"\nsource = "{clip}"\nloop = true\n'
        for i, clip in enumerate(clips, 1)))
    service = Service(config)
    try:
        with httpx.Client(base_url=service.url, timeout=60) as client:
            deadline = time.monotonic() + 60
            while not all(c["frames"] > 10 for c in client.get("/v1/cameras").json()):
                if time.monotonic() > deadline:
                    raise SystemExit("the cameras did not start")
                time.sleep(0.2)
            before = {c["id"]: c["frames"] for c in client.get("/v1/cameras").json()}
            start = time.perf_counter()
            reads, detects, i = [], [], 0
            while time.perf_counter() - start < seconds:
                t = time.perf_counter()
                client.get("/v1/cameras").raise_for_status()
                reads.append(time.perf_counter() - t)
                t = time.perf_counter()
                client.post("/v1/detect", content=photos[i % len(photos)]).raise_for_status()
                detects.append(time.perf_counter() - t)
                i += 1
            elapsed = time.perf_counter() - start
            after = {c["id"]: c["frames"] for c in client.get("/v1/cameras").json()}
    finally:
        service.stop()
    return {"fps": {k: (after[k] - before[k]) / elapsed for k in before},
            "read_p50": percentile(reads, 50), "read_p99": percentile(reads, 99),
            "detect_p50": percentile(detects, 50), "detect_p99": percentile(detects, 99),
            "requests": len(reads) + len(detects)}


def markdown(single: float, loads: list[dict], cams: dict, args, loads_at: list[str],
             workers: int) -> str:
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    lines = [
        "## Service (`maskdet serve`)",
        "",
        f"`{COMMAND} --seconds {args.seconds:g} --model {args.model} --photo-workers "
        f"{workers}` on {os.cpu_count()} "
        f"cores, uvicorn on 127.0.0.1, `photo_workers` {workers}; the clients "
        "run in the benchmark's process on the same cores. Load average (1 / 5 / 15 min) "
        f"before: {loads_at[0]}, after: {loads_at[1]} -- other work on the machine shows in "
        "these figures; rerun the command on a quiet machine to compare.",
        "",
        f"Single-process rate (MaskDetector, decode + detect, the three sample photos): "
        f"**{single:.1f} photos/s**.",
        "",
        "| clients | requests | requests/s | vs single process | p50 | p99 | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in loads:
        lines.append(f"| {r['clients']} | {r['requests']} | {r['rate']:.1f} | "
                     f"{r['rate'] / single:.2f} | {ms(r['p50'])} | {ms(r['p99'])} | "
                     f"{r['errors']} |")
    fps = ", ".join(f"{k} {v:.1f}" for k, v in cams["fps"].items())
    lines += [
        "",
        "Clients wait their turn for a detector: the latency under many clients is the queue "
        "(clients / rate, Little's law), so p99 at 64 clients is about 64 / rate; what can be "
        "answered within 0.5 s at once is bounded by the rate on these cores, not by the "
        "service.",
        "",
        f"Two cameras at once, 640x480 clips of the sample photos read as fast as they are "
        f"processed: frames/s {fps}; meanwhile `GET /v1/cameras` p50 "
        f"{ms(cams['read_p50'])} / p99 {ms(cams['read_p99'])} and `POST /v1/detect` (one "
        f"client) p50 {ms(cams['detect_p50'])} / p99 {ms(cams['detect_p99'])} "
        f"({cams['requests']} requests).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each measurement's length")
    parser.add_argument("--model", default="cnn", help="the model (default cnn)")
    parser.add_argument("--photo-workers", type=int, default=1,
                        help="the service's photo_workers (default 1, the service's default)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    photos = [p.read_bytes() for p in maskdet.samples.paths()]
    loads_at = [load_average()]
    single = single_process_rate(photos, args.model, args.seconds)
    print(f"single process: {single:.1f} photos/s", flush=True)
    workers = args.photo_workers
    with tempfile.TemporaryDirectory(prefix="maskdet-bench-") as tmp:
        folder = Path(tmp)
        config = folder / "photos.toml"
        config.write_text(f'[model]\nmodel = "{args.model}"\n'
                          f'[server]\nphoto_workers = {workers}\n')
        service = Service(config)
        try:
            loads = []
            for clients in (1, 8, 64):
                result = asyncio.run(load(service.url, photos, clients, args.seconds))
                print(f"{clients} clients: {result['rate']:.1f}/s, p50 "
                      f"{result['p50'] * 1000:.0f} ms, p99 {result['p99'] * 1000:.0f} ms, "
                      f"errors {result['errors']}", flush=True)
                loads.append(result)
        finally:
            service.stop()
        cams = cameras_run(folder, args.model, photos, args.seconds)
        print(f"cameras: {cams}", flush=True)
    loads_at.append(load_average())
    text = markdown(single, loads, cams, args, loads_at, workers)
    write_section(args.out, "service", text)
    print(text)
    print(f"wrote the service section of {args.out}")


if __name__ == "__main__":
    main()
