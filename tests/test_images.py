"""Reading images: every supported format and depth becomes uint8 BGR (H, W, 3); every bad file
raises ImageReadError naming the file and the reason."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdet.errors import ImageReadError, ImageTooLargeError, MaskdetError
from maskdet.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    decode_image,
    image_size,
    list_image_files,
    looks_like_image,
    max_pixels,
    pixel_limit,
    read_image,
    sniff_image_format,
    walk_files,
    write_image,
)
from tests.helpers import zeros_png


def pattern(h: int = 30, w: int = 40) -> np.ndarray:
    """A deterministic BGR image with distinct values everywhere (no two rows/columns alike)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 6) % 256, (y * 8) % 256, (x * 3 + y * 5) % 256], axis=-1).astype(
        np.uint8)


def blocks(h: int = 32, w: int = 64) -> np.ndarray:
    """A BGR image of large flat blocks (survives JPEG almost unchanged): left quarter white,
    top-right red, the rest black."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 4] = 255
    img[: h // 2, w // 2:] = (0, 0, 255)
    return img


def encode(ext: str, image: np.ndarray, params=()) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok, ext
    return buf.tobytes()


def with_exif_orientation(jpeg: bytes, orientation: int, byte_order: str = "MM") -> bytes:
    """Insert an APP1 Exif segment holding only an Orientation tag right after SOI."""
    e = ">" if byte_order == "MM" else "<"
    header = b"MM\x00*" if byte_order == "MM" else b"II*\x00"
    # IFD0 at offset 8: one entry, tag 0x0112 (Orientation), type SHORT (3), count 1, value.
    entry = struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
    tiff = header + struct.pack(e + "I", 8) + struct.pack(e + "H", 1) + entry + b"\0\0\0\0"
    payload = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segment + jpeg[2:]


def assert_canonical(image: np.ndarray, h: int, w: int) -> None:
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.uint8
    assert image.shape == (h, w, 3)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "ext, params, lossless",
    [
        (".png", (), True),
        (".bmp", (), True),
        (".tif", (), True),
        (".tiff", (), True),
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101), True),  # quality > 100: lossless WebP
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 90), False),
        (".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95), False),
        (".jpeg", (cv2.IMWRITE_JPEG_QUALITY, 95), False),
    ],
)
def test_read_image_formats(tmp_path, ext, params, lossless):
    original = pattern(30, 40)
    path = tmp_path / f"img{ext}"
    path.write_bytes(encode(ext, original, params))
    image = read_image(path)
    assert_canonical(image, 30, 40)
    diff = np.abs(image.astype(int) - original.astype(int))
    if lossless:
        assert diff.max() == 0
    else:
        assert diff.mean() < 6


def test_read_image_8bit_png_keeps_bgr_order(tmp_path):
    img = np.zeros((5, 7, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 120, 250  # B, G, R
    path = tmp_path / "colour.png"
    assert cv2.imwrite(str(path), img)
    out = read_image(path)
    assert_canonical(out, 5, 7)
    assert out[2, 3].tolist() == [10, 120, 250]


def test_decode_16bit_rgba_png_scaled_and_alpha_dropped():
    img = np.zeros((6, 9, 4), np.uint16)
    img[..., 0] = 0x8080  # B -> 128
    img[..., 1] = 0xFFFF  # G -> 255
    img[..., 2] = 0x00FF  # R -> 0 (the high byte is what counts)
    img[..., 3] = 0  # fully transparent: the colours must survive anyway
    img[1, 2, :3] = (0x0100, 0x7F00, 0xC0FF)  # -> 1, 127, 192
    data = encode(".png", img)
    assert data[24] == 16 and data[25] == 6  # IHDR: bit depth 16, colour type RGBA
    out = decode_image(data)
    assert_canonical(out, 6, 9)
    assert out[0, 0].tolist() == [128, 255, 0]
    assert out[1, 2].tolist() == [1, 127, 192]
    assert out[5, 8].tolist() == [128, 255, 0]


def test_decode_16bit_grayscale_png():
    gray = np.full((4, 5), 0x8080, np.uint16)
    gray[0, 0] = 0xFFFF
    out = decode_image(encode(".png", gray))
    assert_canonical(out, 4, 5)
    assert out[1, 1].tolist() == [128, 128, 128]
    assert out[0, 0].tolist() == [255, 255, 255]


def test_decode_grayscale_png_gives_three_identical_channels():
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    data = encode(".png", gray)
    assert data[25] == 0  # IHDR colour type: grayscale
    out = decode_image(data)
    assert_canonical(out, 6, 8)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA", "RGB"])
def test_decode_pil_written_png_modes(mode):
    Image = pytest.importorskip("PIL.Image")
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0] = (255, 0, 0)  # red row (RGB)
    rgb[1] = (0, 255, 0)
    rgb[2] = (0, 0, 255)
    rgb[3] = (200, 200, 200)
    pil = Image.fromarray(rgb, "RGB")
    if mode == "P":
        pil = pil.quantize(colors=4)
    elif mode == "LA":
        pil = pil.convert("LA")
    elif mode == "RGBA":
        pil = pil.convert("RGBA")
        pil.putalpha(0)
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    expected_rgb = np.asarray(pil.convert("RGB"))
    out = decode_image(buf.getvalue(), "pil.png")
    assert_canonical(out, 4, 6)
    np.testing.assert_array_equal(out, expected_rgb[..., ::-1])
    if mode == "P":
        assert buf.getvalue()[25] == 3  # really a palette PNG
        assert out[0, 0].tolist() == [0, 0, 255]  # red, in BGR order
        assert out[2, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    "orientation, transform",
    [
        (1, lambda a: a),
        (3, lambda a: np.rot90(a, 2)),
        (6, lambda a: np.rot90(a, -1)),  # rotate 90 degrees clockwise
        (8, lambda a: np.rot90(a, 1)),  # rotate 90 degrees counter-clockwise
    ],
)
@pytest.mark.parametrize("byte_order", ["MM", "II"])
def test_decode_jpeg_applies_exif_orientation(tmp_path, orientation, transform, byte_order):
    original = blocks(32, 64)  # non-square: a rotation shows in the shape
    jpeg = with_exif_orientation(encode(".jpg", original, (cv2.IMWRITE_JPEG_QUALITY, 98)),
                                 orientation, byte_order)
    path = tmp_path / f"exif{orientation}.jpg"
    path.write_bytes(jpeg)
    out = read_image(path)
    expected = transform(original)
    assert_canonical(out, *expected.shape[:2])
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 4


def test_exif_orientation_6_transposes_shape():
    jpeg = with_exif_orientation(encode(".jpg", blocks(20, 50)), 6)
    assert decode_image(jpeg).shape == (50, 20, 3)
    assert decode_image(encode(".jpg", blocks(20, 50))).shape == (20, 50, 3)


@pytest.mark.parametrize("name", ["маска_ü.jpg", "口罩 face.png", "ümlaut-dir/ß.webp"])
def test_read_image_non_ascii_names(tmp_path, name):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(Path(name).suffix, blocks(24, 36)))
    assert_canonical(read_image(path), 24, 36)
    assert_canonical(read_image(str(path)), 24, 36)


def test_read_image_odd_extension(tmp_path):
    path = tmp_path / "black3.jpg_1088Wx1632H"
    path.write_bytes(encode(".jpg", blocks(16, 24)))
    assert_canonical(read_image(path), 16, 24)


# --------------------------------------------------------------------------- bad files


def _jpeg() -> bytes:
    return encode(".jpg", pattern(60, 80))


def _png() -> bytes:
    return encode(".png", pattern(60, 80))


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "empty"),
        ("half.jpg", _jpeg()[: len(_jpeg()) // 2], "truncated"),
        ("no_eoi.jpg", _jpeg()[:-2], "truncated"),
        ("half.png", _png()[: len(_png()) // 2], "truncated"),
        ("no_iend.png", _png()[:-12], "truncated"),
        ("text.jpg", b"this is a text file, not a photo\n", "not an image"),
        ("html.png", b"<html><body>404 Not Found</body></html>", "not an image"),
        ("garbage.webp", b"RIFF\x10\x00\x00\x00WAVEfmt ", "not an image"),
        ("missing.jpg", None, "no such file"),
        ("folder.jpg", "dir", "is a directory"),
    ],
)
def test_read_image_errors_name_file_and_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message
    assert reason in message
    assert isinstance(info.value, MaskdetError)
    assert "\n" not in message


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"hello", "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "jpeg"),  # header only, no scan: corrupt JPEG
    ],
)
def test_decode_image_errors_use_given_name(data, reason):
    with pytest.raises(ImageReadError, match=r"^upload\.bin: ") as info:
        decode_image(data, "upload.bin")
    assert reason in str(info.value)


def test_decode_image_default_name():
    with pytest.raises(ImageReadError, match=r"^<bytes>: empty"):
        decode_image(b"")


# --------------------------------------------------------------------------- size limits


def _pil_bytes(fmt: str, width: int, height: int, **options) -> bytes:
    Image = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    Image.fromarray(pattern(height, width)[..., ::-1].copy()).save(buf, fmt, **options)
    return buf.getvalue()


def _tifffile_bytes(width: int, height: int, **options) -> bytes:
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, pattern(height, width)[..., ::-1], photometric="rgb", **options)
    data = buf.getvalue()
    assert data[:2] == (b"MM" if options.get("byteorder") == ">" else b"II")
    return data


HEADER_CASES = [
    ("png", lambda w, h: encode(".png", pattern(h, w))),
    ("jpeg", lambda w, h: encode(".jpg", pattern(h, w))),
    ("jpeg progressive", lambda w, h: _pil_bytes("JPEG", w, h, progressive=True)),
    ("jpeg with exif", lambda w, h: with_exif_orientation(encode(".jpg", pattern(h, w)), 1)),
    ("bmp", lambda w, h: encode(".bmp", pattern(h, w))),
    ("tiff", lambda w, h: encode(".tif", pattern(h, w))),
    ("tiff lzw", lambda w, h: _pil_bytes("TIFF", w, h, compression="tiff_lzw")),
    ("tiff big-endian", lambda w, h: _tifffile_bytes(w, h, byteorder=">")),
    ("webp lossless (VP8L)", lambda w, h: encode(".webp", pattern(h, w),
                                                 (cv2.IMWRITE_WEBP_QUALITY, 101))),
    ("webp lossy (VP8)", lambda w, h: encode(".webp", pattern(h, w),
                                             (cv2.IMWRITE_WEBP_QUALITY, 80))),
    ("webp extended (VP8X)", lambda w, h: _pil_bytes("WEBP", w, h, quality=80,
                                                     exif=b"Exif\0\0MM\0*\0\0\0\x08\0\0")),
    ("gif", lambda w, h: _pil_bytes("GIF", w, h)),
]


@pytest.mark.parametrize("kind, make", HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_image_size_reads_every_accepted_format_from_the_header(kind, make):
    data = make(53, 37)
    assert image_size(data) == (53, 37)
    assert image_size(data[:64] if kind.startswith(("png", "gif", "bmp", "webp")) else data) \
        == (53, 37)  # these formats give the size in the first bytes
    assert decode_image(data).shape == (37, 53, 3)  # and it is the size decoded


@pytest.mark.parametrize("kind, make", HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_images_over_the_pixel_limit_are_refused_before_decoding(kind, make):
    data = make(53, 37)  # 1961 pixels
    assert decode_image(data, "x", max_pixels=1961).shape == (37, 53, 3)
    with pytest.raises(ImageTooLargeError, match=r"^x: 53 x 37 pixels \(0\.0 MP\) is over the "
                                                 r"limit of 0\.00196 MP") as info:
        decode_image(data, "x", max_pixels=1960)
    assert isinstance(info.value, ImageReadError)


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0",  # IHDR cut short
    b"\xff\xd8\xff\xe0\x00\x10JFIF\0" + b"\0" * 5 + b"\xff\xd9",  # no frame header
    b"BM" + b"\0" * 10,
    b"II*\x00\xff\xff\xff\x00",  # IFD offset past the end
    b"GIF89a\x00\x00\x00\x00",  # zero size
    b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00",
])
def test_damaged_headers_give_no_size_and_a_one_line_error(data):
    assert image_size(data) is None
    with pytest.raises(ImageReadError, match=r"^bad: ") as info:
        decode_image(data + b"\xff\xda\xff\xd9IEND" + b"\0" * 16, "bad")
    assert "\n" not in str(info.value)


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    """Row 1 of issue 19: a 30000 x 30000 PNG (here only its first rows are written, so the
    file is small; the header is what a bomb's is) must not be decoded."""
    path = tmp_path / "bomb.png"
    path.write_bytes(zeros_png(30000, 30000, rows_given=2))
    with pytest.raises(ImageTooLargeError) as info:
        read_image(path)
    assert str(info.value) == (f"{path}: 30000 x 30000 pixels (900.0 MP) is over the limit of "
                               "50 MP (max_pixels; maskdet --max-megapixels)")


def test_pixel_limit_changes_the_default_for_a_block(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(zeros_png(4000, 3000))  # 12 MP
    assert max_pixels() == DEFAULT_MAX_PIXELS == 50_000_000
    assert read_image(path).shape == (3000, 4000, 3)
    with pixel_limit(10_000_000):
        assert max_pixels() == 10_000_000
        with pytest.raises(ImageTooLargeError, match="12.0 MP"):
            read_image(path)
        assert read_image(path, max_pixels=12_000_000).shape == (3000, 4000, 3)
    assert max_pixels() == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("limit", [0, -5, "50", True, 2.5e-3])
def test_pixel_limit_must_be_a_positive_number(limit):
    with pytest.raises(ValueError, match="max_pixels must be a number of pixels of at least 1"):
        decode_image(encode(".png", pattern()), max_pixels=limit)


def test_a_file_too_large_for_the_limit_is_not_read(tmp_path):
    path = tmp_path / "huge.bmp"
    with open(path, "wb") as f:  # sparse: 200 MiB announced, nothing written
        f.truncate(200 * 2**20)
    with pytest.raises(ImageTooLargeError, match=r"huge\.bmp: file of 200 MiB is larger than any "
                                                 r"image within the limit of 1 MP can be"):
        read_image(path, max_pixels=1_000_000)


def test_a_file_without_a_size_is_read_no_further_than_the_limit():
    with pytest.raises(ImageTooLargeError, match=r"/dev/zero: more than 17 MiB of data is "
                                                 r"larger than any image within the limit"):
        read_image("/dev/zero", max_pixels=100_000)  # endless zeros: stops at ~17 MiB


def test_opencv_errors_while_decoding_become_image_read_errors(monkeypatch):
    def out_of_memory(*args):
        raise cv2.error("OpenCV(4.14.0) alloc.cpp:73: error: (-4:Insufficient memory) "
                        "Failed to allocate 2700000000 bytes in function 'OutOfMemoryError'\n")

    monkeypatch.setattr(cv2, "imdecode", out_of_memory)
    with pytest.raises(ImageReadError, match=r"^big\.png: cannot decode this png image \(") as info:
        decode_image(encode(".png", pattern()), "big.png")
    assert "\n" not in str(info.value)
    assert "Insufficient memory" in str(info.value)


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    "header, expected",
    [
        (encode(".jpg", blocks(8, 8))[:16], "jpeg"),
        (encode(".png", blocks(8, 8))[:16], "png"),
        (encode(".bmp", blocks(8, 8))[:16], "bmp"),
        (encode(".tif", blocks(8, 8))[:16], "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (encode(".webp", blocks(8, 8))[:16], "webp"),
        (b"GIF87a\x01\x00", "gif"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
        (b"\xff\xd8", None),  # too short to be a JPEG signature
        (b"plain text file\n", None),
        (b"%PDF-1.7\n", None),
    ],
)
def test_sniff_image_format(header, expected):
    assert sniff_image_format(header) == expected


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("x.jpg_1088Wx1632H", encode(".jpg", blocks(8, 8)), True),
        ("photo_no_extension", encode(".png", blocks(8, 8)), True),
        ("picture.dat", encode(".webp", blocks(8, 8)), True),
        ("notes.txt", b"some notes about the dataset\n", False),
        ("labels.csv", b"file,label\n", False),
        ("empty.bin", b"", False),
        ("PHOTO.JPG", b"not really a jpeg", True),  # the extension alone is enough
        ("scan.TIFF", b"", True),
    ],
)
def test_looks_like_image(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert looks_like_image(path) is expected
    assert looks_like_image(str(path)) is expected


def test_looks_like_image_missing_file(tmp_path):
    assert looks_like_image(tmp_path / "gone.jpg_1088Wx1632H") is False
    assert looks_like_image(tmp_path / "gone.jpg") is True  # extension only, not opened


def test_image_extensions_are_lower_case_with_dot():
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"} <= IMAGE_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("name, magic", [("out.png", "png"), ("out.bmp", "bmp"),
                                         ("out.jpg", "jpeg"), ("out.unknown", "jpeg")])
