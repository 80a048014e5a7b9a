"""Batch detection in this process (no Dask): the same records as ``maskdet detect --json``,
failures recorded and counted, resume after a crash; the command's batch options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from maskdet.batch import detect_files, iter_detections, read_results
from maskdet.batch.engine import default_chunk_size
from tests.helpers import run_cli


def test_records_equal_detect_json_and_failures_are_recorded(photos, bad_files, reference,
                                                             tmp_path, caplog):
    paths = [*photos[:4], bad_files[0], *photos[4:8], *bad_files[1:], tmp_path / "gone.jpg"]
    summary = detect_files(paths, out=tmp_path / "r.jsonl", chunk_size=3)
    records = list(read_results(tmp_path / "r.jsonl"))
    assert [r["path"] for r in records] == [str(p) for p in paths]  # each once, in order
    for record in records:
        if record["path"] in reference:
            assert record == reference[record["path"]]
    errors = {r["path"]: r["error"] for r in records if "error" in r}
    assert errors == {str(bad_files[0]): f"{bad_files[0]}: empty file (0 bytes)",
                      str(bad_files[1]): f"{bad_files[1]}: not an image (unrecognised "
                                         "file content)",
                      str(bad_files[2]): f"{bad_files[2]}: truncated PNG (no IEND chunk)",
                      str(tmp_path / "gone.jpg"): f"{tmp_path / 'gone.jpg'}: no such file"}
    assert (summary.files, summary.processed, summary.failed) == (len(paths), len(paths), 4)
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert logged == list(errors.values())  # each failure said once, in one line


def test_resume_after_a_crash_redoes_the_cut_line_and_the_rest(photos, reference, tmp_path):
    out = tmp_path / "r.jsonl"
    detect_files(photos[:5], out=out)
    data = out.read_bytes()
    out.write_bytes(data[:-25])  # the run died writing its fifth line
    summary = detect_files(photos[:9], out=out, resume=True)
    assert (summary.resumed, summary.processed) == (4, 5)
    records = list(read_results(out))
    assert [r["path"] for r in records] == [str(p) for p in photos[:9]]
    assert records == [reference[str(p)] for p in photos[:9]]


def test_iter_detections_streams_the_same_records(photos, reference):
    got = list(iter_detections([photos[0].parent], chunk_size=7))
    assert got == [reference[str(p)] for p in photos]


@pytest.mark.parametrize(("files", "threads", "size"), [(10, 2, 2), (1000, 2, 16), (3, 8, 1)])
def test_default_chunk_size(files, threads, size):
    assert default_chunk_size(files, threads) == size


# -- the command ----------------------------------------------------------------------------
def test_cli_out_and_resume(photos, bad_files, reference, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    code, stdout, err = run_cli(capsys, "detect", *photos[:3], bad_files[0], "--out", out)
    assert code == 1 and stdout == ""  # a file failed: status 1, as detect's
    assert f"maskdet: error: {bad_files[0]}: empty file" in err
    assert "4 files: 4 processed" in err and "1 failed" in err and f"results in {out}" in err
    code, stdout, err = run_cli(capsys, "detect", *photos[:5], "--out", out)
    assert code == 1 and "exists; --resume continues it" in err
    code, stdout, err = run_cli(capsys, "detect", *photos[:5], "--out", out, "--resume")
    assert code == 0, err
    assert "5 files: 2 processed" in err and f"3 already in {out}" in err
    paths = [r["path"] for r in read_results(out)]
    assert paths == [*map(str, photos[:3]), str(bad_files[0]), *map(str, photos[3:5])]


def test_cli_list_file(photos, reference, tmp_path, capsys):
    todo = tmp_path / "todo.txt"
    todo.write_text("".join(f"{p}\n" for p in photos[2:5]))
    code, _, err = run_cli(capsys, "detect", todo, "--out", tmp_path / "r.jsonl")
    assert code == 0, err
    assert list(read_results(tmp_path / "r.jsonl")) == [reference[str(p)] for p in photos[2:5]]


def test_cli_parquet(photos, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    code, _, err = run_cli(capsys, "detect", *photos[:2], "--out", tmp_path / "r.jsonl",
                           "--parquet", tmp_path / "r.parquet")
    assert code == 0, err
    rows = pq.read_table(tmp_path / "r.parquet").to_pylist()
    records = list(read_results(tmp_path / "r.jsonl"))
    assert [{"path": r["path"], "faces": r["faces"]} for r in rows] == records


@pytest.mark.parametrize(("options", "message"), [
    (["--resume"], "--resume needs --out FILE"),
    (["--parquet", "r.parquet"], "--parquet needs --out FILE"),
    (["--out", "r.jsonl", "--save-dir", "annotated"], "--save-dir is not available with"),
])
def test_cli_batch_usage_errors(photos, tmp_path, capsys, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "detect", photos[0], *options)
    assert code == 2 and err.startswith(f"maskdet detect: error: {message}")
    assert err.count("\n") == 1 and not (tmp_path / "r.jsonl").exists()


def test_cli_workers_and_scheduler_exclude_each_other(photos, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, "detect", photos[0], "--workers", "2", "--scheduler", "tcp://h:8786")
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_without_dask_workers_say_what_to_install(photos):
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from maskdet.cli import main\n"
            f"sys.exit(main(['detect', {str(photos[0])!r}, '--workers', '2']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ('maskdet: error: running on Dask needs dask.distributed: '
                           'pip install "maskdet[dask]"\n')


def test_plain_detect_is_unchanged_by_the_batch_options(photos, reference, capsys):
    code, out, err = run_cli(capsys, "detect", *photos[:2], "--json")
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [reference[str(p)]
                                                                for p in photos[:2]]


def test_a_device_or_pipe_is_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    summary = detect_files([tmp_path / "pipe.jpg", tmp_path / "zero.jpg"],
                           out=tmp_path / "r.jsonl")
    assert summary.failed == 2
    assert [r["error"] for r in read_results(tmp_path / "r.jsonl")] == [
        f"{tmp_path / 'pipe.jpg'}: not a regular file", f"{tmp_path / 'zero.jpg'}: not a "
                                                         "regular file"]


def test_importing_maskdet_imports_no_dask_pyarrow_or_fsspec():
    # scikit-learn imports pandas where it is installed, and pandas pyarrow: only that way.
    code = ("import sys, maskdet, maskdet.cli, maskdet.batch\n"
            "print(*[m in sys.modules for m in ('distributed', 'dask', 'fsspec')],\n"
            "      'pyarrow' not in sys.modules or 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False"] * 3 + ["True"]
