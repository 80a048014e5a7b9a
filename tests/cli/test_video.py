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
    *lines, last = [json.loads(line) for line in out.splitlines()]  # stdout holds JSON only
    assert [d["frame"] for d in lines] == list(range(20))
    summary = last["summary"]  # the last line: the summary
    assert (summary["processed"], summary["frames_expected"], summary["ended_early"],
            summary["error"], summary["written"]) == (20, 20, False, None, None)
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
    assert len(out.splitlines()) == 20 + 1  # and the summary
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
    *records, summary = [json.loads(line) for line in lines]
    assert summary["summary"]["stopped"] is True
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
    *frames, last = [json.loads(line) for line in out.splitlines()]
    ids = {f["track"] for frame in frames for f in frame["faces"]}
    assert ids == {1, 2}  # two still faces, one id each, whichever tracker
    assert last["summary"]["tracks"]["with_mask"] == last["summary"]["tracks"]["without_mask"] == 1


def test_cli_unknown_tracker_is_a_usage_error(static_video, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(capsys, "video", static_video, "--tracker", "sort")
    assert exit_.value.code == 2 and "invalid choice: 'sort'" in capsys.readouterr().err


# -- issue 19: output places checked before work; a truncated file; no "done" after an error ---
@pytest.mark.parametrize("option, make, message", [
    ("--snapshot-dir", lambda tmp: (tmp / "f").write_text("x") and tmp / "f" / "snaps",
     "cannot create it"),
    ("--output", lambda tmp: tmp / "missing" / "out.mp4", "its folder"),
    ("--output", lambda tmp: tmp, "is a folder, not a file"),
    ("--output", lambda tmp: tmp / "out.gif", "unsupported video file extension"),
    ("--csv", lambda tmp: tmp / "missing" / "log.csv", "does not exist"),
])
def test_output_places_are_checked_before_the_model_loads(static_video, tmp_path, capsys,
                                                          monkeypatch, option, make, message):
    loaded = []
    monkeypatch.setattr("maskdet.cli.video.load_model", lambda m: loaded.append(m))
    target = make(tmp_path)
    code, out, err = run_cli(capsys, "video", static_video, option, target)
    assert code == 1 and out == "" and loaded == []
    assert len(err.splitlines()) == 1 and err.startswith("maskdet: error: ")
    assert str(target) in err and message in err


def _truncated_mjpg(path: Path, frames: int = 40) -> Path:
    patches = clip_faces("with_mask", "without_mask", seed=2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (CLIP_W, CLIP_H))
    for i in range(frames):
        writer.write(clip_frame(patches, [(10 + i, 40), (200, 100)]))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def test_a_truncated_file_says_it_ended_early(tmp_path, trained_model, capsys, blob_detector):
    """Row 8 of issue 19: half the frames processed, "done ... unreadable 0", no note."""
    video = _truncated_mjpg(tmp_path / "cut.avi")
    code, out, err = run_cli(capsys, "video", video, "--model", trained_model, "--json")
    assert code == 0, err
    *frames, last = [json.loads(line) for line in out.splitlines()]
    summary = last["summary"]
    assert 10 <= len(frames) < 40 and summary["processed"] == len(frames)
    assert summary["ended_early"] is True and summary["frames_expected"] == 40
    assert f"{video}: the file ended after frame {len(frames)} of the 40 it declares" in err
    assert (f"{video}: ended early (the file declares 40 frames; {len(frames)} could be read)"
            in err)
    assert ": done;" not in err


def test_after_an_error_the_summary_does_not_say_done(static_video, trained_model, capsys,
                                                      monkeypatch, blob_detector):
    from maskdet.video import streaming

    real = streaming.MaskStream._process
    calls = []

    def failing(self, *args):
        calls.append(1)
        if len(calls) == 13:
            raise RuntimeError("something broke at frame 13")
        return real(self, *args)

    monkeypatch.setattr(streaming.MaskStream, "_process", failing)
    with pytest.raises(RuntimeError):  # a bug, not a user error: it is raised
        run_cli(capsys, "video", static_video, "--model", trained_model)
    out = capsys.readouterr().out
    assert f"{static_video}: failed; processed 12 frames" in out
    assert "error: something broke at frame 13" in out and "done" not in out


def test_a_snapshot_that_cannot_be_written_is_a_warning(tmp_path, trained_model, capsys,
                                                       monkeypatch, blob_detector):
    def disk_full(path, image):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("maskdet.video.alerts.write_image", disk_full)
    patches = clip_faces("without_mask", seed=5)
    video = write_clip(tmp_path / "bare.avi", [clip_frame(patches, [(10, 10)])] * 25)
    code, out, err = run_cli(capsys, "video", video, "--model", trained_model, "--json",
                             "--alert-after", "1", "--snapshot-dir", tmp_path / "snaps")
    assert code == 0, err
    *frames, last = [json.loads(line) for line in out.splitlines()]
    assert len(frames) == 25 and last["summary"]["alerts"] == 1  # the alert fired; run went on
    assert "cannot write the snapshot (No space left on device)" in err
    assert [a["snapshot"] for f in frames for a in f.get("alerts", [])] == [None]
