"""Video clips with exact ground truth, made from labelled photos, for measuring tracking.

A still photo is filmed by a virtual camera: each frame is the photo under a known scale and
shift (a pan and a zoom, with shake), so every labelled face's box moves by the same known
transform and its ground-truth track is exact. On top come brief occlusions (a bar, as a
passer-by, crossing the frame), dropped frames (the camera jumps on) and brightness changes.
:func:`write_clip` writes the video and the ground truth as a MOTChallenge sequence
(``seqinfo.ini``, ``gt/gt.txt``) that :mod:`maskdet.evaluation.tracking` scores.

Boxes are in continuous pixel coordinates (pixel ``i`` covers ``[i, i + 1)``): a photo box
``(x, y, w, h)`` is ``(s * x + tx, s * y + ty, s * w, s * h)`` in a frame of scale ``s`` and
shift ``(tx, ty)``; the frame is rendered with that same transform.

Example:
    >>> plan = plan_clip((400, 300), np.random.default_rng(0))
    >>> plan.boxes(0, [[100, 80, 30, 30]])  # doctest: +SKIP
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..data import Dataset
from ..errors import MaskdetError
from ..evaluation.tracking import MotRow, write_mot
from ..images import read_image
from .io import VideoWriter

#: Frame size and frame rate of the generated clips.
CLIP_SIZE = (640, 480)
CLIP_FPS = 25.0


@dataclass(frozen=True)
class ClipPlan:
    """What the camera does in each frame of a clip (arrays of one entry per frame).

    Attributes:
        size: ``(width, height)`` of the frames.
        scales: (n,) photo-to-frame scale.
        shifts: (n, 2) photo-to-frame shift ``tx, ty`` (frame = scale * photo + shift).
        gains: (n,) brightness factor.
        occluders: per frame, the ``x, y, w, h`` boxes (frame pixels) hidden by a bar.
        fps: frames per second.
    """

    size: tuple[int, int]
    scales: np.ndarray
    shifts: np.ndarray
    gains: np.ndarray
    occluders: tuple[tuple[tuple[float, float, float, float], ...], ...]
    fps: float = CLIP_FPS

    def __len__(self) -> int:
        return len(self.scales)

    def boxes(self, k: int, photo_boxes: np.ndarray | Sequence) -> np.ndarray:
        """The photo's ``x, y, w, h`` boxes (n, 4) as they are in frame ``k``."""
        b = np.asarray(photo_boxes, np.float64).reshape(-1, 4)
        s, (tx, ty) = float(self.scales[k]), self.shifts[k]
        return np.column_stack([s * b[:, 0] + tx, s * b[:, 1] + ty, s * b[:, 2], s * b[:, 3]])

    def render(self, photo: np.ndarray, k: int) -> np.ndarray:
        """Frame ``k`` of ``photo`` (BGR)."""
        s, (tx, ty) = float(self.scales[k]), self.shifts[k]
        # warpAffine maps pixel centres (integers); in continuous coordinates the centre of
        # pixel i is i + 0.5, hence the half-pixel term.
        m = np.array([[s, 0, tx + 0.5 * (s - 1)], [0, s, ty + 0.5 * (s - 1)]], np.float64)
        frame = cv2.warpAffine(photo, m, self.size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        for x, y, w, h in self.occluders[k]:
            x1, y1 = max(0, round(x)), max(0, round(y))
            x2, y2 = min(self.size[0], round(x + w)), min(self.size[1], round(y + h))
            frame[y1:y2, x1:x2] = _bar_texture(y2 - y1, x2 - x1)
        if self.gains[k] != 1.0:
            frame = cv2.convertScaleAbs(frame, alpha=float(self.gains[k]))
        return frame

    def visibility(self, k: int, frame_boxes: np.ndarray) -> np.ndarray:
        """The share of each box (n, 4) inside the frame and not behind an occluder."""
        b = np.asarray(frame_boxes, np.float64).reshape(-1, 4)
        area = np.maximum(b[:, 2] * b[:, 3], 1e-9)
        width, height = self.size
        inside = _overlap(b, np.array([0.0, 0.0, width, height]))
        hidden = sum((_overlap(b, np.array(o)) for o in self.occluders[k]), np.zeros(len(b)))
        # Occluders never overlap one another, and lie inside the frame.
        return np.clip((inside - hidden) / area, 0.0, 1.0)


def _overlap(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    w = np.minimum(boxes[:, 0] + boxes[:, 2], box[0] + box[2]) - np.maximum(boxes[:, 0], box[0])
    h = np.minimum(boxes[:, 1] + boxes[:, 3], box[1] + box[3]) - np.maximum(boxes[:, 1], box[1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def _bar_texture(h: int, w: int) -> np.ndarray:
    """A dark, striped bar: a passer-by's coat, nothing like a face."""
    stripes = (40 + 25 * (np.arange(w) // 6 % 2))[None, :, None]
    return np.broadcast_to(stripes, (h, w, 3)).astype(np.uint8)


def plan_clip(
    photo_size: tuple[int, int],
    rng: np.random.Generator,
    frames: int = 120,
    size: tuple[int, int] = CLIP_SIZE,
    zoom: tuple[float, float] = (1.05, 1.5),
    shake: float = 2.0,
    occlusions: int = 1,
    drops: int = 2,
    brightness: float = 0.25,
    fps: float = CLIP_FPS,
) -> ClipPlan:
    """A random but reproducible camera over a photo of ``photo_size`` (width, height).

    The camera zooms from one factor of ``zoom`` to another (1 just covers the frame), pans
    smoothly between two places (half the clips there and back), shakes by about ``shake``
    frame pixels; ``occlusions`` bars cross the frame, each in about a second; ``drops``
    times the camera jumps on 2 to 5 frames; the brightness drifts by up to ``brightness``
    and, in half the clips, drops by a third for a second (a light switched).
    """
    width, height = size
    pw, ph = photo_size
    cover = max(width / pw, height / ph)
    jumps = np.zeros(frames, int)
    if drops and frames > 2:
        jumps[rng.choice(np.arange(1, frames), size=min(drops, frames - 1), replace=False)] = (
            rng.integers(2, 6, size=min(drops, frames - 1)))
    # Camera time: one step a frame, more at a drop.
    steps = np.cumsum(np.maximum(jumps, 1)) - 1
    u = steps / max(1, steps[-1])
    z0, z1 = rng.uniform(*zoom, size=2)
    scales = cover * (z0 + (z1 - z0) * u)
    ends = rng.uniform(0, 1, size=(2, 2))
    there_and_back = rng.random() < 0.5
    path = np.sin(np.pi * u) if there_and_back else u * u * (3 - 2 * u)  # smoothstep
    place = ends[0] + (ends[1] - ends[0]) * path[:, None]  # 0..1 of the free travel
    # A low-pass random walk, so that shake moves the view a few pixels a frame.
    jitter = rng.normal(0, shake, size=(frames, 2))
    jitter = np.stack([np.convolve(jitter[:, i], np.ones(3) / 3, "same") for i in (0, 1)], 1)
    free = np.stack([pw * scales - width, ph * scales - height], 1)  # frame px to spare
    shifts = -(place * free) + jitter
    shifts = np.clip(shifts, -free, 0)  # the view stays on the photo
    drift = 1 + brightness * np.sin(2 * np.pi * (u * rng.uniform(0.5, 1.5) + rng.random()))
    gains = drift * rng.uniform(1 - brightness / 2, 1 + brightness / 2)
    if rng.random() < 0.5 and frames > 2 * fps:
        start = int(rng.integers(0, frames - int(fps)))
        gains[start:start + int(fps)] *= 2 / 3
    occluders: list[list[tuple[float, float, float, float]]] = [[] for _ in range(frames)]
    for _ in range(occlusions):
        bar = width * rng.uniform(0.08, 0.15)
        duration = max(2, int(fps * rng.uniform(0.7, 1.3)))
        start = int(rng.integers(0, max(1, frames - duration)))
        left_to_right = rng.random() < 0.5
        for j in range(duration):
            k = start + j
            if k >= frames or occluders[k]:
                continue
            t = j / (duration - 1)
            x = (-bar + t * (width + bar)) if left_to_right else (width - t * (width + bar))
            x1, x2 = max(0.0, x), min(float(width), x + bar)
            if x2 > x1:
                occluders[k].append((x1, 0.0, x2 - x1, float(height)))
    return ClipPlan(size=size, scales=scales, shifts=shifts, gains=gains.astype(np.float64),
                    occluders=tuple(tuple(o) for o in occluders), fps=fps)


def ground_truth(plan: ClipPlan, faces: Sequence[tuple[Sequence[float], str | None]],
                 classes: Sequence[str] | None = None, min_face: float = 20.0,
                 min_visibility: float = 0.5) -> list[MotRow]:
    """The ground-truth rows of the faces of the photo (``(x, y, w, h)``, label) in each
    frame: face ``i`` is track ``i + 1``; frames from 1.

    A face is left out of a frame where none of it is in view, and its box is cut to the
    frame where part of it is (as a detector sees it). It is marked *ignored*
    (``conf`` 0) where less than ``min_visibility`` of it is visible, where its shorter side
    is below ``min_face`` pixels, or where its label is not one of ``classes``; a face
    labelled None (one the photo's annotations leave out) is always ignored.
    """
    if not faces:
        return []
    photo_boxes = np.array([box for box, _ in faces], np.float64).reshape(-1, 4)
    rows = []
    for k in range(len(plan)):
        boxes = plan.boxes(k, photo_boxes)
        visible = plan.visibility(k, boxes)
        width, height = plan.size
        inside = _overlap(boxes, np.array([0.0, 0.0, width, height])) > 0
        x1y1 = np.clip(boxes[:, :2], 0, [width, height])
        x2y2 = np.clip(boxes[:, :2] + boxes[:, 2:], 0, [width, height])
        for i, (_, label) in enumerate(faces):
            if not inside[i]:
                continue
            box = (*x1y1[i], *(x2y2[i] - x1y1[i]))
            counts = (label is not None and visible[i] >= min_visibility
                      and min(box[2], box[3]) >= min_face
                      and (classes is None or label in classes))
            rows.append(MotRow(k + 1, i + 1, tuple(float(v) for v in box), 1.0 if counts else
                               0.0, label, float(visible[i])))
    return rows


@dataclass(frozen=True)
class Clip:
    """A written clip: its folder, video file, ground-truth file and labels (the classes of
    ``gt.txt``)."""

    folder: Path
    video: Path
    truth: Path
    labels: tuple[str, ...]
    frames: int
    fps: float


def write_clip(folder: str | os.PathLike, photo: np.ndarray,
               faces: Sequence[tuple[Sequence[float], str | None]], plan: ClipPlan,
               labels: Sequence[str], classes: Sequence[str] | None = None,
               min_face: float = 20.0) -> Clip:
    """Write the clip of ``photo`` under ``plan`` as a MOTChallenge sequence in ``folder``:
    ``video.mp4``, ``gt/gt.txt`` and ``seqinfo.ini`` (which also lists the labels)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "video.mp4"
    with VideoWriter(video, fps=plan.fps) as writer:
        for k in range(len(plan)):
            writer.write(plan.render(photo, k))
    truth = write_mot(folder / "gt" / "gt.txt", ground_truth(plan, faces, classes, min_face),
                      labels)
    info = configparser.ConfigParser()
    info.optionxform = str  # MOTChallenge's keys are camelCase
    info["Sequence"] = {"name": folder.name, "imDir": "img1", "frameRate": f"{plan.fps:g}",
                        "seqLength": str(len(plan)), "imWidth": str(plan.size[0]),
                        "imHeight": str(plan.size[1]), "imExt": ".jpg",
                        "video": video.name, "labels": ",".join(labels)}
    with open(folder / "seqinfo.ini", "w", encoding="utf-8") as f:
        info.write(f)
    return Clip(folder, video, truth, tuple(labels), len(plan), plan.fps)


def read_clip(folder: str | os.PathLike) -> Clip:
    """A clip folder written by :func:`write_clip` (or a MOTChallenge sequence with a video).

    Raises:
        MaskdetError: no ``seqinfo.ini``, no video or no ``gt/gt.txt`` in the folder.
    """
    folder = Path(folder)
    info = configparser.ConfigParser()
    info.optionxform = str
    if not info.read(folder / "seqinfo.ini", encoding="utf-8") or "Sequence" not in info:
        raise MaskdetError(f"{folder}: not a clip folder (no seqinfo.ini with [Sequence])")
    seq = info["Sequence"]
    video, truth = folder / seq.get("video", "video.mp4"), folder / "gt" / "gt.txt"
    for path, what in ((video, "video"), (truth, "ground truth")):
        if not path.is_file():
            raise MaskdetError(f"{folder}: no {what} ({path.name})")
    labels = tuple(x for x in seq.get("labels", "").split(",") if x)
    return Clip(folder, video, truth, labels, int(seq.get("seqLength", "0")),
                float(seq.get("frameRate", f"{CLIP_FPS:g}")))


def photo_faces(dataset: Dataset) -> Iterator[tuple[Path, list[tuple[tuple[int, ...], str]]]]:
    """The photos of a VOC dataset with their labelled faces, in a stable order."""
    by_photo: dict[Path, list] = {}
    for s in dataset.samples:
        if s.box is not None:
            by_photo.setdefault(s.path, []).append((s.box, s.label))
    yield from sorted(by_photo.items())


def make_clips(dataset: Dataset, out: str | os.PathLike, count: int | None = None,
               seed: int = 0, frames: int = 120, classes: Sequence[str] | None = None,
               min_face: float = 20.0, min_faces: int = 1,
               unlabelled: Mapping[str, Sequence[Sequence[float]]] | None = None,
               **camera) -> list[Clip]:
    """Clips of the photos of a VOC ``dataset``, one per photo, written in ``out/<photo>/``.

    Args:
        count: at most this many clips, of photos chosen at random (by ``seed``) among those
            with at least ``min_faces`` faces that count; None: every such photo.
        classes: the labels that count (a model's classes); faces of other labels are
            ignored in the ground truth.
        unlabelled: per photo (file name without its suffix), the ``x, y, w, h`` boxes of
            faces its annotations leave out: ignored in the ground truth (as MOTChallenge's
            distractors), so that a track on one is neither a hit nor a false positive.
        camera: passed on to :func:`plan_clip` (``zoom``, ``shake``, ``occlusions``, ...).
    """
    rng = np.random.default_rng(seed)
    photos = [(path, faces) for path, faces in photo_faces(dataset)
              if sum(1 for _, label in faces if classes is None or label in classes)
              >= min_faces]
    if count is not None and count < len(photos):
        keep = sorted(rng.choice(len(photos), size=count, replace=False))
        photos = [photos[i] for i in keep]
    labels = tuple(dataset.classes)
    clips = []
    for path, faces in photos:
        image = read_image(path)
        plan = plan_clip((image.shape[1], image.shape[0]), rng, frames=frames, **camera)
        # Appended: the labelled faces keep their track ids (face i is track i + 1).
        extra = [(tuple(box), None) for box in (unlabelled or {}).get(path.stem, ())]
        clips.append(write_clip(Path(out) / path.stem, image, faces + extra, plan, labels,
                                classes, min_face))
    return clips


__all__ = ["CLIP_FPS", "CLIP_SIZE", "Clip", "ClipPlan", "ground_truth", "make_clips",
           "photo_faces", "plan_clip", "read_clip", "write_clip"]
