"""``maskdet info``, ``backends``, ``upgrade`` and ``export``: what a bundle holds, what is
installed, converting old bundles, and a model for other programs."""

from __future__ import annotations

import argparse

from ..classifiers import ModelInfo, available_backends, read_manifest, upgrade_bundle
from ..faces import available_detectors
from ..pretrained import available_models, default_model_name, load_model, model_path
from .options import EXIT_OK, MODEL_ARG_HELP, print_json


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("info", parents=[common], help="describe a model bundle")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.set_defaults(func=run_info)

    p = sub.add_parser("backends",
                       help="list classifier backends, face detectors and bundled models")
    p.set_defaults(func=run_backends, quiet=False, json=False)

    p = sub.add_parser("upgrade", parents=[common], help="convert an old model bundle",
                       description="Convert a bundle of an older format (before maskdet's "
                                   "format 3) to the current one: the same model, settings and "
                                   "metrics. A CNN gains its ONNX graph (TensorFlow needed: pip "
                                   "install 'maskdet[train]'); HOG+SVM weights leave pickle.")
    p.add_argument("old", metavar="OLD", help="the old bundle")
    p.add_argument("--out", "-o", required=True, metavar="NEW", help="the bundle to write")
    p.add_argument("--trust-pickle", action="store_true",
                   help="load the pickled HOG+SVM weights of an old bundle: pickles run code "
                        "when loaded, so only for bundles you trust")
    p.set_defaults(func=run_upgrade)

    p = sub.add_parser("export", parents=[common], help="write a model for other programs",
                       description="Write a model's network as an ONNX graph (the cnn "
                                   "backend): input 'face', float32 RGB faces valued 0-255 of "
                                   "shape (n, size, size, 3) cut and resized as maskdet does; "
                                   "output the class probabilities. The classes and the "
                                   "preprocessing are in the graph's metadata.")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.add_argument("--format", default="onnx", choices=["onnx"], help="(default onnx)")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="the file to write")
    p.set_defaults(func=run_export)


def run_info(args: argparse.Namespace) -> int:
    path = model_path(args.model)
    manifest = read_manifest(path)
    if args.json:
        print_json(manifest)
        return EXIT_OK
    first, *rest = ModelInfo.from_manifest(manifest, path).describe()
    print(f"{args.model}: {first}")
    for line in rest:
        print(line)
    return EXIT_OK


def run_backends(args: argparse.Namespace) -> int:
    print("classifier backends: " + ", ".join(available_backends()))
    print("face detectors: " + ", ".join(available_detectors()))
    models = available_models()
    default = default_model_name() if models else None
    print("bundled models: " + (", ".join(f"{m} (default)" if m == default else m
                                          for m in models) or "none"))
    return EXIT_OK


def run_upgrade(args: argparse.Namespace) -> int:
    out = upgrade_bundle(args.old, args.out, trust_pickle=args.trust_pickle)
    if args.json:
        print_json({"model": str(out), "from": str(args.old)})
    else:
        print(f"wrote {out} (converted from {args.old})")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    out = load_model(args.model).export(args.out, format=args.format)
    if args.json:
        print_json({"model": str(args.model), "format": args.format, "out": str(out)})
    else:
        print(f"wrote {out} ({args.format})")
    return EXIT_OK
