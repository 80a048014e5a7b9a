"""Fuzz targets for what reads untrusted files: ``decode_image``, the VOC parser and the bundle
loader. Each takes bytes and may fail only with a :class:`~maskdet.errors.MaskdetError` (a
one-line message); anything else -- another exception, a hang, memory without bound -- is a
crash.

Coverage-guided with atheris (libFuzzer for Python), seeded with small generated files::

    python -m tests.fuzz.harness image -max_total_time=600      # a longer run
    python -m tests.fuzz.harness voc -runs=100000
    python -m tests.fuzz.harness bundle -max_total_time=600 CORPUS_DIR

libFuzzer's options follow the target's name; a folder given is used as the corpus (seeds are
written into it) and crashes are saved as ``crash-*`` files in the working folder.
``tests/fuzz/test_fuzz.py`` runs a bounded slice of each target in the test suite, and the
same targets under hypothesis where atheris is not installed.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

#: Images above this many pixels are refused: the decoder is fuzzed, not the memory.
FUZZ_MAX_PIXELS = 4_000_000


def check_image(data: bytes) -> None:
    from maskdet.errors import MaskdetError
    from maskdet.images import decode_image

    try:
        image = decode_image(data, "fuzz", max_pixels=FUZZ_MAX_PIXELS)
    except MaskdetError as exc:
        _one_line(exc)
        return
    assert image.dtype.name == "uint8" and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] * image.shape[1] <= FUZZ_MAX_PIXELS


def check_voc(data: bytes) -> None:
    from maskdet.data import parse_voc
    from maskdet.errors import MaskdetError

    with tempfile.TemporaryDirectory(prefix="maskdet-fuzz-") as tmp:
        path = Path(tmp) / "a.xml"
        path.write_bytes(data)
        try:
            annotation = parse_voc(path)
        except MaskdetError as exc:
            _one_line(exc)
            return
    for label, (x, y, w, h) in annotation.objects:
        assert isinstance(label, str) and label
        assert all(isinstance(v, int) for v in (x, y, w, h)) and w > 0 and h > 0
        if annotation.width > 0 and annotation.height > 0:  # clipped to the image
            assert 0 <= x and x + w <= annotation.width + 1
            assert 0 <= y and y + h <= annotation.height + 1


def check_bundle(data: bytes) -> None:
    """The first byte chooses: odd -- the bytes are the bundle file; even -- they are its
    manifest, zipped with the weights of a real bundle (so that the fuzzer reaches the
    manifest's fields, past the zip's checksums)."""
    from maskdet.classifiers import load_classifier
    from maskdet.errors import MaskdetError

    manifest_only = bool(data[:1]) and data[0] % 2 == 0
    bundle = _with_manifest(data[1:]) if manifest_only else data[1:]
    with tempfile.TemporaryDirectory(prefix="maskdet-fuzz-") as tmp:
        path = Path(tmp) / "m.maskdet"
        path.write_bytes(bundle)
        try:
            load_classifier(path)
        except MaskdetError as exc:
            _one_line(exc)


def _one_line(exc: Exception) -> None:
    message = str(exc)
    assert message and "\n" not in message, f"not a one-line message: {message!r}"


TARGETS: dict[str, Callable[[bytes], None]] = {
    "image": check_image, "voc": check_voc, "bundle": check_bundle}


# -- seeds: small generated files ---------------------------------------------------------
def image_seeds() -> list[bytes]:
    import cv2
    import numpy as np

    y, x = np.mgrid[0:12, 0:16]
    image = np.stack([x * 15, y * 20, (x + y) * 9], -1).astype(np.uint8)
    out = []
    for ext, params in [(".png", []), (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]), (".bmp", []),
                        (".tif", []), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
                        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]), (".gif", [])]:
        ok, buf = cv2.imencode(ext, image, params)
        if ok:
            out.append(buf.tobytes())
    out.append(cv2.imencode(".png", (image.astype(np.uint16) * 257))[1].tobytes())  # 16-bit
    out.append(cv2.imencode(".png", image[..., 0])[1].tobytes())  # gray
    out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
    return out


def voc_seeds() -> list[bytes]:
    return [
        b"<annotation><filename>a.png</filename><size><width>100</width><height>80</height>"
        b"</size><object><name>with_mask</name><bndbox><xmin>10</xmin><ymin>5</ymin>"
        b"<xmax>40</xmax><ymax>50</ymax></bndbox></object><object><name>without_mask</name>"
        b"<bndbox><xmin>-5</xmin><ymin>60</ymin><xmax>30.5</xmax><ymax>90</ymax></bndbox>"
        b"</object></annotation>",
        b"<?xml version='1.0'?><annotation><filename>b.jpg</filename><size><width>1e3"
        b"</width><height>5</height></size></annotation>",
        b"<annotation><filename>c.png</filename><size><width>10</width><height>10</height>"
        b"</size><object><bndbox><xmin>0</xmin></bndbox></object></annotation>",
    ]


#: Tags and values for the VOC parser (a libFuzzer dictionary; hypothesis draws from them).
VOC_WORDS = ["<annotation>", "</annotation>", "<filename>", "</filename>", "<size>",
             "</size>", "<width>", "</width>", "<height>", "</height>", "<object>",
             "</object>", "<name>", "</name>", "<bndbox>", "</bndbox>", "<xmin>", "</xmin>",
             "<ymin>", "</ymin>", "<xmax>", "</xmax>", "<ymax>", "</ymax>", "nan", "inf",
             "-inf", "1e400", "-1", "0", "1e9", "0x10", "&amp;", "<!DOCTYPE a [<!ENTITY e 'x'>]>"]

_BUNDLE: bytes | None = None


def bundle_seed() -> bytes:
    """A small real HOG+SVM bundle (trained once per process on drawn faces)."""
    global _BUNDLE
    if _BUNDLE is None:
        import numpy as np

        from maskdet.classifiers import create_classifier
        from tests.helpers import synthetic_face

        rng = np.random.default_rng(0)
        labels = ["with_mask", "without_mask"] * 6
        clf = create_classifier("hog-svm", image_size=16, pca_components=4, calibration_cv=2,
                                flip_augment=False)
        clf.fit([synthetic_face(label, rng, 32) for label in labels], labels)
        with tempfile.TemporaryDirectory() as tmp:
            _BUNDLE = clf.save(Path(tmp) / "m.maskdet").read_bytes()
    return _BUNDLE


def _with_manifest(manifest: bytes) -> bytes:
    """The seed bundle with ``manifest`` as its manifest, its checksum made to match (a
    manifest that is a JSON object): the fuzzer then reaches the fields, past the checksum."""
    from maskdet.classifiers.bundle import CHECKSUM_FIELD, manifest_digest

    try:
        fields = json.loads(manifest)
    except (ValueError, RecursionError):
        fields = None
    if isinstance(fields, dict):
        try:
            manifest = json.dumps({**fields, CHECKSUM_FIELD: manifest_digest(fields)}).encode()
        except (ValueError, TypeError, RecursionError):
            pass  # not canonical JSON (NaN, ...): the loader must say so itself
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle_seed())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, manifest if name == "manifest.json" else src.read(name))
    return out.getvalue()


def bundle_seeds() -> list[bytes]:
    bundle = bundle_seed()
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        manifest = zf.read("manifest.json")
    compact = json.dumps(json.loads(manifest), separators=(",", ":")).encode()
    return [b"\x01" + bundle, b"\x00" + manifest, b"\x00" + compact]


SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "image": image_seeds, "voc": voc_seeds, "bundle": bundle_seeds}


def write_seeds(target: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS[target]()):
        (folder / f"seed-{i}").write_bytes(seed)
    return folder


# -- the atheris entry point ----------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.harness {{{','.join(TARGETS)}}} "
                 "[libFuzzer options] [CORPUS_DIR]")
    target, options = argv[0], argv[1:]
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # corrupt images are expected
    import atheris

    with atheris.instrument_imports(include=["maskdet"]):
        import maskdet.classifiers  # noqa: F401
        import maskdet.data  # noqa: F401
        import maskdet.images  # noqa: F401
    corpus = [a for a in options if not a.startswith("-")]
    if not corpus:
        corpus = [tempfile.mkdtemp(prefix=f"maskdet-fuzz-{target}-")]
        options.append(corpus[0])
    write_seeds(target, Path(corpus[0]))
    check = TARGETS[target]
    if target == "voc":  # the words that matter to the parser, for libFuzzer to splice in
        words = Path(corpus[0]).parent / f"{Path(corpus[0]).name}.dict"
        words.write_text("\n".join(f'"{w}"' for w in VOC_WORDS) + "\n")
        options.append(f"-dict={words}")
    atheris.Setup([sys.argv[0], *options], check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
