"""Trackers measured on clips with ground truth: :func:`stream` runs over each clip as
``maskdet video`` would, and the faces it shows and the people it counts are scored against
the clip's ground-truth tracks (:mod:`maskdet.evaluation.tracking`).

Several trackers are compared on the same detections: a face detector runs once per frame
(at the lowest face score any of them wants; each tracker then sees only the faces from its
own floor, as it would alone), and a face's classification is computed once per frame and
box. So the figures differ only by what the trackers do -- which is also why no frame rate
is measured here (``benchmarks/tracking.py`` measures it apart).

Example:
    >>> runs = evaluate_tracking(clips, trackers=["iou", "kalman"])  # doctest: +SKIP
    >>> print("\\n".join(runs["kalman"].lines()))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..classifiers import Classifier
from ..data import SourceSplit, held_out_part, is_voc_layout, load_dataset
from ..detections import Detections
from ..errors import MaskdetError
from ..evaluation.tracking import ClipTracks, MotRow, TrackingMetrics, evaluate_tracks, read_mot
from ..faces import CachedFaceDetector, FaceDetector, create_face_detector
from ..pipeline import MaskDetector
from ..pretrained import load_model
from .clips import Clip, make_clips, read_clip
from .streaming import stream
from .trackers import create_tracker
from .tracking import FaceTracker

#: YuNet's own score threshold (faces below it are dropped in photos).
DETECTOR_THRESHOLD = 0.75


class _ScoreFloor(FaceDetector):
    """The faces of another detector from a face score on."""

    def __init__(self, detector: FaceDetector, floor: float) -> None:
        self.detector, self.floor, self.name = detector, floor, detector.name

    def detect(self, image: np.ndarray) -> Detections:
        found = self.detector.detect(image)
        return found[found.face_scores >= self.floor] if len(found) else found


class _SharedClassifications(MaskDetector):
    """A mask detector that classifies a face (frame and box) once, however many trackers
    ask: at most ``max_faces`` answers are kept."""

    def __init__(self, classifier: Classifier, face_detector: FaceDetector,
                 answers: OrderedDict, max_faces: int = 50_000) -> None:
        super().__init__(classifier, face_detector=face_detector)
        self._answers = answers
        self._max_faces = max_faces

    def probabilities(self, image: np.ndarray, faces: Detections
                      ) -> tuple[np.ndarray, np.ndarray]:
        if not len(faces):
            return super().probabilities(image, faces)
        digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest()
        keys = [digest + box.tobytes() for box in faces.boxes]
        missing = [i for i, key in enumerate(keys) if key not in self._answers]
        if missing:
            proba, not_a_face = super().probabilities(image, faces[missing])
            for i, p, n in zip(missing, proba, not_a_face):
                self._answers[keys[i]] = (p, n)
            while len(self._answers) > self._max_faces:
                self._answers.popitem(last=False)
        answers = [self._answers[k] for k in keys]
        return (np.stack([p for p, _ in answers]),
                np.array([n for _, n in answers], np.float32))


def clips_from(source: str | os.PathLike, out: str | os.PathLike,
               held_out: Sequence[SourceSplit] | None = None, **make) -> list[Clip]:
    """The clips to measure on: made from the photos of a VOC folder (only its part that a
    model trained on ``held_out`` never saw, when given) into ``out``; or the clips already
    in a clip folder, or in the clip folders inside a folder.

    Args:
        make: passed on to :func:`~maskdet.video.clips.make_clips` (``count``, ``seed``,
            ``frames``, ``classes``, ``min_face``, ...).

    Raises:
        MaskdetError: the folder is none of these, or holds no clip.
    """
    source = Path(source)
    if not source.is_dir():
        raise MaskdetError(f"{source}: no such folder")
    if is_voc_layout(source):
        dataset = load_dataset(source)
        if held_out is not None:
            dataset = held_out_part(dataset, held_out)
        clips = make_clips(dataset, out, **make)
    elif held_out is not None:
        raise MaskdetError(f"{source}: --held-out needs a VOC folder of photos to make clips of")
    elif make.get("unlabelled"):
        raise MaskdetError(f"{source}: unlabelled faces need a VOC folder of photos to make "
                           "clips of")
    elif (source / "seqinfo.ini").is_file():
        clips = [read_clip(source)]
    else:
        clips = [read_clip(p) for p in sorted(source.iterdir()) if (p / "seqinfo.ini").is_file()]
    if not clips:
        raise MaskdetError(f"{source}: no clips (a VOC folder of photos, a clip folder with "
                           "seqinfo.ini, or a folder of them)")
    return clips


def track_clip(clip: Clip, tracker: FaceTracker, mask_detector: MaskDetector,
               every: int = 2, **stream_options) -> ClipTracks:
    """Run the stream over one clip with ``tracker``; the faces it showed (tracker output in
    MOTChallenge rows) and the people it counted, beside the clip's ground truth."""
    frames = stream(clip.video, model=mask_detector, tracker=tracker, every=every,
                    **stream_options)
    counted: dict[int, str] = {}
    frames.stats.on_count = lambda track, label: counted.__setitem__(track.track_id, label)
    found = []
    for result in frames:
        dets = result.detections
        confidences = dets.confidences if dets.scores is not None else dets.face_scores
        for i, face in enumerate(dets):
            found.append(MotRow(result.index + 1, int(face.track_id),
                                tuple(float(v) for v in face.box), float(confidences[i]),
                                face.label))
    return ClipTracks(clip.folder.name, read_mot(clip.truth, clip.labels), found, counted)


