"""`netcanvas train FILE [--epochs N] [--device …] [--out DIR] [--json]`: train a project headless.

Prints a progress bar (on a terminal) and one line per epoch, or every event as a JSON line
with --json, then the test-set summary. Exit 0 when training finished, 1 when the graph is
invalid or the run failed, 2 when the project cannot be read or another process is writing the
run folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graph_builder.errors import ProjectError
from graph_builder.project import load_project
from graph_builder.run_folder import RunFolder
from graph_builder.runs import new_run_dir, runs_folder
from graph_builder.settings import dataset_beside
from graph_builder.validation import validate

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE

BAR_WIDTH = 28


def register(sub) -> None:
    p = sub.add_parser("train", help="train a project on its dataset (no GUI)")
    p.add_argument("file", help="a .json project file")
    p.add_argument("--epochs", type=int, metavar="N", help="override the project's number of epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the training device")
    p.add_argument("--batch-size", type=int, metavar="N", help="override the batch size")
    p.add_argument("--lr", type=float, metavar="X", help="override the learning rate")
    p.add_argument("--seed", type=int, metavar="N", help="override the seed")
    p.add_argument("--out", metavar="DIR", help="the run folder (default: <project>.runs/<time> beside the file)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--folds", type=int, metavar="K", help="k-fold cross-validation (stratified for classes): K runs "
                   "and their mean ± std (default: the project's folds setting)")
    p.add_argument("--json", action="store_true", help="print every event as one JSON line")
    p.set_defaults(func=run)


def default_run_dir(project_file: Path) -> Path:
    """A new run folder in `<name>.runs/` beside the project file (the app's rule: graph_builder.runs)."""
    return new_run_dir(runs_folder(project_file.resolve()))


def run(args) -> int:
    try:
        project = load_project(args.file)
    except ProjectError as exc:
        _say(args, {"type": "failed", "kind": "project", "message": f"cannot read {args.file}: {exc}"})
        return EXIT_UNREADABLE
    errors = [i for i in validate(project.graph) if i.severity == "error"]
    if errors:
        text = "; ".join(i.message for i in errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
        _say(args, {"type": "failed", "kind": "graph", "message": f"the graph has errors to fix first: {text}"})
        return EXIT_INVALID
    if args.resume and not args.out:
        _say(args, {"type": "failed", "kind": "settings", "message": "--resume needs --out DIR, the run to continue"})
        return EXIT_INVALID
    overrides = {k: v for k, v in (("epochs", args.epochs), ("device", args.device), ("batch_size", args.batch_size),
                                   ("lr", args.lr), ("seed", args.seed)) if v is not None}
    folds = args.folds if args.folds is not None else project.training.value("folds")
    if folds < 1 or (folds > 1 and args.resume):
        _say(args, {"type": "failed", "kind": "settings", "message": "--folds must be at least 1, and a cross-"
                    "validation cannot --resume"})
        return EXIT_INVALID
    if folds > 1:
        return _cross_validate(args, project, folds, overrides)
    run_dir = Path(args.out) if args.out else default_run_dir(Path(args.file))
    from runtime.train import train  # torch loads here, not for --help

    printer = _JsonPrinter() if args.json else _TextPrinter()
    final = None
    dataset = {"path": dataset_beside(project.dataset, args.file).get("path")} if project.dataset.get("path") else None
    for event in train(project, dataset=dataset, training=overrides, run_dir=run_dir, resume=args.resume,
                       project_path=args.file):
        printer(event)
        final = event
    if final and final["type"] == "failed" and final["kind"] == "busy":
        return EXIT_UNREADABLE  # another process writes that run folder: nothing was touched
    return EXIT_OK if final and final["type"] == "finished" else EXIT_INVALID


def _cross_validate(args, project, folds: int, overrides: dict) -> int:
    """K runs, one per fold, then each fold's validation metrics and their mean ± std."""
    from runtime.train import cross_validate
    from runtime.data import DataError

    root = Path(args.out) if args.out else runs_folder(Path(args.file).resolve())
    printer = _JsonPrinter() if args.json else _TextPrinter()

    def on_event(fold: int, event: dict) -> None:
        if args.json:
            print(json.dumps({**event, "fold": fold}), flush=True)
        else:
            if event["type"] == "started":
                print(f"fold {fold}/{folds}", flush=True)
            printer(event)

    try:
        result = cross_validate(project, folds, root, training=overrides, on_event=on_event,
                                project_path=args.file)
    except DataError as exc:
        _say(args, {"type": "failed", "kind": "data", "message": f"cross-validation cannot split the data: {exc}"})
        return EXIT_INVALID
    if args.json:
        print(json.dumps({"type": "crossval", **result.to_dict(), "summary": str(result.summary_file)}))
    else:
        keys = result.keys()  # the task's metrics, in its order
        print(f"\n{folds}-fold cross-validation (validation metrics of each fold's best epoch):")
        print("fold  " + "  ".join(f"{k:>10}" for k in keys))
        for f in result.folds:
            print(f"{f.fold:>4}  " + "  ".join(f"{f.val[k]:>10.4f}" if k in f.val else f"{'-':>10}" for k in keys)
                  + ("" if f.state == "finished" else f"  {f.state}: {f.message}"))
        print("mean  " + "  ".join(f"{result.mean[k]:>10.4f}" for k in keys))
        print(" std  " + "  ".join(f"{result.std[k]:>10.4f}" for k in keys))
        print(f"summary: {result.summary_file}")
    return EXIT_OK if all(f.state == "finished" for f in result.folds) else EXIT_INVALID


def _say(args, event: dict) -> None:
    if args.json:
        print(json.dumps(event))
    else:
        print(event["message"], file=sys.stderr)


class _JsonPrinter:
    def __call__(self, event: dict) -> None:
        print(json.dumps(event), flush=True)


class _TextPrinter:
    """Per-epoch lines on stdout; a redrawn progress bar on stderr when it is a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar_shown = False
        self.metric = "loss"  # the started event names the task's headline metric
        self.epochs = 0
        self.run_dir: str | None = None

    def _clear_bar(self) -> None:
        if self.bar_shown:
            sys.stderr.write("\r" + " " * (BAR_WIDTH + 60) + "\r")
            sys.stderr.flush()
            self.bar_shown = False

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event)

    def _on_started(self, e: dict) -> None:
        self.metric, self.epochs, self.run_dir = e["metric"], e["epochs"], e["run_dir"]
        amp = f", mixed precision {e['amp']}" if e["amp"] else ""
        where = f", resuming at epoch {e['start_epoch']}" if e["resumed"] else ""
        print(f"training on {e['device_name']}{amp}: {e['dataset']} ({e['train_size']} train, {e['val_size']} "
              f"validation, {e['test_size']} test), {e['params']:,} parameters, {e['epochs']} epochs{where}")
        print(f"run folder: {e['run_dir']}", flush=True)

    def _on_progress(self, e: dict) -> None:
        if not self.tty:
            return
        filled = int(BAR_WIDTH * e["fraction"])
        eta = f"ETA {_duration(e['eta_s'])}" if e.get("eta_s") is not None else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * e['fraction']:5.1f}%  epoch "
                         f"{e['epoch']}/{e['epochs']}  batch {e['batch']}/{e['batches']}  {eta}   ")
        sys.stderr.flush()
        self.bar_shown = True

    def _on_epoch(self, e: dict) -> None:
        self._clear_bar()
        parts = [f"epoch {e['epoch']:>{len(str(self.epochs))}}/{self.epochs}", _metrics("train", e["train"], self.metric)]
        if e["val"]:
            parts.append(_metrics("val", e["val"], self.metric))
        parts.append(f"lr {e['lr']:.3g}")
        parts.append(f"{e['time_s']:.2f}s")
        print("  ".join(parts) + ("  *" if e["improved"] else ""), flush=True)

    def _on_paused(self, e: dict) -> None:
        print(f"paused at epoch {e['epoch']}", flush=True)

    def _on_finished(self, e: dict) -> None:
        self._clear_bar()
        test = e["test"]
        if test:
            print("test: " + ", ".join(f"{k} {_fmt(v)}" for k, v in test.items() if not isinstance(v, list)))
        print(e["message"], flush=True)

    def _on_stopped(self, e: dict) -> None:
        self._clear_bar()
        print(e["message"], flush=True)

    def _on_failed(self, e: dict) -> None:
        self._clear_bar()
        print(f"training failed: {e['message']}", file=sys.stderr, flush=True)
        if e.get("node") and self.run_dir:
            evidence = RunFolder(self.run_dir).nan_origin
            print(f"the NaN started at node {e['node']!r}; the evidence is in {evidence}", file=sys.stderr, flush=True)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _metrics(name: str, m: dict, metric: str) -> str:
    value = m.get(metric)
    extra = f" {metric} {value:.4f}" if isinstance(value, float) else ""
    return f"{name} loss {m['loss']:.4f}{extra}"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
