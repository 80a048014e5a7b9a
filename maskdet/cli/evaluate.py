"""``maskdet evaluate``: measure a model on labelled face crops, or end to end on photos."""

from __future__ import annotations

import argparse

from .. import batch
from ..data import read_unlabelled
from ..errors import MaskdetError
from ..evaluation import evaluate_model
from ..reports import write_classifier_report
from .options import (
    EXIT_OK,
    MIN_CONFIDENCE_HELP,
    MODEL_ARG_HELP,
    UsageError,
    add_batch_options,
    add_face_detector_option,
    label_map,
    min_confidence,
    non_negative_int,
    number_in,
    output_folder,
    print_json,
    progress,
    quiet_dask_logs,
)


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evaluate", parents=[common], help="measure a model on labelled data",
                       description="Accuracy, balanced accuracy, per-class metrics and "
                                   "confusion matrix of a model on class folders or VOC scenes; "
                                   "with --end-to-end, precision, recall and AP of face "
                                   "detection + the model on VOC photos.")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.add_argument("data", metavar="DATA")
    p.add_argument("--min-face", type=non_negative_int, default=0, metavar="PX",
                   help="VOC data: leave out faces smaller than PX (--end-to-end: ignore them "
                        "and the detections on them)")
    p.add_argument("--end-to-end", action="store_true",
                   help="VOC data: find the faces in the photos with a face detector and "
                        "classify them, instead of classifying the annotated boxes")
    add_face_detector_option(p, default=None, what="--end-to-end: face detector")
    p.add_argument("--iou", type=number_in(0, 1, low_open=True), default=None, metavar="T",
                   help="--end-to-end: overlap (IoU) a detection needs to match a face "
                        "(default 0.5)")
    p.add_argument("--min-confidence", type=min_confidence, default=None, metavar="C",
                   help="--end-to-end: " + MIN_CONFIDENCE_HELP)
    p.add_argument("--unlabelled", metavar="FILE", default=None,
                   help="--end-to-end: a JSON file of faces the annotations leave out "
                        "({photo: [[x, y, w, h], ...]}, photo without its suffix): detections "
                        "on them are neither hits nor false")
    p.add_argument("--held-out", action="store_true",
                   help="evaluate only on the part of DATA the model never trained on (as "
                        "recorded in the model)")
    p.add_argument("--map", action="append", metavar="FROM=TO",
                   help="rename a class of the data (FROM= drops it)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write a visual report into DIR (HTML, PNGs, metrics.json)")
    add_batch_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for option, value in (("--face-detector", args.face_detector), ("--iou", args.iou),
                          ("--min-confidence", args.min_confidence),
                          ("--unlabelled", args.unlabelled)):
        if value is not None and not args.end_to_end:
            raise MaskdetError(f"{option} applies to --end-to-end evaluation only")
    if args.end_to_end and args.report:
        raise MaskdetError("--report is not available with --end-to-end")
    if args.report:
        output_folder(args.report, "--report")
    batch_options = (("--out", args.out), ("--resume", args.resume),
                     ("--workers", args.workers), ("--scheduler", args.scheduler),
                     ("--chunk-size", args.chunk_size))
    for option, value in batch_options:
        if value and not args.end_to_end:
            raise MaskdetError(f"{option} applies to --end-to-end evaluation only")
    if args.resume and not args.out:
        raise UsageError("--resume needs --out FILE")
    settings = dict(min_face=args.min_face, label_map=label_map(args.map),
                    held_out=args.held_out, face_detector=args.face_detector or "yunet",
                    iou=0.5 if args.iou is None else args.iou,
                    min_confidence=args.min_confidence,
                    unlabelled=read_unlabelled(args.unlabelled) if args.unlabelled else None,
                    progress=progress(args))
    if any(value for _, value in batch_options):
        if args.workers or args.scheduler:
            quiet_dask_logs()
        with batch.open_client(args.workers, args.scheduler, args.connect_timeout) as client:
            result = batch.evaluate_model(args.model, args.data, client=client, out=args.out,
                                          resume=args.resume, chunk_size=args.chunk_size,
                                          **settings)
    else:
        result = evaluate_model(args.model, args.data, end_to_end=args.end_to_end,
                                **settings)
    report = None
    if args.report:
        report = str(write_classifier_report(args.report, result.classifier, result.crops,
                                             result.proba, result.metrics,
                                             title=f"{args.model} on {args.data}"))
    if args.json:
        print_json({"model": args.model, **result.to_dict(),
                    **({"report": report} if report else {})})
        return EXIT_OK
    print(result.format(args.model, args.data))
    if report:
        print(f"report: {report}")
    return EXIT_OK
