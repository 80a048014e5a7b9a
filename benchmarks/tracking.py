"""Tracking: today's tracker, the established ones and maskdet's Kalman tracker side by side on
the same generated clips, and what each costs in frame rate; written to the ``tracking``
section of BENCHMARKS.md (kept when ``python -m benchmarks`` regenerates the rest).

Run (about 10 minutes on 2 cores):

    MASKDET_TEST_SCENES=../shared/datasets/mask-scenes \\
    MASKDET_YUNET_MODEL=../shared/models/face_detection_yunet_2026may.onnx \\
    python -m benchmarks.tracking [--clips 24] [--photos held-out|training] [--out BENCHMARKS.md]

The clips: 120 frames at 640x480 and 25 fps of photos of mask-scenes with at least two faces
of the model's labels, each filmed by a camera that pans, zooms and shakes, with a passer-by
bar crossing, dropped frames and brightness changes (``maskdet.video.clips``); faces under
20 px, mostly hidden, labelled ``mask_weared_incorrect`` or left out by the annotations
(``unlabelled_faces.json``) are ignored. The video pipeline
is ``maskdet video``'s: YuNet and the bundled default model, detection every 2nd frame.
``--photos training`` makes the clips of the training photos instead (for tuning).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.sections import write_section

#: What is compared: the name shown, and the tracker (a registry name, or a factory).
TRACKERS = {
    "iou (maskdet's first)": "iou",
    "bytetrack (Roboflow trackers)": "bytetrack",
    "norfair": "norfair",
    "kalman, motion only": lambda: _kalman(low_score=None, appearance=None),
    "kalman + doubtful detections": lambda: _kalman(appearance=None),
    "kalman + re-identification (default)": "kalman",
}
#: The trackers whose frame rate is measured, alternately, in full runs (no shared work).
FPS_TRACKERS = {"iou": "iou", "kalman (default)": "kalman", "bytetrack": "bytetrack",
                "norfair": "norfair"}


def _kalman(**params):
    from maskdet.video.kalman_tracker import KalmanTracker

    return KalmanTracker(**params)


#: Faces the held-out photos' annotations leave out, reviewed by eye (see its "about").
UNLABELLED_FACES = Path(__file__).with_name("unlabelled_faces.json")
#: Face scores from which the detector ceiling is given: YuNet's own threshold, the
#: default tracker's floor for doubtful detections, and lower.
CEILING_FLOORS = (0.75, 0.6, 0.45, 0.3)


def make_clips(scenes: Path, photos: str, count: int, out: Path, classes,
               reviewed: bool = True):
    """The clips; with ``reviewed``, the faces of UNLABELLED_FACES are ignored in their
    ground truth (else a track on one counts as a false one)."""
    from maskdet.data import load_dataset, read_unlabelled, split_dataset
    from maskdet.video.clips import make_clips as make

    # The bundled models' split of mask-scenes (settings.sources): 30 % held out, seed 0.
    split = split_dataset(load_dataset(scenes), 0.3, 0.0, 0)
    part = split.test if photos == "held-out" else split.train
    unlabelled = read_unlabelled(UNLABELLED_FACES) if reviewed else None
    return make(part, out, count=count, seed=0, classes=classes, min_faces=2,
                unlabelled=unlabelled)


def detector_ceiling(clips, floors=CEILING_FLOORS) -> dict[float, float]:
    """Per face score floor, the share of the ground truth's faces (per frame, every frame)
    that YuNet finds at IoU >= 0.5, as the video pipeline runs it (no upscaling). A tracker
    that shows only detected faces cannot reach an identity recall above it, so IDF1 is at
    most 2R / (1 + R) even with no false track and no identity error."""
    import numpy as np

    from maskdet.detections import box_iou
    from maskdet.evaluation.tracking import read_mot
    from maskdet.faces import create_face_detector
    from maskdet.video.io import VideoSource

    detector = create_face_detector("yunet", score_threshold=min(floors), upscale_to=0)
    found = dict.fromkeys(floors, 0)
    total = 0
    for clip in clips:
        truth: dict[int, list] = {}
        for row in read_mot(clip.truth, clip.labels):
            if not row.ignored:
                truth.setdefault(row.frame, []).append(row.box)
        with VideoSource(clip.video).open() as video:
            for sf in video.frames():
                faces = np.array(truth.get(sf.index + 1, ()), np.float64).reshape(-1, 4)
                if not len(faces):
                    continue
                total += len(faces)
                dets = detector.detect(sf.image)
                for floor in floors:
                    boxes = dets.boxes[dets.face_scores >= floor] if len(dets) else []
                    if len(boxes):
                        found[floor] += int((box_iou(faces, np.asarray(boxes, np.float64))
                                             .max(axis=1) >= 0.5).sum())
    return {floor: n / max(total, 1) for floor, n in found.items()}


def frame_rates(clips, rounds: int = 3) -> dict[str, list[float]]:
    """Processed frames per second of the whole pipeline (decode, YuNet, track, classify)
    per tracker and per (round, clip): the trackers run one after the other on each clip, so
    that a shared machine's load changes between clips, not between the trackers compared."""
    import maskdet

    rates: dict[str, list[float]] = {name: [] for name in FPS_TRACKERS}
    classifier = maskdet.load_model(None)
    for _ in range(rounds):
        for clip in clips:
            for name, tracker in FPS_TRACKERS.items():
                run = maskdet.stream(clip.video, model=classifier, face_detector="yunet",
                                     tracker=tracker, every=2)
                start = time.perf_counter()
                frames = sum(1 for _ in run)
                rates[name].append(frames / (time.perf_counter() - start))
    return rates


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.1%}"


