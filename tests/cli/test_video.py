"""The `maskdet video` command: JSON lines, output video and CSV, alert commands, a missing
display, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tests.helpers import CLIP_H, CLIP_W, clip_faces, clip_frame, count_frames, run_cli, write_clip


# -- the command --------------------------------------------------------------------------
def test_cli_json_lines_equal_frames_processed(static_video, trained_model, capsys,
                                               blob_detector):
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--json",
                             "--every", "1")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]  # stdout holds JSON only
    assert [d["frame"] for d in lines] == list(range(20))
    assert [d["time"] for d in lines] == pytest.approx([i / 10 for i in range(20)])
    assert all([f["track"] for f in d["faces"]] == [1, 2] for d in lines)
    assert all([f["label"] for f in d["faces"]] == ["with_mask", "without_mask"]
               for d in lines)
    assert "processed 20 frames" in err and "dropped 0" in err


def test_cli_output_file_csv_and_summary(static_video, trained_model, tmp_path, capsys,
                                         blob_detector):
    out_path, csv_path = tmp_path / "annotated.mp4", tmp_path / "log.csv"
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model,
                             "--output", out_path, "--csv", csv_path)
    assert code == 0, err
    assert count_frames(out_path) == 20
    cap = cv2.VideoCapture(str(out_path))
    size = (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    assert size == (CLIP_W, CLIP_H)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    cap.release()
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 21 and rows[1].startswith("0,0.000,2,1,1,1,1,0.5000,")
    assert "processed 20 frames" in out
    assert "distinct people (confirmed tracks): with_mask 1, without_mask 1" in out
    assert f"wrote {out_path} (20 frames)" in out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_on_violation_runs_the_command_once_per_track(tmp_path, trained_model, capsys,
                                                         blob_detector):
    patches = clip_faces("without_mask", "with_mask", "without_mask", seed=5)
    frame = clip_frame(patches, [(10, 10), (120, 10), (220, 130)])
    video = write_clip(tmp_path / "three.avi", [frame] * 25)
    record = tmp_path / "alerts.txt"
    code, out, err = run_cli(capsys, "video", video, "--model", trained_model, "--json",
                             "--alert-after", "1", "--snapshot-dir", tmp_path / "snaps",
                             "--on-violation", f"echo {{track}} $MASKDET_LABEL {{snapshot}} "
                                               f">> {record}")
    assert code == 0, err
    lines = sorted(record.read_text().splitlines())
    assert [line.split()[:2] for line in lines] == [["1", "without_mask"],
                                                    ["3", "without_mask"]]
    assert all(Path(line.split()[2]).is_file() for line in lines)
    alerted = [d for d in map(json.loads, out.splitlines()) if "alerts" in d]
    assert [d["frame"] for d in alerted] == [10]
    assert sorted(a["track"] for a in alerted[0]["alerts"]) == [1, 3]


def test_cli_show_without_a_display(static_video, trained_model, capsys, monkeypatch,
                                    blob_detector):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--show")
    assert code == 1
    assert err.splitlines() == ["maskdet: error: --show: cannot open a window (no display "
                                "(DISPLAY is not set)); write the video with --output FILE "
                                "instead"]
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model, "--show",
                             "--json")
    assert code == 0
    assert len(out.splitlines()) == 20
    assert "going on without it" in err


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_leaves_a_playable_file(tmp_path, trained_model, sig, status):
    patches = clip_faces("with_mask", "without_mask", seed=6)
    frames = [clip_frame(patches, [(10 + i % 50, 40), (200, 120 - i % 40)]) for i in range(600)]
    video = write_clip(tmp_path / "long.avi", frames, fps=25)
    out_path = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskdet", "video", str(video), "--model", str(trained_model),
         "--detector", "haar", "--json", "--output", str(out_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [proc.stdout.readline() for _ in range(5)]
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    lines += rest.splitlines()
    records = [json.loads(line) for line in lines]
    assert proc.returncode == status, err
    assert 5 <= len(records) < 600  # stopped early...
    assert [r["frame"] for r in records] == list(range(len(records)))  # ...losing nothing
    assert count_frames(out_path) == len(records)
    assert f"processed {len(records)} frames" in err and "stopped early" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_snapshot_dir_that_is_a_file_is_one_line(static_video, trained_model, tmp_path,
                                                   capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file")
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model,
                             "--snapshot-dir", taken, "--alert-after", "0")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"maskdet: error: --snapshot-dir {taken}: exists and is not a folder"]


@pytest.mark.parametrize("tracker", ["iou", "kalman"])
def test_cli_tracker_by_name(static_video, trained_model, capsys, blob_detector, tracker):
    code, out, err = run_cli(capsys, "video", static_video, "--model", trained_model,
                             "--tracker", tracker, "--json")
    assert code == 0, err
    ids = {f["track"] for line in out.splitlines() for f in json.loads(line)["faces"]}
    assert ids == {1, 2}  # two still faces, one id each, whichever tracker


def test_cli_unknown_tracker_is_a_usage_error(static_video, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(capsys, "video", static_video, "--tracker", "sort")
    assert exit_.value.code == 2 and "invalid choice: 'sort'" in capsys.readouterr().err
