"""``maskdet info`` and ``maskdet backends``: what a bundle holds, and what is installed."""

from __future__ import annotations

import argparse

from ..classifiers import ModelInfo, available_backends, read_manifest
from ..faces import available_detectors
from ..pretrained import available_models, default_model_name, model_path
from .options import EXIT_OK, MODEL_ARG_HELP, print_json


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("info", parents=[common], help="describe a model bundle")
    p.add_argument("model", metavar="MODEL", help=MODEL_ARG_HELP)
    p.set_defaults(func=run_info)
    p = sub.add_parser("backends",
                       help="list classifier backends, face detectors and bundled models")
    p.set_defaults(func=run_backends, quiet=False, json=False)


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
