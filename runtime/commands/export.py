"""`netcanvas export FILE --format python|onnx|weights|pt2 --out PATH [--weights W] [--network NAME]`.

Exit codes: 0 written, 1 the graph has errors or the export failed (nothing written),
2 the project or weights file could not be read.
"""

from __future__ import annotations

import sys

from graph_builder.errors import GraphBuilderError, ProjectError
from graph_builder.project import load_project

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE

FORMATS = ("python", "onnx", "weights", "pt2")


def register(sub) -> None:
    p = sub.add_parser("export", help="write the model as Python code, ONNX, safetensors weights or a .pt2")
    p.add_argument("file", help="a .json project file")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument("--out", required=True, help="the file to write")
    p.add_argument("--weights", help="a .safetensors file of trained weights (e.g. runs/<id>/best.safetensors); "
                                     "without it the model has fresh seeded weights")
    p.add_argument("--network", help="which network of the project to export (default: its main network); "
                                     "the networks its blocks use are written with it")
    p.add_argument("--class-name", help="name of the generated class (default: the network's name in PascalCase)")
    p.add_argument("--exporter", default="auto", choices=("auto", "torchscript", "dynamo"),
                   help="ONNX exporter (auto: TorchScript, then dynamo if that fails)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fresh weights when --weights is not given")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        project = load_project(args.file)
    except ProjectError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.weights and args.format == "python":
        print("--weights does not apply to --format python: the Python file holds the architecture; "
              "export the weights with --format weights", file=sys.stderr)
        return EXIT_UNREADABLE

    # torch loads only once the project is known to be readable (importing it takes seconds)
    from runtime.codegen import GraphInvalidError
    from runtime.compiler import build_module
    from runtime.errors import NetCanvasRuntimeError
    from runtime.export import (
        WeightsFileError, WeightsMismatchError, export_onnx, export_pt2, export_python, export_weights,
        load_weights,
    )

    try:
        graph = project.network(args.network)
    except GraphBuilderError as exc:
        print(f"{args.file}: {exc}; pass --network with one of them", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        if args.format == "python":
            path = export_python(graph, args.out, class_name=args.class_name)
            print(f"wrote {path}")
            return EXIT_OK
        module = build_module(graph, seed=args.seed, class_name=args.class_name)
        if args.weights:
            load_weights(module, args.weights)
        if args.format == "weights":
            print(f"wrote {export_weights(module, args.out)}")
        elif args.format == "pt2":
            print(f"wrote {export_pt2(module, None, args.out)}")
        else:
            print(export_onnx(module, args.out, graph=graph, exporter=args.exporter, seed=args.seed).summary())
    except (WeightsFileError, WeightsMismatchError) as exc:
        print(f"cannot use --weights {args.weights}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except GraphInvalidError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except NetCanvasRuntimeError as exc:
        print(f"export failed, nothing was written: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
