"""Reading images from disk into one canonical form: ``uint8`` BGR arrays of shape (H, W, 3).

OpenCV's channel order (BGR) is used everywhere in maskdet, so that frames from ``cv2.imread``
or ``cv2.VideoCapture`` can be passed in directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageReadError
from .files import write_atomic

#: File name extensions that are taken to be images when scanning folders (lower case).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif"}
)

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def sniff_image_format(header: bytes) -> str | None:
    """Return the image format that the first bytes of a file announce, or None.

    Used to accept files whose extension is odd (``photo.jpg_1088Wx1632H``) but whose
    content is an image.
    """
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if header.startswith(magic):
            return name
    return None


def looks_like_image(path: str | os.PathLike) -> bool:
    """True if the file has an image extension or starts with an image format's magic bytes."""
    path = Path(path)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    try:
        with open(path, "rb") as f:
            return sniff_image_format(f.read(16)) is not None
    except OSError:
        return False


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to a ``uint8`` BGR array (H, W, 3).

    16-bit images are scaled to 8 bits, grayscale and palette images are expanded to three
    channels, an alpha channel is dropped (the colour channels of a photo are its content),
    and JPEG EXIF orientation is applied.

    Raises:
        ImageReadError: empty, truncated, or not an image; the message names ``name``.
    """
    if len(data) == 0:
        raise ImageReadError(f"{name}: empty file (0 bytes)")
    kind = sniff_image_format(data[:16])
    if kind is None:
        raise ImageReadError(f"{name}: not an image (unrecognised file content)")
    if kind == "jpeg" and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        # Some libjpeg builds decode a truncated file into a half-grey picture: refuse it.
        raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker)")
    if kind == "png" and b"IEND" not in data[-4096:]:  # tolerate some trailing bytes
        raise ImageReadError(f"{name}: truncated PNG (no IEND chunk)")
    # IMREAD_COLOR converts any depth/channel count to 8-bit BGR and applies EXIF rotation.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageReadError(f"{name}: corrupt or unsupported {kind} image")
    return image


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into a ``uint8`` BGR array of shape (H, W, 3).

    Works with non-ASCII file names (unlike ``cv2.imread`` on some platforms) and with the
    odd files described in :func:`decode_image`.

    Raises:
        ImageReadError: the file is missing, unreadable, or not a valid image.

    Example:
        >>> image = read_image("photo.jpg")  # doctest: +SKIP
        >>> image.shape, image.dtype  # doctest: +SKIP
        ((480, 640, 3), dtype('uint8'))
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path))


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a BGR image atomically; the format follows the extension (default ``.jpg``)."""
    path = Path(path)
    ext = path.suffix.lower() if path.suffix.lower() in IMAGE_EXTENSIONS else ".jpg"
    ok, buf = cv2.imencode(ext, image)
    if not ok:
        raise ImageReadError(f"{path}: cannot encode image as {ext}")
    write_atomic(path, buf.tobytes())


def walk_files(folder: str | os.PathLike) -> list[Path]:
    """Every file under ``folder``, in a stable (sorted) order; hidden files and folders
    (``.DS_Store``, ``.thumbs/``) are left out. Linked folders are followed, each real folder
    once, so that a link loop cannot repeat files."""
    files: list[Path] = []
    seen = {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            real = os.path.realpath(os.path.join(dirpath, name))
            if real not in seen:
                seen.add(real)
                kept.append(name)
        dirnames[:] = kept
        files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return files


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """The files under ``folder`` that are images (:func:`looks_like_image`), in the order of
    :func:`walk_files`."""
    return [p for p in walk_files(folder) if looks_like_image(p)]


def map_images(fn: Callable[[Any], Any], items: Sequence, n_jobs: int | None = None,
               progress: bool = False, desc: str = "images") -> Iterator:
    """``fn`` over ``items`` in threads, results in order, with an optional progress bar.

    OpenCV's decoding and resizing release the GIL, so threads give real parallelism for
    per-image work. ``n_jobs``: threads (default: the cores, at most 8).
    """
    from tqdm.auto import tqdm

    workers = n_jobs if n_jobs and n_jobs > 0 else min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from tqdm(pool.map(fn, items), total=len(items), desc=desc, disable=not progress,
                        unit="img", leave=False)
