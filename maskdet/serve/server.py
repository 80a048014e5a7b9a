"""Running the app: uvicorn on the configured address, after the security check."""

from __future__ import annotations

import logging

from .app import create_app
from .config import ServeConfig

logger = logging.getLogger(__name__)


def run(config: ServeConfig) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn stops gracefully: cameras and sinks are
    closed, queued events get a few seconds to go out).

    Raises:
        ConfigError: listening beyond loopback without an API token.
        MaskdetError: the model cannot be loaded.
    """
    import uvicorn

    config.check_security()
    app = create_app(config)
    if not config.loopback_only:
        logger.warning("listening on %s: every request needs the API token", config.host)
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, timeout_graceful_shutdown=3,
        log_level="info", server_header=False))
    server.run()
