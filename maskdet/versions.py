"""Versions of maskdet and of the libraries a model depends on (one lookup for all)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

#: The distributions whose versions a model bundle records.
RECORDED_DISTRIBUTIONS = ("maskdet", "numpy", "opencv-python", "scikit-learn", "scikit-image",
                          "joblib")


def package_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def library_versions(distributions: tuple[str, ...] = RECORDED_DISTRIBUTIONS) -> dict[str, str]:
    """Python's version and those of the installed ``distributions``."""
    out = {"python": platform.python_version()}
    for dist in distributions:
        found = package_version(dist)
        if found is not None:
            out[dist] = found
    return out


#: This maskdet's version ("0+unknown" when run from a source tree that is not installed).
MASKDET_VERSION = package_version("maskdet") or "0+unknown"
