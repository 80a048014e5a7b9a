"""The files a batch runs on: photos and folders of them, text files that list them, and
fsspec URLs (``s3://bucket/photos/``, ``gcs://...``, ``file:///...``) where fsspec is
installed.

The client only lists names here; the workers read the bytes (:func:`open_url`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import MaskdetError
from ..images import IMAGE_EXTENSIONS, list_image_files, read_errors

logger = logging.getLogger("maskdet")

#: A PATH with one of these extensions is a list of paths, one a line.
LIST_EXTENSIONS = frozenset({".txt", ".lst"})

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL (``scheme://...``) rather than a local path."""
    return bool(_URL.match(text))


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise MaskdetError("URLs need fsspec: pip install fsspec (and the package of the "
                           "file system, e.g. s3fs, gcsfs)") from None
    return fsspec


def _url_fs(url: str):
    try:
        return _fsspec().core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package missing
        raise MaskdetError(f"{url}: {exc}") from None


def open_url(url: str) -> bytes:
    """The bytes of the file an fsspec URL names.

    Raises:
        ImageReadError: missing or unreadable (one line naming the URL).
    """
    fs, path = _url_fs(url)
    with read_errors(url), fs.open(path, "rb") as f:
        return f.read()


def _expand_url(url: str) -> list[str]:
    """A URL of a file as it is; of a folder, its image files (recursively); a glob, what it
    matches; all in sorted order, hidden files left out."""
    fs, path = _url_fs(url)
    try:
        if _GLOB.search(path):
            found = sorted(fs.glob(path))
        elif fs.isdir(path):
            found = sorted(fs.find(path))
        else:
            return [url]
    except OSError as exc:
        raise MaskdetError(f"{url}: cannot list ({exc.strerror or exc})") from None
    keep = [p for p in found if Path(p).suffix.lower() in IMAGE_EXTENSIONS
            and not any(part.startswith(".") for part in Path(p).parts)]
    if not keep:
        logger.warning("%s: no image files there", url)
    return [fs.unstrip_protocol(p) for p in keep]


def read_list_file(path: Path) -> list[str]:
    """The entries of a list file: one path, folder or URL a line; blank lines and lines
    starting with ``#`` left out; relative paths taken from the list's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MaskdetError(f"{path}: cannot read this list of files ({exc})") from None
    entries = []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        entries.append(entry if is_url(entry) or os.path.isabs(entry)
                       else str(path.parent / entry))
    return entries


def expand_inputs(paths: Sequence[str | os.PathLike]) -> list[str]:
    """The files that ``paths`` name, each once, in the order given: photos as given, the
    image files of folders (sorted, as ``maskdet detect`` takes them), the entries of list
    files (``.txt``, ``.lst``: see :func:`read_list_file`) and fsspec URLs (a folder's or a
    glob's files listed, not read). A path that does not exist is kept: the worker that gets
    it records why it failed.

    Example:
        >>> expand_inputs(["photos/", "todo.txt", "s3://bucket/2024/*.jpg"])  # doctest: +SKIP
        ['photos/a.jpg', 'photos/b.png', ..., 's3://bucket/2024/x.jpg', ...]
    """
    out: dict[str, None] = {}  # ordered, without repeats

    def add(text: str, from_list: bool) -> None:
        if is_url(text):
            out.update(dict.fromkeys(_expand_url(text)))
            return
        path = Path(text)
        if path.is_dir():
            found = list_image_files(path)
            if not found:
                logger.warning("%s: no image files in this folder", path)
            out.update(dict.fromkeys(map(str, found)))
        elif not from_list and path.suffix.lower() in LIST_EXTENSIONS and path.is_file():
            for entry in read_list_file(path):
                add(entry, True)
        else:
            out[str(path)] = None

    for item in paths:
        add(os.fspath(item), False)
    return list(out)