def evaluate_tracking(
    clips: Sequence[Clip],
    trackers: Sequence[str] | Mapping[str, str | Callable[[], FaceTracker]] = ("kalman",),
    model: Classifier | str | os.PathLike | None = None,
    face_detector: str | FaceDetector = "auto",
    every: int = 2,
    progress: bool = False,
    **stream_options,
) -> dict[str, TrackingMetrics]:
    """Measure trackers on clips with ground truth.

    Args:
        clips: clips written by :func:`~maskdet.video.clips.make_clips` (or read with
            :func:`~maskdet.video.clips.read_clip`).
        trackers: tracker names (:mod:`maskdet.video.trackers`), or a mapping of the names to
            report to tracker names or to functions that make a new tracker.
        model: the classifier (a bundle path, a bundled model's name, None: the default).
        face_detector: a face detector's name (YuNet is asked for the faces from the lowest
            floor the trackers want) or a face detector, used as it is.
        every: run the face detector every N frames, as ``maskdet video --every``.
        stream_options: more options of :func:`~maskdet.video.streaming.stream`.

    Returns:
        the metrics over all clips, per tracker name.
    """
    classifier = load_model(model)
    specs = trackers if isinstance(trackers, Mapping) else {name: name for name in trackers}
    makers = {name: (lambda spec=spec: create_tracker(spec)) if isinstance(spec, str) else spec
              for name, spec in specs.items()}
    floors = {name: make().detection_floor for name, make in makers.items()}
    if isinstance(face_detector, str):
        lowest = min([DETECTOR_THRESHOLD, *(f for f in floors.values() if f is not None)])
        params = {"upscale_to": 0}
        if face_detector in ("auto", "yunet"):
            params["score_threshold"] = lowest
        face_detector = create_face_detector(face_detector, **params)
        floors = {name: DETECTOR_THRESHOLD if f is None else f for name, f in floors.items()}
    else:
        floors = dict.fromkeys(floors, 0.0)  # the detector as given, for every tracker
    results: dict[str, list[ClipTracks]] = {name: [] for name in makers}
    answers: OrderedDict = OrderedDict()
    bar = tqdm(total=len(clips) * len(makers), desc="tracking", unit="run", disable=not progress)
    try:
        for clip in clips:
            cached = CachedFaceDetector(face_detector, max_images=clip.frames + 1)
            answers.clear()
            for name, make in makers.items():
                detector = _SharedClassifications(classifier, _ScoreFloor(cached, floors[name]),
                                                  answers)
                results[name].append(track_clip(clip, make(), detector, every=every,
                                                **stream_options))
                bar.update()
    finally:
        bar.close()
    return {name: evaluate_tracks(runs) for name, runs in results.items()}


__all__ = ["clips_from", "evaluate_tracking", "track_clip"]
