"""Running the app: uvicorn on the configured address, after the security check."""

from __future__ import annotations

import logging

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
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, timeout_graceful_shutdown=3,
        log_level="info", server_header=False))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn's start-up failure (it logged why): one line more
        if exc.code in (0, None):
            raise
        raise MaskdetError(f"cannot serve on {config.host}:{config.port} (see above)") from None
