"""`netcanvas validate FILE [--json]`: exit 0 valid, 1 errors, 2 unreadable."""

from __future__ import annotations

import json
import sys

from graph_builder.errors import ProjectError
from graph_builder.project import load_project
from graph_builder.shape_math import format_shape
from graph_builder.validation import check

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a project's graph: structure, parameters and shapes")
    p.add_argument("file", help="a .json project file")
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
    graph = project.graph
    result = check(graph)
    if args.json:
        print(json.dumps({
            "readable": True,
            "valid": result.ok,
            "issues": [issue.to_dict() for issue in result.issues],
            "total_params": result.shapes.total_params,
            "total_macs": result.shapes.total_macs,
            "shapes": {graph.nodes[n].name: format_shape(s) for n, s in result.shapes.out.items()},
        }, indent=2))
    else:
        for issue in result.issues:
            print(f"{issue.severity}: {issue.message}" + (f"  (fix: {issue.fix.title})" if issue.fix else ""))
        if result.ok:
            print(f"valid: {len(graph.nodes)} nodes, {result.shapes.total_params:,} parameters, "
                  f"{result.shapes.total_macs:,} multiply-accumulates per sample")
        else:
            print(f"{len(result.errors)} error(s)")
    return EXIT_OK if result.ok else EXIT_INVALID
