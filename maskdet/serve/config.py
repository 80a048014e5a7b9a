"""The service's settings: a TOML file (``maskdet serve --config site.toml``) read into frozen,
checked dataclasses. Every key is optional; a wrong or unknown key is a one-line
:class:`ConfigError` naming the file, the table and the key, before anything starts.

Example ``site.toml``::

    [server]
    port = 8000

    [[cameras]]
    id = "entrance"
    source = "rtsp://10.0.0.5/stream1"
    alert_after = 3.0

    [[events.webhook]]
    url = "http://127.0.0.1:9000/maskdet"

Durations are in seconds, sizes in bytes. The API token is never written in the file itself:
``MASKDET_API_TOKEN`` in the environment, else the file ``[server] token_file`` names.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..errors import MaskdetError
from ..video.io import parse_source

#: The environment variable that holds the API token.
TOKEN_ENV = "MASKDET_API_TOKEN"
#: The environment variable that holds the MQTT broker's password.
MQTT_PASSWORD_ENV = "MASKDET_MQTT_PASSWORD"
#: Shortest API token accepted: a guessable token is no protection.
MIN_TOKEN_LENGTH = 16
#: What a camera id may be: it appears in URLs, topics and metric labels.
CAMERA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: A camera's states: opening its source the first time; frames arriving; no frame for
#: ``stall_seconds``; reopening it (with backoff); given up after ``give_up_after`` failed
#: reopenings; paused through the API; a video file played to its end.
CAMERA_STATES = ("starting", "live", "stalled", "reconnecting", "failed", "paused", "ended")
#: URL schemes a camera added through the API may use (files only from the config file).
API_SOURCE_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp", "rtmps", "srt", "udp", "tcp")


class ConfigError(MaskdetError):
    """A configuration file or value is wrong (one line naming the key)."""


@dataclass(frozen=True)
class CameraConfig:
    """One camera: its source and the options of its :func:`maskdet.stream`.

    Attributes:
        id: its name in URLs, topics and metrics (letters, digits, ``-``, ``_``).
        source: a camera index, a video file or a stream URL (as ``maskdet video``).
        name: shown on the page (default: the id).
        every, detect_scale, classify_every, min_face, min_confidence, alert_after, live,
            tracker: as in :func:`maskdet.stream` (``tracker`` only passed when given).
        stall_seconds: no frame for this long and the watchdog reopens the source.
        reconnect_delay, max_reconnect_delay: the first wait before reopening, doubled at
            each failed attempt up to the second.
        give_up_after: failed reopenings in a row after which the camera is ``failed`` (0:
            never give up).
        loop: a video file starts again at its end (a clip as a camera).
        paused: start paused.
        zone: the part of the picture that is watched, a polygon of ``[x, y]`` points as
            fractions of the width and height (``[[0, 0.3], [1, 0.3], [1, 1], [0, 1]]``: the
            lower 70 %); outside it the frames are blacked out before detection, so faces
            there are neither counted, alerted on nor shown. None: the whole picture.
    """

    id: str
    source: str | int
    name: str = ""
    every: int = 2
    detect_scale: float = 1.0
    classify_every: int = 1
    min_face: int = 0
    min_confidence: float | dict[str, float] | None = None
    alert_after: float = 3.0
    live: bool | None = None
    tracker: str | None = None
    stall_seconds: float = 10.0
    reconnect_delay: float = 1.0
    max_reconnect_delay: float = 30.0
    give_up_after: int = 0
    loop: bool = False
    paused: bool = False
    zone: tuple[tuple[float, float], ...] | None = None

    @property
    def title(self) -> str:
        return self.name or self.id

    def stream_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`maskdet.stream` this camera sets."""
        out: dict[str, Any] = {
            "every": self.every, "detect_scale": self.detect_scale,
            "classify_every": self.classify_every, "min_face": self.min_face,
            "min_confidence": self.min_confidence, "alert_after": self.alert_after,
        }
        if self.live is not None:
            out["live"] = self.live
        if self.tracker is not None:
            out["tracker"] = self.tracker
        return out


