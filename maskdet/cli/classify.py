"""``maskdet classify``: label face crops (files or folders of them)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..errors import DetectorUnavailableError
from ..faces import FaceDetector, frame_face
from ..pipeline import framing_detector
from ..pretrained import load_model
from .options import ImageInputs, add_model_option, print_json, progress

logger = logging.getLogger("maskdet")

#: Faces classified in one call: a batch is faster per face, and memory stays bounded.
BATCH = 64


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("classify", parents=[common], help="classify face images",
                       description="Classify face crops (files or folders of them). A "
                                   "model trained on images framed on their face (maskdet "
                                   "info) frames each image the same way first.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_model_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    clf = load_model(args.model)
    classes = [str(c) for c in clf.classes_]
    inputs = ImageInputs(args.paths)
    framing = _framing_or_whole(clf)
    batch: list[tuple[Path, np.ndarray]] = []

    def flush() -> None:
        if not batch:
            return
        proba = clf.predict_proba([image for _, image in batch])
        for (path, _), row in zip(batch, proba):
            best = int(row.argmax())
            if args.json:
                print_json({"path": str(path), "label": classes[best],
                            "scores": {c: round(float(p), 4) for c, p in zip(classes, row)}})
            else:
                print(f"{path}: {classes[best]} ({row[best]:.2f})")
        batch.clear()

    for path, image in inputs.read(progress(args), "classifying"):
        if framing is not None:
            faces = framing.detect(image).clip(image.shape[1], image.shape[0])
            image = frame_face(image, faces, clf.preprocessing.margin)
        batch.append((path, image))
        if len(batch) >= BATCH:
            flush()
    flush()
    return inputs.exit_status()


def _framing_or_whole(clf) -> FaceDetector | None:
    """The face detector to frame face images with as the model's training did, or None
    (whole images) when it did not frame them or the detector cannot be had here."""
    try:
        return framing_detector(clf)
    except DetectorUnavailableError as exc:
        logger.warning("classifying the images whole: the model was trained on images framed "
                       "on their face, but %s", exc)
        return None
