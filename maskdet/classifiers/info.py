"""What a model bundle records about its model, as typed values: :class:`ModelInfo`.

Two kinds of facts are kept apart:

* :class:`ModelSettings` -- facts that change what the model does when it is used: its
  operating point (the confidence per label below which a face is not reported), how its
  face-folder images were framed in training (so that evaluation frames them alike), and the
  splits of its training sources (so that its held-out part can be found again).
* ``metrics`` -- measurements: training facts, held-out scores, the CNN's per-epoch history,
  the recipe's numbers. Nothing reads them to decide anything.

:meth:`ModelInfo.from_manifest` is the one place that reads a manifest's fields (also those of
the first bundle format, which kept the settings among the metrics).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import SourceSplit
from ..errors import BundleError
from ..files import to_jsonable
from .preprocessing import Preprocessing

#: The training label of crops that are not faces: a hidden output of the model, never
#: reported as a label (:meth:`~maskdet.classifiers.Classifier.predict_face_proba`).
NOT_A_FACE = "not_a_face"


@dataclass(frozen=True)
class ModelSettings:
    """How a model is to be used; stored in its bundle (``settings`` in the manifest).

    Attributes:
        min_confidence: the operating point: per label, the least confidence (face score times
            the label's probability) at which a face is reported; labels not named keep every
            face. :class:`~maskdet.pipeline.MaskDetector` applies it by default.
        operating_point_note: how the operating point was chosen (one line, for people).
        face_score: the face score from which YuNet's faces are classified, chosen with
            the operating point (faces YuNet is less sure of are often masked ones; the
            operating point drops the false ones); None: YuNet's own threshold (0.75).
            :class:`~maskdet.pipeline.MaskDetector` applies it to a YuNet it creates by name.
        not_a_face: for a model with the hidden ``not_a_face`` output
            (:data:`NOT_A_FACE`), the probability of it from which
            a face is dropped as no face, chosen with the operating point; None: 0.5.
        framing: the face detector that framed the face-folder images in training
            (:func:`~maskdet.faces.frame_face`), or None when they were used whole.
        sources: how each training source was split (:func:`~maskdet.data.held_out_part`).
    """

    min_confidence: Mapping[str, float] = field(default_factory=dict)
    operating_point_note: str = ""
    face_score: float | None = None
    not_a_face: float | None = None
    framing: str | None = None
    sources: tuple[SourceSplit, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"min_confidence": {str(k): float(v) for k, v in self.min_confidence.items()},
                "operating_point_note": self.operating_point_note,
                "face_score": self.face_score, "not_a_face": self.not_a_face,
                "framing": self.framing,
                "sources": [s.to_dict() for s in self.sources]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSettings:
        return cls(
            min_confidence={str(k): float(v) for k, v in
                            (data.get("min_confidence") or {}).items()},
            operating_point_note=str(data.get("operating_point_note") or ""),
            face_score=_probability("face_score", data.get("face_score")),
            not_a_face=_probability("not_a_face", data.get("not_a_face")),
            framing=data.get("framing") or None,
            sources=tuple(SourceSplit.from_dict(s) for s in data.get("sources") or ()))

    @classmethod
    def from_legacy_metrics(cls, metrics: Mapping[str, Any]) -> ModelSettings:
        """The settings of a bundle of format 1, which kept them among its metrics
        (``operating_point``, ``training.framing``, ``training.sources``)."""
        point = metrics.get("operating_point") or {}
        training = metrics.get("training") or {}
        return cls.from_dict({"min_confidence": point.get("min_confidence"),
                              "operating_point_note": point.get("note"),
                              "framing": training.get("framing"),
                              "sources": training.get("sources")})


def _probability(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"settings.{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ModelInfo:
    """The record of a model bundle: what the model is, how to use it, how well it did.

    Attributes:
        backend: the registry name of the backend (``"cnn"``, ``"hog-svm"``).
        classes: the model's outputs, in order: the labels (``labels``) and, for a model
            with the hidden output, :data:`NOT_A_FACE`.
        params: the backend's hyper-parameters.
        preprocessing: the preprocessing settings its input goes through.
        settings: how to use the model (:class:`ModelSettings`).
        metrics: measurements (training facts, held-out scores, history).
        versions: Python's and the libraries' versions it was saved with.
        created: when it was saved (ISO 8601, UTC), if known.

    Example:
        >>> info = maskdet.read_model_info("model.maskdet")  # doctest: +SKIP
        >>> info.settings.min_confidence, info.test_metrics["accuracy"]  # doctest: +SKIP
        ({'without_mask': 0.213}, 0.987)
    """

    backend: str
    classes: tuple[str, ...]
    params: Mapping[str, Any]
    preprocessing: Preprocessing
    settings: ModelSettings = field(default_factory=ModelSettings)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    created: str | None = None
    format_version: int | None = None
    """The bundle format it was read from (None: not read from a bundle)."""

    @property
    def test_metrics(self) -> dict[str, Any] | None:
        """The held-out test metrics that :func:`~maskdet.training.train` measured, if any."""
        return self.metrics.get("test") or None

    @property
    def history(self) -> dict[str, list[float]] | None:
        """The CNN's per-epoch training history, if it kept one."""
        return self.metrics.get("history") or None

    def to_manifest(self) -> dict[str, Any]:
        """The manifest fields (all but the format and the file checksums), JSON-ready."""
        created = self.created or _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds")
        return to_jsonable({
            "backend": self.backend, "params": dict(self.params),
            "classes": list(self.classes), "preprocessing": self.preprocessing.to_dict(),
            "settings": self.settings.to_dict(), "metrics": dict(self.metrics),
            "versions": dict(self.versions), "created": created})

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], path: str | Path = "<manifest>"
                      ) -> ModelInfo:
        """Read a manifest already checked for its format (see
        :func:`~maskdet.classifiers.bundle.read_manifest`).

        Raises:
            BundleError: a field of the wrong kind, naming the bundle ``path``.
        """
        try:
            metrics = dict(manifest.get("metrics") or {})
            if "settings" in manifest:
                settings = ModelSettings.from_dict(manifest["settings"] or {})
            else:
                settings = ModelSettings.from_legacy_metrics(metrics)
            return cls(
                backend=str(manifest["backend"]),
                classes=tuple(str(c) for c in manifest["classes"]),
                params=dict(manifest["params"]),
                preprocessing=Preprocessing.from_dict(manifest["preprocessing"]),
                settings=settings, metrics=metrics,
                versions={str(k): str(v) for k, v in (manifest.get("versions") or {}).items()},
                created=manifest.get("created"), format_version=manifest.get("format_version"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BundleError(f"{path}: invalid bundle manifest "
                              f"({type(exc).__name__}: {exc})") from None

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels a face can be given: ``classes`` (the model's outputs) less the hidden
        :data:`NOT_A_FACE`."""
        return tuple(c for c in self.classes if c != NOT_A_FACE)

    def describe(self) -> list[str]:
        """A few lines for people (``maskdet info``)."""
        faces = self.labels
        lines = [f"{self.backend} model, classes {', '.join(faces)}",
                 f"  created {self.created or '?'} with maskdet "
                 f"{self.versions.get('maskdet', '?')}",
                 f"  params {json.dumps(to_jsonable(dict(self.params)))}",
                 f"  preprocessing {json.dumps(self.preprocessing.to_dict())}"]
        if self.settings.framing:
            lines.append(f"  class-folder images framed on the face {self.settings.framing} "
                         "finds (see maskdet train --frame-faces)")
        test = self.test_metrics
        if test:
            lines.append(f"  held-out accuracy {test['accuracy']:.4f} "
                         f"(balanced {test['balanced_accuracy']:.4f}, {test['n']} faces)")
        if self.settings.min_confidence:
            floors = ", ".join(f"{label} >= {value:.3f}"
                               for label, value in self.settings.min_confidence.items())
            note = self.settings.operating_point_note
            lines.append(f"  operating point: confidence {floors}"
                         + (f" ({note})" if note else ""))
        if self.settings.face_score is not None:
            lines.append(f"  faces classified from YuNet score {self.settings.face_score:g} "
                         "(chosen with the operating point)")
        if len(faces) < len(self.classes):
            floor = 0.5 if self.settings.not_a_face is None else self.settings.not_a_face
            lines.append(f"  faces it calls not_a_face with probability >= {floor:g} are "
                         "dropped as no face (a hidden output, never a label)")
        if self.settings.sources:
            lines.append("  held-out parts: " + ", ".join(
                f"{s.name} ({s.test_files} of {s.files} files)" for s in self.settings.sources))
        if self.format_version is not None and self.format_version < 3:
            lines.append(f"  bundle format {self.format_version}: maskdet no longer loads it; "
                         "convert it with maskdet upgrade")
        return lines
