"""Writing files that matter, and turning results into JSON: one way of each for all of maskdet.

Model bundles, reports, annotated images and videos are written under a hidden temporary name
beside the target and renamed into place when complete (:class:`AtomicFile`,
:func:`write_atomic`), so that a reader never sees half a file and an interrupted run leaves
the previous file as it was. :func:`to_jsonable` is the one conversion of results (numpy
values, tuples, paths, NaN) to strict JSON.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class AtomicFile:
    """A temporary file beside ``path`` that :meth:`commit` renames to ``path``.

    The temporary name keeps the extension (``.name.<random>.partial.mp4``): libraries such
    as OpenCV's video writer choose the container by it. :meth:`discard` removes it.

    Example:
        >>> out = AtomicFile("model.maskdet")  # doctest: +SKIP
        >>> write_zip(out.tmp)                  # doctest: +SKIP
        >>> out.commit()                        # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.",
                                   suffix=f".partial{self.path.suffix}")
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """Move the finished temporary file into place; returns ``path``."""
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are not secrets
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file (nothing happens to ``path``)."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; renamed into place when the block
    ends without an exception, removed when it raises (Ctrl-C included)."""
    out = AtomicFile(path)
    try:
        yield out.tmp
    except BaseException:
        out.discard()
        raise
    out.commit()


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays become numbers and lists, tuples
    and sets lists, paths strings, NaN and infinities None (strict JSON has no NaN); other
    objects their ``str``.

    Example:
        >>> import numpy as np
        >>> to_jsonable({"n": np.int64(3), "box": (1, 2), "ap": float("nan")})
        {'n': 3, 'box': [1, 2], 'ap': None}
    """
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_jsonable(value.tolist())
    return str(value)