def report(metrics, rates, clips, photos: str, command: str, fps_clips: int = 0,
           ceiling: dict[float, float] | None = None, unreviewed=None) -> str:
    frames = sum(c.frames for c in clips)
    labels = sorted({label for m in metrics.values() for label in m.true_people})
    true = next(iter(metrics.values())).true_people
    lines = [
        "## Tracking",
        "",
        f"{len(clips)} generated clips of {photos} mask-scenes photos with two or more faces "
        f"({frames} frames at 640x480, 25 fps: pan, zoom, shake, a passer-by bar, dropped "
        f"frames, brightness changes; `maskdet.video.clips`), "
        f"{next(iter(metrics.values())).gt_tracks} labelled faces "
        f"({', '.join(f'{label} {true.get(label, 0)}' for label in labels)}). YuNet and the "
        "bundled default model, detection every 2nd frame, as `maskdet video` runs; scored "
        "with py-motmetrics at IoU 0.5 against the exact ground-truth tracks (faces under "
        "20 px, mostly hidden or `mask_weared_incorrect`, and faces the annotations leave "
        "out, ignored). Every tracker sees the "
        "same detections and classifications. Counted: the distinct people of the summary "
        "(confirmed tracks), error per label against the true number.",
        "",
        "| tracker | IDF1 | IDP | IDR | MOTA | ID switches / face | fragmentations / face | "
        "tracks / face | " + " | ".join(f"{label} counted (error)" for label in labels) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(labels),
    ]
    for name, m in metrics.items():
        errors = m.count_errors
        counts = " | ".join(f"{m.counted_people.get(label, 0)} ({_pct(errors.get(label))})"
                            for label in labels)
        lines.append(f"| {name} | {m.idf1:.3f} | {m.idp:.3f} | {m.idr:.3f} | {m.mota:.3f} | "
                     f"{m.switches_per_track:.3f} | {m.fragmentations_per_track:.3f} | "
                     f"{m.tracks_per_face:.3f} | {counts} |")
    if unreviewed is not None:
        lines += ["", f"Against the photos' annotations alone (a track on one of the "
                  f"{_unlabelled_count(clips)} faces they leave out counting as false), the "
                  f"default scores IDF1 {unreviewed.idf1:.3f} (IDP {unreviewed.idp:.3f}, IDR "
                  f"{unreviewed.idr:.3f}), ID switches {unreviewed.switches_per_track:.3f} per "
                  f"face, {unreviewed.tracks_per_face:.3f} tracks per face. The table ignores "
                  "those faces (`benchmarks/unlabelled_faces.json`, reviewed by eye), as "
                  "MOTChallenge ignores its distractors."]
    if ceiling:
        lines += ["", "What the face detector allows: the share of the labelled faces, frame by "
                  "frame, that YuNet finds (IoU >= 0.5, every frame, no upscaling, as the video "
                  "pipeline runs it), and the IDF1 a tracker that shows only detected faces "
                  "could reach with no false track and no identity error, 2R / (1 + R).", "",
                  "| face score from | faces found per frame (R) | IDF1 at most |", "|---|---|---|"]
        lines += [f"| {floor:g} | {r:.3f} | {2 * r / (1 + r):.3f} |" for floor, r in
                  ceiling.items()]
    lines += ["", f"Measured with `{command}`.", ""]
    if rates:
        pairs = len(rates["iou"])
        lines += [
            "Frame rate of the whole pipeline (decode, YuNet, track, classify; no output "
            f"video) on the first {fps_clips} clips, {pairs // max(fps_clips, 1)} rounds: "
            "each clip run with each tracker in turn, on a shared 2-core machine. Median "
            "processed frames per second over the runs, and the median of each run's ratio to "
            "the iou run of the same clip and round (the cost of the tracker).",
            "",
            "| tracker | median fps | median ratio to iou | ratios (min-max) |",
            "|---|---|---|---|",
        ]
        for name, values in rates.items():
            ratios = [v / b for v, b in zip(values, rates["iou"])]
            lines.append(f"| {name} | {statistics.median(values):.1f} | "
                         f"{statistics.median(ratios) - 1:+.1%} | "
                         f"{min(ratios) - 1:+.0%} to {max(ratios) - 1:+.0%} |")
        lines.append("")
    return "\n".join(lines)


