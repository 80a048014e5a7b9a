"""Face detection and face cropping, shared by training and inference.

Detectors, by name (:func:`create_face_detector`):

* ``yunet`` -- OpenCV's ``FaceDetectorYN`` with OpenCV Zoo's YuNet model: accurate on masked
  and small faces. Its model file (230 KB) is looked up, in order: an explicit path, the
  ``MASKDET_YUNET_MODEL`` environment variable, the user cache directory; else it is downloaded
  from OpenCV Zoo into the cache and its sha256 checked.
* ``haar`` -- the frontal-face Haar cascade shipped with opencv-python 4.x; no download, but it
  misses most masked faces.
* ``auto`` -- YuNet where its model can be had, else Haar with a one-time warning.

Face-crop datasets (class folders) are used whole by default: running a detector on them and
falling back to the whole image when no face is found leaks the label, since detectors miss
masked faces far more often than bare ones (Haar: 82% vs 45% on ``mask-faces``; YuNet: 77% vs
99.6%). *Framing* (:func:`frame_face`) uses a detector without leaving any image out: it only
moves or narrows the view of images in which it finds a face, and uses the others whole as
before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .data import Dataset, Sample
from .detections import Detections
from .errors import DetectorUnavailableError, ImageReadError
from .images import map_images, read_image

logger = logging.getLogger(__name__)

YUNET_FILENAME = "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
YUNET_URL = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/" + YUNET_FILENAME
)
YUNET_ENV = "MASKDET_YUNET_MODEL"
CACHE_ENV = "MASKDET_CACHE_DIR"

#: Margin added on each side of a face box before cropping, as a fraction of the box's side.
DEFAULT_MARGIN = 0.2

#: In a face-folder image, a face whose longer side is below this fraction of the image's
#: shorter side is a face in a scene (a group, a street), not a close-up. On ``mask-faces``
#: YuNet's largest face spans 0.95 of the image in the median photo; 306 with_mask and 60
#: without_mask photos fall below 0.4.
SCENE_FACE_FRACTION = 0.4


def cache_dir() -> Path:
    """maskdet's cache folder: ``$MASKDET_CACHE_DIR``, else ``$XDG_CACHE_HOME/maskdet``, else
    ``~/.cache/maskdet`` (``%LOCALAPPDATA%\\maskdet`` on Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "maskdet"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maskdet"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_model(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise DetectorUnavailableError(f"{path}: YuNet model not found ({origin})")
    digest = _sha256(path)
    if digest != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"{path}: not the expected YuNet model (sha256 {digest[:12]}..., expected "
            f"{YUNET_SHA256[:12]}...); delete it or point {YUNET_ENV} at a good copy")
    return path


def download_yunet_model(destination: Path | None = None, timeout: float = 30.0) -> Path:
    """Download the YuNet model from OpenCV Zoo into the cache (atomic write, sha256 checked).

    Raises:
        DetectorUnavailableError: offline, the download failed, or the checksum differs.
    """
    destination = destination or cache_dir() / YUNET_FILENAME
    destination.parent.mkdir(parents=True, exist_ok=True)
    logger.warning("downloading the YuNet face-detection model to %s", destination)
    try:
        with urllib.request.urlopen(YUNET_URL, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DetectorUnavailableError(
            f"cannot download the YuNet model from {YUNET_URL} ({reason}); download it by hand "
            f"and set {YUNET_ENV}=/path/to/{YUNET_FILENAME}, or use --detector haar") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"downloaded YuNet model has sha256 {digest}, expected {YUNET_SHA256}; not saved")
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".yunet-", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the model is shared, not secret
    os.replace(tmp, destination)
    return destination


