"""The results file of a batch: JSON lines, one per file, keyed by ``path``, appended as the
results come in, so that a crashed or interrupted run can continue where it stopped.

A file's line is ``{"path", "faces": [...]}`` (what ``maskdet detect --json`` prints) or
``{"path", "error"}``. Lines are written whole, flushed and synced a chunk at a time; a run
that died while writing leaves at most its last line half-written, which :func:`scan_results`
finds and cuts off, so that the file is redone. A Parquet table can be made of the file
(:func:`write_parquet`, with pyarrow).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import MaskdetError
from ..files import atomic_path, to_jsonable

Record = dict[str, Any]


def record_line(record: Record) -> str:
    """One record as its line (strict JSON, as ``maskdet detect --json`` prints it)."""
    return json.dumps(to_jsonable(record), ensure_ascii=False) + "\n"


def _parse(line: bytes, path: Path, number: int) -> Record:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        raise MaskdetError(f"{path}: line {number} is not a maskdet result (a JSON object "
                           "with a path); not a results file?")
    return record


def scan_results(path: str | os.PathLike) -> tuple[set[str], int]:
    """Check a results file before it is continued: ``(the paths in its complete lines, the
    bytes those lines take)``.

    Only the last line may be incomplete (no newline, or not JSON: the run died while writing
    it); it is left out, and the caller cuts the file to the bytes counted.

    Raises:
        MaskdetError: a line before the last is not a result (not a results file).
    """
    path = Path(path)
    paths: set[str] = set()
    good = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break  # the half-written last line
            try:
                paths.add(_parse(line, path, number)["path"])
            except MaskdetError:
                if f.read(1):  # not the last line: the file is not ours
                    raise
                break
            good += len(line)
    return paths, good


def read_results(path: str | os.PathLike) -> Iterator[Record]:
    """The records of a results file, in order (a half-written last line left out).

    Raises:
        MaskdetError: missing, or not a results file.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise MaskdetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with f:
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                return
            try:
                yield _parse(line, path, number)
            except MaskdetError:
                if f.read(1):
                    raise
                return


class ResultsWriter:
    """Appends records to a results file; with ``resume``, first cuts off a half-written last
    line and knows the paths already there (:attr:`done`).

    Raises:
        MaskdetError: the file exists and ``resume`` is false (a finished run is not
            overwritten by accident), or it is not a results file, or cannot be written.

    Example:
        >>> with ResultsWriter("results.jsonl", resume=True) as out:  # doctest: +SKIP
        ...     todo = [p for p in paths if p not in out.done]
        ...     out.write(records)
    """

    def __init__(self, path: str | os.PathLike, resume: bool = False) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.cut = False  # a half-written last line was cut off
        exists = self.path.exists()
        if self.path.is_dir():
            raise MaskdetError(f"{self.path}: is a folder, not a results file")
        if exists and not resume:
            raise MaskdetError(f"{self.path}: exists; --resume continues it (resume=True), "
                               "or remove it to start again")
        if exists:
            self.done, good = scan_results(self.path)
            if good != self.path.stat().st_size:
                self.cut = True
                with open(self.path, "r+b") as f:
                    f.truncate(good)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise MaskdetError(f"{self.path}: cannot write ({exc.strerror or exc})") from None

    def write(self, records: Iterable[Record]) -> int:
        """Append whole lines, then flush them to the disk; returns how many."""
        lines = [record_line(r) for r in records]
        self._file.write("".join(lines))
        self._file.flush()
        os.fsync(self._file.fileno())
        return len(lines)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def require_pyarrow():
    """pyarrow's ``parquet`` module.

    Raises:
        MaskdetError: pyarrow is not installed (it says what to install).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MaskdetError('Parquet output needs pyarrow: pip install "maskdet[parquet]" '
                           "(or pyarrow)") from None
    return pq


def write_parquet(results: str | os.PathLike, out: str | os.PathLike,
                  batch_size: int = 10_000) -> Path:
    """A Parquet table of a detection results file: one row per file, columns ``path``,
    ``faces`` (a list of ``{box, label, score, face_score}``) and ``error`` (null when it
    worked); written in row groups of ``batch_size`` (memory stays bounded), atomically.

    Raises:
        MaskdetError: pyarrow is not installed.
    """
    pq = require_pyarrow()
    import pyarrow as pa

    face = pa.struct([("box", pa.list_(pa.int32())), ("label", pa.string()),
                      ("score", pa.float64()), ("face_score", pa.float64())])
    schema = pa.schema([("path", pa.string()), ("faces", pa.list_(face)),
                        ("error", pa.string())])
    with atomic_path(out) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            rows: list[Record] = []
            for record in read_results(results):
                rows.append({"path": record["path"], "faces": record.get("faces"),
                             "error": record.get("error")})
                if len(rows) >= batch_size:
                    writer.write_table(pa.Table.from_pylist(rows, schema))
                    rows = []
            writer.write_table(pa.Table.from_pylist(rows, schema))
    return Path(out)