def test_write_image_round_trip(tmp_path, name, magic):
    img = pattern(12, 20)
    path = tmp_path / name
    write_image(path, img)
    assert sniff_image_format(path.read_bytes()[:16]) == magic
    back = read_image(path)
    assert_canonical(back, 12, 20)
    if magic != "jpeg":
        np.testing.assert_array_equal(back, img)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


# --------------------------------------------------------------------------- folders
def test_walk_files_is_sorted_skips_hidden_and_follows_links_once(tmp_path):
    root = tmp_path / "photos"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".thumbs").mkdir()
    for rel in ("b/2.jpg", "a/1.png", "z.jpg", ".DS_Store", ".thumbs/t.jpg", "a/notes.txt"):
        (root / rel).write_bytes(b"x")
    (root / "a" / "loop").symlink_to(root)  # a link back up: must not repeat the files
    (root / "c").symlink_to(root / "b")  # a second way into b/
    files = [p.relative_to(root).as_posix() for p in walk_files(root)]
    assert files == ["z.jpg", "a/1.png", "a/notes.txt", "b/2.jpg"]


def test_walk_files_lists_each_real_file_once(tmp_path):
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    (root / "a" / "1.jpg").write_bytes(b"x")
    (root / "a" / "2.jpg").write_bytes(b"y")
    (root / "0-link.jpg").symlink_to(root / "a" / "2.jpg")  # a second name for a/2.jpg
    (root / "b").mkdir()
    (root / "b" / "same.jpg").symlink_to(root / "a" / "1.jpg")
    (root / "b" / "dangling.jpg").symlink_to(root / "gone.jpg")  # kept: reading says why
    files = [p.relative_to(root).as_posix() for p in walk_files(root)]
    assert files == ["0-link.jpg", "a/1.jpg", "b/dangling.jpg"]
    assert walk_files(root) == walk_files(root)  # stable


