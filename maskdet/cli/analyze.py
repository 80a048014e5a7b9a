"""``maskdet analyze``: what to look at in a dataset before training, as an HTML report."""

from __future__ import annotations

import argparse

from ..data import load_dataset
from ..faces import create_face_detector
from ..reports import analyze_dataset, write_dataset_report
from .options import (
    EXIT_OK,
    add_face_detector_option,
    number_in,
    output_folder,
    print_json,
    progress,
    split_fraction,
)


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("analyze", parents=[common], help="analyse a dataset before training",
                       description="Class distribution, image sizes and formats, sample "
                                   "images, face-detection rate per class, duplicates and "
                                   "unreadable files of a dataset, as an HTML report.")
    p.add_argument("data", metavar="DATA",
                   help="dataset folder: ROOT/<class>/<image> or a VOC folder")
    p.add_argument("--out", "-o", required=True, metavar="DIR",
                   help="report folder to write (report.html, analysis.json, PNGs)")
    add_face_detector_option(p, extra=["none"],
                             what="face detector whose detection rate per class is measured "
                                  "(none: no detection)")
    p.add_argument("--test-size", type=split_fraction, default=0.2,
                   help="test fraction of the split checked for near-duplicates across "
                        "train and test (default 0.2; 0 skips the check)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--near-threshold", type=number_in(0, 64, kind=int), default=None,
                   metavar="BITS",
                   help="largest perceptual-hash distance of near-duplicates (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    output_folder(args.out, "--out")
    dataset = load_dataset(args.data)  # a bad path fails before a face detector is set up
    face_detector = (None if args.face_detector == "none"
                     else create_face_detector(args.face_detector))
    options = {} if args.near_threshold is None else {"near_threshold": args.near_threshold}
    analysis = analyze_dataset(dataset, face_detector=face_detector, test_size=args.test_size,
                               seed=args.seed, progress=progress(args), **options)
    report = write_dataset_report(analysis, args.out)
    s = analysis.summary
    if args.json:
        print_json({**s, "report": str(report)})
        return EXIT_OK
    unit = "faces" if s["layout"] == "voc" else "images"
    print(f"{s['root']} ({s['layout']}): {sum(s['counts'].values())} {unit} in {s['files']} "
          f"files; " + ", ".join(f"{c} {n}" for c, n in s["counts"].items()))
    if s["detection"] and s["detection"]["rate"]:
        print(f"face detection rate ({s['detection']['detector']}): "
              + ", ".join(f"{c} {r:.0%}" for c, r in s["detection"]["rate"].items()))
    d = s["duplicates"]
    print(f"duplicates: {d['exact_extra_copies']} byte-identical extra copies, "
          f"{d['near_pairs']} near-duplicate pairs"
          + (f" ({s['split']['near_across_pairs']} across train/test)" if s["split"] else ""))
    print(f"unusable files or boxes: {len(s['skipped'])}; warnings: {len(analysis.warnings)}")
    print(f"report: {report}")
    return EXIT_OK
