"""The reliability section of BENCHMARKS.md (``benchmarks/reliability.py``): rendered from the
measured JSON, written between its markers, the rest of the file left alone."""

from __future__ import annotations

import json

from benchmarks import reliability
from benchmarks.sections import read_sections


def _run(seed, accuracy, digest, seconds, options=()):
    return {"seed": seed, "options": list(options), "accuracy": accuracy,
            "balanced_accuracy": accuracy, "fit_seconds": seconds, "wall_seconds": seconds,
            "weights_sha256": digest}


def test_the_section_is_written_from_the_measurements(tmp_path, monkeypatch):
    monkeypatch.setattr(reliability, "RESULTS", tmp_path)
    common = {"machine": "2 cores", "measured": "2026-12-01",
              "command": "maskdet train FACES --backend cnn --test-size 0.2 --seed S"}
    runs = [_run(0, 0.98, "aa", 100), _run(1, 0.97, "bb", 100), _run(2, 0.96, "cc", 100),
            _run(0, 0.98, "aa", 110), _run(0, 0.99, "dd", 90, ["-p", "deterministic=false"])]
    (tmp_path / "reliability-training.json").write_text(json.dumps({**common, "runs": runs}))
    cost = [_run(0, 0.98, "aa", 120), _run(0, 0.99, "dd", 100, ["-p", "x"]),
            _run(0, 0.98, "aa", 140), _run(0, 0.99, "ee", 100, ["-p", "x"])]
    (tmp_path / "reliability-training-cost.json").write_text(json.dumps({**common,
                                                                          "runs": cost}))
    bench = tmp_path / "BENCHMARKS.md"
    bench.write_text("# Benchmarks\n\nGenerated text.\n")
    reliability.main(["write", "--out", str(bench)])
    text = bench.read_text()
    assert text.startswith("# Benchmarks\n\nGenerated text.\n")
    section = read_sections(text)["reliability"]
    assert "| 0 | 2 | 0.9800 | 0.9800 | 110 | `aa` |" in section
    assert "* Seed 0 run 2 times: the same weights, byte for byte" in section
    assert "accuracy 0.9700 mean, 0.0100 standard deviation, 0.9600-0.9800 range" in section
    assert "130 s deterministic" not in section and "120, 140 s deterministic" in section
    assert "median ratio x1.30" in section
    assert section.count("| `tests/") == len(reliability.INPUTS_TRIED) == 9
    assert "### Peak memory" not in section  # not measured here: left out
