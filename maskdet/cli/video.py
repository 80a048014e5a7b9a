"""``maskdet video``: track faces and masks in a video file, a camera or a network stream."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile

from tqdm.auto import tqdm

from ..errors import MaskdetError
from ..pretrained import load_model
from ..video import (
    DEFAULT_TRACKER,
    AlertCommand,
    Display,
    MaskStream,
    VideoWriter,
    available_trackers,
    display_problem,
    stop_on_signals,
    stream,
)
from .options import (
    EXIT_OK,
    add_face_detector_option,
    add_face_filter_options,
    add_model_option,
    non_negative_int,
    non_negative_number,
    number_in,
    output_file,
    output_folder,
    positive_int,
    positive_number,
    print_json,
    progress,
)

logger = logging.getLogger("maskdet")

#: Seconds a face must stay unmasked before an alert, when alerts are asked for.
DEFAULT_ALERT_AFTER = 3.0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("video", parents=[common], help="detect masks in a video, camera or stream",
                       description="Track faces and masks in a video file, a camera or a "
                                   "network stream; Ctrl-C finishes the output and the summary.")
    p.add_argument("source", metavar="SOURCE",
                   help="camera index (0), video file, or stream URL (rtsp://, http://, ...)")
    add_model_option(p)
    add_face_detector_option(p)
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the annotated video here (.mp4, .avi, .mkv, .mov)")
    p.add_argument("--output-fps", type=positive_number, metavar="FPS",
                   help="frame rate of the output video (default: the source's, else 25)")
    p.add_argument("--show", action="store_true", help="show the annotated video in a window")
    p.add_argument("--every", type=positive_int, default=2, metavar="N",
                   help="run the face detector every N frames, tracking in between (default 2)")
    p.add_argument("--detect-scale", type=number_in(0.05, 4), default=1.0, metavar="S",
                   help="detect faces on the frame resized by S (e.g. 0.5: faster, misses "
                        "small faces; default 1)")
    p.add_argument("--tracker", default=DEFAULT_TRACKER, choices=available_trackers(),
                   metavar="NAME",
                   help=f"how faces are followed: {', '.join(available_trackers())} (default "
                        f"{DEFAULT_TRACKER}; bytetrack and norfair need maskdet[tracking])")
    add_face_filter_options(p, what="leave out tracked faces")
    p.add_argument("--csv", metavar="FILE", help="log per-frame counts and compliance to FILE")
    p.add_argument("--on-violation", metavar="CMD",
                   help="run CMD (shell) once per face unmasked for --alert-after seconds; "
                        "{track}, {label}, {snapshot}, {duration}, {time}, {frame} are filled in")
    p.add_argument("--alert-after", type=non_negative_number, default=None, metavar="SECONDS",
                   help=f"seconds a face must stay unmasked before an alert (default "
                        f"{DEFAULT_ALERT_AFTER:g})")
    p.add_argument("--snapshot-dir", metavar="DIR",
                   help="folder for alert snapshots (default: a new temporary folder)")
    p.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                   help="read as a live source (newest frame only, reconnects) or not; "
                        "default: cameras and URLs are live, files are not")
    p.add_argument("--max-reconnects", type=non_negative_int, default=5, metavar="N",
                   help="attempts to reopen a lost live source (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # FFmpeg's own log lines ("moov atom not found", "Connection refused") would come on top
    # of maskdet's one-line errors: quiet it, unless the user set the level.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    # Every place to write is checked (and a folder made) before the model loads.
    if args.snapshot_dir:
        output_folder(args.snapshot_dir, "--snapshot-dir")
    if args.csv:
        output_file(args.csv, "--csv")
    writer = None
    if args.output:
        writer = VideoWriter(output_file(args.output, "--output"), fps=args.output_fps or 25.0)
    clf = load_model(args.model)
    display = _display(args)
    with contextlib.ExitStack() as cleanup, stop_on_signals() as stop:
        alert_command, snapshot_dir = _alerts(args, cleanup)
        alert_after = args.alert_after
        if alert_after is None and (alert_command is not None or args.snapshot_dir):
            alert_after = DEFAULT_ALERT_AFTER
        frames = stream(
            args.source, model=clf, face_detector=args.face_detector, every=args.every,
            detect_scale=args.detect_scale, tracker=args.tracker, min_face=args.min_face,
            min_face_score=args.min_face_score, min_confidence=args.min_confidence,
            annotate=bool(args.output or display), alert_after=alert_after,
            on_violation=alert_command, snapshot_dir=snapshot_dir, csv_log=args.csv,
            live=args.live, max_reconnects=args.max_reconnects, stop=stop)
        cleanup.callback(frames.close)
        if writer is not None and not args.output_fps:
            writer.fps = frames.source.fps or 25.0
        if display is not None:
            cleanup.callback(display.close)
        try:
            _process(args, frames, writer, display)
        except Exception as exc:  # the summary must not say "done" after it
            frames.summary.error = frames.summary.error or (
                str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise
        finally:
            written = writer.close() if writer is not None else None
            lines = frames.summary.lines()
            if written is not None:
                lines.append(f"wrote {written} ({writer.frames} frames)")
            if args.json:  # stdout holds nothing but JSON: the summary is its last line
                print_json({"summary": {**frames.summary.to_dict(),
                                        "written": None if written is None else str(written)}})
            for line in lines:
                if args.json:
                    logger.info("%s", line)
                else:
                    print(line)
    return 128 + stop.signum if stop.signum is not None else EXIT_OK


def _display(args: argparse.Namespace) -> Display | None:
    """The window of ``--show``, or None; without a display, a warning when the video goes
    somewhere else too, else an error."""
    if not args.show:
        return None
    problem = display_problem()
    if problem is None:
        return Display(f"maskdet: {args.source}")
    if args.output or args.json or args.csv:
        logger.warning("--show: cannot open a window (%s); going on without it", problem)
        return None
    raise MaskdetError(f"--show: cannot open a window ({problem}); "
                       "write the video with --output FILE instead")


def _alerts(args: argparse.Namespace, cleanup: contextlib.ExitStack
            ) -> tuple[AlertCommand | None, str | None]:
    """The ``--on-violation`` command and the snapshot folder (a new temporary one, removed
    at the end if no alert used it, when none is given)."""
    command = AlertCommand(args.on_violation) if args.on_violation else None
    snapshot_dir = args.snapshot_dir
    if command is not None:
        cleanup.callback(command.close)  # waits for the commands still running
        if snapshot_dir is None:
            snapshot_dir = tempfile.mkdtemp(prefix="maskdet-alerts-")
            logger.info("alert snapshots go to %s", snapshot_dir)

            def remove_if_empty(folder: str = snapshot_dir) -> None:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)  # only if empty: no alert, nothing to keep

            cleanup.callback(remove_if_empty)
    return command, snapshot_dir


def _process(args: argparse.Namespace, frames: MaskStream, writer: VideoWriter | None,
             display: Display | None) -> None:
    """Every frame of the stream: to the video file, the window and stdout."""
    results = iter(frames)
    bar = tqdm(total=frames.source.frame_count, desc="video", unit="frame",
               disable=not progress(args) or args.json)
    try:
        for result in results:
            if writer is not None:
                writer.write(result.annotated)
            if display is not None and not display.show(result.annotated):
                logger.info("window closed: stopping")
                break
            if args.json:
                print_json(result.to_dict())
            for alert in result.alerts if not args.json else ():
                print(f"alert: track {alert.track_id} {alert.label} for "
                      f"{alert.duration:.1f} s at frame {alert.frame}"
                      + (f"; snapshot {alert.snapshot}" if alert.snapshot else ""))
            bar.update()
    finally:
        bar.close()
        results.close()  # type: ignore[attr-defined]  # finishes the summary
