"""The sample photos that ship with maskdet, and the bundled models on them."""

from __future__ import annotations

import pytest

import maskdet
from maskdet import samples


def test_three_sample_photos_with_their_notice():
    paths = samples.paths()
    assert [p.name for p in paths] == ["escalator.png", "street.png", "crowd.png"]
    assert all(p.is_file() and p.parent == samples.SAMPLES_DIR for p in paths)
    notice = (samples.SAMPLES_DIR / "NOTICE").read_text()
    assert "CC0" in notice and all(p.name in notice for p in paths)
    assert samples.path("street") == paths[1]
    with pytest.raises(KeyError, match="no sample photo 'beach'"):
        samples.path("beach")


@pytest.mark.parametrize(("name", "with_mask", "without_mask"), [
    ("escalator", 3, 3), ("street", 4, 1), ("crowd", 5, 2)])
def test_the_default_model_finds_the_labelled_faces(name, with_mask, without_mask):
    """The counts the NOTICE states are the labelled faces; the default model finds them."""
    faces = maskdet.MaskDetector().detect(maskdet.read_image(samples.path(name)))
    assert faces.counts() == {"with_mask": with_mask, "without_mask": without_mask}
