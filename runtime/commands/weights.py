"""`netcanvas weights FILE [--from PATH | --torchvision MODEL[:WEIGHTS] | --clear] [--block NAME]`.

Records where the project's starting weights come from (`meta["pretrained"]`, see
graph_builder.weight_sources), for the whole main network or for one block node (`--block`):

- `--from PATH`: a local `.pth` (read with weights_only=True: no code runs) or `.safetensors`
  file, matched to the network by state-dict keys and shapes; a torchvision-style state dict
  fits a project imported from that torchvision model. A misfit is refused, naming the keys.
- `--torchvision resnet18[:IMAGENET1K_V1]`: torchvision's own weights (DEFAULT when no name),
  downloaded into torch's hub cache when training starts, or now with `--download`.
- `--clear`: remove the record of the network (or of `--block`).

Without an option it lists the records. The fit is checked before anything is written, and
the project is saved atomically. Training, inference and export load the recorded weights
as the network's starting point.

Exit codes: 0 recorded (or listed), 1 the weights do not fit, 2 the project or the weights
file could not be read, or they could not be downloaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project


def register(sub) -> None:
    p = sub.add_parser(
        "weights", help="set where a network's (or a block's) pretrained starting weights come from",
        description="Record the starting weights of the main network (or of one block node, --block) in the "
                    "project; training loads them first. Files are matched by layer names and shapes: a new head "
                    "keeps its initial values, a misfit is refused naming the layer and both shapes. Without an "
                    "option, lists the recorded sources. Exit codes: 0 recorded, 1 the weights do not fit, 2 a "
                    "file could not be read or downloaded.")
    p.add_argument("file", help="the .json project file")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--from", dest="path", metavar="PATH",
                       help="a .pth (loaded with weights_only=True, never running code) or .safetensors file")
    which.add_argument("--torchvision", metavar="MODEL[:WEIGHTS]",
                       help="torchvision's pretrained weights, e.g. resnet18 or resnet50:IMAGENET1K_V2")
    which.add_argument("--clear", action="store_true", help="remove the weight source of the network or block")
    p.add_argument("--block", metavar="NAME", help="a block node of the main network (default: the whole network)")
    p.add_argument("--download", action="store_true",
                   help="with --torchvision: download the weights now (with a progress bar) and check they fit")
    p.set_defaults(func=run)


def run(args) -> int:
    from graph_builder.errors import GraphBuilderError
    from graph_builder.project import save_project
    from graph_builder.weight_sources import SetWeightSource, describe_source, weight_sources

    project = read_project(args.file)
    if project is None:
        return EXIT_UNREADABLE
    if not (args.path or args.torchvision or args.clear):
        records = weight_sources(project)
        if not records:
            print(f"{Path(args.file).name} has no pretrained weight sources (its layers start from their "
                  "initialisation" + (", its imported weights from meta.weights" if project.meta.get("weights") else "")
                  + ")")
        for r in records:
            print(f"{('block ' + r['target']) if r.get('target') else 'network'}: {describe_source(r['source'])}")
        return EXIT_OK
    source = None
    if args.path:
        source = {"kind": "file", "path": _recorded_path(args.path, args.file)}
    elif args.torchvision:
        model, _, choice = args.torchvision.partition(":")
        source = {"kind": "torchvision", "model": model.strip(), "weights": choice.strip() or "DEFAULT"}
    from runtime.pretrained import DownloadError, PretrainedError, target_network
    from runtime.pretrained import MisfitError

    network = project.networks.main
    try:
        if args.block:
            network = target_network(project, args.block)
        if source is not None:
            message = _check(source, project, Path(args.file), network, args.download)
        project.apply(SetWeightSource(args.block, source))
    except (PretrainedError, DownloadError) as exc:
        print(f"cannot use these weights: {exc}", file=sys.stderr)
        return EXIT_INVALID if isinstance(exc, MisfitError) else EXIT_UNREADABLE
    except GraphBuilderError as exc:
        print(f"cannot set the weights: {exc}", file=sys.stderr)
        return EXIT_INVALID
    save_project(project, args.file)
    where = f"block {args.block}" if args.block else f"network {project.networks.main}"
    if source is None:
        print(f"removed the pretrained weights of {where}")
    else:
        print(f"{where} starts from {describe_source(source)}: {message}")
    return EXIT_OK


def _recorded_path(path: str, project_file: str) -> str:
    """The path as recorded: relative to the project's folder when the file is inside it."""
    p = Path(path).expanduser().resolve()
    folder = Path(project_file).resolve().parent
    try:
        return p.relative_to(folder).as_posix()
    except ValueError:
        return str(p)


def _check(source: dict, project, project_path: Path, network: str, download: bool) -> str:
    if source["kind"] == "file":
        from runtime.pretrained import fit_file

        fit = fit_file(source, project, project_path, network)
        return fit.summary(Path(source["path"]).name, f"network {network!r}")
    from runtime.pretrained import TextProgress
    from runtime.pretrained import cached_path, describe, fetch, resolve_torchvision

    name = describe(source["model"], source["weights"])
    cached = cached_path(source["model"], source["weights"])
    if download:
        fetch(source["model"], source["weights"], progress=TextProgress(cached.name))
    if cached.is_file():
        state = resolve_torchvision(source, project, project_path, network)
        return f"{name} fills {len(state)} tensor(s) (cached in {cached.parent})"
    return (f"{name}, downloaded into {cached.parent} when training starts (or now with --download; offline, "
            f"put the file at {cached})")