@dataclass(frozen=True)
class WebhookConfig:
    """A URL that each event is POSTed to as JSON.

    Attributes:
        url: ``http://`` or ``https://``.
        timeout: seconds per attempt.
        queue_size: events waiting at most; more are dropped and counted.
        retry_delay, max_retry_delay: the wait after a failed attempt, doubled up to the
            second.
        max_attempts: attempts per event before it is given up (0: until delivered).
        headers: extra request headers (an ``Authorization`` of the receiver, ...).
    """

    url: str
    timeout: float = 5.0
    queue_size: int = 1000
    retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    max_attempts: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MqttConfig:
    """An MQTT broker that events and statistics are published to (the ``mqtt`` extra).

    Topics: ``{topic}/{camera}/alerts`` (each event) and ``{topic}/{camera}/stats`` (every
    ``stats_interval`` seconds), JSON payloads. The password, if any, comes from
    ``MASKDET_MQTT_PASSWORD``.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    topic: str = "maskdet"
    stats_interval: float = 30.0
    qos: int = 1
    client_id: str = ""
    username: str = ""
    tls: bool = False
    queue_size: int = 1000


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``maskdet serve`` and :func:`maskdet.serve.create_app` need.

    Attributes:
        host, port: where to listen (loopback by default).
        token: the API token (from the environment or ``token_file``; required to listen
            anywhere but loopback).
        cors_origins: origins allowed to call the API from a browser (none: CORS off).
        model, face_detector, min_confidence: the model and face detector of photos and
            cameras, as in :class:`maskdet.MaskDetector`.
        photo_workers: photos detected at once (1: OpenCV and ONNX Runtime already use
            every core for one photo, and two at once were slower on 2 cores; 0: one per
            core).
        max_upload_bytes: the largest request body of ``/v1/detect``.
        max_pixels: the largest photo (width x height) that is decoded.
        max_pending_photos: photos received or waiting at once; more are answered 503 at
            once (memory stays bounded: at most this many bodies are held).
        blur_faces: pixelate faces in every image stored or served.
        blur_method: ``pixelate`` or ``blur``.
        stats_only: serve and store numbers only, never an image.
        snapshot_dir: where event snapshots go (None: a private temporary folder, removed
            when the service stops).
        snapshot_max_age, max_snapshots: snapshots older or beyond this many are deleted.
        max_events: events kept in memory for ``/v1/events``.
        view_fps: the most frames a second a live view sends.
        max_viewers: live views open at once (each costs an encoding per frame).
        max_webcam_sessions: browsers streaming their camera at once.
        cameras, webhooks, mqtt, command: what to watch and where events go (``command``:
            a shell command as ``maskdet video --on-violation``; ``{camera}`` in it too).
        origin: the file the settings came from (for messages).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    model: str | None = None
    face_detector: str = "yunet"
    min_confidence: float | dict[str, float] | None = None
    photo_workers: int = 1
    max_upload_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    max_pending_photos: int = 64
    blur_faces: bool = True
    blur_method: str = "pixelate"
    stats_only: bool = False
    snapshot_dir: Path | None = None
    snapshot_max_age: float = 86_400.0
    max_snapshots: int = 500
    max_events: int = 1000
    view_fps: float = 10.0
    max_viewers: int = 8
    max_webcam_sessions: int = 4
    cameras: tuple[CameraConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    mqtt: MqttConfig | None = None
    command: str | None = None
    origin: str = "settings"

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)

    def with_options(self, **options: Any) -> ServeConfig:
        """A copy with the given settings replaced (command-line options over the file),
        checked again; None values are left out."""
        given = {k: v for k, v in options.items() if v is not None}
        if not given:
            return self
        checked = _Reader(f"{self.origin} (options)")
        server = {k: v for k, v in given.items() if k in ("host", "port")}
        values = checked.server(server) if server else {}
        values.update({k: v for k, v in given.items() if k not in server})
        return replace(self, **values)

    def check_security(self) -> None:
        """Refuse to listen beyond loopback without an API token."""
        if not self.loopback_only and not self.token:
            raise ConfigError(
                f"listening on {self.host} (not loopback) needs an API token: set "
                f"{TOKEN_ENV} or [server] token_file (at least {MIN_TOKEN_LENGTH} characters)")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def camera_from_dict(data: Mapping[str, Any], origin: str = "camera",
                     from_api: bool = False) -> CameraConfig:
    """A checked :class:`CameraConfig` from a TOML table or a JSON body.

    ``from_api``: a request's value never becomes a file path, so only camera indexes and
    stream URLs are accepted then.
    """
    return _Reader(origin).camera(data, from_api=from_api)


def load_config(path: str | os.PathLike | None = None, **options: Any) -> ServeConfig:
    """The settings of a TOML file (None: the defaults), with ``options`` over them.

    Raises:
        ConfigError: the file is missing or not TOML, or a value is wrong (one line).
    """
    if path is None:
        data, origin = {}, "settings"
    else:
        origin = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read ({getattr(exc, 'strerror', exc)})") from None
        data = _parse_toml(text, origin)
    return config_from_dict(data, origin).with_options(**options)


def config_from_dict(data: Mapping[str, Any], origin: str = "settings") -> ServeConfig:
    """The settings of an already-parsed TOML document (tables as dicts)."""
    return _Reader(origin).config(data)


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML ({exc})") from None


class _Reader:
    """Reads the tables of a configuration, checking each value's type and range."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {where}: {message}")

    def table(self, data: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"must be a table, got {type(data).__name__}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (known: "
                                   f"{', '.join(sorted(allowed))})")
        return dict(data)

    # -- values -----------------------------------------------------------------------------
    def number(self, data: dict, key: str, where: str, low: float | None = None,
               high: float | None = None, integer: bool = False) -> Any:
        value = data[key]
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise self.fail(where, f"{key} must be {'a whole number' if integer else 'a number'}"
                                   f", got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            span = (f"at least {low}" if high is None else f"between {low} and {high}")
            raise self.fail(where, f"{key} must be {span}, got {value!r}")
        return int(value) if integer else float(value)

    def text(self, data: dict, key: str, where: str, choices: tuple[str, ...] = ()) -> str:
        value = data[key]
        if not isinstance(value, str):
            raise self.fail(where, f"{key} must be a string, got {value!r}")
        if choices and value not in choices:
            raise self.fail(where, f"{key} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def flag(self, data: dict, key: str, where: str) -> bool:
        value = data[key]
        if not isinstance(value, bool):
            raise self.fail(where, f"{key} must be true or false, got {value!r}")
        return value

    def min_confidence(self, data: dict, key: str, where: str) -> float | dict[str, float]:
        value = data[key]
        if isinstance(value, Mapping):
            return {str(label): self.number(dict(value), label, f"{where} {key}", 0.0, 1.0)
                    for label in value}
        return self.number(data, key, where, 0.0, 1.0)

    # -- tables -----------------------------------------------------------------------------
    def server(self, data: dict) -> dict[str, Any]:
        where = "[server]"
        out: dict[str, Any] = {}
        for key in data:
            if key == "host":
                out["host"] = self.text(data, key, where)
            elif key == "port":
                out["port"] = self.number(data, key, where, 0, 65535, integer=True)
            elif key == "token_file":
                out["token"] = self.token_file(self.text(data, key, where), where)
            elif key == "cors_origins":
                origins = data[key]
                if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
                    raise self.fail(where, "cors_origins must be a list of origins (strings)")
                out["cors_origins"] = tuple(origins)
            elif key == "photo_workers":
                out[key] = self.number(data, key, where, 0, 64, integer=True)
            elif key == "max_upload_bytes":
                out[key] = self.number(data, key, where, 1, integer=True)
            elif key == "max_pixels":
                out[key] = self.number(data, key, where, 1, integer=True)
            elif key == "view_fps":
                out[key] = self.number(data, key, where, 0.1, 60)
            elif key in ("max_viewers", "max_webcam_sessions", "max_pending_photos"):
                out[key] = self.number(data, key, where, 0, 1000, integer=True)
        return out

    def token_file(self, path: str, where: str) -> str:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise self.fail(where, f"token_file {path}: cannot read ({exc.strerror})") from None
        return self.token(token, f"{where} token_file {path}")

    def token(self, token: str, what: str) -> str:
        if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise ConfigError(f"{what}: the API token must be at least {MIN_TOKEN_LENGTH} "
                              "characters, without spaces")
        return token

    def config(self, data: Mapping[str, Any]) -> ServeConfig:
        root = self.table(data, "the file", {"server", "model", "privacy", "storage",
                                             "cameras", "events"})
        server = self.table(root.get("server", {}), "[server]",
                            {"host", "port", "token_file", "cors_origins", "photo_workers",
                             "max_upload_bytes", "max_pixels", "view_fps", "max_viewers",
                             "max_webcam_sessions", "max_pending_photos"})
        values = self.server(server)
        env_token = os.environ.get(TOKEN_ENV)
        if env_token:
            values["token"] = self.token(env_token.strip(), TOKEN_ENV)

        model = self.table(root.get("model", {}), "[model]",
                           {"model", "face_detector", "min_confidence"})
        for key in ("model", "face_detector"):
            if key in model:
                values[key] = self.text(model, key, "[model]")
        if "min_confidence" in model:
            values["min_confidence"] = self.min_confidence(model, "min_confidence", "[model]")

        privacy = self.table(root.get("privacy", {}), "[privacy]",
                             {"blur_faces", "blur_method", "stats_only"})
        for key in ("blur_faces", "stats_only"):
            if key in privacy:
                values[key] = self.flag(privacy, key, "[privacy]")
        if "blur_method" in privacy:
            values["blur_method"] = self.text(privacy, "blur_method", "[privacy]",
                                              ("pixelate", "blur"))

        storage = self.table(root.get("storage", {}), "[storage]",
                             {"snapshot_dir", "snapshot_max_age", "max_snapshots",
                              "max_events"})
        if "snapshot_dir" in storage:
            values["snapshot_dir"] = Path(self.text(storage, "snapshot_dir", "[storage]"))
        if "snapshot_max_age" in storage:
            values["snapshot_max_age"] = self.number(storage, "snapshot_max_age", "[storage]", 1)
        for key in ("max_snapshots", "max_events"):
            if key in storage:
                values[key] = self.number(storage, key, "[storage]", 1, integer=True)

        cameras = root.get("cameras", [])
        if not isinstance(cameras, list):
            raise self.fail("[[cameras]]", "must be an array of tables ([[cameras]])")
        values["cameras"] = tuple(self.camera(c, f"[[cameras]] #{i + 1}")
                                  for i, c in enumerate(cameras))
        ids = [c.id for c in values["cameras"]]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise self.fail("[[cameras]]", f"camera id {duplicated[0]!r} is used twice")

        events = self.table(root.get("events", {}), "[events]", {"webhook", "mqtt", "command"})
        hooks = events.get("webhook", [])
        if isinstance(hooks, Mapping):
            hooks = [hooks]
        if not isinstance(hooks, list):
            raise self.fail("[[events.webhook]]", "must be a table or an array of tables")
        values["webhooks"] = tuple(self.webhook(h, f"[[events.webhook]] #{i + 1}")
                                   for i, h in enumerate(hooks))
        if "mqtt" in events:
            values["mqtt"] = self.mqtt(events["mqtt"])
        if "command" in events:
            command = self.table(events["command"], "[events.command]", {"run"})
            if "run" not in command:
                raise self.fail("[events.command]", "run (the shell command) is missing")
            values["command"] = self.text(command, "run", "[events.command]")
        return ServeConfig(origin=self.origin, **values)

    def camera(self, data: Any, where: str = "camera", from_api: bool = False) -> CameraConfig:
        known = {f.name for f in fields(CameraConfig)}
        data = self.table(data, where, known)
        for key in ("id", "source"):
            if key not in data:
                raise self.fail(where, f"{key} is missing")
        cam_id = self.text(data, "id", where)
        if not CAMERA_ID.fullmatch(cam_id):
            raise self.fail(where, f"id must be 1-64 letters, digits, '-' or '_' (starting "
                                   f"with a letter or digit), got {cam_id!r}")
        source = data["source"]
        if isinstance(source, bool) or not isinstance(source, (int, str)) or source == "":
            raise self.fail(where, f"source must be a camera index, a file or a URL, got "
                                   f"{source!r}")
        if isinstance(source, int) and source < 0:
            raise self.fail(where, f"source: a camera index is 0 or more, got {source}")
        kind, _ = parse_source(source)
        if from_api and kind == "file":
            raise self.fail(where, f"source {source!r}: cameras added through the API are "
                                   "camera indexes or stream URLs "
                                   f"({', '.join(API_SOURCE_SCHEMES)}); files only from the "
                                   "config file")
        values: dict[str, Any] = {"id": cam_id, "source": source}
        w = f"{where} ({cam_id})"
        ranges = {"every": (1, 1000, True), "detect_scale": (0.05, 4.0, False),
                  "classify_every": (1, 1000, True), "min_face": (0, 10_000, True),
                  "alert_after": (0.0, None, False), "stall_seconds": (0.1, None, False),
                  "reconnect_delay": (0.0, None, False),
                  "max_reconnect_delay": (0.0, None, False),
                  "give_up_after": (0, None, True)}
        for key, (low, high, integer) in ranges.items():
            if key in data:
                values[key] = self.number(data, key, w, low, high, integer)
        for key in ("loop", "paused", "live"):
            if key in data:
                values[key] = self.flag(data, key, w)
        for key in ("name", "tracker"):
            if key in data:
                values[key] = self.text(data, key, w)
        if "min_confidence" in data:
            values["min_confidence"] = self.min_confidence(data, "min_confidence", w)
        if "zone" in data:
            values["zone"] = self.zone(data["zone"], w)
        return CameraConfig(**values)

    def zone(self, points: Any, where: str) -> tuple[tuple[float, float], ...]:
        message = "zone must be a list of 3 or more [x, y] points, fractions between 0 and 1"
        if not isinstance(points, list) or len(points) < 3:
            raise self.fail(where, message)
        out = []
        for point in points:
            if (not isinstance(point, list) or len(point) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1
                    for v in point)):
                raise self.fail(where, f"{message}, got {point!r}")
            out.append((float(point[0]), float(point[1])))
        return tuple(out)

    def webhook(self, data: Any, where: str) -> WebhookConfig:
        known = {f.name for f in fields(WebhookConfig)}
        data = self.table(data, where, known)
        if "url" not in data:
            raise self.fail(where, "url is missing")
        url = self.text(data, "url", where)
        if not re.match(r"https?://[^/\s]+", url):
            raise self.fail(where, f"url must be an http:// or https:// URL, got {url!r}")
        values: dict[str, Any] = {"url": url}
        for key, low, integer in (("timeout", 0.1, False), ("queue_size", 1, True),
                                  ("retry_delay", 0.0, False), ("max_retry_delay", 0.0, False),
                                  ("max_attempts", 0, True)):
            if key in data:
                values[key] = self.number(data, key, where, low, None, integer)
        if "headers" in data:
            headers = data["headers"]
            if not isinstance(headers, Mapping) or not all(
                    isinstance(v, str) for v in headers.values()):
                raise self.fail(where, "headers must be a table of strings")
            values["headers"] = dict(headers)
        return WebhookConfig(**values)

    def mqtt(self, data: Any) -> MqttConfig:
        where = "[events.mqtt]"
        data = self.table(data, where, {f.name for f in fields(MqttConfig)})
        values: dict[str, Any] = {}
        for key in ("host", "topic", "client_id", "username"):
            if key in data:
                values[key] = self.text(data, key, where)
        if "topic" in values and not re.fullmatch(r"[^#+\s]+", values["topic"]):
            raise self.fail(where, f"topic must be a topic prefix without wildcards, got "
                                   f"{values['topic']!r}")
        if "port" in data:
            values["port"] = self.number(data, "port", where, 1, 65535, integer=True)
        if "stats_interval" in data:
            values["stats_interval"] = self.number(data, "stats_interval", where, 0.1)
        if "qos" in data:
            values["qos"] = self.number(data, "qos", where, 0, 2, integer=True)
        if "queue_size" in data:
            values["queue_size"] = self.number(data, "queue_size", where, 1, integer=True)
        if "tls" in data:
            values["tls"] = self.flag(data, "tls", where)
        return MqttConfig(**values)