def test_list_image_files_keeps_images_by_extension_or_content(tmp_path):
    (tmp_path / "face.jpg_1088Wx1632H").write_bytes(b"\xff\xd8\xff\xe0rest")
    (tmp_path / "a.PNG").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    names = [p.name for p in list_image_files(tmp_path)]
    assert names == ["a.PNG", "face.jpg_1088Wx1632H"]


def test_write_image_that_the_format_cannot_hold_is_one_line(tmp_path):
    with pytest.raises(ImageReadError, match=r"wide\.jpg: cannot encode image as \.jpg"):
        write_image(tmp_path / "wide.jpg", np.zeros((2, 70000, 3), np.uint8))  # JPEG: < 65500
    assert list(tmp_path.iterdir()) == []


def test_opencv_reason_is_the_error_raised_not_the_last_one():
    """OpenCV sets ``err`` on the cv2.error class: it names the process' last OpenCV error."""
    from maskdet.errors import opencv_reason

    try:
        cv2.resize(np.zeros((0, 0, 3), np.uint8), (4, 4))
    except cv2.error as exc:
        assert opencv_reason(exc) == "(-215:Assertion failed) !ssize.empty()"
    later = cv2.error("OpenCV(4.14.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to "
                      "allocate 8 bytes in function 'OutOfMemoryError'\n")
    assert opencv_reason(later) == "(-4:Insufficient memory) Failed to allocate 8 bytes"
    assert opencv_reason(cv2.error("")) == "error"
