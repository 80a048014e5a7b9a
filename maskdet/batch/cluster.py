"""The Dask side of a batch: a cluster to run on, the worker plugin that loads the model once
per worker, and the loop that submits chunks of files and gathers their records in order.

This module imports ``dask.distributed`` (the ``dask`` extra); nothing else in maskdet
imports it, and :mod:`~maskdet.batch.engine` imports this module only when a batch runs on
Dask.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import queue
import sys
import uuid
from collections.abc import Iterator, Sequence

import cv2
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from ..errors import MaskdetError
from ..images import pixel_limit
from .tasks import TASKS, DetectorSpec, Record

logger = logging.getLogger("maskdet")


class MaskDetectorPlugin(WorkerPlugin):
    """Builds the :class:`~maskdet.pipeline.MaskDetector` of a :class:`DetectorSpec` when a
    worker starts (or joins later, or is restarted after a crash), so that tasks carry only
    file names, never the model.

    A worker keeps one detector per thread that runs tasks at the same time (OpenCV's face
    detector is not to be shared between threads); with one thread per worker, as
    :func:`local_cluster` starts them, that is one model load per worker. OpenCV's own
    thread pool is limited to ``opencv_threads``: the cluster's parallelism is its workers'
    threads, and more threads than cores only take turns (one thread by default, as Dask
    sets ``OMP_NUM_THREADS=1`` for its workers; :func:`local_cluster` shares the machine's
    cores among its workers).
    """

    def __init__(self, spec: DetectorSpec, opencv_threads: int = 1) -> None:
        self.spec = spec
        self.opencv_threads = opencv_threads
        self.builds = 0  # how many detectors this worker built (one per task thread)

    def setup(self, worker) -> None:
        cv2.setNumThreads(self.opencv_threads)
        # The client's pixel limit, for as long as the worker runs this plugin's tasks.
        self._limit = pixel_limit(self.spec.max_pixels)
        self._limit.__enter__()
        keep_freed_memory()
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._free.put(self._build())

    def teardown(self, worker) -> None:
        self._limit.__exit__(None, None, None)

    def _build(self):
        self.builds += 1
        return self.spec.build()

    @contextlib.contextmanager
    def detector(self):
        """A detector that no other thread of this worker uses meanwhile."""
        try:
            detector = self._free.get_nowait()
        except queue.Empty:
            detector = self._build()
        try:
            yield detector
        finally:
            self._free.put(detector)


def keep_freed_memory() -> None:
    """Undo, in this worker, what Dask's nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` does to
    image work (glibc only).

    That setting hands freed memory back to the system at once and, as any fixed threshold
    does, sends every allocation over 128 KB to its own ``mmap``: each photo's image and
    network buffers (megabytes, allocated and freed for every photo) are then mapped and
    faulted in anew, which halved the face detector's speed in a worker (12-13 photos/s
    against 24-28 in a plain process, on the mask-scenes photos). Buffers up to 32 MB stay on
    the heap instead, and the heap is trimmed only beyond 128 MB free: what one photo needs
    is kept for the next, and memory stays bounded by the largest photo.
    """
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_") or not sys.platform.startswith("linux"):
        return  # glibc's own, adaptive thresholds are in force
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


def run_chunk(kind: str, name: str, items: Sequence[str]) -> list[Record]:
    """The task: one chunk of files, on a worker, with the detector of its plugin."""
    plugin = get_worker().plugins.get(name)
    if plugin is None:
        raise RuntimeError(f"worker plugin {name} is not registered on this worker")
    with plugin.detector() as detector:
        return TASKS[kind](detector, items)


def local_cluster(workers: int) -> Client:
    """A client of a new cluster of ``workers`` processes on this machine, one thread each
    (closing the client closes the cluster)."""
    # Its HTTP server on a free port: clusters started side by side do not clash.
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(cluster)
    client._maskdet_cluster = cluster  # closed with the client, see close_client
    # The cores shared among the workers: `--workers 1` may use OpenCV's threads as one
    # process does, `--workers 2` on 2 cores keeps one each.
    client._maskdet_opencv_threads = max(1, (os.cpu_count() or 1) // workers)
    if importlib.util.find_spec("bokeh") is not None:
        logger.info("Dask dashboard: %s", client.dashboard_link)
    return client


def connect(address: str, timeout: float = 10.0) -> Client:
    """A client of the running cluster whose scheduler is at ``address``.

    Raises:
        MaskdetError: nothing answers there within ``timeout`` seconds (one line).
    """
    try:
        return Client(address, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 -- OSError, TimeoutError, ValueError (bad address)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = f"no answer within {timeout:g} s" if "Timed out" in text else text
        raise MaskdetError(f"cannot reach the Dask scheduler at {address} ({reason})") \
            from None


def close_client(client: Client) -> None:
    cluster = getattr(client, "_maskdet_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def total_threads(client: Client) -> int:
    return sum(client.nthreads().values())


def chunk_results(client: Client, spec: DetectorSpec, kind: str,
                  chunks: Sequence[Sequence[str]], window: int | None = None
                  ) -> Iterator[list[Record]]:
    """The records of each chunk, in the order of the chunks, computed on ``client``'s
    workers as they come free.

    At most ``window`` chunks (default: four per worker thread) are submitted and not yet
    given back, so that neither the scheduler nor this process holds more than that,
    whatever the number of files. A chunk whose worker died is retried elsewhere by Dask; one
    that kept killing workers (``KilledWorker``: a file that crashes the process) is split
    and its files retried one by one, so that only the file at fault is recorded as failed.
    """
    # A plugin of this run's own: its models are loaded on every worker, present and to
    # come, and dropped when the run ends.
    name = f"maskdet-detector-{uuid.uuid4().hex[:12]}"
    opencv_threads = getattr(client, "_maskdet_opencv_threads", 1)
    try:
        client.register_plugin(MaskDetectorPlugin(spec, opencv_threads), name=name)
    except Exception as exc:  # noqa: BLE001 -- whatever a worker raised: maskdet missing, ...
        raise MaskdetError(f"the Dask workers cannot set up the model: {_one_line(exc)}") \
            from None
    threads = total_threads(client)
    if not threads:
        logger.info("no Dask workers yet: waiting for one to join")
    window = window or max(4, 4 * threads)
    running = as_completed(loop=client.loop)
    meta: dict[str, tuple[int, int | None, list[str]]] = {}  # key: chunk, part, files
    finished: dict[int, list[Record]] = {}  # chunks done before an earlier one
    split: dict[int, list[Record | None]] = {}  # chunks retried file by file
    next_submit = next_yield = 0

    def submit(index: int, part: int | None, items: list[str]) -> None:
        future = client.submit(run_chunk, kind, name, items, pure=False)
        meta[future.key] = (index, part, items)
        running.add(future)

    def fill() -> None:
        nonlocal next_submit
        while next_submit < len(chunks) and next_submit < next_yield + window:
            submit(next_submit, None, list(chunks[next_submit]))
            next_submit += 1

    fill()
    try:
        for future in running:
            index, part, items = meta.pop(future.key)
            records: list[Record] | None = None
            if future.status == "error":
                exc = future.exception()
                if not isinstance(exc, KilledWorker):
                    raise MaskdetError(f"a Dask worker failed: {_one_line(exc)}")
                if part is None and len(items) > 1:
                    split[index] = [None] * len(items)
                    for j, item in enumerate(items):
                        submit(index, j, [item])
                else:
                    records = [{"path": items[0],
                                "error": f"{items[0]}: its worker process died every time it "
                                         "processed this file (out of memory, or a crash)"}]
            elif future.status == "finished":
                records = future.result()
            else:  # cancelled or lost: the scheduler restarted, or this client lost it
                raise MaskdetError(f"the Dask cluster dropped a task ({future.status}); the "
                                   "results so far are kept, --resume continues")
            future.release()
            if records is None:
                continue
            if part is not None:
                split[index][part] = records[0]
                if any(r is None for r in split[index]):
                    continue
                records = split.pop(index)
            finished[index] = records
            while next_yield in finished:
                yield finished.pop(next_yield)
                next_yield += 1
            fill()
    finally:
        # An error, an interrupt, or a consumer that stopped: drop the work still out.
        leftover = list(running.futures)
        if leftover:
            client.cancel(leftover)
        with contextlib.suppress(Exception):  # a client already closed, a lost scheduler
            client.unregister_worker_plugin(name)
