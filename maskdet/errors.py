"""Exceptions a user can cause. Their message is one line that names the file or value at fault;
the CLI prints it and exits non-zero without a traceback."""

from __future__ import annotations


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


class DetectorUnavailableError(MaskdetError):
    """A face detector cannot be created (model file missing and not downloadable, ...)."""


class BackendError(MaskdetError):
    """An unknown classifier backend, or one whose optional dependencies are not installed."""
