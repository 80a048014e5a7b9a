"""Fuzzing: a bounded atheris slice of each target of ``tests/fuzz/harness.py`` (coverage-guided;
``MASKDET_FUZZ_SECONDS`` each, 30 by default), the same targets under hypothesis (mutated seeds;
always run), and a regression test for every crash fuzzing found."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from maskdet.data import parse_voc
from maskdet.errors import BundleError, DatasetError
from tests.fuzz import harness

ROOT = Path(__file__).resolve().parents[2]
FUZZ_SECONDS = int(os.environ.get("MASKDET_FUZZ_SECONDS", "30"))


# -- the atheris slice ---------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris is not installed (pip install atheris; Linux x86-64); "
                           "the hypothesis tests below fuzz the same targets")
@pytest.mark.parametrize("target", sorted(harness.TARGETS))
def test_atheris_slice_finds_no_crash(target, tmp_path):
    corpus = tmp_path / "corpus"
    command = [sys.executable, "-m", "tests.fuzz.harness", target,
               f"-max_total_time={FUZZ_SECONDS}", "-timeout=20", "-rss_limit_mb=3000",
               f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=FUZZ_SECONDS + 180)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-",
                                                                              "timeout-",
                                                                              "oom-")))
    tail = "\n".join(done.stderr.splitlines()[-40:])
    found = [(name, (tmp_path / name).read_bytes()[:300]) for name in crashes]
    assert done.returncode == 0 and not crashes, f"{found}\n{tail}"
    runs = [line for line in done.stderr.splitlines()
            if line.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[-1].split(":")[-1]) > 100  # it really ran


# -- the same targets under hypothesis ------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_SETTINGS = settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.data_too_large])


def _mutate(seed: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(seed)
    for kind, position, value in edits:
        if not data:
            break
        i = position % len(data)
        if kind == 0:
            data[i] = value
        elif kind == 1:
            data.insert(i, value)
        elif kind == 2:
            del data[i]
        else:
            del data[i:]
    return bytes(data)


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Seeds with a few bytes set, inserted, deleted, or the rest cut off; and raw bytes."""
    edits = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**20), st.integers(0, 255)),
                     max_size=6)
    return st.one_of(st.builds(_mutate, st.sampled_from(seeds), edits),
                     st.binary(max_size=256))


@FUZZ_SETTINGS
@given(data=mutated(harness.image_seeds()))
def test_decode_image_fails_only_with_one_line_errors(data):
    harness.check_image(data)


_NUMBER = st.one_of(st.integers(-10**6, 10**6).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["nan", "inf", "-inf", "1e400", "", " 7 ", "0x10", "1,5"]))


@st.composite
def voc_documents(draw) -> bytes:
    def box() -> str:
        return "".join(f"<{k}>{draw(_NUMBER)}</{k}>" for k in ("xmin", "ymin", "xmax", "ymax"))

    objects = "".join(
        f"<object>{draw(st.sampled_from(['<name>m</name>', '', '<name> </name>']))}"
        f"<bndbox>{box()}</bndbox></object>" for _ in range(draw(st.integers(0, 3))))
    return (f"<annotation><filename>{draw(st.text(max_size=8))}</filename><size><width>"
            f"{draw(_NUMBER)}</width><height>{draw(_NUMBER)}</height></size>{objects}"
            "</annotation>").encode("utf-8", "surrogatepass")


@FUZZ_SETTINGS
@given(data=st.one_of(voc_documents(), mutated(harness.voc_seeds())))
def test_voc_parser_fails_only_with_one_line_errors(data):
    harness.check_voc(data)


@settings(FUZZ_SETTINGS, max_examples=60)
@given(data=mutated(harness.bundle_seeds()))
def test_bundle_loader_fails_only_with_one_line_errors(data):
    harness.check_bundle(data)


# -- crashes found, now regression tests ------------------------------------------------------
def _voc(tmp_path, width="100", box=("10", "5", "40", "50")) -> Path:
    xmin, ymin, xmax, ymax = box
    path = tmp_path / "a.xml"
    path.write_text(f"<annotation><filename>a.png</filename><size><width>{width}</width>"
                    f"<height>80</height></size><object><name>m</name><bndbox><xmin>{xmin}"
                    f"</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"
                    "</bndbox></object></annotation>")
    return path


def test_found_by_fuzzing_an_infinite_image_size_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="missing or invalid <filename>/<size>"):
        parse_voc(_voc(tmp_path, width="inf"))  # was: OverflowError


@pytest.mark.parametrize("box", [("1", "5", "1e400", "50"), ("nan", "5", "40", "50"),
                                 ("-inf", "5", "40", "50")])
