"""`netcanvas validate FILE [--network NAME] [--json]`: exit 0 valid, 1 errors, 2 unreadable.

Every network of the project is checked (the main one first); `--network` checks one.
"""

from __future__ import annotations

import json
import sys

from graph_builder.errors import GraphBuilderError, ProjectError
from graph_builder.memory import estimate_project, memory_issues
from graph_builder.freezing import parameter_split
from graph_builder.project import load_project
from graph_builder.shape_math import format_shape
from graph_builder.validation import check

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a project's graph: structure, parameters and shapes")
    p.add_argument("file", help="a .json project file")
    p.add_argument("--network", help="check only this network (default: every network, the main one first)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        project = load_project(args.file)
    except ProjectError as exc:
        if args.json:
            print(json.dumps({"readable": False, "error": str(exc), "path": exc.path}))
        else:
            print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        chosen = [args.network] if args.network else \
            [project.networks.main, *[n for n in project.networks if n != project.networks.main]]
        results = {name: check(project.network(name)) for name in chosen}
        main = results.get(project.networks.main)
        if main is not None and main.ok:  # the step's memory, once the shapes are all known
            main.issues[len(main.errors):len(main.errors)] = step_memory_issues(project)
    except GraphBuilderError as exc:
        if args.json:
            print(json.dumps({"readable": True, "error": str(exc)}))
        else:
            print(f"{args.file}: {exc}; pass --network with one of them", file=sys.stderr)
        return EXIT_UNREADABLE
    ok = all(r.ok for r in results.values())
    if args.json:
        reports = {name: _report(project.network(name), r) for name, r in results.items()}
        first = reports[chosen[0]]
        print(json.dumps({"readable": True, **first, "valid": ok, "network": chosen[0], "networks": reports},
                         indent=2))
        return EXIT_OK if ok else EXIT_INVALID
    several = len(results) > 1
    for name, result in results.items():
        graph = project.network(name)
        where = f"{name}: " if several else ""
        for issue in result.issues:
            print(f"{issue.severity}: {where}{issue.message}" + (f"  (fix: {issue.fix.title})" if issue.fix else ""))
        if result.ok:
            trainable, frozen = parameter_split(graph, result.shapes)
            split = f" ({trainable:,} trainable, {frozen:,} frozen)" if frozen else ""
            print(f"valid: {where}{len(graph.nodes)} nodes, {result.shapes.total_params:,} parameters{split}, "
                  f"{result.shapes.total_macs:,} multiply-accumulates per sample")
        else:
            print(f"{where}{len(result.errors)} error(s)")
    return EXIT_OK if ok else EXIT_INVALID


def _report(graph, result) -> dict:
    trainable, frozen = parameter_split(graph, result.shapes)
    return {
        "valid": result.ok,
        "issues": [issue.to_dict() for issue in result.issues],
        "total_params": result.shapes.total_params,
        "trainable_params": trainable,
        "frozen_params": frozen,
        "total_macs": result.shapes.total_macs,
        "shapes": {graph.nodes[n].name: format_shape(s) for n, s in result.shapes.out.items()},
    }


def step_memory_issues(project) -> list:
    """The memory problem of one training step on the project's device (graph_builder.memory), if any."""
    from graph_builder.footprint import available_memory, machine_memory
    from runtime.train import DeviceUnavailableError, device_memory

    try:
        free, total, device = device_memory(str(project.training.get("device", "auto")))
    except DeviceUnavailableError:
        free, total, device = available_memory(), machine_memory(), "this machine"
    return memory_issues(estimate_project(project), free, total, device)
