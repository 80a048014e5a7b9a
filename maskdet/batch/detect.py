"""Batch detection: ``maskdet detect`` over many files, here or on a Dask cluster, with its
results written to a resumable JSON-lines file (:func:`detect_files`) or given back one file
at a time (:func:`iter_detections`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..classifiers import Classifier
from .engine import BatchSummary, iter_records, write_records
from .inputs import expand_inputs
from .results import Record, require_pyarrow, write_parquet
from .tasks import DetectorSpec


def iter_detections(
    paths: Sequence[str | os.PathLike],
    model: Classifier | str | os.PathLike | None = None,
    *,
    client: Any = None,
    face_detector: str = "yunet",
    min_face: int = 0,
    min_face_score: float = 0.0,
    min_confidence: float | Mapping[str, float] | None = None,
    chunk_size: int | None = None,
) -> Iterator[Record]:
    """``{"path", "faces"}`` per file (as ``maskdet detect --json`` prints it), or
    ``{"path", "error"}`` for a file that could not be read, in the order of the files.

    Args:
        paths: photos, folders, list files and fsspec URLs (see
            :func:`~maskdet.batch.expand_inputs`).
        model, face_detector, min_face, min_face_score, min_confidence: as
            :class:`~maskdet.pipeline.MaskDetector` takes them.
        client: a ``dask.distributed.Client`` to run on, or None to run in this process.
        chunk_size: files per task (default: see :func:`~maskdet.batch.default_chunk_size`).
    """
    spec, detector = DetectorSpec.create(model, face_detector, min_face, min_face_score,
                                         min_confidence)
    for records in iter_records(expand_inputs(paths), spec, "detect", client=client,
                                chunk_size=chunk_size, detector=detector):
        yield from records


def detect_files(
    paths: Sequence[str | os.PathLike],
    model: Classifier | str | os.PathLike | None = None,
    *,
    out: str | os.PathLike,
    client: Any = None,
    resume: bool = False,
    parquet: str | os.PathLike | None = None,
    face_detector: str = "yunet",
    min_face: int = 0,
    min_face_score: float = 0.0,
    min_confidence: float | Mapping[str, float] | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> BatchSummary:
    """Detect the faces and masks of many files, writing one JSON line per file to ``out``.

    The lines are those of :func:`iter_detections`, in the order of the files, appended as
    the chunks finish; each file appears once. A file that fails is recorded with its reason
    and the rest goes on. ``resume`` continues an ``out`` of an earlier run that stopped
    (crashed, killed, interrupted): the files already there are skipped, a half-written last
    line is redone. On Dask, a chunk whose worker died is retried on another.

    Args:
        paths, model, face_detector, min_face, min_face_score, min_confidence, chunk_size:
            see :func:`iter_detections`.
        out: the results file (JSON lines); an existing one only with ``resume``.
        client: a ``dask.distributed.Client`` (see :func:`~maskdet.batch.open_client`), or
            None to run in this process.
        parquet: also write the whole results file as a Parquet table here (needs pyarrow;
            see :func:`~maskdet.batch.write_parquet`).
        progress: a progress bar over the files (stderr).

    Raises:
        MaskdetError: a bad model or setting, ``out`` exists without ``resume`` or is not a
            results file, pyarrow missing for ``parquet`` (one line, before any work).

    Example:
        >>> from maskdet.batch import detect_files, open_client
        >>> with open_client(workers=2) as client:  # doctest: +SKIP
        ...     summary = detect_files(["photos/"], out="results.jsonl", client=client)
        >>> print("\\n".join(summary.lines()))  # doctest: +SKIP
    """
    if parquet is not None:
        require_pyarrow()
    spec, detector = DetectorSpec.create(model, face_detector, min_face, min_face_score,
                                         min_confidence)
    summary = write_records(expand_inputs(paths), spec, "detect", out, resume=resume,
                            client=client, chunk_size=chunk_size, progress=progress,
                            detector=detector, desc="detecting")
    if parquet is not None:
        write_parquet(out, parquet)
    return summary
