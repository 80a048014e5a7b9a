"""Reading images from disk into one canonical form: ``uint8`` BGR arrays of shape (H, W, 3).

OpenCV's channel order (BGR) is used everywhere in maskdet, so that frames from ``cv2.imread``
or ``cv2.VideoCapture`` can be passed in directly.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageReadError, ImageTooLargeError, opencv_reason
from .files import write_atomic

#: The most pixels (width x height) an image may have to be decoded, unless a caller says
#: otherwise (``max_pixels=``, ``maskdet --max-megapixels``). Checked on the size the file's
#: header announces, before any pixel is decoded: a 2.6 MB PNG can announce 30000 x 30000
#: pixels, which would take 2.7 GB as BGR and several times that in the face detector.
DEFAULT_MAX_PIXELS = 50_000_000

#: Bytes per pixel of the largest uncompressed layout (16-bit RGBA): a file larger than
#: ``max_pixels`` of those, plus room for metadata, is refused before it is read.
_MAX_BYTES_PER_PIXEL = 8
_METADATA_ALLOWANCE = 16 * 1024 * 1024

_max_pixels = DEFAULT_MAX_PIXELS

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


def max_pixels() -> int:
    """The pixel limit that :func:`read_image` and :func:`decode_image` apply by default
    (:data:`DEFAULT_MAX_PIXELS` unless :func:`pixel_limit` changed it)."""
    return _max_pixels


@contextlib.contextmanager
def pixel_limit(limit: int) -> Iterator[None]:
    """Within the block, images of more than ``limit`` pixels are refused by default (by
    :func:`read_image`, and so by datasets, training, evaluation and reports alike).

    Example:
        >>> with pixel_limit(200_000_000):  # doctest: +SKIP
        ...     image = read_image("panorama.jpg")
    """
    global _max_pixels
    limit = _checked_limit(limit)
    previous, _max_pixels = _max_pixels, limit
    try:
        yield
    finally:
        _max_pixels = previous


def _checked_limit(limit: int | None) -> int:
    if limit is None:
        return _max_pixels
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer, float)) or limit < 1:
        raise ValueError(f"max_pixels must be a number of pixels of at least 1, got {limit!r}")
    return int(limit)


def image_size(data: bytes, kind: str | None = None) -> tuple[int, int] | None:
    """``(width, height)`` as the header of an encoded image announces it, without decoding
    any pixel; None when the header is cut short or damaged.

    Reads JPEG (the first SOF marker), PNG (IHDR), WebP (VP8, VP8L and VP8X), BMP, TIFF
    (the first image's ImageWidth/ImageLength) and GIF (the logical screen).
    """
    kind = kind or sniff_image_format(data[:16])
    try:
        size = _HEADER_READERS[kind](data) if kind in _HEADER_READERS else None
    except (struct.error, IndexError, ValueError):
        return None
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return int(size[0]), int(size[1])


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _gif_size(data: bytes) -> tuple[int, int]:
    return struct.unpack("<HH", data[6:10])


def _bmp_size(data: bytes) -> tuple[int, int]:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)  # a negative height: rows stored top-down


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: the canvas, 24-bit sizes minus one
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one after the 0x2f signature
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for i in range(count):
        entry = data[offset + 2 + 12 * i:offset + 14 + 12 * i]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):  # ImageWidth, ImageLength: a SHORT or a LONG
            fmt = order + ("H" if kind == 3 else "I")
            found[tag] = struct.unpack(fmt, entry[8:8 + struct.calcsize(fmt)])[0]
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


#: JPEG markers that start a frame (SOF0-SOF15, except DHT, JPG and DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if marker == 0xDA or length < 2:  # scan data before any frame header: damaged
            return None
        i += 2 + length
    return None


_HEADER_READERS: dict[str, Callable[[bytes], tuple[int, int] | None]] = {
    "jpeg": _jpeg_size, "png": _png_size, "webp": _webp_size, "bmp": _bmp_size,
    "tiff": _tiff_size, "gif": _gif_size,
}


def _check_size(data: bytes, kind: str, name: str, limit: int) -> None:
    size = image_size(data, kind)
    if size is None:
        raise ImageReadError(f"{name}: corrupt {kind} image (its header gives no image size)")
    width, height = size
    if width * height > limit:
        raise ImageTooLargeError(
            f"{name}: {width} x {height} pixels ({width * height / 1e6:.1f} MP) is over the "
            f"limit of {limit / 1e6:g} MP (max_pixels; maskdet --max-megapixels)")


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int | None = None
                 ) -> np.ndarray:
    """Decode encoded image bytes to a ``uint8`` BGR array (H, W, 3).

    16-bit images are scaled to 8 bits, grayscale and palette images are expanded to three
    channels, an alpha channel is dropped (the colour channels of a photo are its content),
    and JPEG EXIF orientation is applied. The image's size is read from its header first:
    one of more than ``max_pixels`` pixels (None: :func:`max_pixels`, 50 MP by default) is
    refused before it is decoded, so that decoding memory stays bounded.

    Raises:
        ImageTooLargeError: over the pixel limit; the message gives the size.
        ImageReadError: empty, truncated, damaged, or not an image; the message names
            ``name``.
    """
    limit = _checked_limit(max_pixels)
    if len(data) == 0:
        raise ImageReadError(f"{name}: empty file (0 bytes)")
    kind = sniff_image_format(data[:16])
    if kind is None:
        raise ImageReadError(f"{name}: not an image (unrecognised file content)")
    _check_size(data, kind, name, limit)
    if kind == "jpeg" and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        # Some libjpeg builds decode a truncated file into a half-grey picture: refuse it.
        raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker)")
    if kind == "png":
        # Only up to the end of the IEND chunk: OpenCV's reader goes on past it, and allocated
        # 4 GB for bytes after IEND that declare a chunk (a 150-byte file found by fuzzing).
        data = data[:_png_end(data, name)]
    # IMREAD_COLOR converts any depth/channel count to 8-bit BGR and applies EXIF rotation.
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. "Insufficient memory", or a decoder's own check
        raise ImageReadError(f"{name}: cannot decode this {kind} image "
                             f"({opencv_reason(exc)})") from None
    except MemoryError:
        raise ImageReadError(f"{name}: not enough memory to decode this {kind} image") from None
    if image is None or image.size == 0:
        raise ImageReadError(f"{name}: corrupt or unsupported {kind} image")
    return image


def _png_end(data: bytes, name: str) -> int:
    """Where a PNG's IEND chunk ends; refuse one whose chunk list runs past the file's end:
    OpenCV's reader allocates what a chunk declares before reading it, 4 GB for a 200-byte
    file found by fuzzing."""
    if b"IEND" not in data[-4096:]:  # tolerate some trailing bytes
        raise ImageReadError(f"{name}: truncated PNG (no IEND chunk)")
    at = 8
    while at + 12 <= len(data):
        length, chunk = struct.unpack(">I4s", data[at:at + 8])
        if at + 12 + length > len(data):
            kind = chunk.decode("latin-1")
            raise ImageReadError(f"{name}: corrupt png image (its {kind!r} chunk declares "
                                 f"{length} bytes, {len(data) - at - 12} remain)")
        if chunk == b"IEND":
            return at + 12 + length
        at += 12 + length
    raise ImageReadError(f"{name}: truncated PNG (no IEND chunk)")


@contextlib.contextmanager
def read_errors(name: str | os.PathLike) -> Iterator[None]:
    """Turn the ``OSError`` of reading file ``name`` into a one-line :class:`ImageReadError`
    (the same words for local files and URLs)."""
    try:
        yield
    except FileNotFoundError:
        raise ImageReadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{name}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageReadError(f"{name}: cannot read ({exc.strerror or exc})") from None


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file into a ``uint8`` BGR array of shape (H, W, 3).

    Works with non-ASCII file names (unlike ``cv2.imread`` on some platforms) and with the
    odd files described in :func:`decode_image`. Images of more than ``max_pixels`` pixels
    (None: :func:`max_pixels`, 50 MP by default) are refused from their header, and files
    too large to hold that many pixels are refused before they are read.

    Raises:
        ImageTooLargeError: the image, or the file, is over the limit.
        ImageReadError: the file is missing, unreadable, or not a valid image.

    Example:
        >>> image = read_image("photo.jpg")  # doctest: +SKIP
        >>> image.shape, image.dtype  # doctest: +SKIP
        ((480, 640, 3), dtype('uint8'))
    """
    path = Path(path)
    limit = _checked_limit(max_pixels)
    with read_errors(path), open(path, "rb") as f:
        most = limit * _MAX_BYTES_PER_PIXEL + _METADATA_ALLOWANCE
        size = os.fstat(f.fileno()).st_size
        # Read at most one byte more than allowed: /dev/zero and pipes have no size.
        data = b"" if size > most else f.read(most + 1)
        if size > most or len(data) > most:
            shown = (f"file of {size / 2**20:.0f} MiB" if size > most
                     else f"more than {most / 2**20:.0f} MiB of data")
            raise ImageTooLargeError(
                f"{path}: {shown} is larger than any image within the limit of "
                f"{limit / 1e6:g} MP can be (max_pixels; maskdet --max-megapixels)")
    return decode_image(data, str(path), limit)


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a BGR image atomically; the format follows the extension (default ``.jpg``)."""
    path = Path(path)
    ext = path.suffix.lower() if path.suffix.lower() in IMAGE_EXTENSIONS else ".jpg"
    try:
        ok, buf = cv2.imencode(ext, image)
    except cv2.error as exc:  # e.g. an image too large for the format (JPEG: 65535 px)
        raise ImageReadError(f"{path}: cannot encode image as {ext} "
                             f"({opencv_reason(exc)})") from None
    if not ok:
        raise ImageReadError(f"{path}: cannot encode image as {ext}")
    write_atomic(path, buf.tobytes())


def walk_files(folder: str | os.PathLike) -> list[Path]:
    """Every file under ``folder``, in a stable (sorted) order; hidden files and folders
    (``.DS_Store``, ``.thumbs/``) are left out. Linked folders are followed, each real folder
    once, so that a link loop cannot repeat files; a file reached twice (through a link to
    it, or to a folder holding it) is listed once, where the walk first meets it."""
    files: list[Path] = []
    seen = {os.path.realpath(folder)}
    seen_files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            real = os.path.realpath(os.path.join(dirpath, name))
            if real not in seen:
                seen.add(real)
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(f for f in filenames if not f.startswith(".")):
            real = os.path.realpath(os.path.join(dirpath, name))
            if real not in seen_files:
                seen_files.add(real)
                files.append(Path(dirpath) / name)
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
