"""The report builder shared by every report: figures drawn with matplotlib's Agg canvas, a
self-contained HTML page, and the numbers as JSON, written into one folder.

``report.html`` embeds every PNG (base64 ``data:`` URIs) so that it can be sent alone, and
links each to the PNG file beside it. Every file is written under a temporary name and renamed
into place. matplotlib is imported only here, and only its Agg canvas is used (no ``pyplot``):
nothing opens a window, no display is needed and the caller's matplotlib backend is untouched.
The benchmarks draw their figures with the same helpers (:func:`new_figure`,
:func:`figure_png`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ImageReadError, MaskdetError
from ..faces import DEFAULT_MARGIN, crop_face
from ..files import to_jsonable, write_atomic
from ..images import read_image

logger = logging.getLogger(__name__)

TILE = 96  # pixels of one image tile in the grids


def new_figure(width: float, height: float):
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches on an Agg canvas (no window,
    no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def escape(value: Any) -> str:
    """``value`` as text safe inside HTML."""
    return html.escape(str(value))


class Report:
    """Collects figures and HTML sections, then writes the folder.

    Args:
        out_dir: the report folder (created; a file there is an error).
        title: the page title.
        known: the figure file names this kind of report can have; those of an earlier
            report in the folder that this one does not draw are removed.
    """

    def __init__(self, out_dir: str | os.PathLike, title: str, known: Sequence[str]) -> None:
        self.dir = Path(out_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise MaskdetError(f"{self.dir}: exists and is not a folder; give a folder for the "
                               "report")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.known = known
        self.figures: list[str] = []
        self.parts: list[str] = []

    def figure(self, name: str, fig, caption: str) -> None:
        data = figure_png(fig)
        write_atomic(self.dir / name, data)
        self.figures.append(name)
        b64 = base64.b64encode(data).decode("ascii")
        self.parts.append(
            f'<figure id="{escape(name)}"><a href="{escape(name)}"><img src="data:image/png;base64,'
            f'{b64}" alt="{escape(caption)}"></a><figcaption>{escape(caption)} '
            f'(<a href="{escape(name)}">{escape(name)}</a>)</figcaption></figure>')

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def write(self, json_name: str, numbers: dict[str, Any], warnings: Sequence[str]) -> Path:
        for name in self.known:  # figures of an earlier report that this one does not have
            if name not in self.figures and (self.dir / name).is_file():
                (self.dir / name).unlink()
        numbers = {**numbers, "figures": list(self.figures)}
        write_atomic(self.dir / json_name,
                      json.dumps(to_jsonable(numbers), indent=1, ensure_ascii=False).encode())
        warn = ""
        if warnings:
            warn = ('<div class="warnings"><h2>Warnings</h2><ul>'
                    + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul></div>")
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(self.title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; margin-top: 1.8em; }}
table {{ border-collapse: collapse; margin: .5em 0; font-size: .9em; }}
td, th {{ border: 1px solid #ccc; padding: .2em .6em; text-align: right; }}
td.l, th.l {{ text-align: left; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
figcaption {{ font-size: .85em; color: #555; }}
.warnings {{ background: #fff4e0; border: 1px solid #e0a040; padding: .2em 1em; }}
.small {{ font-size: .8em; color: #555; }}
</style></head><body>
<h1>{escape(self.title)}</h1>
{warn}
{chr(10).join(self.parts)}
<p class="small">Numbers: <a href="{escape(json_name)}">{escape(json_name)}</a>. Figures:
{", ".join(f'<a href="{escape(n)}">{escape(n)}</a>' for n in self.figures)}.</p>
</body></html>
"""
        path = self.dir / "report.html"
        write_atomic(path, page.encode("utf-8"))
        logger.info("wrote %s (%d figures)", path, len(self.figures))
        return path


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="l"' if i < left else ""
        if isinstance(v, float):
            v = f"{v:.4g}"
        return f"<{tag}{cls}>{escape(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# -- image tiles ----------------------------------------------------------------------------------
def image_tile(image: np.ndarray | None, size: int = TILE) -> np.ndarray:
    """An RGB square tile: the image shrunk to fit, centred on grey."""
    tile = np.full((size, size, 3), 235, np.uint8)
    if image is None or image.size == 0:
        return tile
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                       else cv2.INTER_LINEAR)
    y, x = (size - nh) // 2, (size - nw) // 2
    tile[y:y + nh, x:x + nw] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return tile


def load_tile(path: str, box: Sequence[int] | None = None) -> np.ndarray:
    try:
        image = read_image(path)
        if box is not None:
            image = crop_face(image, box, DEFAULT_MARGIN)
    except (ImageReadError, ValueError):
        image = None
    return image_tile(image)


def grid_figure(tiles: Sequence[np.ndarray], captions: Sequence[str], cols: int,
                 row_titles: Sequence[str] | None = None, caption_lines: int = 1):
    """A figure of image tiles, ``cols`` per row, each with its caption above it."""
    rows = max(1, -(-len(tiles) // cols))
    fig = new_figure(1.25 * cols + (0.3 if row_titles else 0),
                      (1.25 + 0.17 * caption_lines) * rows + 0.2)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (tile, cap) in enumerate(zip(tiles, captions)):
        r, c = divmod(k, cols)
        ax = axes[r, c]
        ax.imshow(tile)
        ax.set_title(cap, fontsize=7)
    if row_titles:
        for r, title in enumerate(row_titles):
            axes[r, 0].axis("on")
            axes[r, 0].set_xticks([])
            axes[r, 0].set_yticks([])
            for spine in axes[r, 0].spines.values():
                spine.set_visible(False)
            axes[r, 0].set_ylabel(title, fontsize=9, rotation=90)
    return fig
