"""The hyperparameter study against running the same trials by hand, and 2 jobs against 1 (not a test).

The same 2 x 3 grid over the MLP-on-digits template (learning rate x dropout), three ways:

  * by hand: each trial's project made with the same values and trained one after another
    with `runtime.trainer.train` in this (warm) process, into run folders like the study's;
  * `run_study(jobs=1)`: Optuna's SQLite study, one worker process, median pruning off;
  * `run_study(jobs=2)`: two worker processes at once.

Overhead (target <= 5 %) is study(jobs=1) / by hand - 1, shown with and without the one-time
start of the worker process (a fresh Python importing torch), which by hand does not pay
because this process has torch already. Speed-up is study(jobs=1) / study(jobs=2).

    python bench/bench_tune.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_builder import load_project, save_project  # noqa: E402
from graph_builder.experiment import ReplaceExperiment, apply_values  # noqa: E402
from graph_builder.runs import new_run_dir, runs_folder  # noqa: E402
from runtime.trainer import last_event, train  # noqa: E402
from runtime.tune import run_study  # noqa: E402


def make_project(folder: Path, epochs: int) -> tuple[Path, list[dict]]:
    project = load_project(ROOT / "resources" / "templates" / "mlp_digits.json")
    ids = {n.name: n.id for n in project.graph.nodes.values()}
    dropout = f"Net/{ids['dropout']}/p"
    project.experiment.apply(ReplaceExperiment({
        "metric": "val_accuracy", "method": "grid", "pruner": "none", "trials": 6, "space": [
            {"setting": "lr", "choices": [3e-4, 1e-3, 3e-3]},
            {"network": "Net", "node": ids["dropout"], "param": "p", "choices": [0.1, 0.3]}]}))
    project.training.update({"epochs": epochs})
    path = folder / "mlp_digits.json"
    save_project(project, path)
    trials = [{"training/lr": lr, dropout: p} for lr in (3e-4, 1e-3, 3e-3) for p in (0.1, 0.3)]
    return path, trials


def by_hand(path: Path, trials: list[dict]) -> float:
    project = load_project(path)
    root = runs_folder(path)
    started = time.perf_counter()
    for values in trials:
        event = last_event(train(apply_values(project, values), run_dir=new_run_dir(root), live=False))
        assert event["type"] == "finished", event
    return time.perf_counter() - started


def study(path: Path, jobs: int) -> float:
    shutil.rmtree(runs_folder(path), ignore_errors=True)
    started = time.perf_counter()
    result = run_study(path, jobs=jobs)
    elapsed = time.perf_counter() - started
    assert len(result.trials) == 6 and all(t.state == "complete" for t in result.trials), result.trials
    return elapsed


def worker_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, runtime.trainer"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the three ways, interleaved; best of")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"hand": [], "one": [], "two": []}
    with tempfile.TemporaryDirectory() as tmp:
        path, trials = make_project(Path(tmp), args.epochs)
        by_hand(path, trials[:1])  # warm-up: data cached, kernels loaded
        for _ in range(args.repeats):  # interleaved, so load from other processes falls on all three alike
            shutil.rmtree(runs_folder(path), ignore_errors=True)
            times["hand"].append(by_hand(path, trials))
            times["one"].append(study(path, 1))
            times["two"].append(study(path, 2))
        start = worker_start()
    hand, one, two = (min(times[k]) for k in ("hand", "one", "two"))  # the least disturbed round, as timeit
    print("rounds (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()))
    print(f"6 trials of the MLP on digits, {args.epochs} epochs each, best of {args.repeats} rounds")
    print(f"  by hand (warm, one process)     {hand:7.2f} s")
    print(f"  study, 1 job                    {one:7.2f} s")
    print(f"  study, 2 jobs                   {two:7.2f} s")
    print(f"  worker start (python + torch)   {start:7.2f} s")
    print(f"overhead of the study: {one / hand - 1:+.1%} in all, {(one - start) / hand - 1:+.1%} without the "
          "worker's start (target <= 5 %)")
    print(f"speed-up of 2 jobs over 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
