"""Helpers the tests share: drawn faces, small datasets and clips written to disk, stub face
detectors and video sources, results made by hand, checks of report folders. Everything is
made by code: no file of ../shared is copied."""

from __future__ import annotations

import base64
import json
import logging
import struct
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np

from maskdet.detections import Detections
from maskdet.faces import FaceDetector


def synthetic_face(label: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """A drawn 'face': skin-coloured ellipse with eyes; 'with_mask' adds a light mask shape
    over the lower half, 'without_mask' a mouth. Separable by HOG; face size, position and
    colours vary so that a model trained on them generalises to other crops."""
    img = np.full((size, size, 3), rng.integers(60, 200), np.uint8)
    img[:] = img + rng.integers(0, 30, (size, size, 3), dtype=np.uint8)
    s = size * rng.uniform(0.85, 1.05)  # the face's own scale
    cx = size // 2 + int(rng.integers(-size // 16, size // 16 + 1))
    cy = size // 2 + int(rng.integers(-size // 16, size // 16 + 1))
    skin = tuple(int(v) for v in rng.integers([90, 120, 160], [130, 170, 230]))
    cv2.ellipse(img, (cx, cy), (int(s * 0.32), int(s * 0.42)), 0, 0, 360, skin, -1)
    for dx in (-s / 7, s / 7):
        cv2.circle(img, (int(cx + dx), int(cy - s * 0.1)), max(2, int(s / 24)), (40, 30, 30), -1)
    if label == "with_mask":
        color = tuple(int(v) for v in rng.integers([180, 150, 100], [255, 230, 200]))
        pts = np.array([[cx - s / 3, cy + s * 0.05], [cx + s / 3, cy + s * 0.05],
                        [cx + s / 4, cy + s * 0.35], [cx - s / 4, cy + s * 0.35]], np.int32)
        cv2.fillPoly(img, [pts], color)
    else:
        cv2.ellipse(img, (cx, int(cy + s * 0.2)), (int(s / 8), max(1, int(s / 20))), 0, 0, 360,
                    (60, 60, 150), -1)
    return img


def write_class_folders(root: Path, per_class: int = 12, classes=("with_mask", "without_mask"),
                        seed: int = 0) -> Path:
    """A small class-folder dataset of synthetic faces written as JPEG/PNG files."""
    rng = np.random.default_rng(seed)
    for label in classes:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ext = ".png" if i % 3 == 0 else ".jpg"
            face = synthetic_face("with_mask" if label == "with_mask" else "without_mask", rng)
            cv2.imwrite(str(folder / f"{label}_{i}{ext}"), face)
    return root


class MarkerDetector(FaceDetector):
    """Finds a face where the top-left pixel is white: the box stored in pixels (0, 1..4),
    blue channel, after a weak 8 x 8 decoy at the corner."""

    name = "marker"

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        if image[0, 0].tolist() != [255, 255, 255]:
            return Detections.empty()
        x, y, w, h = (int(v) for v in image[0, 1:5, 0])
        # a weak decoy box, then the real one: the most confident face must be used
        return Detections(boxes=[[0, 0, 8, 8], [x, y, w, h]], face_scores=[0.3, 0.9])


# Face boxes (annotated and detected) of 68 px in the middle of 96 px synthetic faces pasted
# at (20, 40) and (180, 60): the classifier's crop (margin 0.2 a side) is the pasted face.
SCENE_FACES = [((34, 54, 68, 68), "with_mask"), ((194, 74, 68, 68), "without_mask")]
SMALL_FACE = (140, 200, 12, 12)  # an annotated 12 px unmasked face
SMALL_BOX = (139, 199, 14, 14)  # its detection (IoU 144/196)


class SceneFaces(FaceDetector):
    """Finds exactly the faces write_voc_scenes draws (the small one as SMALL_BOX)."""

    name = "scene-faces"

    def detect(self, image: np.ndarray) -> Detections:
        return Detections(boxes=[box for box, _ in SCENE_FACES] + [SMALL_BOX],
                          face_scores=[0.9, 0.8, 0.7])


def write_voc_scenes(root: Path, n: int) -> Path:
    """``n`` photos (different pixels) of the same layout: the two faces of SCENE_FACES and
    the small face."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for k in range(n):
        rng = np.random.default_rng(3 + k)
        scene = np.full((240, 320, 3), 90 + k, np.uint8)
        for (x, y, _, _), label in SCENE_FACES:
            scene[y - 14:y + 82, x - 14:x + 82] = synthetic_face(label, rng, size=96)
        x, y, w, h = SMALL_FACE
        scene[y:y + h, x:x + w] = cv2.resize(synthetic_face("without_mask", rng), (w, h))
        cv2.imwrite(str(root / "images" / f"p{k}.png"), scene)
        objects = [*SCENE_FACES, (SMALL_FACE, "without_mask")]
        xml = "".join(f"<object><name>{label}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
                      f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
                      for (x, y, w, h), label in objects)
        (root / "annotations" / f"p{k}.xml").write_text(
            f"<annotation><filename>p{k}.png</filename><size><width>320</width>"
            f"<height>240</height></size>{xml}</annotation>")
    return root


def jpeg_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def warnings_text(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def voc_xml(filename: str, width, height, objects, extra_object_text: str = "") -> str:
    """objects: (label, (xmin, ymin, xmax, ymax)); a None label writes no <name>."""
    parts = [f"<annotation>\n  <folder>images</folder>\n  <filename>{filename}</filename>\n"
             f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"]
    for label, (x1, y1, x2, y2) in objects:
        name = "" if label is None else f"<name>{label}</name>"
        parts.append(
            f"  <object>{name}<pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>0</difficult>\n    <bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>{extra_object_text}\n  </object>\n")
    parts.append("</annotation>\n")
    return "".join(parts)


def scene_image(seed: int, h: int = 120, w: int = 160) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_voc(root: Path, entries) -> Path:
    """entries: (stem, image or None, objects) -- a PNG per image, an XML per entry."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for stem, image, objects in entries:
        h, w = (120, 160) if image is None else image.shape[:2]
        if image is not None:
            assert cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
        (root / "annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.png", w, h, objects))
    return root


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def zeros_png(width: int, height: int, rows_given: int | None = None) -> bytes:
    """A valid 8-bit RGB PNG of black pixels, written row by row (never whole in memory):
    30000 x 30000 compresses to 2.6 MB, a decompression bomb. ``rows_given`` < ``height``
    writes only that many rows, for a small file that announces a huge image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)  # filter byte 0, then the pixels
    parts = [compressor.compress(row) for _ in range(height if rows_given is None
                                                     else rows_given)]
    parts.append(compressor.flush())
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b""))


# -- video clips ------------------------------------------------------------------------------
#: Generated clips: drawn faces pasted on a black frame, found by BlobDetector.
# -- video clips: drawn faces pasted on a black frame, found by BlobDetector ------------------
CLIP_W, CLIP_H = 320, 240
#: Side of a pasted face; BlobDetector's box is CLIP_FACE / 1.4, so that the crop is the face.
CLIP_FACE = 84


class BlobDetector(FaceDetector):
    """Boxes the non-black blobs of a frame: the pasted faces."""

    name = "blob"

    def detect(self, image: np.ndarray) -> Detections:
        mask = (image.max(axis=2) > 40).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = []
        for x, y, w, h, area in stats[1:n]:
            if area >= 400:
                side = max(w, h) / 1.4  # the crop margin (0.2 a side) brings back the face
                boxes.append([x + w / 2 - side / 2, y + h / 2 - side / 2, side, side])
        if not boxes:
            return Detections.empty()
        return Detections(boxes=np.array(boxes), face_scores=np.full(len(boxes), 0.99))


def clip_faces(*labels: str, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [cv2.resize(synthetic_face(label, rng), (CLIP_FACE, CLIP_FACE)) for label in labels]


def clip_frame(patches: list[np.ndarray], positions: list[tuple[int, int]]) -> np.ndarray:
    frame = np.zeros((CLIP_H, CLIP_W, 3), np.uint8)
    for patch, (x, y) in zip(patches, positions):
        frame[y:y + CLIP_FACE, x:x + CLIP_FACE] = patch
    return frame


def write_clip(path: Path, frames, fps: float = 10.0) -> Path:
    fourcc = "FFV1" if path.suffix == ".avi" else "mp4v"  # FFV1: lossless, boxes exact
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (CLIP_W, CLIP_H))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command in-process: ``(exit status, stdout, stderr)``."""
    from maskdet.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def distinct_picture(rng: np.random.Generator, width: int = 120, height: int = 100) -> np.ndarray:
    """A random 'photo': a colour gradient with random shapes -- unlike any other one."""
    gx = np.linspace(0, 1, width)[None, :, None]
    gy = np.linspace(0, 1, height)[:, None, None]
    a, b, c = (rng.integers(0, 256, 3) for _ in range(3))
    img = (a * (1 - gx) * (1 - gy) + b * gx + c * gy * (1 - gx)).clip(0, 255).astype(np.uint8)
    img = np.ascontiguousarray(img)
    for _ in range(6):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(8, 35)), color, -1)
        else:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 50)),
                                        y + int(rng.integers(10, 50))), color, -1)
    return img


