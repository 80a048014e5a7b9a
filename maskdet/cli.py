"""The ``maskdet`` command: a thin shell over the library.

User errors (missing files, bad images, wrong model files) print one line on stderr and exit
with status 1, without a traceback; ``--json`` output on stdout holds nothing but JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import MaskdetError

logger = logging.getLogger("maskdet")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("maskdet")
    except PackageNotFoundError:
        return "unknown"


# -- helpers ----------------------------------------------------------------------------------
def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def _key_values(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MaskdetError(f"{what} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _label_map(items: Sequence[str] | None) -> dict[str, str | None]:
    """``--map FROM=TO`` options; ``FROM=`` (empty) drops the class."""
    return {k: (v or None) for k, v in _key_values(items, "--map").items()}


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _expand_inputs(paths: Sequence[str]) -> Iterator[tuple[Path, bool]]:
    """Files given, and image files inside folders given (``(path, given_directly)``)."""
    from .data import _walk_files
    from .images import looks_like_image

    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = [p for p in _walk_files(path) if looks_like_image(p)]
            if not found:
                logger.warning("%s: no image files in this folder", path)
            for p in found:
                yield p, False
        else:
            yield path, True


MODEL_HELP = "model bundle path or a bundled model name: cnn (default; needs TensorFlow) or hog-svm"
MIN_CONFIDENCE_HELP = ("drop faces whose confidence (face score x the label's probability) is "
                       "below C, for every label or per label (without_mask=0.8); default: the "
                       "model's operating point (see maskdet info), 0 keeps every face")
MODEL_ARG_HELP = "model bundle path or a bundled model name (cnn or hog-svm)"


def _load_model(model: str | None):
    """The classifier that ``--model`` (or ``MODEL``) names; None: the bundled default."""
    from .pretrained import load_model

    return load_model(model)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN floats as None (``--json`` output is strict JSON)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# -- commands ---------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .evaluation import format_metrics
    from .faces import create_face_detector
    from .training import train

    params = {k: _parse_value(v) for k, v in _key_values(args.param, "--param").items()}
    detector = create_face_detector(args.detect_faces) if args.detect_faces else None
    framing = create_face_detector(args.frame_faces) if args.frame_faces else None
    result = train(
        args.data, backend=args.backend, params=params, test_size=args.test_size,
        validation_size=args.validation_size, seed=args.seed, min_face=args.min_face,
        label_map=_label_map(args.map), face_detector=detector, framing=framing, out=args.out,
        progress=_progress(args))
    clf = result.classifier
    summary = {
        "model": str(args.out),
        "backend": clf.backend_name,
        "params": clf.get_params(deep=False),
        "classes": [str(c) for c in clf.classes_],
        "training": result.info,
        "test": result.test_metrics,
    }
    if args.report:
        from .reports import write_classifier_report

        summary["report"] = str(write_classifier_report(
            args.report, clf, result.test_crops, result.test_proba, result.test_metrics,
            title=f"{clf.backend_name} model {args.out}: held-out test part"))
    if args.json:
        from .classifiers.bundle import _jsonable

        _print_json(_jsonable(summary))
        return EXIT_OK
    split = result.info["split"]
    print(f"trained {clf.backend_name} on {split['train']} files in "
          f"{result.info['fit_seconds']:.1f} s; saved {args.out}")
    if result.test_metrics:
        print(f"held-out test part ({split['test']} files, seed {args.seed}):")
        print(format_metrics(result.test_metrics))
    if args.report:
        print(f"report: {summary['report']}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .errors import ImageReadError
    from .faces import frame_face
    from .images import read_image

    clf = _load_model(args.model)
    classes = [str(c) for c in clf.classes_]
    inputs = list(_expand_inputs(args.paths))
    framing = _framing_or_whole(clf)
    failed = 0
    batch: list[tuple[Path, Any]] = []

    def flush() -> None:
        if not batch:
            return
        proba = clf.predict_proba([image for _, image in batch])
        for (path, _), row in zip(batch, proba):
            best = int(row.argmax())
            if args.json:
                _print_json({"path": str(path), "label": classes[best],
                             "scores": {c: round(float(p), 4) for c, p in zip(classes, row)}})
            else:
                print(f"{path}: {classes[best]} ({row[best]:.2f})")
        batch.clear()

    for path, _direct in tqdm(inputs, desc="classifying", unit="img", disable=not _progress(args)):
        try:
            image = read_image(path)
        except ImageReadError as exc:
            failed += 1
            logger.error("%s", exc)
            continue
        if framing is not None:
            faces = framing.detect(image).clip(image.shape[1], image.shape[0])
            image = frame_face(image, faces, clf.preprocessing.margin)
        batch.append((path, image))
        if len(batch) >= 64:
            flush()
    flush()
    if failed and len(inputs) > 1:
        logger.warning("%d of %d images could not be read (skipped)", failed, len(inputs))
    return EXIT_ERROR if failed or not inputs else EXIT_OK


def _framing_or_whole(clf) -> Any:
    """The detector to frame face images with as the model's training did, or None (whole
    images) when it did not frame them or the detector cannot be had here."""
    from .errors import DetectorUnavailableError
    from .training import framing_detector

    try:
        return framing_detector(clf)
    except DetectorUnavailableError as exc:
        logger.warning("classifying the images whole: the model was trained on images framed "
                       "on their face, but %s", exc)
        return None


def _unique_output(save_dir: Path, path: Path, used: set[str]) -> Path:
    name = path.name if path.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".webp"} \
        else path.name + ".jpg"
    stem, suffix = os.path.splitext(name)
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}_{n}{suffix}"
    used.add(candidate)
    return save_dir / candidate


def cmd_detect(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .errors import ImageReadError
    from .images import read_image, write_image
    from .pipeline import MaskDetector

    detector = MaskDetector(_load_model(args.model), face_detector=args.detector,
                            min_face=args.min_face, min_face_score=args.min_face_score,
                            min_confidence=args.min_confidence)
    save_dir = Path(args.save_dir) if args.save_dir else None
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    inputs = list(_expand_inputs(args.paths))
    failed, used = 0, set()
    for path, _direct in tqdm(inputs, desc="detecting", unit="img", disable=not _progress(args)):
        try:
            image = read_image(path)
        except ImageReadError as exc:
            failed += 1
            logger.error("%s", exc)
            continue
        faces = detector.detect(image)
        if args.json:
            _print_json({"path": str(path), "faces": faces.to_dicts()})
        else:
            counts = ", ".join(f"{k} {v}" for k, v in faces.counts().items())
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({counts})")
            for face in faces:
                print(f"  box {list(face.box)}  {face.label} {face.score:.2f}  "
                      f"(face {face.face_score:.2f})")
        if save_dir:
            write_image(_unique_output(save_dir, path, used), detector.annotate(image, faces))
    if failed and len(inputs) > 1:
        logger.warning("%d of %d images could not be read (skipped)", failed, len(inputs))
    return EXIT_ERROR if failed or not inputs else EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .evaluation import dataset_summary, evaluate_with_predictions, format_metrics

    for option, value in (("--detector", args.detector), ("--iou", args.iou),
                          ("--min-confidence", args.min_confidence)):
        if value is not None and not args.end_to_end:
            raise MaskdetError(f"{option} applies to --end-to-end evaluation only")
    if args.iou is not None and not 0 < args.iou <= 1:
        raise MaskdetError(f"--iou must be in (0, 1], got {args.iou}")
    if args.end_to_end and args.report:
        raise MaskdetError("--report is not available with --end-to-end")
    clf = _load_model(args.model)
    # End to end, small faces stay in the data to be ignored, not left out (a detection of a
    # face missing from the ground truth would be a false positive).
    dataset = load_dataset(args.data, min_face=0 if args.end_to_end else args.min_face)
    if args.end_to_end and dataset.layout != "voc":
        raise MaskdetError(f"{args.data}: --end-to-end needs VOC scenes (images/ and "
                           f"annotations/), not {dataset.layout}")
    mapping = _label_map(args.map)
    if mapping:
        dataset = dataset.relabel(mapping)
    held_out = None
    if args.held_out:
        from .training import held_out_part

        manifest = getattr(clf, "manifest_", None) or {"metrics": clf.metrics_}
        dataset = held_out_part(dataset, manifest)
        held_out = {"files": len(set(dataset.paths)), "faces": len(dataset)}
        if not len(dataset):
            raise MaskdetError(f"{args.data}: the model's held-out part has no faces to "
                               "evaluate")
        if not args.json:
            print(f"held-out part of {args.data}: {held_out['files']} files, "
                  f"{held_out['faces']} faces")
    if args.end_to_end:
        return _evaluate_end_to_end(args, clf, dataset, held_out)
    from .faces import extract_faces
    from .training import framing_detector

    # Frame class-folder images as the model's were framed in training (if they were).
    framing = framing_detector(clf) if dataset.layout != "voc" else None
    crops = extract_faces(dataset, margin=clf.preprocessing.margin, framing=framing,
                          progress=_progress(args))
    if not len(crops):
        raise MaskdetError(f"{args.data}: no readable faces to evaluate")
    metrics, proba, _ = evaluate_with_predictions(clf, crops.images, crops.labels)
    report = None
    if args.report:
        from .reports import write_classifier_report

        report = str(write_classifier_report(args.report, clf, crops, proba, metrics,
                                             title=f"{args.model} on {args.data}"))
    if args.json:
        _print_json({"model": args.model, "data": dataset_summary(dataset), **metrics,
                     **({"held_out": held_out} if held_out else {}),
                     **({"report": report} if report else {})})
    else:
        print(f"{args.model} on {args.data} ({dataset.layout}"
              + (", held-out part" if held_out else "")
              + (f", faces >= {args.min_face} px" if args.min_face else "") + "):")
        print(format_metrics(metrics))
        if report:
            print(f"report: {report}")
    return EXIT_OK


def _evaluate_end_to_end(args: argparse.Namespace, clf, dataset, held_out) -> int:
    """``evaluate --end-to-end``: face detection + the model on the photos of VOC scenes."""
    from .evaluation import dataset_summary, evaluate_scenes, format_scene_metrics
    from .pipeline import MaskDetector

    iou = 0.5 if args.iou is None else args.iou
    detector = MaskDetector(clf, face_detector=args.detector or "auto", min_face=args.min_face,
                            min_confidence=args.min_confidence)
    metrics = evaluate_scenes(detector, dataset, iou=iou, progress=_progress(args),
                              min_face=args.min_face)
    name = getattr(detector.face_detector, "name", type(detector.face_detector).__name__)
    if args.json:
        _print_json(_json_safe({"model": args.model, "data": dataset_summary(dataset),
                                "detector": name, "min_confidence": detector.min_confidence,
                                **metrics,
                                **({"held_out": held_out} if held_out else {})}))
        return EXIT_OK
    print(f"{args.model} on {args.data} (voc, end to end with the {name} face detector"
          + (", held-out part" if held_out else "")
          + (f", faces >= {args.min_face} px" if args.min_face else "")
          + "".join(f", {label} confidence >= {value:g}"
                    for label, value in detector.min_confidence.items()) + "):")
    print(format_scene_metrics(metrics))
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze_dataset
    from .data import load_dataset
    from .faces import create_face_detector
    from .reports import write_dataset_report

    dataset = load_dataset(args.data)  # a bad path fails before a detector is set up
    detector = None if args.detector == "none" else create_face_detector(args.detector)
    options = {} if args.near_threshold is None else {"near_threshold": args.near_threshold}
    analysis = analyze_dataset(dataset, detector=detector, test_size=args.test_size,
                               seed=args.seed, progress=_progress(args), **options)
    report = write_dataset_report(analysis, args.out)
    s = analysis.summary
    if args.json:
        _print_json({**s, "report": str(report)})
        return EXIT_OK
    unit = "faces" if s["layout"] == "voc" else "images"
    print(f"{s['root']} ({s['layout']}): {sum(s['counts'].values())} {unit} in {s['files']} "
          f"files; " + ", ".join(f"{c} {n}" for c, n in s["counts"].items()))
    if s["detection"] and s["detection"]["rate"]:
        print(f"face detection rate ({s['detection']['detector']}): "
              + ", ".join(f"{c} {r:.0%}" for c, r in s["detection"]["rate"].items()))
    d = s["duplicates"]
    print(f"duplicates: {d['exact_extra_copies']} byte-identical extra copies, "
          f"{d['near_pairs']} near-duplicate pairs"
          + (f" ({s['split']['near_across_pairs']} across train/test)" if s["split"] else ""))
    print(f"unusable files or boxes: {len(s['skipped'])}; warnings: {len(analysis.warnings)}")
    print(f"report: {report}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .classifiers import read_manifest
    from .pretrained import model_path

    manifest = read_manifest(model_path(args.model))
    if args.json:
        _print_json(manifest)
    else:
        test = (manifest.get("metrics") or {}).get("test") or {}
        print(f"{args.model}: {manifest['backend']} model, classes "
              f"{', '.join(manifest['classes'])}")
        print(f"  created {manifest.get('created', '?')} with maskdet "
              f"{manifest.get('versions', {}).get('maskdet', '?')}")
        print(f"  params {json.dumps(manifest['params'])}")
        print(f"  preprocessing {json.dumps(manifest['preprocessing'])}")
        framing = ((manifest.get("metrics") or {}).get("training") or {}).get("framing")
        if framing:
            print(f"  class-folder images framed on the face {framing} finds (see maskdet "
                  "train --frame-faces)")
        if test:
            print(f"  held-out accuracy {test['accuracy']:.4f} "
                  f"(balanced {test['balanced_accuracy']:.4f}, {test['n']} faces)")
        point = (manifest.get("metrics") or {}).get("operating_point") or {}
        if point.get("min_confidence"):
            floors = ", ".join(f"{label} >= {value:.3f}"
                               for label, value in point["min_confidence"].items())
            print(f"  operating point: confidence {floors}"
                  + (f" ({point['note']})" if point.get("note") else ""))
    return EXIT_OK


def cmd_backends(args: argparse.Namespace) -> int:
    from .classifiers import available_backends
    from .faces import available_detectors
    from .pretrained import available_models, default_model_name

    print("classifier backends: " + ", ".join(available_backends()))
    print("face detectors: " + ", ".join(available_detectors()))
    models = available_models()
    default = default_model_name() if models else None
    print("bundled models: " + (", ".join(f"{m} (default)" if m == default else m
                                          for m in models) or "none"))
    return EXIT_OK


def _min_confidence(text: str) -> float | dict[str, float]:
    """``--min-confidence``: ``C`` for every label, or ``LABEL=C[,LABEL=C]``."""
    try:
        if "=" not in text:
            return float(text)
        return {k: float(v) for k, v in _key_values(text.split(","), "--min-confidence").items()}
    except (ValueError, MaskdetError):
        raise argparse.ArgumentTypeError(
            f"must be a number or LABEL=NUMBER[,LABEL=NUMBER], got {text!r}") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _report_video(args: argparse.Namespace, summary, written: Path | None, frames: int) -> None:
    lines = summary.lines()
    if written is not None:
        lines.append(f"wrote {written} ({frames} frames)")
    for line in lines:
        if args.json:
            logger.info("%s", line)
        else:
            print(line)


def cmd_video(args: argparse.Namespace) -> int:
    import contextlib
    import tempfile

    from tqdm.auto import tqdm

    from .alerts import AlertCommand
    from .streaming import stop_on_signals, stream
    from .video import Display, VideoWriter, display_problem

    # FFmpeg's own log lines ("moov atom not found", "Connection refused") would come on top
    # of maskdet's one-line errors: quiet it, unless the user set the level.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    clf = _load_model(args.model)
    display = None
    if args.show:
        problem = display_problem()
        if problem is None:
            display = Display(f"maskdet: {args.source}")
        elif args.output or args.json or args.csv:
            logger.warning("--show: cannot open a window (%s); going on without it", problem)
        else:
            raise MaskdetError(f"--show: cannot open a window ({problem}); "
                               "write the video with --output FILE instead")
    alert_command = AlertCommand(args.on_violation) if args.on_violation else None
    snapshot_dir = args.snapshot_dir
    temporary_snapshots = alert_command is not None and snapshot_dir is None
    if temporary_snapshots:
        snapshot_dir = tempfile.mkdtemp(prefix="maskdet-alerts-")
        logger.info("alert snapshots go to %s", snapshot_dir)
    alert_after = args.alert_after
    if alert_after is None and (alert_command is not None or args.snapshot_dir):
        alert_after = 3.0
    with stop_on_signals() as stop:
        frames = stream(
            args.source, model=clf, detector=args.detector, every=args.every,
            detect_scale=args.detect_scale, min_face=args.min_face,
            min_face_score=args.min_face_score, min_confidence=args.min_confidence,
            annotate=bool(args.output or display), alert_after=alert_after,
            on_violation=alert_command, snapshot_dir=snapshot_dir, csv_log=args.csv,
            live=args.live, max_reconnects=args.max_reconnects, stop=stop)
        writer = None
        if args.output:
            try:
                writer = VideoWriter(args.output,
                                     fps=args.output_fps or frames.source.fps or 25.0)
            except MaskdetError:
                frames.close()
                raise
        results = iter(frames)
        written = None
        bar = tqdm(total=frames.source.frame_count, desc="video", unit="frame",
                   disable=not _progress(args) or args.json)
        try:
            for result in results:
                if writer is not None:
                    writer.write(result.annotated)
                if display is not None and not display.show(result.annotated):
                    logger.info("window closed: stopping")
                    break
                if args.json:
                    _print_json(result.to_dict())
                for alert in result.alerts if not args.json else ():
                    print(f"alert: track {alert.track_id} {alert.label} for "
                          f"{alert.duration:.1f} s at frame {alert.frame}"
                          + (f"; snapshot {alert.snapshot}" if alert.snapshot else ""))
                bar.update()
        finally:
            bar.close()
            results.close()  # type: ignore[attr-defined]  # finishes the summary
            if writer is not None:
                written = writer.close()
            if display is not None:
                display.close()
            if alert_command is not None:
                alert_command.close()
            if temporary_snapshots:
                with contextlib.suppress(OSError):
                    os.rmdir(snapshot_dir)  # only if empty: no alert, nothing to keep
            _report_video(args, frames.summary, written, writer.frames if writer else 0)
    if stop.signum is not None:
        return 128 + stop.signum
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or information messages")
    common.add_argument("--json", action="store_true",
                        help="machine-readable output on stdout (JSON)")

    parser = argparse.ArgumentParser(
        prog="maskdet", description="Detect whether people in photos wear face masks.")
    parser.add_argument("--version", action="version", version=f"maskdet {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", parents=[common], help="train a mask classifier",
                       description="Train a classifier on labelled faces; print held-out metrics.")
    p.add_argument("data", nargs="+", metavar="DATA",
                   help="dataset folder(s): ROOT/<class>/<image> or a VOC folder")
    p.add_argument("--backend", default="hog-svm", help="classifier backend (default hog-svm)")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model bundle to write")
    p.add_argument("--param", "-p", action="append", metavar="KEY=VALUE",
                   help="backend hyper-parameter, e.g. -p C=10 -p kernel=linear")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="fraction held out for testing (default 0.2; 0 trains on all)")
    p.add_argument("--validation-size", type=float, default=0.0,
                   help="fraction held out for validation (backends that use it)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="VOC data: leave out faces smaller than PX")
    p.add_argument("--map", action="append", metavar="FROM=TO",
                   help="rename a class (FROM= drops it), e.g. mask_weared_incorrect=with_mask")
    whole = p.add_mutually_exclusive_group()
    whole.add_argument("--detect-faces", metavar="DETECTOR", default=None,
                       help="crop class-folder images to the face found by DETECTOR instead of "
                            "using them whole (images without a face are left out)")
    whole.add_argument("--frame-faces", metavar="DETECTOR", default=None,
                       help="frame class-folder images on the face found by DETECTOR: faces in "
                            "group or street photos are cropped, close-ups centred on the face, "
                            "images without a face kept whole (evaluate does the same)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write a visual report of the held-out test part into DIR (HTML, "
                        "PNGs, metrics.json)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("classify", parents=[common], help="classify face images",
                       description="Classify face crops (files or folders of them). A "
                                   "model trained on images framed on their face (maskdet "
                                   "info) frames each image the same way first.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--model", "-m", metavar="MODEL", default=None, help=MODEL_HELP)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("detect", parents=[common], help="find faces and masks in photos",
                       description="Find the faces in photos and classify each.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--model", "-m", metavar="MODEL", default=None, help=MODEL_HELP)
    p.add_argument("--detector", default="auto", choices=["auto", "yunet", "haar"],
                   help="face detector (default auto: YuNet if available, else Haar)")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="ignore faces smaller than PX")
    p.add_argument("--min-face-score", type=float, default=0.0, metavar="S",
                   help="ignore faces with a detector score below S")
    p.add_argument("--min-confidence", type=_min_confidence, default=None, metavar="C",
                   help=MIN_CONFIDENCE_HELP)
    p.add_argument("--save-dir", metavar="DIR", help="write annotated copies here")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("evaluate", parents=[common], help="measure a model on labelled data",
                       description="Accuracy, balanced accuracy, per-class metrics and "
                                   "confusion matrix of a model on class folders or VOC scenes; "
                                   "with --end-to-end, precision, recall and AP of face "
                                   "detection + the model on VOC photos.")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.add_argument("data", metavar="DATA")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="VOC data: leave out faces smaller than PX (--end-to-end: ignore them "
                        "and the detections on them)")
    p.add_argument("--end-to-end", action="store_true",
                   help="VOC data: find the faces in the photos with a face detector and "
                        "classify them, instead of classifying the annotated boxes")
    p.add_argument("--detector", default=None, choices=["auto", "yunet", "haar"],
                   help="--end-to-end: face detector (default auto: YuNet if available, else "
                        "Haar)")
    p.add_argument("--iou", type=float, default=None, metavar="T",
                   help="--end-to-end: overlap (IoU) a detection needs to match a face "
                        "(default 0.5)")
    p.add_argument("--min-confidence", type=_min_confidence, default=None, metavar="C",
                   help="--end-to-end: " + MIN_CONFIDENCE_HELP)
    p.add_argument("--held-out", action="store_true",
                   help="evaluate only on the part of DATA the model never trained on (as "
                        "recorded in the model)")
    p.add_argument("--map", action="append", metavar="FROM=TO",
                   help="rename a class of the data (FROM= drops it)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write a visual report into DIR (HTML, PNGs, metrics.json)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("analyze", parents=[common], help="analyse a dataset before training",
                       description="Class distribution, image sizes and formats, sample "
                                   "images, face-detection rate per class, duplicates and "
                                   "unreadable files of a dataset, as an HTML report.")
    p.add_argument("data", metavar="DATA",
                   help="dataset folder: ROOT/<class>/<image> or a VOC folder")
    p.add_argument("--out", "-o", required=True, metavar="DIR",
                   help="report folder to write (report.html, analysis.json, PNGs)")
    p.add_argument("--detector", default="auto", choices=["auto", "yunet", "haar", "none"],
                   help="face detector whose detection rate per class is measured (default "
                        "auto: YuNet if available, else Haar; none skips it)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="test fraction of the split checked for near-duplicates across "
                        "train and test (default 0.2; 0 skips the check)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--near-threshold", type=int, default=None, metavar="BITS",
                   help="largest perceptual-hash distance of near-duplicates (default 10)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("info", parents=[common], help="describe a model bundle")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("video", parents=[common], help="detect masks in a video, camera or stream",
                       description="Track faces and masks in a video file, a camera or a "
                                   "network stream; Ctrl-C finishes the output and the summary.")
    p.add_argument("source", metavar="SOURCE",
                   help="camera index (0), video file, or stream URL (rtsp://, http://, ...)")
    p.add_argument("--model", "-m", metavar="MODEL", default=None, help=MODEL_HELP)
    p.add_argument("--detector", default="auto", choices=["auto", "yunet", "haar"],
                   help="face detector (default auto: YuNet if available, else Haar)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the annotated video here (.mp4, .avi, .mkv, .mov)")
    p.add_argument("--output-fps", type=float, metavar="FPS",
                   help="frame rate of the output video (default: the source's, else 25)")
    p.add_argument("--show", action="store_true", help="show the annotated video in a window")
    p.add_argument("--every", type=_positive_int, default=2, metavar="N",
                   help="run the face detector every N frames, tracking in between (default 2)")
    p.add_argument("--detect-scale", type=float, default=1.0, metavar="S",
                   help="detect faces on the frame resized by S (e.g. 0.5: faster, misses "
                        "small faces; default 1)")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="ignore faces smaller than PX")
    p.add_argument("--min-face-score", type=float, default=0.0, metavar="S",
                   help="ignore faces with a detector score below S")
    p.add_argument("--min-confidence", type=_min_confidence, default=None, metavar="C",
                   help=MIN_CONFIDENCE_HELP.replace("drop faces", "leave out tracked faces"))
    p.add_argument("--csv", metavar="FILE", help="log per-frame counts and compliance to FILE")
    p.add_argument("--on-violation", metavar="CMD",
                   help="run CMD (shell) once per face unmasked for --alert-after seconds; "
                        "{track}, {label}, {snapshot}, {duration}, {time}, {frame} are filled in")
    p.add_argument("--alert-after", type=float, default=None, metavar="SECONDS",
                   help="seconds a face must stay unmasked before an alert (default 3)")
    p.add_argument("--snapshot-dir", metavar="DIR",
                   help="folder for alert snapshots (default: a new temporary folder)")
    p.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                   help="read as a live source (newest frame only, reconnects) or not; "
                        "default: cameras and URLs are live, files are not")
    p.add_argument("--max-reconnects", type=int, default=5, metavar="N",
                   help="attempts to reopen a lost live source (default 5)")
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("backends",
                       help="list classifier backends, face detectors and bundled models")
    p.set_defaults(func=cmd_backends, quiet=False, json=False)
    return parser


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"maskdet: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger("maskdet")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``maskdet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.quiet)
    try:
        return args.func(args)
    except MaskdetError as exc:
        print(f"maskdet: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:  # invalid hyper-parameter values and similar option errors
        print(f"maskdet: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("maskdet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `maskdet ... | head`
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
