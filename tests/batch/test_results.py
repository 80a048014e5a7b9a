"""The results file: whole lines, resume after a cut line, not overwritten by accident,
Parquet."""

from __future__ import annotations

import json
import sys

import pytest

from maskdet.batch import ResultsWriter, read_results, write_parquet
from maskdet.batch.results import record_line, scan_results
from maskdet.errors import MaskdetError

RECORDS = [{"path": "a.jpg", "faces": [{"box": [1, 2, 3, 4], "label": "with_mask",
                                        "score": 0.9, "face_score": 0.8}]},
           {"path": "b.jpg", "faces": []},
           {"path": "c.jpg", "error": "c.jpg: empty file (0 bytes)"},
           {"path": "ü/d.jpg", "faces": []}]


def test_records_are_written_as_detect_json_prints_them(tmp_path):
    out = tmp_path / "r.jsonl"
    with ResultsWriter(out) as writer:
        assert writer.write(RECORDS[:2]) == 2
        writer.write(RECORDS[2:])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == RECORDS
    assert lines[3] == '{"path": "ü/d.jpg", "faces": []}'  # as print_json writes it
    assert list(read_results(out)) == RECORDS


def test_an_existing_file_is_continued_only_with_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text(record_line(RECORDS[0]))
    with pytest.raises(MaskdetError, match="r.jsonl: exists; --resume continues it"):
        ResultsWriter(out)
    with ResultsWriter(out, resume=True) as writer:
        assert writer.done == {"a.jpg"} and not writer.cut
        writer.write(RECORDS[1:2])
    assert [r["path"] for r in read_results(out)] == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize("tail", ['{"path": "c.jpg", "fa', '{"path": "c.jpg"}',
                                  "garbage\n"])
def test_a_half_written_last_line_is_cut_off_and_redone(tmp_path, tail):
    out = tmp_path / "r.jsonl"
    good = record_line(RECORDS[0]) + record_line(RECORDS[1])
    out.write_bytes(good.encode() + tail.encode())
    assert scan_results(out) == ({"a.jpg", "b.jpg"}, len(good.encode()))
    assert [r["path"] for r in read_results(out)] == ["a.jpg", "b.jpg"]
    with ResultsWriter(out, resume=True) as writer:
        assert writer.cut and writer.done == {"a.jpg", "b.jpg"}
        writer.write(RECORDS[2:3])
    assert list(read_results(out)) == RECORDS[:3]


def test_a_file_that_is_not_results_is_refused(tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("hello\nworld\n")
    with pytest.raises(MaskdetError, match="notes.txt: line 1 is not a maskdet result"):
        ResultsWriter(out, resume=True)
    assert out.read_text() == "hello\nworld\n"  # left as it was


def test_parquet_holds_every_record(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.jsonl"
    with ResultsWriter(out) as writer:
        writer.write(RECORDS)
    write_parquet(out, tmp_path / "r.parquet", batch_size=3)  # two row groups
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == ["path", "faces", "error"]
    rows = table.to_pylist()
    assert [r["path"] for r in rows] == [r["path"] for r in RECORDS]
    assert rows[0]["faces"] == RECORDS[0]["faces"] and rows[0]["error"] is None
    assert rows[2]["faces"] is None and rows[2]["error"] == RECORDS[2]["error"]


def test_without_pyarrow_parquet_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "r.jsonl"
    out.write_text(record_line(RECORDS[0]))
    with pytest.raises(MaskdetError, match=r'Parquet output needs pyarrow: pip install '
                                           r'"maskdet\[parquet\]"'):
        write_parquet(out, tmp_path / "r.parquet")
    assert not (tmp_path / "r.parquet").exists()


def test_a_folder_is_not_a_results_file(tmp_path):
    with pytest.raises(MaskdetError, match="is a folder, not a results file"):
        ResultsWriter(tmp_path, resume=True)
