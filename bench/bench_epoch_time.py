"""The dry run's epoch estimate against the epochs a real run of the same template takes (not a test).

For each template whose data is here (downloads left out): runtime.train.time_epoch's estimate of an
epoch's training steps (three timed steps × the steps of an epoch) and, as the peer measured in the
same run, the training part of the second epoch of a real two-epoch run (the trainer's `time_s`; the
first epoch pays for warming up). Printed as the ratio estimate / measured: 1.00 is exact.

    python bench/bench_epoch_time.py [--device cpu|cuda] [TEMPLATE …]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_builder.project import load_project  # noqa: E402
from runtime.train import time_epoch, train  # noqa: E402
from runtime.train.dry_run import seconds_text  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


def measured_epoch(project, path: Path, device: str) -> float:
    """The training seconds of the second epoch of a real run."""
    with tempfile.TemporaryDirectory() as run_dir:
        epochs = [e for e in train(project, training={"epochs": 2, "device": device, "early_stopping": False},
                                   run_dir=run_dir, live=False, project_path=path) if e["type"] == "epoch"]
    return epochs[-1]["time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", nargs="*", help="template names (default: every one whose data is here)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    paths = sorted(p for p in TEMPLATES.glob("*.json") if not args.templates or p.stem in args.templates)
    print(f"{'template':30} {'steps':>6} {'per step':>9} {'estimate':>9} {'measured':>9} {'est/meas':>8}")
    for path in paths:
        project = load_project(path)
        timing = time_epoch(project, device=args.device, project_path=path)
        if not timing.steps_per_epoch:
            print(f"{path.stem:30} (its data is not downloaded: left out)")
            continue
        estimate = timing.step_seconds * timing.steps_per_epoch
        measured = measured_epoch(project, path, args.device)
        print(f"{path.stem:30} {timing.steps_per_epoch:>6} {seconds_text(timing.step_seconds):>9} "
              f"{seconds_text(estimate):>9} {seconds_text(measured):>9} {estimate / measured:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
