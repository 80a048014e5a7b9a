"""The service's ASGI app: :func:`create_app` builds it from a :class:`ServeConfig`.

Routes (OpenAPI docs at ``/docs``):

* ``POST /v1/detect`` -- a photo (multipart upload or the raw body) -> the JSON of
  ``maskdet detect --json``, or the annotated JPEG with ``?annotate=true``.
* ``GET /v1/health``, ``GET /v1/cameras``, ``GET /v1/cameras/{id}`` (and ``/compliance``,
  ``/frame.jpg``, ``/live.mjpg``), ``POST /v1/cameras``, ``POST /v1/cameras/{id}/pause`` and
  ``/resume``, ``DELETE /v1/cameras/{id}``, ``GET /v1/events``, ``GET /v1/snapshots/{id}``.
* ``WS /v1/webcam`` -- a browser's camera frames in, faces out.
* ``GET /metrics`` -- Prometheus; ``GET /`` the dashboard, ``GET /webcam`` the webcam page.

Every route but the pages' static files needs the API token when one is set
(``Authorization: Bearer TOKEN``, or the cookie that ``POST /v1/session`` sets for a
browser); one is required to listen beyond loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import threading
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from ..errors import MaskdetError
from ..faces import create_face_detector
from ..pretrained import load_model
from ..versions import MASKDET_VERSION
from .cameras import CameraManager, CameraWorker
from .config import CameraConfig, ConfigError, ServeConfig, camera_from_dict
from .metrics import RequestTimer, ServiceMetrics
from .photos import PhotoDetector, PhotoError, parse_min_confidence
from .pictures import ImagesOff, Pictures
from .sinks import CommandSink, EventSink, EventSinks, MqttSink, WebhookSink
from .storage import EventLog, SnapshotStore
from .webcam import WebcamSession

logger = logging.getLogger(__name__)

#: The cookie a browser keeps the API token in (``POST /v1/session``).
TOKEN_COOKIE = "maskdet_token"
#: The pages' files, served by name from this list only (no request value becomes a path).
STATIC_FILES = {"dashboard.js": "text/javascript", "webcam.js": "text/javascript",
                "style.css": "text/css", "index.html": "text/html",
                "webcam.html": "text/html"}
_LIVE_ROUTE = "/v1/cameras/{camera_id}/live.mjpg"
_BOUNDARY = "maskdet-frame"


class CameraBody(BaseModel):
    """A camera added at run time: a camera index or a stream URL (files only from the
    config file), with the options of a ``[[cameras]]`` table."""

    id: str = Field(examples=["entrance"])
    source: int | str = Field(examples=["rtsp://10.0.0.5/stream1", 0])
    model_config = {"extra": "allow"}


class Service:
    """What one app holds: the model, the photo detectors, the cameras, the events and
    their sinks, the snapshots, the metrics."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.classifier = load_model(config.model)
        workers = config.photo_workers or os.cpu_count() or 1
        self.photos = PhotoDetector(self.classifier, config.face_detector,
                                    config.min_confidence, workers, config.max_pixels)
        # Every face YuNet finds in a camera's frame is hidden, sure or not: a lower score
        # than detection's own, so that a face is rather hidden once too often than shown.
        finder = (create_face_detector(config.face_detector,
                                       **({"score_threshold": 0.5}
                                          if config.face_detector in ("yunet", "auto") else {}))
                  if config.blur_faces and not config.stats_only else None)
        self.pictures = Pictures(config.blur_faces, config.blur_method, config.stats_only,
                                 finder)
        self.events = EventLog(config.max_events)
        self.metrics = ServiceMetrics(MASKDET_VERSION, {
            "model": str(config.model or "default"), "backend": self.classifier.backend_name,
            "classes": ",".join(self.photos.classes), "face_detector": config.face_detector})
        self.snapshots: SnapshotStore | None = None
        self.sinks = EventSinks()
        self.cameras: CameraManager | None = None
        self.limiter: anyio.CapacityLimiter | None = None
        self.webcams = 0
        self.viewers = 0
        self.pending_photos = 0
        self.closing = threading.Event()

    def start(self) -> None:
        config = self.config
        if not config.stats_only:
            self.snapshots = SnapshotStore(config.snapshot_dir, config.snapshot_max_age,
                                           config.max_snapshots)
        sinks: list[EventSink] = [WebhookSink(hook) for hook in config.webhooks]
        if config.mqtt is not None:
            sinks.append(MqttSink(config.mqtt, self.statistics))
        if config.command:
            store = self.snapshots
            sinks.append(CommandSink(config.command,
                                     lambda snap: store.path(snap) if store else None))
        self.sinks = EventSinks(sinks)
        self.cameras = CameraManager(self.classifier, config.face_detector, self.pictures,
                                     self.events, self.sinks, self.snapshots,
                                     config.min_confidence)
        self.metrics.watch(self.cameras.numbers, self.sink_numbers, lambda: self.events.total)
        for camera in config.cameras:
            self.cameras.add(camera)

    def stop(self) -> None:
        self.closing.set()
        if self.cameras is not None:
            self.cameras.close()
        self.sinks.close()
        if self.snapshots is not None:
            self.snapshots.close()

    def statistics(self) -> dict[str, dict[str, Any]]:
        """Each camera's numbers, as MQTT's statistics messages carry them."""
        out = {}
        for numbers in self.cameras.numbers() if self.cameras else []:
            out[numbers["id"]] = {k: numbers[k] for k in (
                "state", "frames", "fps", "in_view", "people", "compliance", "alerts")}
        return out

    def sink_numbers(self) -> list[dict[str, Any]]:
        out, seen = [], {}
        for stats in self.sinks.stats():
            seen[stats["kind"]] = seen.get(stats["kind"], 0) + 1
            out.append({**stats, "id": f"{stats['kind']}-{seen[stats['kind']]}"})
        return out

    def camera(self, camera_id: str) -> CameraWorker:
        worker = self.cameras.get(camera_id) if self.cameras else None
        if worker is None:
            raise HTTPException(404, f"no camera {camera_id!r}")
        return worker


