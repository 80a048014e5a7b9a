"""``maskdet detect``: find the faces in photos and tell, for each, whether it wears a mask."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from tqdm.auto import tqdm

from .. import batch, samples
from ..classifiers import read_model_info
from ..images import write_image
from ..pipeline import MaskDetector
from ..pretrained import default_model_name, model_path
from .options import (
    EXIT_ERROR,
    EXIT_OK,
    ImageInputs,
    UsageError,
    add_batch_options,
    add_face_detector_option,
    add_face_filter_options,
    add_model_option,
    output_folder,
    print_json,
    progress,
    quiet_dask_logs,
)

logger = logging.getLogger("maskdet")

#: Extensions an annotated copy keeps; other photos are written as JPEG.
KEPT_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("detect", parents=[common], help="find faces and masks in photos",
                       description="Find the faces in photos and classify each.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="photos, or folders of them")
    p.add_argument("--sample", action="store_true",
                   help="also the sample photos that ship with maskdet (maskdet.samples)")
    add_model_option(p)
    add_face_detector_option(p)
    add_face_filter_options(p)
    p.add_argument("--save-dir", metavar="DIR", help="write annotated copies here")
    batch_options = add_batch_options(p)
    batch_options.add_argument("--parquet", metavar="FILE", default=None,
                               help="--out: also write the results as a Parquet table "
                                    "(needs pyarrow)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.sample:
        raise UsageError("give the photos to look at (PATH...), or --sample")
    if args.out or args.workers or args.scheduler or args.resume or args.parquet:
        return run_batch(args)
    save_dir = output_folder(args.save_dir, "--save-dir") if args.save_dir else None
    mask_detector = MaskDetector(args.model, face_detector=args.face_detector,
                                 min_face=args.min_face, min_face_score=args.min_face_score,
                                 min_confidence=args.min_confidence)
    inputs = ImageInputs([*args.paths, *(map(str, samples.paths()) if args.sample else ())])
    used: set[str] = set()
    for path, image in inputs.read(progress(args), "detecting"):
        faces = mask_detector.detect(image)
        if args.json:
            print_json({"path": str(path), "faces": faces.to_dicts()})
        else:
            counts = ", ".join(f"{k} {v}" for k, v in faces.counts().items())
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({counts})")
            for face in faces:
                print(f"  box {list(face.box)}  {face.label} {face.score:.2f}  "
                      f"(face {face.face_score:.2f})")
        if save_dir:
            write_image(_unique_output(save_dir, path, used),
                        mask_detector.annotate(image, faces))
    if save_dir and used:
        logger.info("annotated copies of %d photos in %s", len(used), save_dir)
    return inputs.exit_status()


def run_batch(args: argparse.Namespace) -> int:
    """``--out``, ``--workers``, ``--scheduler``: :mod:`maskdet.batch` (list files and URLs
    among the inputs, a resumable results file, Dask)."""
    for option, value in (("--resume", args.resume), ("--parquet", args.parquet)):
        if value and not args.out:
            raise UsageError(f"{option} needs --out FILE")
    if args.save_dir:
        raise UsageError("--save-dir is not available with --out, --workers or --scheduler")
    inputs = [*args.paths, *(map(str, samples.paths()) if args.sample else ())]
    settings = dict(face_detector=args.face_detector, min_face=args.min_face,
                    min_face_score=args.min_face_score, min_confidence=args.min_confidence,
                    chunk_size=args.chunk_size)
    if args.workers or args.scheduler:
        quiet_dask_logs()
    with batch.open_client(args.workers, args.scheduler, args.connect_timeout) as client:
        if args.out:
            summary = batch.detect_files(inputs, args.model, out=args.out, client=client,
                                         resume=args.resume, parquet=args.parquet,
                                         progress=progress(args), **settings)
            for line in summary.lines():
                logger.info("%s", line)
            return EXIT_ERROR if summary.failed or not summary.files else EXIT_OK
        failed = files = 0
        classes = read_model_info(model_path(args.model or default_model_name())).labels
        paths = batch.expand_inputs(inputs)
        records = batch.iter_detections(paths, args.model, client=client, **settings)
        for record in tqdm(records, total=len(paths), desc="detecting", unit="file",
                           disable=not progress(args)):
            files += 1
            if "error" in record:
                failed += 1
                logger.error("%s", record["error"])
            elif args.json:
                print_json(record)
            else:
                _print_faces(record["path"], record["faces"], classes)
    if failed and files > 1:
        logger.warning("%d of %d images could not be read (skipped)", failed, files)
    return EXIT_ERROR if failed or not files else EXIT_OK


def _print_faces(path: str, faces: list[dict], classes: tuple[str, ...]) -> None:
    """A photo's faces for people, from its record (as ``maskdet detect`` prints them)."""
    counts = dict.fromkeys(classes, 0)
    for face in faces:
        counts[face["label"]] = counts.get(face["label"], 0) + 1
    listed = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({listed})")
    for face in faces:
        print(f"  box {face['box']}  {face['label']} {face['score']:.2f}  "
              f"(face {face['face_score']:.2f})")


def _unique_output(save_dir: Path, path: Path, used: set[str]) -> Path:
    """The annotated copy's file in ``save_dir``: the photo's name, numbered when two photos
    of the same name come from different folders."""
    name = path.name if path.suffix.lower() in KEPT_EXTENSIONS else path.name + ".jpg"
    stem, suffix = os.path.splitext(name)
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}_{n}{suffix}"
    used.add(candidate)
    return save_dir / candidate
