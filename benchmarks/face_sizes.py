"""Faces of every size: YuNet at one scale against YuNet with smaller copies for large faces.

Usage (from the repository root, ``../shared`` set as in .ci/run)::

    python -m benchmarks.face_sizes [--out BENCHMARKS.md]

Writes the ``face-sizes`` section of BENCHMARKS.md (``benchmarks/sections.py``): the share of
the mask-faces photos of 500 px or more in which a face is found; the face detector's recall
of the labelled faces of the mask-scenes training photos per face size (IoU >= 0.5, any
predicted label) and the detections that match no labelled face; the time per photo.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.sections import write_section

ROOT = Path(__file__).resolve().parent.parent
BUCKETS = (20, 40, 80, 160)


def bucket(side: float) -> str:
    for edge in BUCKETS:
        if side < edge:
            return f"<{edge}"
    return f">={BUCKETS[-1]}"


def measure(detector, large_photos, scenes) -> dict:
    import maskdet
    from maskdet.detections import box_iou

    start = time.perf_counter()
    found = sum(len(detector.detect(image)) > 0 for image in large_photos)
    large_ms = 1000 * (time.perf_counter() - start) / max(1, len(large_photos))
    mask_detector = maskdet.MaskDetector(face_detector=detector)
    reported = sum(len(mask_detector.detect(image)) > 0 for image in large_photos)
    hits: dict[tuple[str, str], list[int]] = {}
    unmatched, start = 0, time.perf_counter()
    for image, gt, labels in scenes:
        faces = detector.detect(image)
        iou = box_iou(gt, faces.boxes) if len(faces) else np.zeros((len(gt), 0))
        for k, (box, label) in enumerate(zip(gt, labels)):
            key = (str(label), bucket(min(box[2], box[3])))
            row = hits.setdefault(key, [0, 0])
            row[0] += int(iou.shape[1] > 0 and iou[k].max() >= 0.5)
            row[1] += 1
        if len(faces):
            big = faces.boxes[:, 2:].min(axis=1) >= 20
            near = box_iou(faces.boxes, gt).max(axis=1) >= 0.3 if len(gt) else ~big
            unmatched += int(np.sum(big & ~near))
    scene_ms = 1000 * (time.perf_counter() - start) / max(1, len(scenes))
    return {"large_found": found, "large_reported": reported, "large": len(large_photos),
            "large_ms": large_ms,
            "hits": hits, "unmatched": unmatched, "scene_ms": scene_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.face_sizes")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    import maskdet
    from maskdet.data import split_dataset
    from maskdet.evaluation import scene_ground_truth
    from maskdet.faces import YuNetDetector

    faces_dir, scenes_dir = os.environ.get("MASKDET_TEST_FACES"), os.environ.get(
        "MASKDET_TEST_SCENES")
    if not faces_dir or not scenes_dir:
        raise SystemExit("set MASKDET_TEST_FACES and MASKDET_TEST_SCENES (see .ci/run)")
    large = []
    for path in dict.fromkeys(maskdet.load_dataset(faces_dir).paths):
        image = maskdet.read_image(path)
        if max(image.shape[:2]) >= 500:
            large.append(image)
    train = split_dataset(maskdet.load_dataset(scenes_dir), 0.3, 0.0, 0).train
    scenes = [(maskdet.read_image(p), gt, labels) for p, gt, labels in scene_ground_truth(train)]
    results = {}
    for name, detector in (("one scale (before)", YuNetDetector(large_face_sides=())),
                           ("with smaller copies (now)", YuNetDetector())):
        measure(detector, large[:5], scenes[:5])  # warm-up
        results[name] = measure(detector, large, scenes)
        print(name, results[name]["large_found"], results[name]["unmatched"], flush=True)
    before, now = results.values()
    labels = sorted({label for label, _ in now["hits"]})
    buckets = [f"<{BUCKETS[0]}"] + [f"<{b}" for b in BUCKETS[1:]] + [f">={BUCKETS[-1]}"]
    header = "| | " + " | ".join(f"{b} px" for b in buckets) + " |"
    lines = [
        "## Faces of every size",
        "",
        "`python -m benchmarks.face_sizes` (one run; YuNet, score >= 0.75). YuNet finds faces "
        "of about 10-300 px; it now also looks at a copy of a photo whose shorter side is 160 px "
        "(when the photo's is above 300 px) and merges the faces of both scales. The photos "
        "as `maskdet detect` reports them (the bundled CNN at its operating point) too.",
        "",
        "| | one scale (before) | with smaller copies (now) |",
        "| :-- | --: | --: |",
        f"| mask-faces photos >= 500 px with a face found | {before['large_found']} of "
        f"{before['large']} ({before['large_found'] / before['large']:.1%}) | "
        f"{now['large_found']} of {now['large']} ({now['large_found'] / now['large']:.1%}) |",
        f"| same, with a face reported by `maskdet detect` | {before['large_reported']} "
        f"({before['large_reported'] / before['large']:.1%}) | {now['large_reported']} "
        f"({now['large_reported'] / now['large']:.1%}) |",
        f"| face detection time per such photo | {before['large_ms']:.1f} ms | "
        f"{now['large_ms']:.1f} ms |",
        f"| mask-scenes training photos: detections >= 20 px matching no labelled face | "
        f"{before['unmatched']} | {now['unmatched']} |",
        f"| face detection time per scene photo | {before['scene_ms']:.1f} ms | "
        f"{now['scene_ms']:.1f} ms |",
        "",
        f"Face-detector recall of the labelled faces of the {len(scenes)} mask-scenes training "
        "photos by the face's shorter side (IoU >= 0.5), before → now:",
        "",
        header.replace("| |", "| label |", 1),
        "| :-- |" + " --: |" * len(buckets),
    ]
    for label in labels:
        cells = []
        for b in buckets:
            h0, n = before["hits"].get((label, b), [0, 0])
            h1, _ = now["hits"].get((label, b), [0, 0])
            cells.append("–" if not n else f"{h0 / n:.2f} → {h1 / n:.2f} ({n})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    write_section(args.out, "face-sizes", "\n".join(lines) + "\n")
    print(f"wrote the face-sizes section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