def find_yunet_model(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Locate the YuNet model: ``path``, ``$MASKDET_YUNET_MODEL``, the cache, else download.

    Raises:
        DetectorUnavailableError: not found and (offline or ``download`` is False).
    """
    if path is not None:
        return _check_model(Path(path).expanduser(), "given path")
    if os.environ.get(YUNET_ENV):
        return _check_model(Path(os.environ[YUNET_ENV]).expanduser(), f"${YUNET_ENV}")
    cached = cache_dir() / YUNET_FILENAME
    if cached.is_file():
        return _check_model(cached, "cache")
    if not download:
        raise DetectorUnavailableError(
            f"YuNet model not found (no {YUNET_ENV}, not in {cached.parent}) and downloading is "
            "off")
    return download_yunet_model(cached)


class FaceDetector(ABC):
    """Finds faces in a BGR image. Subclasses implement :meth:`detect`."""

    name: str = "base"

    @abstractmethod
    def detect(self, image: np.ndarray) -> Detections:
        """Return the faces of ``image`` (``uint8`` BGR, H x W x 3) with boxes and scores."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: How YuNet's boxes differ from hand-drawn face boxes: the median offset of the centre (x, y;
#: fractions of the box's width and height) and the median scale (width, height) of the
#: labelled box relative to YuNet's, over 780 faces of the mask-scenes training photos
#: (``python -m recipes.default_models DATA --box-stats``). YuNet's box reaches up over the
#: forehead; a drawn one sits lower and ends at the chin. Adjusted, the median IoU of a
#: detection with its face rose from 0.68 to 0.81 there, and 30 % fewer detections missed
#: their face at IoU 0.5.
YUNET_BOX_ADJUSTMENT = (0.02, 0.13, 1.03, 0.88)


def adjust_boxes(boxes: np.ndarray, adjustment: tuple[float, float, float, float]
                 ) -> np.ndarray:
    """Move and scale ``x, y, w, h`` boxes (n, 4): centre by ``(dx * w, dy * h)``, size by
    ``(sx, sy)``, for ``adjustment = (dx, dy, sx, sy)``."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    dx, dy, sx, sy = adjustment
    w, h = boxes[:, 2] * sx, boxes[:, 3] * sy
    cx = boxes[:, 0] + boxes[:, 2] * (0.5 + dx)
    cy = boxes[:, 1] + boxes[:, 3] * (0.5 + dy)
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


class YuNetDetector(FaceDetector):
    """OpenCV's YuNet (``cv2.FaceDetectorYN``).

    Args:
        model_path: the ONNX file; None looks it up (see :func:`find_yunet_model`).
        score_threshold: minimum face confidence. 0.75 was chosen on the mask-scenes training
            photos: against 0.6 it drops 37 % of the detections that match no labelled face
            (mostly unlabelled people in crowds, also statues and patterns) for 3 points of
            masked-face recall (0.88 -> 0.85) and 1 of unmasked (0.95 -> 0.94), faces >= 20 px.
        nms_threshold: overlap above which the weaker of two boxes is dropped.
        upscale_to: images whose longer side is below this are enlarged (at most
            ``max_upscale`` times) before detection: small faces are then found far more
            often (masked-face recall 0.63 -> 0.80 with 2x on real scenes). 0 disables.
        max_upscale: the largest enlargement factor.
        box_adjustment: ``(dx, dy, sx, sy)`` applied to every box (see :func:`adjust_boxes`):
            by default :data:`YUNET_BOX_ADJUSTMENT`, which turns YuNet's boxes into boxes as
            people draw them (brow to chin); None keeps YuNet's own.
        download: whether a missing model may be downloaded.
    """

    name = "yunet"

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        score_threshold: float = 0.75,
        nms_threshold: float = 0.3,
        upscale_to: int = 800,
        max_upscale: float = 2.0,
        top_k: int = 5000,
        box_adjustment: tuple[float, float, float, float] | None = YUNET_BOX_ADJUSTMENT,
        download: bool = True,
    ) -> None:
        self.box_adjustment = None if box_adjustment is None else tuple(box_adjustment)
        self.model_path = find_yunet_model(model_path, download=download)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.upscale_to = upscale_to
        self.max_upscale = max_upscale
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), score_threshold, nms_threshold, top_k)
        except cv2.error as exc:
            raise DetectorUnavailableError(
                f"{self.model_path}: OpenCV cannot load the YuNet model ({exc.err})") from None
        self._input_size: tuple[int, int] | None = None

    def scale_for(self, height: int, width: int) -> float:
        """The factor an image of this size is resized by before detection."""
        longest = max(height, width)
        if self.upscale_to <= 0 or longest >= self.upscale_to:
            return 1.0
        return min(self.max_upscale, self.upscale_to / longest)

    def detect(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        scale = self.scale_for(h, w)
        if scale != 1.0:
            image = cv2.resize(image, (round(w * scale), round(h * scale)),
                               interpolation=cv2.INTER_LINEAR)
        size = (image.shape[1], image.shape[0])
        if size != self._input_size:
            self._net.setInputSize(size)
            self._input_size = size
        _, faces = self._net.detect(image)
        if faces is None or len(faces) == 0:
            return Detections.empty()
        faces = faces / np.array([scale] * 14 + [1.0], np.float32)
        boxes = faces[:, :4]
        if self.box_adjustment is not None:
            boxes = adjust_boxes(boxes, self.box_adjustment)
        return Detections(boxes=boxes, face_scores=faces[:, 14],
                          landmarks=faces[:, 4:14].reshape(-1, 5, 2)).clip(w, h)

    def __repr__(self) -> str:
        return (f"YuNetDetector(score_threshold={self.score_threshold}, "
                f"upscale_to={self.upscale_to})")


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade (opencv-python 4.x ships the file).

    Scores are the cascade's level weights squashed to (0, 1): a ranking, not a probability.
    """

    name = "haar"

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size: int = 20) -> None:
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
            raise DetectorUnavailableError(
                f"this OpenCV ({cv2.__version__}) has no Haar cascades (OpenCV 5 dropped them); "
                "install opencv-python<5 or use --detector yunet")
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorUnavailableError(f"{path}: cannot load the Haar cascade")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def detect(self, image: np.ndarray) -> Detections:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size), outputRejectLevels=True)
        if len(boxes) == 0:
            return Detections.empty()
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, np.float32).ravel()))
        return Detections(boxes=np.asarray(boxes), face_scores=scores)


