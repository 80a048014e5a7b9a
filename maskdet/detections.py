"""`Detections`: the faces found in one image, as parallel numpy arrays.

Modelled on supervision's ``Detections``: one small object that supports ``len``, iteration,
integer/slice/boolean-mask indexing and conversion to plain dictionaries. Face detectors fill
``boxes``, ``face_scores`` and ``landmarks``; the mask classifier adds ``labels``, ``scores``
and ``probabilities``; video tracking adds ``track_ids``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` with every box of ``b``.

    Args:
        a: boxes of shape (n, 4), each ``x, y, w, h``.
        b: boxes of shape (m, 4).

    Returns:
        float array of shape (n, m); 0 where a box has no area.

    Example:
        >>> box_iou([[0, 0, 10, 10]], [[5, 0, 10, 10]]).round(4).tolist()
        [[0.3333]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = (a[:, 2:3] * a[:, 3:4]) + (b[:, 2] * b[:, 3]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass(frozen=True)
class Face:
    """One face of a `Detections`, as plain Python values."""

    box: tuple[int, int, int, int]
    """(x, y, w, h) in pixels of the image the detections belong to."""
    face_score: float
    label: str | None = None
    score: float | None = None
    """Probability of ``label`` from the classifier."""
    track_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"box": list(self.box)}
        if self.track_id is not None:
            out["track"] = self.track_id
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        out["face_score"] = round(float(self.face_score), 4)
        return out


def _as(array: Any, dtype: Any, shape_tail: tuple[int, ...], n: int, name: str) -> np.ndarray:
    arr = np.asarray(array, dtype=dtype)
    if n == 0 and arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    if arr.shape != (n, *shape_tail):
        raise ValueError(f"{name} must have shape {(n, *shape_tail)}, got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Detections:
    """Faces found in one image.

    Attributes:
        boxes: int array of shape (n, 4), each row ``x, y, w, h``.
        face_scores: float array of shape (n,), the face detector's confidence.
        landmarks: float array of shape (n, 5, 2) (eyes, nose tip, mouth corners) or None.
        labels: str array of shape (n,) or None before classification.
        scores: float array of shape (n,), the probability of ``labels``, or None.
        probabilities: float array of shape (n, len(classes)) or None.
        classes: the classifier's class names, the columns of ``probabilities``.
        track_ids: int array of shape (n,) or None outside video tracking.

    Example:
        >>> dets = Detections(boxes=[[10, 20, 30, 30]], face_scores=[0.9])
        >>> len(dets), dets[dets.face_scores > 0.5].boxes.tolist()
        (1, [[10, 20, 30, 30]])
    """

    boxes: np.ndarray
    face_scores: np.ndarray
    landmarks: np.ndarray | None = None
    labels: np.ndarray | None = None
    scores: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: tuple[str, ...] = field(default=())
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes)
        n = 0 if boxes.size == 0 else len(boxes)
        set_ = object.__setattr__
        set_(self, "boxes", _as(np.rint(boxes) if boxes.size else boxes, np.int32, (4,), n,
                                "boxes"))
        set_(self, "face_scores", _as(self.face_scores, np.float32, (), n, "face_scores"))
        if self.landmarks is not None:
            set_(self, "landmarks", _as(self.landmarks, np.float32, (5, 2), n, "landmarks"))
        if self.labels is not None:
            set_(self, "labels", _as(self.labels, object, (), n, "labels"))
        if self.scores is not None:
            set_(self, "scores", _as(self.scores, np.float32, (), n, "scores"))
        set_(self, "classes", tuple(self.classes))
        if self.probabilities is not None:
            k = len(self.classes)
            set_(self, "probabilities",
                 _as(self.probabilities, np.float32, (k,), n, "probabilities"))
        if self.track_ids is not None:
            set_(self, "track_ids", _as(self.track_ids, np.int64, (), n, "track_ids"))

    @classmethod
    def empty(cls) -> Detections:
        """Detections with no face."""
        return cls(boxes=np.zeros((0, 4), np.int32), face_scores=np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    def __iter__(self) -> Iterator[Face]:
        for i in range(len(self)):
            yield Face(
                box=tuple(int(v) for v in self.boxes[i]),
                face_score=float(self.face_scores[i]),
                label=None if self.labels is None else str(self.labels[i]),
                score=None if self.scores is None else float(self.scores[i]),
                track_id=None if self.track_ids is None else int(self.track_ids[i]),
            )

    def __getitem__(self, index: int | slice | list[int] | np.ndarray) -> Detections:
        """Select faces by position, slice, index list or boolean mask; returns Detections."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                changes[f.name] = value[index]
        return replace(self, **changes)

    @property
    def xyxy(self) -> np.ndarray:
        """Boxes as (n, 4) ``x1, y1, x2, y2``."""
        out = self.boxes.copy()
        out[:, 2:] += out[:, :2]
        return out

    def clip(self, width: int, height: int) -> Detections:
        """Boxes clipped to a ``width`` x ``height`` image; boxes left empty are dropped.

        Detectors may return boxes that stick out of the image, or lie wholly outside it.
        """
        if len(self) == 0:
            return self
        x1y1 = np.clip(self.boxes[:, :2], 0, [width, height])
        x2y2 = np.clip(self.boxes[:, :2] + self.boxes[:, 2:], 0, [width, height])
        keep = np.all(x2y2 - x1y1 >= 1, axis=1)
        clipped = replace(self, boxes=np.concatenate([x1y1, x2y2 - x1y1], axis=1))
        return clipped[keep]

    @property
    def confidences(self) -> np.ndarray | None:
        """Face score times the label's probability, shape (n,): how sure the whole pipeline
        is of each labelled face (None before classification). Detections are ranked by it in
        the end-to-end scores, and :class:`~maskdet.pipeline.MaskDetector`'s
        ``min_confidence`` thresholds it."""
        return None if self.scores is None else self.face_scores * self.scores

    @property
    def area(self) -> np.ndarray:
        return self.boxes[:, 2].astype(np.int64) * self.boxes[:, 3]

    def with_classification(
        self, probabilities: np.ndarray, classes: tuple[str, ...] | list[str]
    ) -> Detections:
        """Copy with labels, scores and probabilities from a classifier's ``predict_proba``."""
        probabilities = np.asarray(probabilities, np.float32).reshape(len(self), len(classes))
        best = probabilities.argmax(axis=1) if len(self) else np.zeros(0, int)
        return replace(
            self,
            labels=np.asarray(classes, dtype=object)[best],
            scores=probabilities[np.arange(len(self)), best],
            probabilities=probabilities,
            classes=tuple(classes),
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dictionary per face (``box``, ``label``, ``score``, ``face_score``)."""
        return [face.to_dict() for face in self]

    def to_supervision(self):
        """The faces as a ``supervision.Detections`` (``pip install 'maskdet[supervision]'``),
        so that supervision's zones, trackers and annotators (blur, pixelate, labels) work on
        them: ``xyxy`` from the boxes, ``confidence`` the face score times the label's
        probability (the face score before classification), ``class_id`` the label's index in
        ``classes``, ``tracker_id`` the track ids; ``data`` keeps ``class_name``, ``face_score``
        and ``score``.

        Example:
            >>> import supervision as sv  # doctest: +SKIP
            >>> blur = sv.BlurAnnotator()  # doctest: +SKIP
            >>> private = blur.annotate(image.copy(), faces.to_supervision())  # doctest: +SKIP
        """
        sv = _supervision()
        n = len(self)
        data: dict[str, np.ndarray] = {"face_score": self.face_scores.copy()}
        class_id = None
        if self.labels is not None:
            data["class_name"] = np.array([str(label) for label in self.labels], dtype=str
                                          ).reshape(n)
            data["score"] = self.scores.copy()
            index = {c: i for i, c in enumerate(self.classes)}
            class_id = np.array([index.get(str(label), -1) for label in self.labels], int)
        confidence = self.confidences if self.scores is not None else self.face_scores
        return sv.Detections(xyxy=self.xyxy.astype(np.float32).reshape(n, 4),
                             confidence=np.asarray(confidence, np.float32).copy(),
                             class_id=class_id, tracker_id=self.track_ids, data=data)

    @classmethod
    def from_supervision(cls, detections, classes: tuple[str, ...] | list[str] = ()
                         ) -> Detections:
        """Faces from a ``supervision.Detections``: boxes from ``xyxy``; labels from
        ``data["class_name"]`` or, with ``classes``, from ``class_id``; ``face_scores`` and
        ``scores`` from ``data["face_score"]``/``data["score"]`` where
        :meth:`to_supervision` put them, else the face score is ``confidence`` (1 without).
        """
        xyxy = np.asarray(detections.xyxy, np.float64).reshape(-1, 4)
        n = len(xyxy)
        data = getattr(detections, "data", {}) or {}
        confidence = (np.ones(n) if detections.confidence is None
                      else np.asarray(detections.confidence, np.float64))
        face_scores = np.asarray(data.get("face_score", confidence), np.float64)
        labels = data.get("class_name")
        if labels is None and detections.class_id is not None and classes:
            labels = [classes[i] if 0 <= i < len(classes) else str(i)
                      for i in np.asarray(detections.class_id, int)]
        scores = data.get("score")
        if labels is not None and scores is None:
            scores = confidence / np.maximum(face_scores, 1e-12)
        boxes = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        if not classes and labels is not None:
            classes = tuple(sorted({str(label) for label in labels}))
        return cls(boxes=boxes, face_scores=face_scores,
                   labels=None if labels is None else [str(label) for label in labels],
                   scores=None if labels is None else scores,
                   classes=tuple(classes) if labels is not None else (),
                   track_ids=detections.tracker_id)

    def counts(self) -> dict[str, int]:
        """Number of faces per label (every class of the classifier appears, possibly 0)."""
        out = dict.fromkeys(self.classes, 0)
        if self.labels is not None:
            for label in self.labels:
                out[str(label)] = out.get(str(label), 0) + 1
        return out


def _supervision():
    try:
        import supervision
    except ImportError:
        from .errors import BackendError

        raise BackendError("converting detections needs supervision: pip install "
                           "'maskdet[supervision]'") from None
    return supervision
