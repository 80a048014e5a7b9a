"""What the commands share: option types and options, model loading, output on stdout, and
the loop over input images that ``classify`` and ``detect`` both run."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..errors import ImageReadError, MaskdetError, OutputLocationError
from ..faces import ALIASES, available_detectors
from ..files import to_jsonable
from ..images import list_image_files, read_image

logger = logging.getLogger("maskdet")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(MaskdetError):
    """Options that do not go together, found after parsing: exit status 2, as argparse's."""

MODEL_HELP = "model bundle path or a bundled model name: cnn (default) or hog-svm"
MODEL_ARG_HELP = "model bundle path or a bundled model name (cnn or hog-svm)"
MIN_CONFIDENCE_HELP = ("drop faces whose confidence (face score x the label's probability) is "
                       "below C, for every label or per label (without_mask=0.8); default: the "
                       "model's operating point (see maskdet info), 0 keeps every face")


# -- option types ------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A ``-p KEY=VALUE`` value: JSON where it parses (numbers, lists), else the text;
    ``none``/``true``/``false`` in any case."""
    try:
        return json.loads(text)
    except ValueError:
        return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def key_values(items: Sequence[str] | None, what: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict (values stripped, not parsed)."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MaskdetError(f"{what} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def label_map(items: Sequence[str] | None) -> dict[str, str | None]:
    """``--map FROM=TO`` options; ``FROM=`` (empty) drops the class."""
    return {k: (v or None) for k, v in key_values(items, "--map").items()}


def min_confidence(text: str) -> float | dict[str, float]:
    """``--min-confidence``: ``C`` for every label, or ``LABEL=C[,LABEL=C]``; each C in
    [0, 1], checked while parsing (a usage error before anything loads)."""
    try:
        if "=" not in text:
            values = {"": float(text)}
        else:
            values = {k: float(v)
                      for k, v in key_values(text.split(","), "--min-confidence").items()}
    except (ValueError, MaskdetError):
        raise argparse.ArgumentTypeError(
            f"must be a number or LABEL=NUMBER[,LABEL=NUMBER], got {text!r}") from None
    for label, value in values.items():
        if not 0.0 <= value <= 1.0:  # also refuses nan
            where = f" for {label}" if label else ""
            raise argparse.ArgumentTypeError(
                f"must be in the range [0, 1]{where}, got {value:g}")
    return values[""] if "=" not in text else values


def number_in(low: float, high: float = math.inf, kind: Callable[[str], Any] = float,
              low_open: bool = False, high_open: bool = False) -> Callable[[str], Any]:
    """An argparse type: a ``kind`` (int or float) in the given range, else a usage error
    naming the range as scikit-learn does (``[0, 1)``, ``[1, inf)``)."""
    left, right = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
    allowed = f"in the range {left}{low:g}, {high:g}{right}"
    what = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what} {allowed}, got {text!r}") from None
        inside = (low < value if low_open else low <= value) and (
            value < high if high_open else value <= high)
        if not inside:  # nan is never inside
            raise argparse.ArgumentTypeError(f"must be {what} {allowed}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = number_in(1, kind=int)
non_negative_int = number_in(0, kind=int)
fraction = number_in(0, 1)  # a probability or score
split_fraction = number_in(0, 1, high_open=True)  # a part held out: 1 would leave nothing
positive_number = number_in(0, low_open=True)
non_negative_number = number_in(0)


# -- output locations, checked before any work starts --------------------------------------
def output_folder(text: str, option: str) -> Path:
    """A folder to write into, created if needed: one line naming ``option`` when it is a
    file, cannot be created or is not writable."""
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise OutputLocationError(f"{option} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputLocationError(
            f"{option} {folder}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK):
        raise OutputLocationError(f"{option} {folder}: not writable")
    return folder


def output_file(text: str, option: str, make_folder: bool = False) -> Path:
    """A file to write: not a folder; its folder must exist (or, with ``make_folder``, is
    created) and be writable."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise OutputLocationError(f"{option} {path}: is a folder, not a file")
    if make_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputLocationError(f"{option} {path}: cannot create its folder {folder} "
                                      f"({exc.strerror or exc})") from None
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputLocationError(f"{option} {path}: its folder {folder} {what}")
    if not os.access(folder, os.W_OK):
        raise OutputLocationError(f"{option} {path}: its folder {folder} is not writable")
    return path


# -- options several commands have ---------------------------------------------------------------
def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", metavar="MODEL", default=None, help=MODEL_HELP)


