"""The table and parsing helpers of the benchmark report (``benchmarks/report.py``)."""

from __future__ import annotations

import math

import pytest

from benchmarks.report import benchmark_medians, fmt, fmt_bytes, fmt_ms, markdown_table


@pytest.mark.parametrize("value, expected", [
    (0.12345, "0.123"), (1.0, "1.000"), (float("nan"), "–"), (None, "–"), (3, "3"),
    ("text", "text"),
])
def test_fmt(value, expected):
    assert fmt(value) == expected


@pytest.mark.parametrize("ms, expected", [
    (0.01234, "0.012"), (5.678, "5.7"), (123.4, "123"), (None, "–"), (math.nan, "–"),
])
def test_fmt_ms(ms, expected):
    assert fmt_ms(ms) == expected


@pytest.mark.parametrize("n, expected", [
    (512, "512 B"), (2048, "2.0 KB"), (3 * 1024 * 1024, "3.0 MB"), (None, "–"),
])
def test_fmt_bytes(n, expected):
    assert fmt_bytes(n) == expected


def test_markdown_table():
    text = markdown_table(["backend", "accuracy"], [["a", 0.5], ["b", float("nan")]])
    assert text.splitlines() == [
        "| backend | accuracy |",
        "| :-- | --: |",
        "| a | 0.500 |",
        "| b | – |",
    ]
    with pytest.raises(ValueError, match="cells"):
        markdown_table(["a", "b"], [[1]])


def test_benchmark_medians_reads_pytest_benchmark_json():
    def bench(name, params, median):
        return {"name": name, "params": params, "stats": {"median": median}}

    data = {"benchmarks": [
        bench("test_classify[cnn-small-64]", {"classifier": "cnn-small", "batch": 64}, 0.02),
        bench("test_face_detection_per_frame[yunet-size0]",
              {"name": "yunet", "size": [640, 480]}, 0.005),
        bench("test_whole_frame[hog-svm-rbf]", {"classifier": "hog-svm-rbf"}, 0.03),
        bench("test_something_else", {}, 1.0),
    ]}
    assert benchmark_medians(data) == {
        ("classify", "cnn-small", 64): 0.02,
        ("detect", "yunet", "640x480"): 0.005,
        ("frame", "hog-svm-rbf"): 0.03,
    }
