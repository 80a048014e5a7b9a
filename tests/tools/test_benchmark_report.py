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


def _class(precision, recall, at=None, ap=0.9):
    at = at or {p: {"recall": recall, "threshold": None} for p in ("0.8", "0.85", "0.9")}
    return {"precision": precision, "recall": recall, "ap": ap, "recall_at_precision": at}


def test_bundled_section_shows_the_operating_point_and_the_whole_curve():
    from benchmarks.report import bundled_section

    curve = {"0.8": {"recall": 0.9, "threshold": 0.41}, "0.85": {"recall": 0.864,
             "threshold": 0.7}, "0.9": {"recall": 0.5, "threshold": None}}
    held_out = {
        "mask_faces_test": {"n": 818, "accuracy": 0.97, "accuracy_without_near_copies": 0.96,
                            "n_without_near_copies": 736},
        "mask_scenes_test_crops": {"n": 296, "balanced_accuracy": 0.99, "per_class": {
            "with_mask": {"recall": 0.99}, "without_mask": {"recall": 1.0}}},
        "mask_scenes_test_end_to_end": {"images": 128, "mean_ap": 0.8, "per_class": {
            "without_mask": _class(0.905, 0.864), "with_mask": _class(0.96, 0.84)}},
        "mask_scenes_test_end_to_end_all_faces": {"images": 128, "mean_ap": 0.87, "per_class": {
            "without_mask": _class(0.833, 0.909, curve, ap=0.88),
            "with_mask": _class(0.96, 0.84)}},
    }
    bundled = {"cnn": {"held_out": held_out, "bytes": 480_000, "image_size": 64, "margin": 0.2,
                       "ms_one": 2.0, "ms_batch": 0.8,
                       "operating_point": {"without_mask": 0.7234}}}
    text = "\n".join(bundled_section(bundled))
    rows = [line for line in text.splitlines() if line.startswith("| cnn")]
    assert len(rows) == 2
    assert "without_mask >= 0.723" in rows[0] and "0.905 / 0.864" in rows[0]
    assert rows[1].split(" | ")[1:] == ["0.833 / 0.909", "0.900 (>= 0.41)", "0.864 (>= 0.70)",
                                        "0.500", "0.880", "0.870 |"]


def test_sections_of_other_benchmarks_survive_a_regeneration(tmp_path):
    from benchmarks.sections import read_sections, with_sections, write_section

    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nold body\n")
    write_section(path, "tracking", "## Tracking\n\n| a |\n")
    write_section(path, "reliability", "## Reliability\n")
    write_section(path, "tracking", "## Tracking\n\n| b |\n")  # replaced in its place
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nold body\n")
    assert read_sections(text) == {"tracking": "## Tracking\n\n| b |\n",
                                   "reliability": "## Reliability\n"}
    assert text.index("## Tracking") < text.index("## Reliability")
    regenerated = with_sections("# Benchmarks\n\nnew body\n", read_sections(text))
    assert "old body" not in regenerated and "new body" in regenerated
    assert read_sections(regenerated) == read_sections(text)