_haar_fallback_warned = False

#: Face detectors by name; ``auto`` is resolved by :func:`create_face_detector`.
DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "yunet": YuNetDetector,
    "haar": HaarDetector,
}


def available_detectors() -> list[str]:
    return ["auto", *DETECTORS]


def create_face_detector(name: str | FaceDetector = "auto", **params) -> FaceDetector:
    """Create a face detector by name: ``auto`` (default), ``yunet`` or ``haar``.

    ``auto`` uses YuNet where its model can be found or downloaded, else Haar, with a
    warning (once per process) that says how to get YuNet.
    """
    global _haar_fallback_warned
    if isinstance(name, FaceDetector):
        return name
    if name == "auto":
        try:
            return YuNetDetector(**params)
        except DetectorUnavailableError as exc:
            if not _haar_fallback_warned:
                # The download error already says how to get the model; don't repeat it.
                hint = "" if YUNET_ENV in str(exc) else f" Set {YUNET_ENV} to the model file."
                logger.warning("YuNet face detector unavailable (%s); using the far weaker Haar "
                               "cascade.%s", exc, hint)
                _haar_fallback_warned = True
            return HaarDetector()
    if name not in DETECTORS:
        raise DetectorUnavailableError(
            f"unknown face detector {name!r}; choose from {', '.join(available_detectors())}")
    return DETECTORS[name](**params)


