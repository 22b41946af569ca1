"""`netcanvas export FILE --format python|script|onnx|onnx-int8|weights|pt2 --out PATH [--run RUN | --weights W | --untrained] …`.

The formats are runtime.export's registry, the one the app's Export menu offers: a format registered
there is a choice here, and each is written by the same function in both (a task may write one its own
way: a GAN's Python holds both its networks, its ONNX one of them).

With a run (`--run`, or `--weights` inside a run folder) the Python, ONNX and pt2 files take raw
data: the run's normalisation is applied inside the model, its class names travel with it
(runtime.export.preprocess), and the Python file loads the run's weights written beside it.

An imported project exports with its own weights (`meta.weights`, beside it) unless
`--weights` or `--untrained` says otherwise. Weights from a run are checked against the
project: a run of a different network (another fingerprint) is refused, naming both.
`--format weights` needs `--weights` or `--untrained` (or an imported project's weights): a
weights file of fresh, untrained values is never written by accident.

Exit codes: 0 written, 1 the graph has errors, the weights belong to another network or the
export failed (nothing written), 2 the project or weights file could not be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graph_builder.errors import GraphBuilderError
from graph_builder.files import not_regular
from graph_builder.run_folder import WEIGHTS, RunFolder

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project

def register(sub) -> None:
    from runtime.export import FORMATS  # the registry only: torch loads once a format is written

    p = sub.add_parser("export", help="write the model as Python code, a training script, ONNX (float or int8), "
                                      "safetensors weights or a .pt2")
    p.add_argument("file", help="a .json project file")
    p.add_argument("--format", required=True, choices=tuple(FORMATS),
                   help="what to write: " + "; ".join(f"{f.key}: {f.help}" for f in FORMATS.values()))
    p.add_argument("--out", required=True, help="the file to write")
    p.add_argument("--weights", metavar=f"RUN/{WEIGHTS['best']}",
                   help=f"trained weights from a run of this network (e.g. <project>.runs/<id>/{WEIGHTS['best']}); a "
                        "run of a different network is refused. Without it ONNX and pt2 get fresh seeded weights, "
                        "and --format weights refuses unless --untrained is given")
    p.add_argument("--run", metavar="RUN_DIR",
                   help="a run folder of this network (e.g. <project>.runs/<id>): its best weights, and its input "
                        "normalisation, class names and task go with the export, so the Python, ONNX and pt2 files "
                        "take raw data; --format python writes the weights beside the code")
    p.add_argument("--untrained", action="store_true",
                   help="with --format weights and no --weights: write the fresh seeded (untrained) weights")
    p.add_argument("--network", help="which network of the project to export (default: its main network); "
                                     "the networks its blocks use are written with it")
    p.add_argument("--class-name", help="name of the generated class (default: the network's name in PascalCase)")
    p.add_argument("--exporter", default="auto", choices=("auto", "torchscript", "dynamo"),
                   help="ONNX exporter (auto: dynamo, then TorchScript if that fails, saying why)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fresh weights when --weights is not given")
    p.add_argument("--download", action="store_true",
                   help="with --format script: download the pretrained weights the project starts from if this "
                        "machine does not have them yet (they are written beside the script)")
    p.set_defaults(func=run)


def run(args) -> int:
    project = read_project(args.file)
    if project is None:
        return EXIT_UNREADABLE
    if args.run:
        if args.weights:
            print("--run and --weights both name weights; give one (--run uses the run's best weights)",
                  file=sys.stderr)
            return EXIT_UNREADABLE
        args.weights = _run_weights(Path(args.run))
        if args.weights is None:
            print(f"cannot use --run {args.run}: it is not a run folder with weights ({WEIGHTS['best']} or "
                  f"{WEIGHTS['last']}); choose a run that finished at least one epoch", file=sys.stderr)
            return EXIT_UNREADABLE
    run_dir = _run_of(args.weights) if args.weights else None
    if args.weights and args.format == "python" and run_dir is None:
        print("--weights outside a run folder does not apply to --format python: give --run RUN_DIR to write the "
              "code with the run's weights beside it, or export the weights with --format weights", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.weights and args.untrained:
        print("--weights and --untrained contradict each other; give one", file=sys.stderr)
        return EXIT_UNREADABLE
    imported = isinstance(project.meta.get("weights"), dict) and args.network is None and not args.untrained
    if args.format == "weights" and not args.weights and not args.untrained and not imported:
        print(f"--format weights needs trained weights: pass --weights RUN/{WEIGHTS['best']} (a run of this "
              "network), or --untrained to write freshly initialised, untrained weights", file=sys.stderr)
        return EXIT_INVALID
    if args.weights and not_regular(args.weights):  # before anything opens it: a FIFO would block
        print(f"cannot use --weights {args.weights}: {not_regular(args.weights)}; pass a .safetensors file",
              file=sys.stderr)
        return EXIT_UNREADABLE
    if args.weights:
        problem = _wrong_run(args.weights, project)
        if problem:
            print(f"cannot use --weights {args.weights}: {problem}", file=sys.stderr)
            return EXIT_INVALID

    # torch loads only once the project is known to be readable (importing it takes seconds)
    from runtime.compile import GraphInvalidError
    from runtime.errors import NetCanvasRuntimeError
    from runtime.export import Request, WeightsFileError, WeightsMismatchError, export
    from runtime.importers import ProjectWeightsError

    try:
        project.network(args.network)
    except GraphBuilderError as exc:
        print(f"{args.file}: {exc}; pass --network with one of them", file=sys.stderr)
        return EXIT_UNREADABLE
    request = Request(project, Path(args.out), args.network, args.weights, run_dir, args.untrained, args.class_name,
                      args.exporter, args.seed, args.file, args.download)
    try:
        written = export(args.format, request)
    except (WeightsFileError, WeightsMismatchError) as exc:
        print(f"cannot use --weights {args.weights}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except GraphInvalidError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ProjectWeightsError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except NetCanvasRuntimeError as exc:
        print(f"export failed, nothing was written: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(written.message)
    return EXIT_OK


def _run_weights(run: Path) -> str | None:
    """The weights of a run folder: its best, else its last."""
    folder = RunFolder(run)
    found = folder.weights()
    return str(found) if found is not None and folder.is_run() else None


def _run_of(weights: str) -> Path | None:
    """The run folder holding `weights`, if it lies in one."""
    folder = RunFolder.holding(weights)
    return folder.path if folder is not None else None


def _wrong_run(weights: str, project) -> str | None:
    """Why `weights` must not be used with `project` (a run of another network), or None."""
    from graph_builder.runs import RunsError, check_run_fits

    path = Path(weights)
    run = _run_of(weights)
    if run is not None:
        try:
            check_run_fits(run, project)
        except RunsError as exc:
            return str(exc)
        return None
    # A weights file outside its run: the trainer wrote the fingerprint into its metadata.
    from graph_builder.fingerprint import project_fingerprint, short

    recorded = _recorded_fingerprint(path)
    mine = project_fingerprint(project)
    if recorded is not None and recorded != mine:
        return (f"{path.name} was trained for a different network (fingerprint {short(recorded)}) than this project's "
                f"(fingerprint {short(mine)}); use weights from a run of this network, or train it")
    return None  # no record (an exported or older file): only the tensor shapes can be checked


def _recorded_fingerprint(path: Path) -> str | None:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            return (f.metadata() or {}).get("fingerprint")
    except Exception:  # noqa: BLE001 — unreadable files are reported by the weights loader, in its words
        return None
