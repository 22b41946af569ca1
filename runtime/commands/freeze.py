"""`netcanvas freeze FILE --preset feature-extraction|last-blocks|full [--blocks K] [--out OUT]`.

Sets which nodes of the main network are frozen (their weights kept while training), as the
app's Edit ▸ Transfer learning menu does, and saves the project (in place, or to --out):

  feature-extraction  every node whose weights come from the project's pretrained weights (its
                      imported weights or meta "pretrained" sources) is frozen; the rest, the new
                      head, trains
  last-blocks         the last K Block nodes (topological order) and everything after them train;
                      the rest is frozen
  full                nothing is frozen (full fine-tuning)

`--freeze NAME` / `--unfreeze NAME` set single nodes (after the preset, if one is given). Then
`netcanvas train` trains the trainable part; the pretrained weights that train do so at the
learning rate times the training setting pretrained_lr_factor (default 0.1).
Exit 0 when saved, 1 when the preset cannot apply, 2 when the project cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graph_builder.errors import GraphBuilderError
from graph_builder.freezing import PRESETS, parameter_split, preset_command
from graph_builder.graph import SetFrozen
from graph_builder.project import save_project

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project
from runtime.errors import NetCanvasRuntimeError


def register(sub) -> None:
    p = sub.add_parser("freeze", help="freeze nodes for transfer learning (feature extraction, last blocks, full)",
                       description=__doc__.split("\n\n", 1)[1].split("\nExit")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="a .json project file")
    p.add_argument("--preset", choices=tuple(PRESETS), help="which nodes to freeze (see above)")
    p.add_argument("--blocks", type=int, default=1, metavar="K", help="with --preset last-blocks: how many of the "
                   "last blocks train (default 1)")
    p.add_argument("--freeze", action="append", default=[], metavar="NAME", help="freeze this node (repeatable)")
    p.add_argument("--unfreeze", action="append", default=[], metavar="NAME", help="unfreeze this node (repeatable)")
    p.add_argument("--out", metavar="OUT", help="write the project here instead of over FILE")
    p.set_defaults(func=run)


def run(args) -> int:
    project = read_project(args.file)
    if project is None:
        return EXIT_UNREADABLE
    if not args.preset and not args.freeze and not args.unfreeze:
        _report(project)
        return EXIT_OK
    graph = project.graph
    try:
        if args.preset:
            pretrained: set[str] = set()
            if args.preset == "feature-extraction":
                from runtime.train import pretrained_nodes  # torch loads here, not for --help

                pretrained = pretrained_nodes(project, args.file)
            graph.apply(preset_command(graph, args.preset, pretrained, args.blocks))
        for names, value in ((args.freeze, True), (args.unfreeze, False)):
            if names:
                graph.apply(SetFrozen(tuple(graph.node_by_name(n).id for n in names), value))
    except (GraphBuilderError, NetCanvasRuntimeError) as exc:  # a project that cannot compile, weights that do not fit
        where = f" {args.preset}" if args.preset else ""
        print(f"netcanvas freeze{where}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    out = Path(args.out) if args.out else Path(args.file)
    save_project(project, out)
    _report(project, out)
    return EXIT_OK


def _report(project, saved: Path | None = None) -> None:
    graph = project.graph
    frozen = [n.name for n in graph.nodes.values() if n.frozen]
    try:
        trainable, held = parameter_split(graph)
        counts = f"; {trainable:,} trainable and {held:,} frozen parameters"
    except GraphBuilderError:
        counts = ""
    print(f"frozen: {', '.join(frozen) if frozen else 'nothing'}{counts}")
    if saved is not None:
        print(f"saved {saved}")