def _unlabelled_count(clips) -> int:
    from maskdet.data import read_unlabelled

    faces = read_unlabelled(UNLABELLED_FACES)
    return sum(len(faces.get(clip.folder.name, ())) for clip in clips)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tracking",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default=os.environ.get("MASKDET_TEST_SCENES"))
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--photos", choices=("held-out", "training"), default="held-out")
    parser.add_argument("--fps-clips", type=int, default=6,
                        help="clips the frame rate is measured on (0: not measured)")
    parser.add_argument("--out", default="BENCHMARKS.md",
                        help="the file whose tracking section is written ('-': print only)")
    args = parser.parse_args(argv)
    if not args.scenes or not Path(args.scenes).is_dir():
        parser.error("set MASKDET_TEST_SCENES or --scenes to the mask-scenes folder")
    logging.getLogger("maskdet").setLevel(logging.ERROR)
    import maskdet
    from maskdet.video.tracking_evaluation import evaluate_tracking

    classes = tuple(str(c) for c in maskdet.load_model(None).classes_)
    with tempfile.TemporaryDirectory(prefix="maskdet-tracking-") as tmp:
        clips = make_clips(Path(args.scenes), args.photos, args.clips, Path(tmp), classes)
        start = time.perf_counter()
        metrics = evaluate_tracking(clips, TRACKERS, face_detector="yunet", every=2,
                                    progress=sys.stderr.isatty())
        print(f"tracking measured in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        unreviewed = None
        if _unlabelled_count(clips):
            plain = make_clips(Path(args.scenes), args.photos, args.clips,
                               Path(tmp) / "unreviewed", classes, reviewed=False)
            unreviewed = evaluate_tracking(plain, ["kalman"], face_detector="yunet",
                                           every=2)["kalman"]
        ceiling = detector_ceiling(clips)
        rates = frame_rates(clips[:args.fps_clips]) if args.fps_clips else {}
    command = "python -m benchmarks.tracking " + " ".join(argv if argv is not None
                                                          else sys.argv[1:])
    markdown = report(metrics, rates, clips, args.photos, command.strip(), args.fps_clips,
                      ceiling, unreviewed)
    print(markdown)
    if args.out != "-":
        write_section(args.out, "tracking", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