def square_box(box, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """The square ``x, y, side, side`` centred on ``box`` (x, y, w, h), enlarged by ``margin``
    of the longer side on each side. May extend past the image."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    side_i = max(1, int(round(side)))
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side_i, side_i


def crop_face(image: np.ndarray, box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Cut a square face crop around ``box`` (x, y, w, h) with ``margin``.

    The square is clipped to the image; where it stuck out, the crop is padded by repeating
    the edge pixels, so that the face stays centred and the crop square.
    """
    x, y, side, _ = square_box(box, margin)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    bx, by, bw, bh = (float(v) for v in box)
    # The box itself must touch the image, not only its margin (else the crop is all padding).
    if x2 <= x1 or y2 <= y1 or bx >= w or by >= h or bx + bw <= 0 or by + bh <= 0:
        raise ValueError(f"face box {tuple(box)} lies outside the {w}x{h} image")
    crop = image[y1:y2, x1:x2]
    pads = (y1 - y, (y + side) - y2, x1 - x, (x + side) - x2)
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
    return crop


def frame_face(image: np.ndarray, faces: Detections, margin: float = DEFAULT_MARGIN
               ) -> np.ndarray:
    """The view of a face-folder image that a classifier should see, given the faces found in it.

    * No face found: the image as it is (the classifier's preprocessing takes its centre
      square, as for any face crop).
    * The largest face is small (longer side below :data:`SCENE_FACE_FRACTION` of the image's
      shorter side): the image is a scene, so the face is cropped with ``margin``, as
      :func:`crop_face` cuts faces from photos at inference.
    * Otherwise (a close-up): the largest square of the image, placed as near to centred on
      the face as the image allows -- the same scale as the centre square, but a tall photo
      of a face low in the frame keeps the chin and the mask.
    """
    if not len(faces):
        return image
    h, w = image.shape[:2]
    areas = faces.boxes[:, 2].astype(np.float64) * faces.boxes[:, 3]
    x, y, bw, bh = (float(v) for v in faces.boxes[int(np.argmax(areas))])
    side = min(h, w)
    if max(bw, bh) < SCENE_FACE_FRACTION * side:
        return crop_face(image, (x, y, bw, bh), margin)
    left = int(round(min(max(x + bw / 2 - side / 2, 0), w - side)))
    top = int(round(min(max(y + bh / 2 - side / 2, 0), h - side)))
    return image[top:top + side, left:left + side]


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
    detector: FaceDetector | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
    framing: FaceDetector | None = None,
) -> FaceCrops:
    """Decode a dataset's images and cut its face crops.

    * Scene samples (with a box) are cropped around the box with ``margin``.
    * Whole-image samples (class folders) are used as they are, unless ``detector`` or
      ``framing`` is given.
    * With ``detector``, the most confident face is cropped, and images without a face are
      *left out*, not used whole (which would leak the label, see the module doc). The
      detection rate per class is logged and returned, with a warning when it differs much
      between classes.
    * With ``framing``, each image is framed on the faces that detector finds
      (:func:`frame_face`); none is left out.

    Unreadable images are skipped with a warning naming each file; nothing else is lost.
    """
    if detector is not None and framing is not None:
        raise ValueError("give a detector (crop to the face, leave out faceless images) or a "
                         "framing detector (frame on the face, keep every image), not both")
    seeker = detector or framing
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
    if detector is not None and whole:
        rate = {c: 1.0 - undetected[c] / whole[c] for c in dataset.classes if whole[c]}
        result.detection_rate = rate
        text = ", ".join(f"{c} {r:.0%}" for c, r in rate.items())
        logger.info("face detection rate per class (%s): %s", detector.name, text)
        if max(rate.values()) - min(rate.values()) > 0.15:
            logger.warning(
                "the face detector finds faces far more often in some classes (%s): images "
                "without a face were left out, so the classes now differ in more than masks; "
                "prefer training on the whole face-crop images", text)
        if sum(undetected.values()):
            logger.warning("left out %d images in which %s found no face",
                           sum(undetected.values()), detector.name)
    return result
