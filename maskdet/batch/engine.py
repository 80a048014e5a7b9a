"""Running a batch: the files split into chunks, each chunk processed here or on Dask, the
records given back in the order of the files and appended to a resumable results file.

:func:`open_client` gives the Dask client of ``--workers N`` (a cluster on this machine) or
``--scheduler ADDRESS`` (a running cluster), or None (this process, no Dask needed).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MaskdetError
from ..pipeline import MaskDetector
from .results import Record, ResultsWriter
from .tasks import TASKS, DetectorSpec

logger = logging.getLogger("maskdet")

#: The most files one task takes by default (see :func:`default_chunk_size`).
MAX_CHUNK = 16

DASK_MISSING = 'running on Dask needs dask.distributed: pip install "maskdet[dask]"'


def _cluster():
    """:mod:`maskdet.batch.cluster`, which needs dask.distributed (an optional extra)."""
    try:
        from . import cluster
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in {"dask", "distributed"}:
            raise MaskdetError(DASK_MISSING) from None
        raise
    return cluster


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None,
                timeout: float = 10.0) -> Iterator[Any]:
    """The Dask client to run a batch on, closed (with its cluster) at the end of the block:
    a new cluster of ``workers`` processes on this machine, or the running cluster whose
    scheduler is at ``scheduler`` (``tcp://HOST:8786``), or None for neither (the batch runs
    in this process).

    Raises:
        MaskdetError: dask.distributed is not installed, or the scheduler does not answer
            within ``timeout`` seconds.

    Example:
        >>> with open_client(workers=2) as client:  # doctest: +SKIP
        ...     detect_files(["photos/"], out="results.jsonl", client=client)
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both")
    if workers is None and scheduler is None:
        yield None
        return
    cluster = _cluster()
    client = (cluster.local_cluster(workers) if workers is not None
              else cluster.connect(scheduler, timeout))
    try:
        yield client
    finally:
        cluster.close_client(client)


def default_chunk_size(n_files: int, threads: int) -> int:
    """Files per task: enough tasks for four per worker thread (so that the last ones
    balance out), at most :data:`MAX_CHUNK` files (a task of a few seconds: little redone
    when a worker dies, Dask's ~1 ms per task negligible)."""
    return max(1, min(MAX_CHUNK, math.ceil(n_files / max(1, 4 * threads))))


def chunked(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def iter_records(items: Sequence[str], spec: DetectorSpec, kind: str, *, client: Any = None,
                 chunk_size: int | None = None, detector: MaskDetector | None = None
                 ) -> Iterator[list[Record]]:
    """The records of ``items``, a chunk at a time, in the order of ``items``: on
    ``client``'s workers, or here (with ``detector``, else one built from ``spec``)."""
    if kind not in TASKS:
        raise ValueError(f"unknown kind of batch work {kind!r}; known: {sorted(TASKS)}")
    if not items:
        return
    if client is None:
        detector = detector or spec.build()
        for chunk in chunked(items, chunk_size or MAX_CHUNK):
            yield TASKS[kind](detector, chunk)
        return
    cluster = _cluster()
    size = chunk_size or default_chunk_size(len(items), cluster.total_threads(client))
    yield from cluster.chunk_results(client, spec, kind, chunked(items, size))


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes:
        out: the results file, or None.
        files: the distinct files the inputs named.
        resumed: files already in the results file, skipped.
        processed: files processed by this run (failures included).
        failed: files of this run that could not be read or processed (each has an
            ``error`` in the results).
        seconds: the run's wall time.
    """

    out: Path | None
    files: int
    resumed: int = 0
    processed: int = 0
    failed: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        done = [f"{self.processed} processed in {self.seconds:.1f} s"]
        if self.failed:
            done.append(f"{self.failed} failed (skipped, with the reason in the results)")
        if self.resumed:
            done.append(f"{self.resumed} already in {self.out}")
        head = f"{self.files} files: {', '.join(done)}"
        return [head] + ([f"results in {self.out}"] if self.out else [])


def write_records(items: Sequence[str], spec: DetectorSpec, kind: str, out: str | os.PathLike,
                  *, resume: bool = False, client: Any = None, chunk_size: int | None = None,
                  progress: bool = False, detector: MaskDetector | None = None,
                  desc: str = "files") -> BatchSummary:
    """Process the ``items`` not yet in the results file ``out`` and append their records,
    in order, as they come (see :class:`~maskdet.batch.results.ResultsWriter`); each
    failure is logged in one line."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    with ResultsWriter(out, resume=resume) as writer:
        if writer.cut:
            logger.warning("%s: its last line was cut short (an interrupted run): redoing it",
                           out)
        todo = [item for item in items if item not in writer.done]
        summary = BatchSummary(Path(out), len(items), resumed=len(items) - len(todo))
        bar = tqdm(total=len(todo), desc=desc, unit="file", disable=not progress)
        try:
            for records in iter_records(todo, spec, kind, client=client,
                                        chunk_size=chunk_size, detector=detector):
                writer.write(records)
                summary.processed += len(records)
                for record in records:
                    if "error" in record:
                        summary.failed += 1
                        logger.error("%s", record["error"])
                bar.update(len(records))
        except KeyboardInterrupt:
            logger.warning("interrupted: %d files in %s; run again with --resume "
                           "(resume=True) to continue", summary.resumed + summary.processed, out)
            raise
        finally:
            bar.close()
    summary.seconds = time.perf_counter() - start
    return summary
