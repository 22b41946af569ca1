"""Trains every template with its own settings on the CPU and records what it reaches in its file.

    python resources/templates/measure_templates.py [NAME ...]

The figures go into meta["reference"] of resources/templates/<name>.json, which the start page's
cards show ("98.9 % test accuracy · 14 s on CPU"): the test-set figure that fits the task, the
run's wall-clock seconds on this machine's CPU, and what it was measured on. They are measured
through the real trainer (runtime.trainer.train, as `netcanvas train` runs it), never typed.
A template's figures are keyed to its networks and settings (build_templates.reference_key):
change either and the rebuild drops them until this script is run again.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
ROOT = FOLDER.parents[1]
for p in (str(ROOT), str(FOLDER)):
    if p not in sys.path:
        sys.path.insert(0, p)

from build_templates import TEMPLATES, Template, reference_key, template_project  # noqa: E402

from graph_builder import Project, save_project  # noqa: E402

# The figure a card shows per task, and the others kept beside it.
HEADLINE = {"classification": ("accuracy", ("f1_macro",)),
            "regression": ("r2", ("mse", "mae")),
            "reconstruction": ("mse", ("r2", "reconstruction", "kl")),  # reconstruction error of the test digits
            "gan": ("diversity", ("d_real", "d_fake"))}  # no accuracy: a generator is judged by its samples


class MeasureError(RuntimeError):
    """A template that did not finish training."""


def train_on_cpu(project: Project) -> tuple[dict, dict]:
    """Train `project` with its own settings on the CPU; its started and finished events."""
    from runtime.trainer import train

    with tempfile.TemporaryDirectory() as run_dir:
        events = list(train(project, training={"device": "cpu"}, run_dir=run_dir, live=False))
    final = events[-1]
    if final["type"] != "finished":
        raise MeasureError(f"{project.meta.get('template')} did not finish: {final['message']}")
    return events[0], final


def reference(project: Project, started: dict, finished: dict) -> dict:
    """meta["reference"] of a trained template: its test figure, CPU seconds and where they were measured."""
    import torch

    metric, others = HEADLINE[started["task"]]
    test = finished["test"]
    return {"metric": metric, "value": round(float(test[metric]), 4), "split": "test",
            "others": {k: round(float(test[k]), 4) for k in others if isinstance(test.get(k), float)},
            "epochs": finished["epochs_run"], "cpu_seconds": round(finished["elapsed_s"], 1),
            "cpu": cpu_name(), "threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2),
            "torch": torch.__version__.split("+")[0], "measured": datetime.date.today().isoformat(),
            "key": reference_key(project)}


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(t: Template, folder: Path = FOLDER) -> dict:
    """Train template `t`, write its figures into <folder>/<name>.json, and return them."""
    project = template_project(t)
    started, finished = train_on_cpu(project)
    project.meta["reference"] = reference(project, started, finished)
    save_project(project, folder / f"{t.name}.json")
    return project.meta["reference"]


def main(names: list[str]) -> int:
    chosen = [t for t in TEMPLATES if not names or t.name in names]
    unknown = set(names) - {t.name for t in TEMPLATES}
    if unknown:
        print(f"no template called {', '.join(sorted(unknown))}; known: {', '.join(t.name for t in TEMPLATES)}",
              file=sys.stderr)
        return 2
    for t in chosen:
        r = measure(t)
        print(f"{t.name:<26} {r['metric']} {r['value']:<8} {r['cpu_seconds']:>7.1f} s  (load {r['load_average']})",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