def add_face_detector_option(parser: argparse.ArgumentParser, default: str | None = "yunet",
                             extra: Sequence[str] = (), what: str = "face detector") -> None:
    """``--face-detector NAME`` (also ``--detector``, its older name; ``auto`` is accepted as
    another name of ``yunet``)."""
    names = [*available_detectors(), *extra]
    parser.add_argument("--face-detector", "--detector", dest="face_detector", default=default,
                        choices=[*names, *ALIASES], metavar="NAME",
                        help=f"{what}: {', '.join(names)} (default yunet)")


def add_face_filter_options(parser: argparse.ArgumentParser, what: str = "drop faces") -> None:
    """``--min-face``, ``--min-face-score`` and ``--min-confidence``, as detect and video
    apply them."""
    parser.add_argument("--min-face", type=non_negative_int, default=0, metavar="PX",
                        help="ignore faces smaller than PX")
    parser.add_argument("--min-face-score", type=fraction, default=0.0, metavar="S",
                        help="ignore faces with a face-detector score below S")
    parser.add_argument("--min-confidence", type=min_confidence, default=None, metavar="C",
                        help=MIN_CONFIDENCE_HELP.replace("drop faces", what))


def add_batch_options(parser: argparse.ArgumentParser, what: str = "photo"
                      ) -> argparse._ArgumentGroup:
    """``--out``/``--resume`` (a resumable results file) and where the work runs:
    ``--workers N`` or ``--scheduler ADDRESS`` (Dask), ``--chunk-size``, ``--connect-timeout``
    (see :mod:`maskdet.batch`); returns their group, for a command's own batch options."""
    group = parser.add_argument_group(
        "batch work (resumable; on Dask with --workers or --scheduler, pip install "
        '"maskdet[dask]")')
    group.add_argument("--out", metavar="FILE", default=None,
                       help=f"write one JSON line per {what} to FILE, in order, as they are "
                            "done (each once; a failure with its reason)")
    group.add_argument("--resume", action="store_true",
                       help=f"--out: continue FILE, skipping the {what}s already in it")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="run on N worker processes on this machine (a Dask LocalCluster)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on the Dask cluster whose scheduler is at ADDRESS "
                            "(tcp://HOST:8786)")
    group.add_argument("--chunk-size", type=positive_int, default=None, metavar="N",
                       help=f"{what}s per task (default: 4 tasks per worker thread, at "
                            "most 16)")
    group.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                       help="--scheduler: give up after S seconds (default 10)")
    return group


def quiet_dask_logs() -> None:
    """Dask's own messages (many lines, tracebacks) off the terminal: maskdet says in one line
    what matters. Dask sets its loggers' levels when it is imported, so it is imported first."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return  # maskdet.batch says what to install
    for name in [*logging.root.manager.loggerDict, "distributed", "dask", "tornado"]:
        if name.split(".")[0] in {"distributed", "dask", "tornado", "bokeh"}:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


# -- output ------------------------------------------------------------------------------------
def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars: not with --quiet, and only on a terminal."""
    return not args.quiet and sys.stderr.isatty()


def print_json(obj: Any) -> None:
    """One line of strict JSON on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), ensure_ascii=False) + "\n")
    sys.stdout.flush()


# -- input images ------------------------------------------------------------------------------
class ImageInputs:
    """The images that ``PATH...`` arguments name: files given, and the image files inside
    folders given. Iterating decodes them one at a time; an unreadable one is named in one
    line, counted and skipped, and the rest is processed.

    Example:
        >>> inputs = ImageInputs(["photos/", "x.jpg"])  # doctest: +SKIP
        >>> for path, image in inputs.read(show_progress=True, desc="detecting"):  # doctest: +SKIP
        ...     ...
        >>> status = inputs.exit_status()  # doctest: +SKIP
    """

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths: list[Path] = []
        for text in paths:
            path = Path(text)
            if path.is_dir():
                found = list_image_files(path)
                if not found:
                    logger.warning("%s: no image files in this folder", path)
                self.paths += found
            else:
                self.paths.append(path)
        self.failed = 0

    def read(self, show_progress: bool = False, desc: str = "images"
             ) -> Iterator[tuple[Path, Any]]:
        """``(path, image)`` for every readable image, in order."""
        for path in tqdm(self.paths, desc=desc, unit="img", disable=not show_progress):
            try:
                image = read_image(path)
            except ImageReadError as exc:
                self.failed += 1
                logger.error("%s", exc)
                continue
            yield path, image

    def exit_status(self) -> int:
        """1 when an image could not be read or there was none, else 0 (with a count of the
        skipped images when there were several inputs)."""
        if self.failed and len(self.paths) > 1:
            logger.warning("%d of %d images could not be read (skipped)", self.failed,
                           len(self.paths))
        return EXIT_ERROR if self.failed or not self.paths else EXIT_OK
