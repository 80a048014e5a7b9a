"""The service: ``maskdet serve`` -- an ASGI app (FastAPI on uvicorn) that answers photo
requests, watches cameras, raises events and shows a live page.

Modules, each importing only those listed before it (and the stages below): ``config``
(:func:`load_config`, :class:`ServeConfig`), ``storage`` (events and snapshots), ``pictures``
(every image served or stored, faces blurred), ``metrics`` (Prometheus), ``photos`` (limits,
decoding, a pool of detectors), ``sinks`` (webhook, MQTT, command), ``cameras`` (a thread per
camera, the watchdog), ``webcam`` (a browser's camera), ``app`` (:func:`create_app`) and
``server`` (:func:`run`). The pages' files are in ``static/``.

Needs the ``serve`` extra (``pip install "maskdet[serve]"``; MQTT: ``maskdet[mqtt]``).

Example:
    >>> from maskdet.serve import create_app, load_config
    >>> app = create_app(load_config("site.toml"))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

from ..errors import BackendError
from .config import (
    CameraConfig,
    ConfigError,
    MqttConfig,
    ServeConfig,
    WebhookConfig,
    config_from_dict,
    load_config,
)

#: The modules the service needs, and the distributions that have them.
REQUIREMENTS = {"fastapi": "fastapi", "uvicorn": "uvicorn", "prometheus_client":
                "prometheus-client", "python_multipart": "python-multipart", "httpx": "httpx"}

_missing = []
for _module, _dist in REQUIREMENTS.items():
    try:
        importlib.import_module(_module)
    except ImportError:
        _missing.append(_dist)
if _missing:
    raise BackendError(f"maskdet serve needs {', '.join(_missing)}: "
                       'pip install "maskdet[serve]"')

from .app import create_app  # noqa: E402  (after the check: a clear message, not a traceback)
from .server import run  # noqa: E402

__all__ = [
    "CameraConfig",
    "ConfigError",
    "MqttConfig",
    "ServeConfig",
    "WebhookConfig",
    "config_from_dict",
    "create_app",
    "load_config",
    "run",
]
