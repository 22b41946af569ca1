"""The hyperparameter study against running the same trials by hand, and 2 jobs against 1 (not a test).

The same 3 x 3 grid over the MLP-on-digits template (learning rate x dropout, 80 epochs,
about 1-3 s a trial), three ways, each a fresh process started from this one (which imports
neither torch nor Optuna), so each pays its own Python and torch start:

  * by hand: one process that imports the trainer, then makes each trial's project with the same
    values (`apply_values`) and trains it with `runtime.train.trainer.train` into a new run folder, one
    after another — a plain loop, the peer;
  * `netcanvas tune --jobs 1`: the Optuna study in the runs folder's SQLite file, one worker process
    (pruning off, so both run the same nine trials to the end);
  * `netcanvas tune --jobs 2`: two worker processes at once.

Every way trains with the same torch threads per trial (--threads, default 1: on a machine whose
cores other work also uses, OpenMP threads that wait on each other make training many times
slower and the comparison meaningless). The rounds interleave the three ways (each goes first in
turn), so load from other processes falls on all alike, and the least disturbed round counts (as
timeit does).

Overhead (target <= 5 %) is tune(jobs=1) / by hand - 1, in wall time and in CPU time (user +
system of the process and every process it started: the work done, which load from other
processes disturbs far less than wall time). Speed-up is tune(jobs=1) / tune(jobs=2) in wall time.

    python bench/bench_tune.py [--epochs 80] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_builder import load_project, save_project  # noqa: E402
from graph_builder.experiment import ReplaceExperiment  # noqa: E402
from graph_builder.runs import runs_folder  # noqa: E402

LRS = (3e-4, 1e-3, 3e-3)
DROPOUTS = (0.1, 0.2, 0.3)


def make_project(folder: Path, epochs: int) -> tuple[Path, list[dict]]:
    """The template with a 3 x 3 grid experiment, saved in `folder`; and the nine trials' values."""
    project = load_project(ROOT / "resources" / "templates" / "mlp_digits.json")
    ids = {n.name: n.id for n in project.graph.nodes.values()}
    dropout = f"Net/{ids['dropout']}/p"
    project.experiment.apply(ReplaceExperiment({
        "metric": "val_accuracy", "method": "grid", "pruner": "none", "trials": len(LRS) * len(DROPOUTS), "space": [
            {"setting": "lr", "choices": list(LRS)},
            {"network": "Net", "node": ids["dropout"], "param": "p", "choices": list(DROPOUTS)}]}))
    project.training.update({"epochs": epochs, "stop_on_divergence": False})  # the same nine runs, however they go
    path = folder / "mlp_digits.json"
    save_project(project, path)
    trials = [{"training/lr": lr, dropout: p} for lr in LRS for p in DROPOUTS]
    return path, trials


def by_hand_main(path: str, trials_json: str, threads: int) -> None:
    """The peer, in its own process: the same trials, the same trainer, a plain loop."""
    import torch

    from graph_builder.experiment import apply_values
    from graph_builder.runs import new_run_dir
    from runtime.train.trainer import last_event, train

    torch.set_num_threads(threads)
    project = load_project(path)
    root = runs_folder(Path(path))
    for values in json.loads(trials_json):
        event = last_event(train(apply_values(project, values), run_dir=new_run_dir(root), live=False,
                                 project_path=path))  # as the study's workers call it
        assert event["type"] == "finished", event


CPU: list[float] = []  # CPU seconds (user + system) of the last timed command and every process it waited for


def timed(command: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} … failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def by_hand(path: Path, trials: list[dict], threads: int) -> float:
    shutil.rmtree(runs_folder(path), ignore_errors=True)
    return timed([sys.executable, __file__, "--by-hand", str(path), json.dumps(trials), "--threads", str(threads)])


def tune(path: Path, jobs: int, threads: int, trials: int) -> float:
    shutil.rmtree(runs_folder(path), ignore_errors=True)
    elapsed = timed([sys.executable, "-m", "runtime.cli", "tune", str(path), "--jobs", str(jobs),
                     "--threads", str(threads), "--json"])
    complete = [p for p in runs_folder(path).iterdir() if (p / "trial.json").is_file() and (p / "best.safetensors").is_file()]
    assert len(complete) == trials, f"{len(complete)} of {trials} trials finished"
    return elapsed


def worker_start() -> float:
    return timed([sys.executable, "-c", "import torch, runtime.train.trainer"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=80, help="epochs a trial (80: about 2 s on a quiet core)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the three ways, interleaved; best of")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per trial, in every way")
    parser.add_argument("--by-hand", nargs=2, metavar=("PATH", "TRIALS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.by_hand:
        by_hand_main(*args.by_hand, args.threads)
        return
    times: dict[str, list[float]] = {"hand": [], "one": [], "two": []}
    cpu: dict[str, list[float]] = {"hand": [], "one": [], "two": []}
    ways = {"hand": lambda: by_hand(path, trials, args.threads),
            "one": lambda: tune(path, 1, args.threads, len(trials)),
            "two": lambda: tune(path, 2, args.threads, len(trials))}
    with tempfile.TemporaryDirectory() as tmp:
        path, trials = make_project(Path(tmp), args.epochs)
        by_hand(path, trials[:1], args.threads)  # warm-up: files in the page cache for every way alike
        for r in range(args.repeats):
            order = list(ways)[r % 3:] + list(ways)[:r % 3]  # each way goes first, second and third in turn
            for way in order:
                times[way].append(ways[way]())
                cpu[way].append(CPU[-1])
        start = worker_start()
    hand, one, two = (min(times[k]) for k in ("hand", "one", "two"))
    cpu_hand, cpu_one = min(cpu["hand"]), min(cpu["one"])
    n = len(trials)
    print("rounds, wall (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()))
    print("rounds, CPU (s):  " + "; ".join(f"{k} " + ", ".join(f"{t:.1f}" for t in v) for k, v in cpu.items()))
    print(f"{n} trials of the MLP on digits, {args.epochs} epochs each, {args.threads} torch thread(s) per trial, "
          f"best of {args.repeats} rounds, on {os.cpu_count()} cores")
    print(f"  by hand (one process, plain loop)  {hand:7.2f} s wall  {cpu_hand:7.2f} s CPU   "
          f"({hand / n:.2f} s a trial, start included)")
    print(f"  netcanvas tune --jobs 1            {one:7.2f} s wall  {cpu_one:7.2f} s CPU")
    print(f"  netcanvas tune --jobs 2            {two:7.2f} s wall  {min(cpu['two']):7.2f} s CPU")
    print(f"  python + torch start, for scale    {start:7.2f} s")
    print(f"overhead of the study: {one / hand - 1:+.1%} wall, {cpu_one / cpu_hand - 1:+.1%} CPU (target <= 5 %)")
    print(f"speed-up of 2 jobs over 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
