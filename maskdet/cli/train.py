"""``maskdet train``: train a classifier on labelled faces, print its held-out metrics."""

from __future__ import annotations

import argparse

from ..evaluation import format_metrics
from ..faces import create_face_detector
from ..reports import write_classifier_report
from ..training import train
from .options import (
    EXIT_OK,
    key_values,
    label_map,
    non_negative_int,
    output_file,
    output_folder,
    parse_value,
    print_json,
    progress,
    split_fraction,
)


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", parents=[common], help="train a mask classifier",
                       description="Train a classifier on labelled faces; print held-out metrics.")
    p.add_argument("data", nargs="+", metavar="DATA",
                   help="dataset folder(s): ROOT/<class>/<image> or a VOC folder")
    p.add_argument("--backend", default="hog-svm", help="classifier backend (default hog-svm)")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model bundle to write")
    p.add_argument("--param", "-p", action="append", metavar="KEY=VALUE",
                   help="backend hyper-parameter, e.g. -p C=10 -p kernel=linear")
    p.add_argument("--test-size", type=split_fraction, default=0.2,
                   help="fraction held out for testing (default 0.2; 0 trains on all)")
    p.add_argument("--validation-size", type=split_fraction, default=0.0,
                   help="fraction held out for validation (backends that use it)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--min-face", type=non_negative_int, default=0, metavar="PX",
                   help="VOC data: leave out faces smaller than PX")
    p.add_argument("--map", action="append", metavar="FROM=TO",
                   help="rename a class (FROM= drops it), e.g. mask_weared_incorrect=with_mask")
    whole = p.add_mutually_exclusive_group()
    whole.add_argument("--detect-faces", metavar="DETECTOR", default=None,
                       help="crop class-folder images to the face found by DETECTOR instead of "
                            "using them whole (images without a face are left out)")
    whole.add_argument("--frame-faces", metavar="DETECTOR", default=None,
                       help="frame class-folder images on the face found by DETECTOR: faces in "
                            "group or street photos are cropped, close-ups centred on the face, "
                            "images without a face kept whole (evaluate does the same)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write a visual report of the held-out test part into DIR (HTML, "
                        "PNGs, metrics.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    params = {k: parse_value(v) for k, v in key_values(args.param, "--param").items()}
    # Where the results go is checked before minutes of training, not after.
    output_file(args.out, "--out", make_folder=True)
    if args.report:
        output_folder(args.report, "--report")
    detector = create_face_detector(args.detect_faces) if args.detect_faces else None
    framing = create_face_detector(args.frame_faces) if args.frame_faces else None
    result = train(
        args.data, backend=args.backend, params=params, test_size=args.test_size,
        validation_size=args.validation_size, seed=args.seed, min_face=args.min_face,
        label_map=label_map(args.map), face_detector=detector, framing=framing, out=args.out,
        progress=progress(args))
    clf = result.classifier
    summary = {
        "model": str(args.out),
        "backend": clf.backend_name,
        "params": clf.get_params(deep=False),
        "classes": [str(c) for c in clf.classes_],
        "settings": clf.settings_.to_dict(),
        "training": result.info,
        "test": result.test_metrics,
    }
    if args.report:
        summary["report"] = str(write_classifier_report(
            args.report, clf, result.test_crops, result.test_proba, result.test_metrics,
            title=f"{clf.backend_name} model {args.out}: held-out test part"))
    if args.json:
        print_json(summary)
        return EXIT_OK
    split = result.info["split"]
    print(f"trained {clf.backend_name} on {split['train']} files in "
          f"{result.info['fit_seconds']:.1f} s; saved {args.out}")
    if result.test_metrics:
        print(f"held-out test part ({split['test']} files, seed {args.seed}):")
        print(format_metrics(result.test_metrics))
    if args.report:
        print(f"report: {summary['report']}")
    return EXIT_OK
