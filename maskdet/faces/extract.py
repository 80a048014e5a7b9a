"""Face crops of a whole dataset: decode its images and cut (or frame) every face.

Face-crop datasets (class folders) are used whole by default: running a detector on them and
falling back to the whole image when no face is found leaks the label, since detectors miss
masked faces far more often than bare ones (Haar: 82% vs 45% on ``mask-faces``; YuNet: 77% vs
99.6%). *Framing* (:func:`~maskdet.faces.crops.frame_face`) uses a detector without leaving any
image out: it only moves or narrows the view of images in which it finds a face, and uses the
others whole as before.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import Dataset, Sample
from ..errors import ImageReadError
from ..images import map_images, read_image
from .crops import DEFAULT_MARGIN, crop_face, frame_face
from .detectors import FaceDetector

logger = logging.getLogger(__name__)


@dataclass
class FaceCrops:
    """Face images cut from a dataset, ready to be fed to a classifier.

    Attributes:
        images: ``uint8`` BGR crops.
        labels: str array of shape (n,), the class of each crop.
        samples: the :class:`~maskdet.data.Sample` each crop came from.
        classes: the dataset's classes.
        skipped: ``(file, reason)`` for every sample that gave no crop.
        detection_rate: per class, the fraction of images in which a face was found (only when
            a detector was used).
    """

    images: list[np.ndarray]
    labels: np.ndarray
    samples: list[Sample]
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    detection_rate: dict[str, float] | None = None

    def __len__(self) -> int:
        return len(self.images)


def extract_faces(
    dataset: Dataset,
    margin: float = DEFAULT_MARGIN,
    face_detector: FaceDetector | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
    framing: FaceDetector | None = None,
) -> FaceCrops:
    """Decode a dataset's images and cut its face crops.

    * Scene samples (with a box) are cropped around the box with ``margin``.
    * Whole-image samples (class folders) are used as they are, unless ``face_detector`` or
      ``framing`` is given.
    * With ``face_detector``, the most confident face is cropped, and images without a face are
      *left out*, not used whole (which would leak the label, see the module doc). The
      detection rate per class is logged and returned, with a warning when it differs much
      between classes.
    * With ``framing``, each image is framed on the faces that detector finds
      (:func:`frame_face`); none is left out.

    Unreadable images are skipped with a warning naming each file; nothing else is lost.
    """
    if face_detector is not None and framing is not None:
        raise ValueError("give a face_detector (crop to the face, leave out faceless images) "
                         "or a framing one (frame on the face, keep every image), not both")
    seeker = face_detector or framing
    by_path: dict[Path, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        by_path.setdefault(s.path, []).append(i)
    paths = list(by_path)
    detector_lock = threading.Lock()  # a detector keeps per-call state: one call at a time

    def work(path: Path):
        try:
            image = read_image(path)
        except ImageReadError as exc:
            return path, None, str(exc).split(": ", 1)[-1]
        out = []
        for i in by_path[path]:
            sample = dataset.samples[i]
            if sample.box is not None:
                try:
                    out.append((i, crop_face(image, sample.box, margin)))
                except ValueError as exc:
                    out.append((i, f"{exc}"))
            elif seeker is not None:
                with detector_lock:
                    faces = seeker.detect(image).clip(image.shape[1], image.shape[0])
                if framing is not None:
                    out.append((i, frame_face(image, faces, margin)))
                elif len(faces):
                    best = int(np.argmax(faces.face_scores))
                    out.append((i, crop_face(image, faces.boxes[best], margin)))
                else:
                    out.append((i, None))
            else:
                out.append((i, image))
        return path, out, None

    crops: dict[int, np.ndarray] = {}
    skipped: list[tuple[str, str]] = []
    undetected: Counter = Counter()
    for path, out, error in map_images(work, paths, n_jobs, progress, "reading images"):
        if error is not None:
            skipped.append((str(path), error))
            continue
        for i, crop in out:
            if isinstance(crop, np.ndarray):
                crops[i] = crop
            elif crop is None:
                undetected[dataset.samples[i].label] += 1
            else:
                skipped.append((str(path), crop))
    for name, reason in skipped:
        logger.warning("skipped %s: %s", name, reason)
    if skipped:
        logger.warning("%s: skipped %d unreadable images or boxes", dataset.root, len(skipped))

    order = sorted(crops)
    result = FaceCrops(
        images=[crops[i] for i in order],
        labels=np.array([dataset.samples[i].label for i in order], dtype=object),
        samples=[dataset.samples[i] for i in order],
        classes=list(dataset.classes),
        skipped=skipped,
    )
    # Whole images the detector searched: unreadable ones are not counted as faces found.
    whole = Counter(dataset.samples[i].label for i in crops if dataset.samples[i].box is None)
    whole.update(undetected)
    if face_detector is not None and whole:
        rate = {c: 1.0 - undetected[c] / whole[c] for c in dataset.classes if whole[c]}
        result.detection_rate = rate
        text = ", ".join(f"{c} {r:.0%}" for c, r in rate.items())
        logger.info("face detection rate per class (%s): %s", face_detector.name, text)
        if max(rate.values()) - min(rate.values()) > 0.15:
            logger.warning(
                "the face detector finds faces far more often in some classes (%s): images "
                "without a face were left out, so the classes now differ in more than masks; "
                "prefer training on the whole face-crop images", text)
        if sum(undetected.values()):
            logger.warning("left out %d images in which %s found no face",
                           sum(undetected.values()), face_detector.name)
    return result
