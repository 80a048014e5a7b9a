"""``maskdet serve``: the service (photos, cameras, events, a live page) on uvicorn."""

from __future__ import annotations

import argparse

from .options import positive_int


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve", parents=[common], help="serve photos, cameras, events and a live page",
        description="Run the maskdet service: POST /v1/detect, cameras with a watchdog, "
                    "events to webhooks/MQTT/commands, Prometheus /metrics, a live page at /. "
                    "Needs the serve extra.")
    p.add_argument("--config", metavar="FILE", help="the site's settings (TOML; see README)")
    p.add_argument("--host", default=None,
                   help="address to listen on (default 127.0.0.1; another needs an API token)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--camera", action="append", metavar="SOURCE", default=[],
                   help="also watch this camera index, file or URL (ids cam1, cam2, ...)")
    p.add_argument("--model", "-m", metavar="MODEL", default=None,
                   help="model bundle path or a bundled model name (cnn or hog-svm)")
    p.add_argument("--photo-workers", type=positive_int, default=None, metavar="N",
                   help="photos detected at once (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import serve  # the serve extra: imported only by this command

    config = serve.load_config(args.config, host=args.host, port=args.port, model=args.model,
                               photo_workers=args.photo_workers)
    if args.camera:
        taken = {c.id for c in config.cameras}
        extra = []
        for source in args.camera:
            n = len(taken) + 1
            while f"cam{n}" in taken:
                n += 1
            taken.add(f"cam{n}")
            value = int(source) if source.isdigit() else source
            extra.append(serve.config.camera_from_dict({"id": f"cam{n}", "source": value},
                                                       "--camera"))
        config = config.with_options(cameras=(*config.cameras, *extra))
    serve.run(config)
    return 0
