"""Exceptions a user can cause. Their message is one line that names the file or value at fault;
the CLI prints it and exits non-zero without a traceback."""

from __future__ import annotations

import re


class MaskdetError(Exception):
    """Base class of every error caused by input (files, options, environment), not by a bug."""


class ImageReadError(MaskdetError):
    """A file could not be read or decoded as an image."""


class ImageTooLargeError(ImageReadError):
    """An image has more pixels than the limit allows (its header says so), or its file is
    larger than any image within the limit; nothing was decoded."""


class OutputLocationError(MaskdetError):
    """A place to write results (a folder, a file) cannot be used: checked before work starts."""


class DatasetError(MaskdetError):
    """A dataset folder is missing, has the wrong layout, or has no usable images."""


class BundleError(MaskdetError):
    """A model bundle is missing, damaged, altered, or of an unsupported format."""

    def __init__(self, message: str) -> None:
        # Messages quote what a manifest holds (names, parameters), which can be any text:
        # line breaks are shown escaped, so that the message stays one line.
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


class DetectorUnavailableError(MaskdetError):
    """A face detector cannot be created (a model file missing or unreadable, ...)."""


class BackendError(MaskdetError):
    """An unknown classifier backend, or one whose optional dependencies are not installed."""


def opencv_reason(exc: BaseException) -> str:
    """The one-line gist of an OpenCV error, from its own message: ``(-4:Insufficient memory)
    Failed to allocate ...``, without the source location and function.

    Not ``exc.err``: OpenCV sets it on the ``cv2.error`` class, not on the instance, so it
    holds the last OpenCV error of the process, whichever raised it.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    text = re.sub(r"^OpenCV\([^)]*\) [^ ]*: error: ", "", text)
    text = re.sub(r" in function '[^']*'$", "", text)
    return text or type(exc).__name__
