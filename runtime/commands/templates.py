"""`netcanvas templates [--json]` lists the example projects; `netcanvas new --template NAME OUT.json` copies one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graph_builder.errors import ProjectError
from graph_builder.project import load_project, save_project

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from runtime.templates import template_paths, template_project


def register(sub) -> None:
    p = sub.add_parser("templates", help="list the example projects")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_list)
    n = sub.add_parser("new", help="start a project from a template")
    n.add_argument("--template", required=True, metavar="NAME", help="a name from `netcanvas templates`")
    n.add_argument("out", metavar="OUT.json", help="the project file to write")
    n.add_argument("--force", action="store_true", help="overwrite OUT.json if it exists")
    n.set_defaults(func=run_new)


def run_list(args) -> int:
    rows = []
    for name, path in template_paths().items():
        try:
            project = load_project(path)
        except ProjectError as exc:
            print(f"template {name} cannot be read: {exc}", file=sys.stderr)
            continue
        rows.append({"name": name, "title": project.meta.get("title", name),
                     "description": project.meta.get("description", ""),
                     "dataset": project.dataset.get("name", "digits"), "nodes": len(project.graph.nodes)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['title']} ({r['dataset']}): {r['description']}")
    return EXIT_OK


def run_new(args) -> int:
    paths = template_paths()
    source = paths.get(args.template)
    if source is None:
        print(f"there is no template {args.template!r}; available: {', '.join(paths)}", file=sys.stderr)
        return EXIT_UNREADABLE
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} already exists; choose another name or pass --force to overwrite it", file=sys.stderr)
        return EXIT_INVALID
    if not out.parent.is_dir():
        print(f"the folder {str(out.parent)!r} does not exist; create it first", file=sys.stderr)
        return EXIT_INVALID
    save_project(template_project(source), out)
    print(f"wrote {out} from template {args.template}; train it with: netcanvas train {out}")
    return EXIT_OK