def write_photo_scenes(root: Path) -> Path:
    """Three VOC photos of distinct pictures with five labelled faces, and an annotation
    whose image is missing."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    rng = np.random.default_rng(0)
    scenes = {  # name: (width, height, [(label, (x1, y1, x2, y2))])
        "a": (200, 100, [("with_mask", (10, 10, 50, 60)), ("without_mask", (100, 20, 130, 44))]),
        "b": (160, 160, [("with_mask", (20, 20, 80, 100)), ("with_mask", (90, 30, 110, 50)),
                         ("with_mask", (120, 100, 150, 150))]),
        "c": (120, 90, [("without_mask", (5, 5, 17, 25))]),
    }
    for name, (w, h, objects) in scenes.items():
        cv2.imwrite(str(root / "images" / f"{name}.png"), distinct_picture(rng, w, h))
        objs = "".join(
            f"<object><name>{label}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            for label, (x1, y1, x2, y2) in objects)
        (root / "annotations" / f"{name}.xml").write_text(
            f"<annotation><filename>{name}.png</filename><size><width>{w}</width>"
            f"<height>{h}</height></size>{objs}</annotation>")
    (root / "annotations" / "ghost.xml").write_text(
        "<annotation><filename>ghost.png</filename><size><width>10</width><height>10</height>"
        "</size></annotation>")
    return root


# -- results made by hand ------------------------------------------------------------------
#: The classes of the two-class models.
CLASSES = ("with_mask", "without_mask")
#: A classifier's probabilities (in CLASSES order) for a masked and a bare face.
MASK = [0.9, 0.1]
BARE = [0.2, 0.8]


def dets(*boxes) -> Detections:
    """Unclassified detections of the given ``x, y, w, h`` boxes, face score 0.9."""
    return Detections(boxes=np.array(boxes, float).reshape(-1, 4),
                      face_scores=np.full(len(boxes), 0.9))


def classified(boxes, labels, classes=CLASSES) -> Detections:
    """Detections of ``boxes`` labelled ``labels`` with probability 0.9."""
    probabilities = [[0.9 if c == label else 0.1 / (len(classes) - 1) for c in classes]
                     for label in labels]
    return Detections(boxes=boxes, face_scores=[0.9] * len(boxes)).with_classification(
        probabilities, classes)


# -- video sources -----------------------------------------------------------------------------
class FakeCapture:
    """A cv2.VideoCapture stand-in: plays `frames` (None entries fail to read), then fails."""

    def __init__(self, frames, opened=True, delay=0.0, fps=25.0, length_known=False):
        self.frames = list(frames)
        self.length_known = length_known  # a live stream has no length; a file has
        self.opened = opened
        self.delay = delay
        self.fps = fps
        self.i = 0
        self.released = False

    def isOpened(self):
        return self.opened and not self.released

    def read(self):
        if self.delay:
            time.sleep(self.delay)
        if self.i >= len(self.frames):
            return False, None
        frame = self.frames[self.i]
        self.i += 1
        return (False, None) if frame is None else (True, frame)

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_WIDTH: CLIP_W,
                cv2.CAP_PROP_FRAME_HEIGHT: CLIP_H,
                cv2.CAP_PROP_FRAME_COUNT: len(self.frames) if self.length_known else -1,
                }.get(prop, 0.0)

    def release(self):
        self.released = True


# -- reports -----------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.figures: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "figure":
            self.figures.append(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def check_report(folder: Path, json_name: str) -> tuple[dict, _Links]:
    """The folder's JSON, HTML and PNGs agree: every figure the JSON lists is a valid PNG file,
    linked from the HTML and embedded in it byte for byte, and nothing else is referenced."""
    numbers = json.loads((folder / json_name).read_text())
    page = _Links()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert page.figures == numbers["figures"]
    embedded = [base64.b64decode(src.split(",", 1)[1]) for src in page.images]
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert len(embedded) == len(numbers["figures"])
    for name, data in zip(numbers["figures"], embedded):
        file_bytes = (folder / name).read_bytes()
        assert file_bytes.startswith(PNG_SIGNATURE)
        assert data == file_bytes
        image = cv2.imdecode(np.frombuffer(file_bytes, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and 150 <= image.shape[0] <= 2000
        assert 250 <= image.shape[1] <= 2000
        assert name in page.links
    assert json_name in page.links
    assert set(page.links) <= {*numbers["figures"], json_name}
    pngs = {p.name for p in folder.glob("*.png")}
    assert pngs == set(numbers["figures"])
    assert not list(folder.glob(".*.tmp"))  # atomic writes left nothing behind
    return numbers, page


# -- old bundles -----------------------------------------------------------------------------
def legacy_bundle(classifier, folder: Path, payload=None, metrics=None) -> Path:
    """A fitted HOG+SVM ``classifier`` written as bundle format 1 wrote it: no ``settings``
    (``metrics``, if given, replaces the metrics: the settings lived there), no manifest
    checksum, and the weights as a joblib pickle (of ``payload`` instead, if given)."""
    import hashlib
    import zipfile

    import joblib

    weights = folder / "model.joblib"
    joblib.dump(classifier.model_ if payload is None else payload, weights)
    data = weights.read_bytes()
    manifest = classifier.model_info().to_manifest()
    del manifest["settings"]
    if metrics is not None:
        manifest["metrics"] = metrics
    manifest.update(format="maskdet-bundle", format_version=1, files={
        "weights/model.joblib": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}})
    path = folder / "old.maskdet"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("weights/model.joblib", data)
    return path
