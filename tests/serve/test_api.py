"""The API against the app (Starlette's TestClient): every endpoint, every error it gives,
the token, CORS, stats_only, the metrics."""

from __future__ import annotations

import json
import struct
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

import maskdet
from tests.helpers import run_cli
from tests.serve.conftest import make_app, wait_for

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app(server={"max_upload_bytes": 2_000_000})) as c:
        yield c


@pytest.fixture(scope="module")
def street() -> bytes:
    return maskdet.samples.path("street").read_bytes()


def png_announcing(width: int, height: int) -> bytes:
    """A small PNG whose header announces ``width`` x ``height`` pixels (its data is cut)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


# -- photos ----------------------------------------------------------------------------------
def test_detect_answers_the_json_of_maskdet_detect(client, street, capsys):
    code, out, _ = run_cli(capsys, "detect", maskdet.samples.path("street"), "--json",
                           "--model", "hog-svm", "--quiet")
    assert code == 0
    expected = json.loads(out)["faces"]
    raw = client.post("/v1/detect", content=street, headers={"Content-Type": "image/png"})
    assert raw.status_code == 200
    assert raw.json() == {"path": "upload", "faces": expected}
    assert len(expected) == 5 and {f["label"] for f in expected} == {"with_mask", "without_mask"}
    upload = client.post("/v1/detect", files={"file": ("street.png", street, "image/png")})
    assert upload.status_code == 200 and upload.json() == {"path": "street.png",
                                                           "faces": expected}
    # a file field of another name is taken too
    other = client.post("/v1/detect", files={"photo": ("x.png", street, "image/png")})
    assert other.json()["faces"] == expected


def test_annotate_returns_the_annotated_jpeg(client, street):
    from maskdet.draw import annotate, blur_faces

    response = client.post("/v1/detect?annotate=true", content=street)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    original = maskdet.read_image(maskdet.samples.path("street"))
    detector = maskdet.MaskDetector("hog-svm")
    faces = detector.detect(original)
    found = detector.find_faces(original)  # every face is hidden, sure or not
    assert picture.shape == original.shape and len(faces) == 5 and len(found) >= 5
    # the photo with its faces pixelated, then labelled, as JPEG (quality 80)
    drawn = annotate(blur_faces(original, found), faces)
    expected = cv2.imdecode(cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 80])[1],
                            cv2.IMREAD_COLOR)
    assert np.abs(picture.astype(int) - expected).mean() < 0.5
    plain = annotate(original, faces).astype(int)  # what it would be without the blur
    assert np.abs(picture.astype(int) - plain).mean() > 2


def test_min_confidence_drops_the_less_sure_faces(client, street):
    every = client.post("/v1/detect?min_confidence=0", content=street).json()["faces"]
    sure = client.post("/v1/detect?min_confidence=0.9", content=street).json()["faces"]
    assert len(sure) < len(every)
    assert all(f["score"] * f["face_score"] >= 0.9 for f in sure)
    strict = client.post("/v1/detect?min_confidence=without_mask=1", content=street).json()
    assert [f["label"] for f in strict["faces"]] == [
        f["label"] for f in every if f["label"] != "without_mask"]


@pytest.mark.parametrize(("query", "message"), [
    ("min_confidence=2", "min_confidence must be between 0 and 1, got 2"),
    ("min_confidence=lots", "min_confidence: the value must be a number, got 'lots'"),
    ("min_confidence=no_face=0.5", "min_confidence names 'no_face', which the model does not"),
])
def test_a_wrong_parameter_is_422(client, street, query, message):
    response = client.post(f"/v1/detect?{query}", content=street)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_a_body_over_the_limit_is_413(client):
    big = b"\xff\xd8\xff" + b"\0" * 2_000_000
    declared = client.post("/v1/detect", content=big)
    assert declared.status_code == 413
    assert declared.json() == {"detail": "the request body is larger than the 2 MB this "
                                         "service takes"}

    def chunks():  # no Content-Length: the limit holds while the body is read
        for _ in range(30):
            yield b"\0" * 100_000

    streamed = client.post("/v1/detect", content=chunks())
    assert streamed.status_code == 413 and "larger than the 2 MB" in streamed.json()["detail"]
    upload = client.post("/v1/detect", files={"file": ("big.jpg", big, "image/jpeg")})
    assert upload.status_code == 413


def test_a_photo_over_the_pixel_limit_is_413_before_decoding(client):
    for width, height, size in ((10_000, 5_000, "10000 x 5000 pixels (50.0 MP)"),
                                (20_000, 10_000, "20000 x 10000 pixels (200.0 MP)")):
        bomb = png_announcing(width, height)  # megapixels in a few hundred bytes
        assert len(bomb) < 2000
        response = client.post("/v1/detect", content=bomb)
        assert response.status_code == 413
        assert response.json()["detail"] == (f"upload: {size} is more than the 40 MP this "
                                              "service decodes")


def test_the_pixel_limit_is_a_setting(street):
    with TestClient(make_app(server={"max_pixels": 50_000})) as small:
        response = small.post("/v1/detect", files={"file": ("street.png", street)})
    assert response.status_code == 413
    assert response.json()["detail"] == ("street.png: 400 x 227 pixels (0.1 MP) is more than "
                                          "the 0.05 MP this service decodes")


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"hello, not a photo", 415, "upload: not an image (unrecognised file content)"),
    (b"", 422, "upload: empty body: send the photo's bytes"),
    ("truncated", 422, "upload: truncated PNG (no IEND chunk)"),
    ("damaged", 422, "upload: corrupt jpeg image (its header gives no image size)"),
])
def test_not_an_image_is_the_loaders_one_line_reason(client, street, body, status, message):
    if body == "truncated":
        body = street[:3000]
    elif body == "damaged":
        body = b"\xff\xd8\xff\xe0" + b"\x13" * 500 + b"\xff\xda" + b"\x00" * 50 + b"\xff\xd9"
    response = client.post("/v1/detect", content=body)
    assert response.status_code == status and response.json() == {"detail": message}


def test_a_multipart_body_without_a_file_is_422(client):
    response = client.post("/v1/detect", files={"note": (None, "no photo")})
    assert response.status_code == 422
    assert "needs the photo in a file field ('file')" in response.json()["detail"]


def test_the_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/detect"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/jpeg", "image/png"} <= set(body)
    assert {"/v1/health", "/v1/cameras", "/v1/cameras/{camera_id}", "/v1/events",
            "/metrics"} <= set(spec["paths"])


# -- cameras and events ----------------------------------------------------------------------
def test_cameras_are_added_paused_resumed_and_removed_at_run_time(client, network_camera):
    assert client.get("/v1/cameras").json() == []
    added = client.post("/v1/cameras", json={"id": "door", "source": network_camera.url,
                                             "every": 1, "stall_seconds": 5})
    assert added.status_code == 201 and added.json()["id"] == "door"
    wait_for(lambda: client.get("/v1/cameras/door").json()["frames"] > 3, 20,
             what="frames from the camera added")
    camera = client.get("/v1/cameras/door").json()
    assert camera["state"] == "live" and camera["fps"] > 0
    assert set(camera["compliance"]) == {"1m", "10m", "1h"}
    assert [s["state"] for s in camera["states"]] == ["starting", "live"]
    assert client.get("/v1/health").json()["cameras"] == {"door": "live"}
    assert client.post("/v1/cameras", json={"id": "door", "source": 0}).status_code == 409

    assert client.post("/v1/cameras/door/pause").status_code == 200
    wait_for(lambda: client.get("/v1/cameras/door").json()["state"] == "paused", 5)
    frames = client.get("/v1/cameras/door").json()["frames"]
    assert client.get("/v1/cameras/door").json()["frames"] == frames  # nothing read
    client.post("/v1/cameras/door/resume")
    wait_for(lambda: client.get("/v1/cameras/door").json()["frames"] > frames + 2, 20,
             what="frames after resuming")
    resumed = client.get("/v1/cameras/door").json()
    assert resumed["reconnects"] == 0  # a pause is not a reconnection
    assert [s["state"] for s in resumed["states"]][-3:] == ["paused", "starting", "live"]

    assert client.delete("/v1/cameras/door").status_code == 204
    assert client.get("/v1/cameras/door").status_code == 404
    assert client.get("/v1/cameras").json() == []


@pytest.mark.parametrize(("body", "message"), [
    ({"id": "x", "source": "/etc/passwd"}, "files only from the config file"),
    ({"id": "x y", "source": 0}, "id must be 1-64 letters"),
    ({"id": "x", "source": 0, "every": 0}, "every must be between 1 and 1000"),
    ({"id": "x", "source": 0, "zoom": 2}, "unknown key 'zoom'"),
])
def test_a_wrong_camera_is_422(client, body, message):
    response = client.post("/v1/cameras", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]
    assert client.get("/v1/cameras").json() == []


@pytest.mark.parametrize("path", ["/v1/cameras/nope", "/v1/cameras/nope/frame.jpg",
                                  "/v1/cameras/nope/live.mjpg", "/v1/cameras/nope/compliance"])
def test_an_unknown_camera_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.json() == {"detail": "no camera 'nope'"}


def test_a_clip_camera_raises_events_with_snapshots(sample_clip):
    app = make_app(cameras=[{"id": "door", "source": str(sample_clip), "alert_after": 0.3}])
    with TestClient(app) as c:
        wait_for(lambda: c.get("/v1/cameras/door").json()["state"] == "ended", 30,
                 what="the clip played to its end")
        camera = c.get("/v1/cameras/door").json()
        assert camera["frames"] == 24 and camera["dropped"] == 0  # a file: every frame
        assert sum(camera["faces"].values()) > 24
        events = c.get("/v1/events").json()
        assert events["total"] == camera["alerts"] >= 1
        first = events["events"][0]
        assert set(first) >= {"id", "camera", "track", "label", "duration", "time", "frame",
                              "box", "snapshot", "snapshot_url"}
        assert first["camera"] == "door" and first["label"] == "without_mask"
        assert first["duration"] >= 0.3 and first["snapshot_url"] == \
            f"/v1/snapshots/{first['snapshot']}"
        snap = c.get(first["snapshot_url"])
        assert snap.status_code == 200 and snap.content.startswith(b"\xff\xd8")
        # polling
        assert c.get(f"/v1/events?after={first['id']}").json()["events"] == \
            events["events"][1:]
        assert c.get("/v1/events?camera=hall").json()["events"] == []
        assert c.get(f"/v1/events?since={first['time']}").json()["events"] == \
            [e for e in events["events"] if e["time"] > first["time"]]
        assert c.get("/v1/events?limit=0").status_code == 422
        # the frame and the series
        assert c.get("/v1/cameras/door/frame.jpg").content.startswith(b"\xff\xd8")
        series = c.get("/v1/cameras/door/compliance?window=60&step=10").json()["series"]
        assert len(series) == 6 and sum(p["faces"] for p in series) == sum(
            camera["faces"].values())
        # a camera that ended is played again on resume
        c.post("/v1/cameras/door/resume")
        wait_for(lambda: c.get("/v1/cameras/door").json()["frames"] == 48, 30)


@pytest.mark.parametrize("snapshot_id", ["0" * 32, "..%2F..%2Fetc%2Fpasswd", "snap-x.jpg",
                                         "%2Fetc%2Fpasswd"])
def test_snapshots_are_served_by_id_only(client, snapshot_id):
    assert client.get(f"/v1/snapshots/{snapshot_id}").status_code == 404


@pytest.mark.parametrize("name", ["../app.py", "..%2Fapp.py", "__init__.py", "static"])
def test_static_files_are_a_fixed_list(client, name):
    assert client.get(f"/static/{name}").status_code == 404


def test_the_pages_are_served_by_the_app(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/dashboard.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: nothing from elsewhere
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "getUserMedia" in client.get("/static/webcam.js").text
    assert client.get("/webcam").status_code == 200


# -- the webcam's WebSocket ------------------------------------------------------------------
def test_the_webcam_socket_answers_each_frame(client):
    frame = cv2.resize(maskdet.read_image(maskdet.samples.path("crowd")), (640, 480))
    ok, jpeg = cv2.imencode(".jpg", frame)
    with client.websocket_connect("/v1/webcam") as ws:
        for i in range(3):
            ws.send_bytes(jpeg.tobytes())
            result = ws.receive_json()
            assert result["frame"] == i and (result["width"], result["height"]) == (640, 480)
            assert len(result["faces"]) >= 3
            assert {"track", "box", "label", "score"} <= set(result["faces"][0])
        assert result["counts"]["with_mask"] >= 3
        assert sorted(f["track"] for f in result["faces"]) == sorted(
            f["track"] for f in result["faces"])
        ws.send_bytes(b"not a frame")
        assert ws.receive_json() == {"error": "frame: not an image (unrecognised file content)"}
        ws.send_text("hello")
        assert ws.receive_json() == {"error": "send frames as binary messages"}
        ws.send_bytes(jpeg.tobytes())  # the session goes on
        assert len(ws.receive_json()["faces"]) >= 3


def test_webcam_sessions_are_bounded():
    from starlette.websockets import WebSocketDisconnect

    with TestClient(make_app(server={"max_webcam_sessions": 1})) as c:
        with c.websocket_connect("/v1/webcam"):
            with pytest.raises(WebSocketDisconnect) as closed:
                with c.websocket_connect("/v1/webcam") as second:
                    second.receive_json()
            assert closed.value.code == 1013


# -- access ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(TOKEN)
    with TestClient(make_app(server={"token_file": str(token_file)})) as c:
        yield c


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/health"), ("GET", "/v1/cameras"), ("GET", "/v1/events"),
    ("GET", "/metrics"), ("POST", "/v1/detect"), ("POST", "/v1/cameras"),
    ("DELETE", "/v1/cameras/x"), ("GET", "/v1/snapshots/" + "0" * 32)])
def test_with_a_token_every_route_needs_it(secured, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                    {"Authorization": f"Basic {TOKEN}"}):
        response = secured.request(method, path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["www-authenticate"] == "Bearer"
    ok = secured.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code != 401


def test_the_token_is_compared_in_constant_time(secured, monkeypatch):
    import maskdet.serve.app as app_module

    calls = []
    real = app_module.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(app_module.hmac, "compare_digest", spy)
    secured.get("/v1/health", headers={"Authorization": "Bearer guess-0123456789abcdef"})
    assert calls == [(b"guess-0123456789abcdef", TOKEN.encode())]


def test_a_browser_keeps_the_token_in_a_strict_cookie(secured):
    assert secured.get("/").status_code == 200  # the page itself is public
    assert secured.post("/v1/session").status_code == 401
    opened = secured.post("/v1/session", headers={"Authorization": f"Bearer {TOKEN}"})
    assert opened.status_code == 204
    cookie = opened.headers["set-cookie"]
    assert "maskdet_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert secured.get("/v1/health").status_code == 200  # the cookie is sent now
    with secured.websocket_connect("/v1/webcam") as ws:  # and with the socket
        ws.send_text("hello")
        assert ws.receive_json() == {"error": "send frames as binary messages"}
    secured.delete("/v1/session")
    secured.cookies.clear()
    assert secured.get("/v1/health").status_code == 401


def test_the_webcam_socket_needs_the_token(secured):
    from starlette.websockets import WebSocketDisconnect

    secured.cookies.clear()
    with pytest.raises(WebSocketDisconnect) as closed:
        with secured.websocket_connect("/v1/webcam") as ws:
            ws.receive_json()
    assert closed.value.code == 1008


def test_cors_is_off_unless_configured(client):
    asked = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.get("/v1/health", headers=asked).headers
    assert client.options("/v1/health", headers=asked).status_code == 405
    with TestClient(make_app(server={"cors_origins": ["https://intranet.example"]})) as c:
        allowed = c.get("/v1/health", headers={"Origin": "https://intranet.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://intranet.example"
        other = c.get("/v1/health", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_stats_only_serves_no_image(street, sample_clip):
    app = make_app(privacy={"stats_only": True},
                   cameras=[{"id": "door", "source": str(sample_clip), "alert_after": 0.3}])
    with TestClient(app) as c:
        wait_for(lambda: c.get("/v1/cameras/door").json()["state"] == "ended", 30)
        refused = "this service runs stats_only: it serves numbers, never an image"
        for path in ("/v1/cameras/door/frame.jpg", "/v1/cameras/door/live.mjpg",
                     "/v1/snapshots/" + "0" * 32):
            response = c.get(path)
            assert response.status_code == 403 and response.json() == {"detail": refused}
        assert c.post("/v1/detect?annotate=true", content=street).status_code == 403
        assert len(c.post("/v1/detect", content=street).json()["faces"]) == 5  # numbers: yes
        events = c.get("/v1/events").json()["events"]
        assert events and all(e["snapshot"] is None for e in events)
        assert c.get("/v1/health").json()["stats_only"] is True


# -- metrics -----------------------------------------------------------------------------------
def metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_in_prometheus_format(sample_clip, street):
    app = make_app(cameras=[{"id": "door", "source": str(sample_clip), "alert_after": 0.3}])
    with TestClient(app) as c:
        wait_for(lambda: c.get("/v1/cameras/door").json()["state"] == "ended", 30)
        for _ in range(3):
            c.post("/v1/detect", content=street)
        c.post("/v1/detect", content=b"nope")
        camera = c.get("/v1/cameras/door").json()
        response = c.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert metric(text, "maskdet_camera_frames_total", camera="door") == 24
    assert metric(text, "maskdet_camera_alerts_total", camera="door") == camera["alerts"]
    assert metric(text, "maskdet_events_total") == camera["alerts"]
    for label, n in camera["faces"].items():
        assert metric(text, "maskdet_camera_faces_total", camera="door", label=label) == n
    for label in ("with_mask", "without_mask"):
        assert metric(text, "maskdet_camera_tracks_total", camera="door", label=label) == \
            camera["people"][label]
    assert metric(text, "maskdet_camera_tracks_total", label="compliant") is None
    assert metric(text, "maskdet_camera_state", camera="door", state="ended") == 1
    assert metric(text, "maskdet_camera_state", camera="door", state="live") == 0
    assert metric(text, "maskdet_camera_compliance_ratio", camera="door", window="1m") == \
        pytest.approx(camera["compliance"]["1m"], abs=1e-3)
    assert metric(text, "maskdet_http_request_duration_seconds_count", route="/v1/detect",
                  status="200") == 3
    assert metric(text, "maskdet_http_request_duration_seconds_count", route="/v1/detect",
                  status="415") == 1
    assert metric(text, "maskdet_photos_total", outcome="ok") == 3
    assert metric(text, "maskdet_photos_total", outcome="NotAnImage") == 1
    assert metric(text, "maskdet_photo_faces_total", label="without_mask") == 3
    assert metric(text, "maskdet_build_info", version=maskdet.__version__) == 1
    assert metric(text, "maskdet_model_info", backend="hog-svm", face_detector="yunet") == 1
    assert metric(text, "process_resident_memory_bytes") > 0
    # no unbounded label: no path, no track id
    assert "track=" not in text and "/v1/snapshots/" not in text


def test_photos_waiting_are_bounded(street, monkeypatch):
    import threading
    import time

    with TestClient(make_app(server={"max_pending_photos": 2})) as c:
        photos = c.app.state.service.photos
        real = photos.detect
        monkeypatch.setattr(photos, "detect", lambda *a: (time.sleep(0.8), real(*a))[1])
        answers = []

        def send():
            answers.append(c.post("/v1/detect", content=street))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: c.app.state.service.pending_photos == 2, 5)
        busy = c.post("/v1/detect", content=street)  # a third while two wait: refused at once
        for t in threads:
            t.join()
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json() == {"detail": "busy: 2 photos are waiting; try again"}
        assert [a.status_code for a in answers] == [200, 200]
        assert c.post("/v1/detect", content=street).status_code == 200  # free again
