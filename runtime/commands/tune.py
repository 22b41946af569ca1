"""`netcanvas tune FILE [--method grid|random|tpe] [--trials N] [--jobs J] [--threads T] [--epochs N] [--json]`.

Runs (or resumes) the hyperparameter search the project's experiment section describes
(runtime.tune.study.study): a progress bar on a terminal, one line per finished trial, and a final table
best first; with --json one JSON line per finished trial and nothing else on stdout. Exit 0
when the study ran, 1 when the experiment cannot run or no trial completed, 2 when the project
or the study file cannot be read.
"""

from __future__ import annotations

import json
import sys

from graph_builder.experiment import METHODS

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE

BAR_WIDTH = 28


def register(sub) -> None:
    p = sub.add_parser("tune", help="search hyperparameters over the project's experiment (Optuna)")
    p.add_argument("file", help="a .json project file with an experiment section")
    p.add_argument("--method", choices=METHODS, help="override the experiment's method")
    p.add_argument("--trials", type=int, metavar="N", help="override the number of trials")
    p.add_argument("--jobs", type=int, metavar="J", help="trials at once (default: half the cores, at most 4)")
    p.add_argument("--threads", type=int, metavar="T", help="torch threads per trial (default: the cores shared "
                   "among the jobs)")
    p.add_argument("--epochs", type=int, metavar="N", help="override the epochs of every trial")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the training device")
    p.add_argument("--json", action="store_true", help="print one JSON line per finished trial")
    p.set_defaults(func=run)


def run(args) -> int:
    from runtime.tune import TuneError, run_study

    for name in ("jobs", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            return _fail(args, f"--{name} must be at least 1", EXIT_INVALID)
    printer = _Printer(args.json)
    try:
        result = run_study(args.file, method=args.method, trials=args.trials, jobs=args.jobs, epochs=args.epochs,
                           threads=args.threads,
                           device=args.device, on_trial=printer.trial, on_progress=printer.progress)
    except TuneError as exc:
        text = str(exc)
        code = EXIT_UNREADABLE if text.startswith(("cannot read", "the study file")) else EXIT_INVALID
        return _fail(args, text, code)
    printer.done(result)
    return EXIT_OK if result.best is not None else EXIT_INVALID


def _fail(args, message: str, code: int) -> int:
    if args.json:
        print(json.dumps({"type": "failed", "message": message}))
    else:
        print(f"tune: {message}", file=sys.stderr)
    return code


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.json = as_json
        self.tty = sys.stderr.isatty() and not as_json
        self.best = None

    def progress(self, done: int, total: int, record) -> None:
        if not self.tty:
            return
        filled = int(BAR_WIDTH * done / max(1, total))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} trials   ")
        sys.stderr.flush()

    def trial(self, record) -> None:
        if self.json:
            print(json.dumps({"type": "trial", **record.to_dict()}, default=str), flush=True)
            return
        if self.tty:
            sys.stderr.write("\r" + " " * (BAR_WIDTH + 30) + "\r")
        value = f"{record.value:.4f}" if record.value is not None else "-"
        why = f"  ({record.reason})" if record.reason and record.state != "complete" else ""
        print(f"trial {record.trial:>3} {record.state:<8} {value:>8}  {_params(record.params)}{why}", flush=True)

    def done(self, result) -> None:
        if self.json:
            return
        print()
        print(f"study {result.study} in {result.storage}: {len(result.trials)} trials, {result.metric} "
              f"({result.direction})" + (f", {result.resumed} resumed" if result.resumed else ""))
        order = sorted(result.trials, key=lambda t: (t.value is None, -(t.value or 0) if result.direction ==
                                                     "maximize" else (t.value or 0)))
        print(f"{'trial':>5}  {'state':<8} {result.metric:>12}  {'time':>7}  parameters")
        for t in order:
            value = f"{t.value:.4f}" if t.value is not None else "-"
            duration = f"{t.duration_s:.1f}s" if t.duration_s is not None else "-"
            why = f"  ({t.reason})" if t.reason and t.state != "complete" else ""
            print(f"{t.trial:>5}  {t.state:<8} {value:>12}  {duration:>7}  {_params(t.params)}{why}")
        best = result.best
        if best is not None:
            print(f"best: trial {best.trial}, {result.metric} {best.value:.4f}, {_params(best.params)}; "
                  f"run {best.run_dir}")
        else:
            failed = [t for t in result.trials if t.reason]
            why = f": trial {failed[-1].trial} {failed[-1].state} ({failed[-1].reason})" if failed else ""
            print(f"no trial completed{why}", file=sys.stderr)


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
