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


def _default_model_hint() -> str:
    return "give a model bundle with --model (train one with: maskdet train DATA --out MODEL)"


def _load_model(path: str | None):
    from .classifiers import load_classifier

    if not path:
        raise MaskdetError(f"no model: {_default_model_hint()}")
    return load_classifier(path)


# -- commands ---------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .evaluation import format_metrics
    from .faces import create_face_detector
    from .training import train

    params = {k: _parse_value(v) for k, v in _key_values(args.param, "--param").items()}
    detector = create_face_detector(args.detect_faces) if args.detect_faces else None
    result = train(
        args.data, backend=args.backend, params=params, test_size=args.test_size,
        validation_size=args.validation_size, seed=args.seed, min_face=args.min_face,
        label_map=_label_map(args.map), face_detector=detector, out=args.out,
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
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .errors import ImageReadError
    from .images import read_image

    clf = _load_model(args.model)
    classes = [str(c) for c in clf.classes_]
    inputs = list(_expand_inputs(args.paths))
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
            batch.append((path, read_image(path)))
        except ImageReadError as exc:
            failed += 1
            logger.error("%s", exc)
            continue
        if len(batch) >= 64:
            flush()
    flush()
    if failed and len(inputs) > 1:
        logger.warning("%d of %d images could not be read (skipped)", failed, len(inputs))
    return EXIT_ERROR if failed or not inputs else EXIT_OK


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
                            min_face=args.min_face, min_face_score=args.min_face_score)
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
    from .evaluation import dataset_summary, evaluate_classifier, format_metrics
    from .faces import extract_faces

    clf = _load_model(args.model)
    dataset = load_dataset(args.data, min_face=args.min_face)
    mapping = _label_map(args.map)
    if mapping:
        dataset = dataset.relabel(mapping)
    crops = extract_faces(dataset, margin=clf.preprocessing.margin, progress=_progress(args))
    if not len(crops):
        raise MaskdetError(f"{args.data}: no readable faces to evaluate")
    metrics = evaluate_classifier(clf, crops.images, crops.labels)
    if args.json:
        _print_json({"model": args.model, "data": dataset_summary(dataset), **metrics})
    else:
        print(f"{args.model} on {args.data} ({dataset.layout}"
              + (f", faces >= {args.min_face} px" if args.min_face else "") + "):")
        print(format_metrics(metrics))
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .classifiers import read_manifest

    manifest = read_manifest(args.model)
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
        if test:
            print(f"  held-out accuracy {test['accuracy']:.4f} "
                  f"(balanced {test['balanced_accuracy']:.4f}, {test['n']} faces)")
    return EXIT_OK


def cmd_backends(args: argparse.Namespace) -> int:
    from .classifiers import available_backends
    from .faces import available_detectors

    print("classifier backends: " + ", ".join(available_backends()))
    print("face detectors: " + ", ".join(available_detectors()))
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
    p.add_argument("--detect-faces", metavar="DETECTOR", default=None,
                   help="crop class-folder images to the face found by DETECTOR instead of "
                        "using them whole (images without a face are left out)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("classify", parents=[common], help="classify face images",
                       description="Classify face crops (files or folders of them).")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--model", "-m", metavar="MODEL", help="model bundle")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("detect", parents=[common], help="find faces and masks in photos",
                       description="Find the faces in photos and classify each.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--model", "-m", metavar="MODEL", help="model bundle")
    p.add_argument("--detector", default="auto", choices=["auto", "yunet", "haar"],
                   help="face detector (default auto: YuNet if available, else Haar)")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="ignore faces smaller than PX")
    p.add_argument("--min-face-score", type=float, default=0.0, metavar="S",
                   help="ignore faces with a detector score below S")
    p.add_argument("--save-dir", metavar="DIR", help="write annotated copies here")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("evaluate", parents=[common], help="measure a model on labelled data",
                       description="Accuracy, balanced accuracy, per-class metrics and "
                                   "confusion matrix of a model on class folders or VOC scenes.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--min-face", type=int, default=0, metavar="PX",
                   help="VOC data: leave out faces smaller than PX")
    p.add_argument("--map", action="append", metavar="FROM=TO",
                   help="rename a class of the data (FROM= drops it)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("info", parents=[common], help="describe a model bundle")
    p.add_argument("model", metavar="MODEL")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("backends", help="list classifier backends and face detectors")
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