@pytest.mark.parametrize("width", ["0", "100"])
def test_found_by_fuzzing_a_box_that_is_not_finite_is_left_out(tmp_path, width, box):
    annotation = parse_voc(_voc(tmp_path, width=width, box=box))  # was: OverflowError
    assert annotation.objects == []
    assert annotation.problems == ["object 0: <bndbox> coordinates must be finite numbers"]


def test_found_by_fuzzing_a_png_chunk_longer_than_the_file_is_refused():
    """A 200-byte PNG whose IDAT chunk declares 4 GB: OpenCV allocated it (3.5 GB peak)."""
    import struct
    import zlib

    from maskdet.errors import ImageReadError
    from maskdet.images import decode_image

    def chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body) if length is None else length) + kind + body + crc

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 12, 8, 0, 0, 0, 0))
    pixels = zlib.compress(b"\x00" + b"\x80" * 16)
    good = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(
        (b"\x00" + b"\x80" * 16) * 12)) + chunk(b"IEND", b"")
    assert decode_image(good).shape == (12, 16, 3)
    bad = (b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", pixels, length=0xFFFF0026)
           + chunk(b"IEND", b""))
    with pytest.raises(ImageReadError, match=r"corrupt png image \(its 'IDAT' chunk declares "
                                             r"4294901798 bytes, \d+ remain\)"):
        decode_image(bad)


def test_found_by_fuzzing_bytes_after_iend_are_not_decoded(monkeypatch):
    """A 150-byte PNG (its IHDR's CRC wrong) followed, after IEND, by bytes that declare a
    4 GB chunk: OpenCV's reader went on past IEND and allocated it (4.1 GB peak). Only the
    PNG up to its IEND reaches the decoder; it is refused in one line."""
    import cv2

    from maskdet import images
    from maskdet.errors import ImageReadError

    found = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000100000000c0800530000000000000000000000"
        "00315d0000f4c10000000049454e44ffffffffffffffff49454e44"
        + "ff" * 81 + "ae426082")
    end = found.index(b"IEND") + 8  # the first IEND chunk and its CRC
    given = []
    real = cv2.imdecode
    monkeypatch.setattr(images.cv2, "imdecode", lambda buf, flags: (
        given.append(len(buf)), real(buf, flags))[1])
    with pytest.raises(ImageReadError, match=r"^fuzz: corrupt or unsupported png image$"):
        images.decode_image(found, "fuzz")
    assert given == [end]


def test_an_entity_expansion_bomb_is_refused(tmp_path):
    levels = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 9))
    path = tmp_path / "laughs.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e0 "xxxxxxxxxx">{levels}]>'
                    "<annotation><filename>&e8;</filename></annotation>")
    with pytest.raises(DatasetError, match="unreadable XML"):
        parse_voc(path)


def _manifest_with(change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(harness.bundle_seed())) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    change(manifest)
    return b"\x00" + json.dumps(manifest).encode()


@pytest.mark.parametrize("change", [
    lambda m: m["params"].update(image_size="abc"),
    lambda m: m["params"].update(image_size=-3),
    lambda m: m.update(files={name: "x" for name in m["files"]}),
    lambda m: m["params"].update(image_size=10**400, C=-10**400),
], ids=["image_size text", "image_size negative", "file entry not an object",
        "numbers too large for a float"])
def test_found_by_fuzzing_a_bad_manifest_is_a_bundle_error(tmp_path, change):
    from maskdet.classifiers import load_classifier

    path = tmp_path / "m.maskdet"
    path.write_bytes(harness._with_manifest(_manifest_with(change)[1:]))
    with pytest.raises(BundleError):
        load_classifier(path)


def test_found_by_fuzzing_bad_deflate_data_is_a_bundle_error(tmp_path):
    """Damaged compressed bytes raised zlib.error out of zipfile (not a BadZipFile)."""
    from maskdet.classifiers import load_classifier

    bundle = bytearray(harness.bundle_seed())
    with zipfile.ZipFile(io.BytesIO(bytes(bundle))) as zf:
        info = zf.getinfo("manifest.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    bundle[start:start + 8] = b"\xff" * 8  # an invalid deflate block type
    path = tmp_path / "m.maskdet"
    path.write_bytes(bytes(bundle))
    with pytest.raises(BundleError, match="damaged bundle manifest"):
        load_classifier(path)


def test_found_by_fuzzing_a_parameter_name_with_a_line_break_stays_one_line(tmp_path):
    from maskdet.classifiers import load_classifier

    path = tmp_path / "m.maskdet"
    path.write_bytes(harness._with_manifest(_manifest_with(
        lambda m: m["params"].update({"r\ndom_state": 0}))[1:]))
    with pytest.raises(BundleError) as info:
        load_classifier(path)
    assert "\n" not in str(info.value) and "'r\\ndom_state'" in str(info.value)
