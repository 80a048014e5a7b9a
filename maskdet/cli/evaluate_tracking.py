"""``maskdet evaluate-tracking``: measure trackers on clips with exact ground truth, made from
labelled photos (or given as MOTChallenge-style clip folders)."""

from __future__ import annotations

import argparse
import contextlib
import tempfile

from ..data import read_unlabelled
from ..pretrained import load_model
from ..video.trackers import DEFAULT_TRACKER, available_trackers
from ..video.tracking_evaluation import clips_from, evaluate_tracking
from .options import (
    EXIT_OK,
    add_face_detector_option,
    add_model_option,
    positive_int,
    print_json,
    progress,
)


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evaluate-tracking", parents=[common], help="measure face tracking on clips",
        description="Make clips of labelled photos (a VOC folder) with known camera motion, "
                    "occlusions, dropped frames and brightness changes, run the video "
                    "pipeline on them with each tracker, and score the tracks against the "
                    "exact ground truth: IDF1, ID switches and fragmentation per face (py-"
                    "motmetrics), tracks per face and the error of the distinct people "
                    "counted per label. DATA may also be a clip folder or a folder of them.")
    p.add_argument("data", metavar="DATA",
                   help="a VOC folder of photos, a clip folder (seqinfo.ini, gt/gt.txt, a "
                        "video), or a folder of clip folders")
    add_model_option(p)
    add_face_detector_option(p)
    p.add_argument("--tracker", action="append", choices=available_trackers(), metavar="NAME",
                   help=f"a tracker to measure, once per tracker: {', '.join(available_trackers())}"
                        f" (default {DEFAULT_TRACKER})")
    p.add_argument("--every", type=positive_int, default=2, metavar="N",
                   help="run the face detector every N frames, as maskdet video (default 2)")
    p.add_argument("--held-out", action="store_true",
                   help="VOC data: make clips only of the photos the model never trained on")
    p.add_argument("--clips", type=positive_int, default=None, metavar="N",
                   help="VOC data: at most N clips, of photos chosen at random (default: all)")
    p.add_argument("--frames", type=positive_int, default=120, metavar="N",
                   help="VOC data: frames per clip (default 120, 4.8 s at 25 fps)")
    p.add_argument("--min-faces", type=positive_int, default=1, metavar="N",
                   help="VOC data: only photos with at least N faces of the model's labels")
    p.add_argument("--min-face", type=float, default=20.0, metavar="PX",
                   help="VOC data: faces smaller than PX in a frame are ignored there "
                        "(neither to find nor false; default 20)")
    p.add_argument("--unlabelled", metavar="JSON",
                   help="VOC data: faces the annotations leave out, ignored in the ground "
                        "truth ({photo: [[x, y, w, h], ...]}, photo without its suffix)")
    p.add_argument("--seed", type=int, default=0, help="VOC data: seed of the clips (0)")
    p.add_argument("--save-clips", metavar="DIR",
                   help="VOC data: keep the clips made in DIR (default: a temporary folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    classifier = load_model(args.model)
    trackers = args.tracker or [DEFAULT_TRACKER]
    unlabelled = read_unlabelled(args.unlabelled) if args.unlabelled else None
    with contextlib.ExitStack() as cleanup:
        out = args.save_clips or cleanup.enter_context(
            tempfile.TemporaryDirectory(prefix="maskdet-clips-"))
        clips = clips_from(
            args.data, out, held_out=classifier.settings_.sources if args.held_out else None,
            count=args.clips, seed=args.seed, frames=args.frames,
            classes=tuple(str(c) for c in classifier.classes_), min_face=args.min_face,
            min_faces=args.min_faces, unlabelled=unlabelled)
        results = evaluate_tracking(clips, trackers, model=classifier,
                                    face_detector=args.face_detector, every=args.every,
                                    progress=progress(args))
    frames = sum(c.frames for c in clips)
    if args.json:
        print_json({"data": args.data, "clips": len(clips), "frames": frames,
                    "every": args.every,
                    "trackers": {name: m.to_dict() for name, m in results.items()}})
        return EXIT_OK
    print(f"{args.data}: {len(clips)} clips, {frames} frames, detection every {args.every}")
    for name, metrics in results.items():
        print(f"\n{name}")
        for line in metrics.lines():
            print(f"  {line}")
    return EXIT_OK
