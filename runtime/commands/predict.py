"""`netcanvas predict FILE --run RUN_DIR INPUT… [--json]`: a run's predictions for raw inputs.

Inputs are image files (for image data), CSV files of one sample per row (for tables) or
.npz/.npy arrays of one sample or a batch; a text run reads raw text, one sample per line of a file
or of stdin (`-`), tokenised by the tokenizer the run learnt. They are read as raw data, as the dataset was
loaded, and go through the run's exported model, which normalises them as training did
(runtime.export.preprocess). A run of another network is refused (graph_builder.runs.check_run_fits).

Exit codes: 0 predicted, 1 the run belongs to another network or the project has errors,
2 the project, the run or an input could not be read or does not fit the model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graph_builder.errors import GraphBuilderError

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project
from runtime.errors import NetCanvasRuntimeError

TOP = 3  # classes listed per sample in the text output


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict raw inputs (images, CSV rows, .npz arrays) with a run's model")
    p.add_argument("file", help="the .json project file the run trained")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a run folder of this project's network")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, CSV files (one sample per row) or .npz/.npy arrays, as raw as the dataset; "
                   "for a text run, text files of one text per line, or - for lines on stdin")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    opened = open_run(args.file, args.run, args.inputs, "predict")
    if isinstance(opened, int):
        return opened
    import torch

    run_dir, prep, inputs, module = opened.run_dir, opened.prep, opened.inputs, opened.module
    outputs = []
    try:
        with torch.no_grad():
            for samples in inputs:  # a batch at a time: the layers' outputs stay small however many samples
                outputs.append(np.concatenate([_first(module(torch.from_numpy(samples.x[i:i + CHUNK])))
                                               for i in range(0, len(samples.x), CHUNK)]))
    except RuntimeError as exc:
        print(f"cannot predict with run {run_dir.name}: the model failed on {samples.name} "
              f"({str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__})",
              file=sys.stderr)
        return EXIT_INVALID
    rows = _JsonRows() if args.json else None
    for samples, out in zip(inputs, outputs):
        for start in range(0, len(out), CHUNK):  # rows are made and printed a batch at a time, never all at once
            labels = [samples.label(i) for i in range(start, min(start + CHUNK, len(out)))]
            for row in describe(prep, labels, out[start:start + CHUNK]):
                if rows:
                    rows.write(row)
                else:
                    print(_line(row))
    if rows:
        rows.close()
    return EXIT_OK


CHUNK = 1024  # samples through the model, and rows described, at a time


@dataclass(frozen=True)
class OpenedRun:
    """A run's model on raw inputs, with what it was trained on and the inputs read for it."""

    project: object
    run_dir: Path
    prep: object  # runtime.export.Preprocessing
    inputs: list  # runtime.data.Samples, one per input file
    module: object  # the run's raw-input module (runtime.export.build_run_module), in eval mode


def open_run(file: str, run: str, paths: list[str], verb: str) -> OpenedRun | int:
    """The project's run and its inputs, read within the limits; or an exit code after one line on stderr.

    A run of another network, a run without weights, an unreadable input or a model that does not
    build each say so (`cannot <verb> with run …`), as `netcanvas predict` and `netcanvas explain` share.
    """
    from graph_builder.run_folder import WEIGHTS, RunFolder
    from graph_builder.runs import RunsError, check_run_fits

    project = read_project(file)
    if project is None:
        return EXIT_UNREADABLE
    run_dir = Path(run)
    try:
        check_run_fits(run_dir, project)
    except RunsError as exc:
        print(f"cannot {verb} with run {run_dir.name}: {exc}", file=sys.stderr)
        return EXIT_INVALID if RunFolder(run_dir).is_run() else EXIT_UNREADABLE
    weights = RunFolder(run_dir).weights()
    if weights is None:
        print(f"run {run_dir.name} has no weights yet ({WEIGHTS['best']}); let it finish an epoch", file=sys.stderr)
        return EXIT_UNREADABLE

    from runtime.data import check_inputs_total, read_inputs
    from runtime.export import build_run_module, read_preprocessing

    try:
        prep = read_preprocessing(run_dir)
        inputs = [read_inputs(Path(path), prep) for path in paths]
        check_inputs_total(inputs)
    except NetCanvasRuntimeError as exc:
        print(f"cannot {verb}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        module = build_run_module(project.graph, prep, weights)
    except GraphBuilderError as exc:
        print(f"{file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except NetCanvasRuntimeError as exc:
        print(f"cannot {verb} with run {run_dir.name}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return OpenedRun(project, run_dir, prep, inputs, module)


def _first(out) -> np.ndarray:
    return (out[0] if isinstance(out, tuple) else out).float().numpy()


class _JsonRows:
    """The rows as one JSON list on stdout, written a row at a time (the text json.dumps(rows, indent=2) gives)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, row: dict) -> None:
        text = "\n".join("  " + line for line in json.dumps(row, indent=2).splitlines())
        sys.stdout.write(("[\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def close(self) -> None:
        sys.stdout.write("\n]\n" if self.count else "[]\n")
        sys.stdout.flush()


def describe(prep, labels: list[str], out: np.ndarray) -> list[dict]:
    """One dict per sample, as the run's task reads its output: a class and its probability, or values."""
    from runtime.tasks import task_runtime

    return task_runtime(prep.task).predictions(prep, labels, out)


def _line(row: dict) -> str:
    if "values" in row:
        return f"{row['input']}: " + ", ".join(f"{v:.6g}" for v in row["values"])
    top = sorted(row["probabilities"].items(), key=lambda kv: -kv[1])[:TOP]
    rest = ", ".join(f"{name} {p:.1%}" for name, p in top[1:])
    return f"{row['input']}: {row['class']} ({row['probability']:.1%})" + (f"; then {rest}" if rest else "")
