"""Privacy: with ``blur_faces`` on, no image the service serves or stores -- annotated photos,
snapshots (on disk and served), the newest frame, the live view -- holds a face as it was.
Each face the face detector finds in the original is compared with the same region of the
picture; with ``blur_faces`` off the same check finds every face, so it can fail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

import maskdet
from maskdet.faces import create_face_detector
from tests.serve.conftest import make_app, wait_for


def detail(region: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return cv2.Laplacian(gray, cv2.CV_32F)


def shown_as_it_was(picture: np.ndarray, original: np.ndarray, box) -> bool:
    """Whether the middle of a face box (away from the drawn box and label) still shows the
    face: its fine detail is kept and follows the original's."""
    x, y, w, h = (int(v) for v in box)
    x0, y0, x1, y1 = x + w // 5, y + h // 5, x + w - w // 5, y + h - h // 5
    a, b = detail(picture[y0:y1, x0:x1]).ravel(), detail(original[y0:y1, x0:x1]).ravel()
    correlation = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    kept = np.abs(a).mean() / max(np.abs(b).mean(), 1e-6)
    return correlation > 0.5 and kept > 0.5


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def faces_in(image: np.ndarray) -> np.ndarray:
    boxes = create_face_detector("yunet").detect(image).boxes
    assert len(boxes) >= 3
    return boxes


def exposed(picture: np.ndarray, original: np.ndarray) -> list:
    assert picture.shape == original.shape
    return [box.tolist() for box in faces_in(original)
            if shown_as_it_was(picture, original, box)]


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """A 640x480 clip of one sample photo, standing still, and its frame as decoded."""
    frame = cv2.resize(maskdet.read_image(maskdet.samples.path("crowd")), (640, 480))
    path = tmp_path_factory.mktemp("still") / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(40):
        writer.write(frame)
    writer.release()
    cap = cv2.VideoCapture(str(path))
    ok, decoded = cap.read()
    cap.release()
    assert ok
    return path, decoded


@pytest.mark.parametrize("blur", [True, False])
def test_annotated_photos_hide_every_face(blur):
    with TestClient(make_app(privacy={"blur_faces": blur})) as client:
        for path in maskdet.samples.paths():
            original = maskdet.read_image(path)
            response = client.post("/v1/detect?annotate=true", content=path.read_bytes())
            leaked = exposed(decode(response.content), original)
            if blur:
                assert leaked == [], path.name
            else:  # the check sees the faces when they are not hidden (a label may cover one)
                assert len(leaked) >= 0.8 * len(faces_in(original)), path.name


@pytest.mark.parametrize("blur", [True, False])
def test_camera_pictures_served_and_stored_hide_every_face(still, tmp_path, blur):
    clip, original = still
    snapshots = tmp_path / "snapshots"
    app = make_app(privacy={"blur_faces": blur}, storage={"snapshot_dir": str(snapshots)},
                   cameras=[{"id": "still", "source": str(clip), "alert_after": 0.2,
                             "loop": True, "min_confidence": 0.0}])
    with TestClient(app) as client:
        wait_for(lambda: client.get("/v1/events").json()["events"], 30, what="an event")
        pictures = {"frame.jpg": client.get("/v1/cameras/still/frame.jpg").content}
        with client.stream("GET", "/v1/cameras/still/live.mjpg?frames=2") as live:
            parts = b"".join(live.iter_bytes()).split(b"--maskdet-frame\r\n")[1:]
        for i, part in enumerate(parts):
            pictures[f"live part {i}"] = part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")
        for event in client.get("/v1/events").json()["events"]:
            pictures[f"snapshot {event['id']}"] = client.get(event["snapshot_url"]).content
        stored = sorted(snapshots.glob("*.jpg"))
        assert stored and len(parts) == 2
        for path in stored:
            pictures[f"stored {path.name}"] = path.read_bytes()
    for name, data in pictures.items():
        leaked = exposed(decode(data), original)
        if blur:
            assert leaked == [], name
        else:
            assert leaked, name
