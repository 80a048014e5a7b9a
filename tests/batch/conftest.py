"""Fixtures of the batch tests: generated photos (the sample photos enlarged, flipped,
recoloured), bad files, the single-process results to compare with, and a Dask cluster of two
worker processes on this machine, started once."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import maskdet
from maskdet.cli import main

#: Files that cannot be read as photos, by name: empty, text, truncated PNG.
BAD_FILES = ("empty.jpg", "notes.jpg", "cut.png")


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> list[Path]:
    """60 photos made from the sample photos (enlarged 2.5x, so that each takes the face
    detector a while, flipped and recoloured, so that they differ), in a folder's order."""
    folder = tmp_path_factory.mktemp("batch-photos") / "photos"
    folder.mkdir()
    rng = np.random.default_rng(18)
    samples = [maskdet.read_image(p) for p in maskdet.samples.paths()]
    for i in range(60):
        image = cv2.resize(samples[i % 3], None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
        if (i // 3) % 2:
            image = cv2.flip(image, 1)
        gain = rng.uniform(0.8, 1.2, 3)
        image = np.clip(image * gain, 0, 255).astype(np.uint8)
        assert cv2.imwrite(str(folder / f"photo_{i:02d}.jpg"), image)
    return maskdet.images.list_image_files(folder)


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("batch-bad")
    empty, text, cut = (folder / name for name in BAD_FILES)
    empty.write_bytes(b"")
    text.write_text("not a photo\n")
    data = cv2.imencode(".png", maskdet.read_image(maskdet.samples.path("street")))[1]
    cut.write_bytes(data.tobytes()[:5000])
    return [empty, text, cut]


def plain_detect(paths) -> dict[str, dict]:
    """What single-process ``maskdet detect --json`` prints for ``paths``, by path."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["detect", *map(str, paths), "--json", "--quiet"])
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return {r["path"]: r for r in records}


@pytest.fixture(scope="session")
def reference(photos) -> dict[str, dict]:
    """The photos' single-process ``maskdet detect --json`` results, by path."""
    return plain_detect(photos)


@pytest.fixture(scope="module")
def dask_client():
    """A client of a LocalCluster of two worker processes (one thread each), as
    ``--workers 2`` starts it; closed after the module's tests, so that no Dask thread runs
    under the other tests."""
    pytest.importorskip("distributed", reason='needs dask.distributed: pip install '
                                              '"maskdet[dask]"')
    from maskdet.batch import cluster

    client = cluster.local_cluster(2)
    client.wait_for_workers(2, timeout=120)
    yield client
    cluster.close_client(client)
