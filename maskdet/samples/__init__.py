"""Sample photos that ship with maskdet (street and indoor photos with masked and unmasked
faces; CC0, see the NOTICE beside them), like ``skimage.data``: to try maskdet, and to run
the README's examples, with no data of one's own.

Example:
    >>> import maskdet
    >>> photo = maskdet.samples.paths()[0]
    >>> faces = maskdet.MaskDetector().detect(maskdet.read_image(photo))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the sample photos.
SAMPLES_DIR = Path(__file__).resolve().parent

#: Sample name -> file name.
SAMPLES = {"escalator": "escalator.png", "street": "street.png", "crowd": "crowd.png"}


def paths() -> list[Path]:
    """The sample photos' files, in a fixed order."""
    return [SAMPLES_DIR / name for name in SAMPLES.values()]


def path(name: str) -> Path:
    """The file of the sample photo ``name`` (``escalator``, ``street``, ``crowd``).

    Raises:
        KeyError: not a sample's name.
    """
    if name not in SAMPLES:
        raise KeyError(f"no sample photo {name!r}; the samples: {', '.join(SAMPLES)}")
    return SAMPLES_DIR / SAMPLES[name]


__all__ = ["SAMPLES", "SAMPLES_DIR", "path", "paths"]
