"""Running the app: uvicorn on the configured address, after the security check."""

from __future__ import annotations

import logging
import sys

from ..errors import MaskdetError
from .app import create_app
from .config import ServeConfig

logger = logging.getLogger(__name__)


def run(config: ServeConfig) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn stops gracefully: cameras and sinks are
    closed, queued events get a few seconds to go out).

    Raises:
        ConfigError: listening beyond loopback without an API token.
        MaskdetError: the model cannot be loaded, or the address cannot be listened on.
    """
    import uvicorn

    config.check_security()
    app = create_app(config)
    if not config.loopback_only:
        logger.warning("listening on %s: every request needs the API token", config.host)
    _uvicorn_logging()
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, timeout_graceful_shutdown=3,
        log_config=None, log_level="info", server_header=False))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn's start-up failure (it logged why): one line more
        if exc.code in (0, None):
            raise
        raise MaskdetError(f"cannot serve on {config.host}:{config.port} (see above)") from None


def _uvicorn_logging() -> None:
    """uvicorn's messages (start, stop, the access log) on stderr, as uvicorn prints them --
    without its ``dictConfig``, which would close every other logging handler of the process
    (an embedding program's, the test runner's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    log = logging.getLogger("uvicorn")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