def _token_of(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE)


def _token_ok(given: str | None, token: str | None) -> bool:
    if token is None:
        return True
    # Constant time: how long a comparison takes must not tell how much of a guess is right.
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """The service's ASGI app (run it with uvicorn, or ``maskdet serve``).

    The model is loaded here (a bad model fails at once); cameras, sinks and snapshots start
    with the app's lifespan and stop with it.

    Raises:
        MaskdetError: the model cannot be loaded.

    Example:
        >>> app = create_app(load_config("site.toml"))  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    config = config or ServeConfig()
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Photos and webcam frames share one detector per worker: the others wait their turn.
        service.limiter = anyio.CapacityLimiter(service.photos.workers)
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    async def authorized(request: Request) -> None:
        if not _token_ok(_token_of(request), config.token):
            raise HTTPException(401, "missing or wrong API token (Authorization: Bearer ...)",
                                headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="maskdet", version=MASKDET_VERSION, lifespan=lifespan,
                  description="Face-mask detection: photos, cameras, events, a live page.")
    app.state.service = service
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(RequestTimer, metrics=service.metrics, skip=[_LIVE_ROUTE])
    secured = [Depends(authorized)]

    @app.exception_handler(PhotoError)
    async def photo_error(request: Request, exc: PhotoError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(ImagesOff)
    async def images_off(request: Request, exc: ImagesOff) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    # -- the pages --------------------------------------------------------------------------
    files = {name: (resources.files(__package__) / "static" / name).read_bytes()
             for name in STATIC_FILES}

    def page(name: str) -> Response:
        return Response(files[name], media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache",
                                 "Content-Security-Policy":
                                     "default-src 'self'; img-src 'self' blob: data:; "
                                     "media-src 'self' blob: mediastream:",
                                 "X-Content-Type-Options": "nosniff"})

    @app.get("/", include_in_schema=False)
    async def dashboard() -> Response:
        return page("index.html")

    @app.get("/webcam", include_in_schema=False)
    async def webcam_page() -> Response:
        return page("webcam.html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return page(name)

    @app.post("/v1/session", tags=["access"], dependencies=secured, status_code=204)
    async def open_session(request: Request) -> Response:
        """Keep the API token in a cookie, for the pages (their images and WebSockets
        cannot send an ``Authorization`` header)."""
        response = Response(status_code=204)
        token = _token_of(request)
        if config.token is not None and token is not None:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

    @app.delete("/v1/session", tags=["access"], status_code=204)
    async def close_session() -> Response:
        response = Response(status_code=204)
        response.delete_cookie(TOKEN_COOKIE)
        return response

    # -- photos -----------------------------------------------------------------------------
    photo_body = {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string",
                                                                   "format": "binary"}}}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}

    @app.post("/v1/detect", tags=["photos"], dependencies=secured, openapi_extra=photo_body,
              responses={200: {"content": {"image/jpeg": {}}},
                         413: {"description": "body or image too large"},
                         415: {"description": "not an image"},
                         422: {"description": "a damaged image or a wrong parameter"},
                         503: {"description": "too many photos waiting; try again"}})
    async def detect(request: Request,
                     annotate: bool = Query(False, description="return the annotated JPEG"),
                     min_confidence: str | None = Query(
                         None, description="C, or LABEL=C[,LABEL=C]: drop faces less sure "
                                           "(default: the model's operating point)")
                     ) -> Any:
        """Find the faces of a photo and tell, for each, whether it wears a mask: the JSON
        of ``maskdet detect --json`` (``{"path", "faces": [{"box", "label", "score",
        "face_score"}]}``)."""
        floors = (None if min_confidence is None
                  else parse_min_confidence(min_confidence, service.photos.classes))
        if annotate:
            service.pictures.check()
        if service.pending_photos >= config.max_pending_photos:
            service.metrics.photos.labels("busy").inc()
            raise HTTPException(503, f"busy: {service.pending_photos} photos are waiting; "
                                     "try again", headers={"Retry-After": "1"})
        service.pending_photos += 1
        try:
            return await _detect(request, floors, annotate)
        finally:
            service.pending_photos -= 1

    async def _detect(request: Request, floors: Any, annotate: bool) -> Response:
        try:
            data, name = await _read_photo(request, config.max_upload_bytes)
        except PhotoError as exc:
            service.metrics.photos.labels(type(exc).__name__).inc()
            raise

        def work() -> tuple[Any, Any]:
            image = service.photos.decode(data, name)
            faces, found = service.photos.detect(image, floors)
            if not annotate:
                return faces, None
            return faces, service.pictures.render_jpeg(image, faces, found=found)

        try:
            faces, jpeg = await anyio.to_thread.run_sync(work, limiter=service.limiter)
        except PhotoError as exc:
            service.metrics.photos.labels(type(exc).__name__).inc()
            raise
        service.metrics.photos.labels("ok").inc()
        for label, n in faces.counts().items():
            service.metrics.photo_faces.labels(label).inc(n)
        if jpeg is not None:
            return Response(jpeg, media_type="image/jpeg")
        return JSONResponse({"path": name, "faces": faces.to_dicts()})

    # -- cameras ----------------------------------------------------------------------------
    @app.get("/v1/health", tags=["service"], dependencies=secured)
    async def health() -> dict[str, Any]:
        """Liveness, and each camera's state."""
        cameras = service.cameras.all() if service.cameras else []
        return {"status": "ok", "version": MASKDET_VERSION,
                "stats_only": config.stats_only, "blur_faces": config.blur_faces,
                "cameras": {c.id: c.state for c in cameras},
                "sinks": service.sink_numbers()}

    @app.get("/v1/cameras", tags=["cameras"], dependencies=secured)
    async def cameras() -> list[dict[str, Any]]:
        """Every camera's state and numbers."""
        return service.cameras.numbers() if service.cameras else []

    @app.post("/v1/cameras", tags=["cameras"], dependencies=secured, status_code=201)
    async def add_camera(body: CameraBody) -> dict[str, Any]:
        """Start watching a camera (a camera index or a stream URL)."""
        camera: CameraConfig = camera_from_dict(body.model_dump(), "the request", from_api=True)
        if service.cameras.get(camera.id) is not None:
            raise HTTPException(409, f"camera {camera.id!r} exists already")
        return (await run_in_threadpool(service.cameras.add, camera)).numbers()

    @app.get("/v1/cameras/{camera_id}", tags=["cameras"], dependencies=secured)
    async def camera(camera_id: str) -> dict[str, Any]:
        """A camera's state (and its recent states), counts, rolling compliance over 1 min,
        10 min and 1 h, distinct people (tracks) by label, fps, drops, reconnects."""
        return service.camera(camera_id).numbers(history=True)

    @app.get("/v1/cameras/{camera_id}/compliance", tags=["cameras"], dependencies=secured)
    async def compliance(camera_id: str, window: float = Query(600, ge=10, le=3600),
                         step: float = Query(10, ge=1, le=600)) -> dict[str, Any]:
        """The compliance rate per ``step`` seconds over the last ``window`` seconds."""
        return {"camera": camera_id, "window": window, "step": step,
                "series": service.camera(camera_id).series(window, step)}

    @app.post("/v1/cameras/{camera_id}/pause", tags=["cameras"], dependencies=secured)
    async def pause(camera_id: str) -> dict[str, Any]:
        worker = service.camera(camera_id)
        worker.pause()
        return worker.numbers()

    @app.post("/v1/cameras/{camera_id}/resume", tags=["cameras"], dependencies=secured)
    async def resume(camera_id: str) -> dict[str, Any]:
        """Read again (after a pause, and also a ``failed`` or ``ended`` camera)."""
        worker = service.camera(camera_id)
        worker.resume()
        return worker.numbers()

    @app.delete("/v1/cameras/{camera_id}", tags=["cameras"], dependencies=secured,
                status_code=204)
    async def remove(camera_id: str) -> Response:
        service.camera(camera_id)
        await run_in_threadpool(service.cameras.remove, camera_id)
        return Response(status_code=204)

    @app.get("/v1/cameras/{camera_id}/frame.jpg", tags=["cameras"], dependencies=secured,
             responses={200: {"content": {"image/jpeg": {}}}})
    async def frame(camera_id: str) -> Response:
        """The newest frame, annotated (faces hidden when ``blur_faces``)."""
        worker = service.camera(camera_id)
        picture = await run_in_threadpool(worker.picture, service.pictures)
        if picture is None:
            raise HTTPException(404, f"camera {camera_id!r} has no frame yet")
        return Response(picture[1], media_type="image/jpeg",
                        headers={"Cache-Control": "no-store"})

    @app.get(_LIVE_ROUTE, tags=["cameras"], dependencies=secured)
    async def live(camera_id: str, frames: int = Query(0, ge=0, description="stop after N "
                                                                            "frames (0: never)")
                   ) -> StreamingResponse:
        """The live view: annotated frames as MJPEG (``multipart/x-mixed-replace``), at
        most ``view_fps`` a second."""
        worker = service.camera(camera_id)
        service.pictures.check()
        if service.viewers >= config.max_viewers:
            raise HTTPException(503, f"{config.max_viewers} live views are open already")

        async def parts() -> AsyncIterator[bytes]:
            service.viewers += 1
            try:
                sent, last = 0, -1
                while not service.closing.is_set() and service.cameras.get(camera_id) is worker:
                    if worker.frame_seq != last:
                        picture = await run_in_threadpool(worker.picture, service.pictures)
                        if picture is not None and picture[0] != last:
                            last = picture[0]
                            yield (f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                   f"Content-Length: {len(picture[1])}\r\n\r\n").encode() \
                                + picture[1] + b"\r\n"
                            sent += 1
                            if frames and sent >= frames:
                                return
                    await asyncio.sleep(1.0 / config.view_fps)
            finally:
                service.viewers -= 1

        return StreamingResponse(parts(),
                                 media_type=f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
                                 headers={"Cache-Control": "no-store"})

    # -- events -----------------------------------------------------------------------------
    @app.get("/v1/events", tags=["events"], dependencies=secured)
    async def events(after: int = Query(0, ge=0, description="events after this id"),
                     since: float | None = Query(None, description="events after this Unix "
                                                                   "time (seconds)"),
                     camera: str | None = None,
                     limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        """Recent violation alerts, oldest first (poll with ``after`` = the last id seen)."""
        found = service.events.since(after, since, camera, limit)
        return {"events": [e.to_dict() for e in found], "total": service.events.total}

    @app.get("/v1/snapshots/{snapshot_id}", tags=["events"], dependencies=secured,
             responses={200: {"content": {"image/jpeg": {}}}})
    async def snapshot(snapshot_id: str) -> Response:
        """An event's snapshot, by the id the event gives."""
        service.pictures.check()
        path = service.snapshots.path(snapshot_id) if service.snapshots else None
        if path is None:
            raise HTTPException(404, "no such snapshot (deleted, or never made)")
        return Response(await anyio.Path(path).read_bytes(), media_type="image/jpeg")

    # -- the webcam page's stream -----------------------------------------------------------
    @app.websocket("/v1/webcam")
    async def webcam(websocket: WebSocket) -> None:
        """Frames (binary JPEG messages) in, one JSON message of faces per frame out."""
        if not _token_ok(_token_of(websocket), config.token):
            await websocket.close(code=1008, reason="missing or wrong API token")
            return
        if service.webcams >= config.max_webcam_sessions:
            await websocket.close(code=1013, reason="too many webcam sessions; try later")
            return
        await websocket.accept()
        service.webcams += 1
        session = None
        try:
            session = await run_in_threadpool(
                WebcamSession, service.classifier, service.photos, config.face_detector,
                config.min_confidence)
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    await websocket.send_json({"error": "send frames as binary messages"})
                    continue
                if len(data) > config.max_upload_bytes:
                    await websocket.send_json({"error": "frame too large"})
                    continue
                try:
                    result = await anyio.to_thread.run_sync(session.process, data,
                                                            limiter=service.limiter)
                except PhotoError as exc:
                    await websocket.send_json({"error": str(exc)})
                    continue
                await websocket.send_json(result)
        except WebSocketDisconnect:
            pass
        finally:
            service.webcams -= 1
            if session is not None:
                session.close()

    # -- metrics ----------------------------------------------------------------------------
    @app.get("/metrics", tags=["service"], dependencies=secured)
    async def metrics() -> Response:
        """Prometheus metrics."""
        body = await run_in_threadpool(service.metrics.render)
        return Response(body, media_type=service.metrics.content_type)

    @app.exception_handler(MaskdetError)
    async def maskdet_error(request: Request, exc: MaskdetError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app


async def _read_photo(request: Request, limit: int) -> tuple[bytes, str]:
    """The photo's bytes and name from a multipart upload (field ``file``, or the first
    file) or the raw body, read no further than ``limit`` bytes.

    Raises:
        PhotoTooLarge: the body is larger than ``limit``.
        PhotoError: a multipart body without a file.
    """
    from .photos import PhotoTooLarge

    too_large = PhotoTooLarge(f"the request body is larger than the {limit / 1e6:g} MB "
                              "this service takes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body, "upload"

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
    try:
        files = [v for k, v in form.multi_items() if not isinstance(v, str)]
        named = [v for k, v in form.multi_items() if k == "file" and not isinstance(v, str)]
        if not files:
            raise PhotoError("a multipart upload needs the photo in a file field ('file')")
        upload = (named or files)[0]
        return await upload.read(), upload.filename or "upload"
    finally:
        await form.close()
