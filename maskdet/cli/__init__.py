"""The ``maskdet`` command: it parses the command line and calls the library, nothing more.

One module per command, its options beside the code that uses them: ``train``, ``classify``,
``detect``, ``evaluate``, ``evaluate_tracking`` (``evaluate-tracking``), ``analyze``, ``video``
and ``models`` (``info``, ``backends``, ``upgrade``, ``export``); ``options`` holds what they
share. User errors (missing files, bad
images, wrong model files) print one line on stderr and exit with status 1, without a
traceback; usage errors exit with 2; ``--json`` output on stdout holds nothing but JSON.
``serve`` (the service) imports its extra's libraries only when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import cv2

from ..errors import MaskdetError, opencv_reason
from ..images import DEFAULT_MAX_PIXELS, pixel_limit
from ..versions import MASKDET_VERSION
from . import (
    analyze,
    classify,
    detect,
    evaluate,
    evaluate_tracking,
    models,
    serve,
    train,
    video,
)
from .options import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, positive_number

#: The command modules, in the order ``maskdet --help`` lists them.
COMMANDS = (train, classify, detect, evaluate, evaluate_tracking, analyze, video, models, serve)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each module adds its own sub-command)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or information messages")
    common.add_argument("--json", action="store_true",
                        help="machine-readable output on stdout (JSON)")
    common.add_argument("--max-megapixels", type=positive_number, metavar="MP",
                        default=DEFAULT_MAX_PIXELS / 1e6,
                        help="refuse images of more pixels than this, from their header, "
                             f"before decoding (default {DEFAULT_MAX_PIXELS / 1e6:g})")
    parser = argparse.ArgumentParser(
        prog="maskdet", description="Detect whether people in photos wear face masks.")
    parser.add_argument("--version", action="version", version=f"maskdet {MASKDET_VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"maskdet: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger("maskdet")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``maskdet`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.quiet)
    try:
        megapixels = getattr(args, "max_megapixels", DEFAULT_MAX_PIXELS / 1e6)
        with pixel_limit(max(1, round(megapixels * 1e6))):
            return args.func(args)
    except UsageError as exc:
        print(f"maskdet {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (MaskdetError, ValueError) as exc:  # ValueError: invalid hyper-parameters and such
        print(f"maskdet: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `maskdet ... | head`
        sys.stderr.close()
        return EXIT_OK
    except (OSError, MemoryError, cv2.error) as exc:
        # What the library does not turn into a MaskdetError itself (a full disk, memory
        # running out, an OpenCV check on odd input) still gets one line, not a traceback.
        print(f"maskdet: error: {_system_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("maskdet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def _system_error(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, cv2.error):
        return f"OpenCV: {opencv_reason(exc)}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return _one_line(exc)


__all__ = ["COMMANDS", "build_parser", "main"]
