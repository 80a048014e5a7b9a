"""``maskdet detect``: find the faces in photos and tell, for each, whether it wears a mask."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .. import samples
from ..images import write_image
from ..pipeline import MaskDetector
from .options import (
    ImageInputs,
    UsageError,
    add_face_detector_option,
    add_face_filter_options,
    add_model_option,
    output_folder,
    print_json,
    progress,
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.sample:
        raise UsageError("give the photos to look at (PATH...), or --sample")
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
