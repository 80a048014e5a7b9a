"""Drawing results on images: labelled face boxes, a status line, faces pixelated for privacy
(one home for drawing)."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from .detections import Detections

#: Box colours (BGR) by label; other labels get ``OTHER_COLOR``.
DEFAULT_COLORS: dict[str, tuple[int, int, int]] = {
    "with_mask": (0, 200, 0),
    "without_mask": (0, 0, 230),
    "mask_weared_incorrect": (0, 165, 255),
}
OTHER_COLOR = (255, 160, 0)
UNCLASSIFIED_COLOR = (200, 200, 200)


def annotate(
    image: np.ndarray,
    detections: Detections,
    colors: Mapping[str, tuple[int, int, int]] | None = None,
    thickness: int | None = None,
    show_score: bool = True,
) -> np.ndarray:
    """Draw labelled boxes on a copy of ``image``: green with mask, red without (by default).

    Args:
        colors: BGR colour per label, merged over :data:`DEFAULT_COLORS`.
        thickness: line thickness; None scales with the image size.
        show_score: write the label's probability next to it.
    """
    palette = {**DEFAULT_COLORS, **(colors or {})}
    out = image.copy()
    h, w = out.shape[:2]
    thickness = thickness or max(1, round(min(h, w) / 300))
    font_scale = max(0.35, min(h, w) / 1000)
    for face in detections:
        x, y, bw, bh = face.box
        color = (palette.get(face.label, OTHER_COLOR) if face.label is not None
                 else UNCLASSIFIED_COLOR)
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thickness)
        text = face.label or f"face {face.face_score:.2f}"
        if face.label is not None and show_score:
            text = f"{face.label} {face.score:.2f}"
        if face.track_id is not None:
            text = f"#{face.track_id} {text}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = y - 2 if y - th - base - 2 >= 0 else min(h - 1, y + bh + th + base)
        cv2.rectangle(out, (x, ty - th - base), (x + tw + 2, ty + 1), color, cv2.FILLED)
        cv2.putText(out, text, (x + 1, ty - base + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_status(image: np.ndarray, text: str) -> np.ndarray:
    """Write one line of white text on black in the top-left corner of ``image``, in place
    (a video's FPS and counts); returns ``image``."""
    scale = max(0.45, min(image.shape[:2]) / 900)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return image


#: How :func:`blur_faces` hides a face.
BLUR_METHODS = ("pixelate", "blur")


def blur_faces(
    image: np.ndarray,
    detections: Detections,
    method: str = "pixelate",
    blocks: int = 8,
    margin: float = 0.15,
) -> np.ndarray:
    """A copy of ``image`` in which every face box is pixelated (or blurred), so that a
    picture can be stored or shown without the faces; draw the boxes and labels on it
    afterwards with :func:`annotate`.

    Args:
        method: ``"pixelate"`` (each face becomes ``blocks`` x ``blocks`` squares of its mean
            colours) or ``"blur"`` (a Gaussian blur as wide as a sixth of the face).
        blocks: squares across a pixelated face, whatever its size: the detail left does not
            grow with the face.
        margin: the box is widened by this share of its size on each side first (hair, ears,
            a box a little off).

    Example:
        >>> private = annotate(blur_faces(image, faces), faces)  # doctest: +SKIP
    """
    if method not in BLUR_METHODS:
        raise ValueError(f"method must be one of {', '.join(BLUR_METHODS)}, got {method!r}")
    if blocks < 1:
        raise ValueError(f"blocks must be at least 1, got {blocks}")
    out = image.copy()
    h, w = out.shape[:2]
    for box in detections.boxes if len(detections) else ():
        bx, by, bw, bh = (float(v) for v in box)
        x0, y0 = max(0, int(bx - margin * bw)), max(0, int(by - margin * bh))
        x1 = min(w, int(np.ceil(bx + bw + margin * bw)))
        y1 = min(h, int(np.ceil(by + bh + margin * bh)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        if method == "pixelate":
            small = cv2.resize(region, (min(blocks, x1 - x0), min(blocks, y1 - y0)),
                               interpolation=cv2.INTER_AREA)
            out[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0),
                                           interpolation=cv2.INTER_NEAREST)
        else:
            sigma = max(x1 - x0, y1 - y0) / 6
            out[y0:y1, x0:x1] = cv2.GaussianBlur(region, (0, 0), sigma)
    return out
