"""Trains every template with its own settings on the CPU and records what it reaches in its file.

    python resources/templates/measure_templates.py [--repeat N] [NAME ...]

The figures go into meta["reference"] of resources/templates/<name>.json, which the start page's
cards show ("98.9 % test accuracy · 14 s on CPU"): the test-set figure that fits the task, the
run's wall-clock seconds on this machine's CPU (the fastest of N runs: on a shared machine other
work only ever adds time, and with every core busy torch's threads can take tens of times longer),
and what it was measured on. Training is seeded, so the N runs reach the same figure. Torch gets
the threads the app's training child gives it (app/training/child.py: one core left for the GUI),
so the time is what a user who opens the template and presses Train waits on this machine; a
re-measure keeps the stored time when it was faster on the same CPU, threads and torch. They are measured
through the real trainer (runtime.train.trainer.train, as `netcanvas train` runs it), never typed.
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
            "forecasting": ("r2", ("mse", "mae")),  # scale-free: the data are standardised
            "reconstruction": ("mse", ("r2",)),  # reconstruction error of the test digits
            "vae": ("mse", ("r2", "reconstruction", "kl")),
            "gan": ("diversity", ("d_real", "d_fake"))}  # no accuracy: a generator is judged by its samples


APP_THREADS = max(1, (os.cpu_count() or 1) - 1)  # as app/training/child.py trains
SAME_MACHINE = ("cpu", "threads", "torch", "value", "epochs", "key")  # a stored time with these equal still stands
TIMING = ("cpu_seconds", "load_average", "measured", "runs")


class MeasureError(RuntimeError):
    """A template that did not finish training."""


def train_on_cpu(project: Project) -> tuple[dict, dict]:
    """Train `project` with its own settings on the CPU; its started and finished events."""
    import torch

    from graph_builder.settings import dataset_beside
    from runtime.train.trainer import train

    if project.dataset.get("path"):  # bundled data (a relative path) is read from beside the templates
        project = project.copy()
        project.dataset.replace(dataset_beside(project.dataset, FOLDER / "template.json"))
    before = torch.get_num_threads()
    torch.set_num_threads(APP_THREADS)
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            events = list(train(project, training={"device": "cpu"}, run_dir=run_dir, live=False))
    finally:
        torch.set_num_threads(before)
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
            "cpu": cpu_name(), "threads": APP_THREADS, "load_average": round(os.getloadavg()[0], 2),
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


def missing_weights(project: Project) -> str | None:
    """Why `project` cannot train on this machine now: torchvision weights it starts from, or a dataset it reads,
    that are not downloaded (the script measures it once they are)."""
    from runtime.data import missing_download
    from runtime.pretrained import missing_weights as missing

    return missing(project) or missing_download(project.dataset)


def measure(t: Template, folder: Path = FOLDER, repeat: int = 3) -> dict:
    """Train template `t` `repeat` times, write its figures (the fastest run's time) into <folder>/<name>.json.

    A template that starts from torchvision weights this machine has not downloaded is recorded as
    unmeasured, with the reason, rather than measured from other weights.
    """
    project = template_project(t)
    missing = missing_weights(project)
    if missing:
        project.meta["reference"] = {"unmeasured": missing, "measured": datetime.date.today().isoformat(),
                                     "key": reference_key(project)}
        save_project(project, folder / f"{t.name}.json")
        return project.meta["reference"]
    runs = [train_on_cpu(project) for _ in range(max(1, repeat))]
    started, finished = min(runs, key=lambda run: run[1]["elapsed_s"])
    figures = {repr(run[1]["test"]) for run in runs}
    if len(figures) > 1:
        print(f"warning: {t.name}'s {len(runs)} runs reached different test figures; the fastest one's are kept",
              file=sys.stderr)
    new = {**reference(project, started, finished), "runs": len(runs)}
    stored = project.meta.get("reference")  # template_project keeps it only while its key still holds
    if stored and all(stored.get(k) == new[k] for k in SAME_MACHINE) and stored["cpu_seconds"] < new["cpu_seconds"]:
        new.update({k: stored[k] for k in TIMING if k in stored})  # other work slowed this pass
    project.meta["reference"] = new
    save_project(project, folder / f"{t.name}.json")
    return project.meta["reference"]


def main(argv: list[str]) -> int:
    repeat = 3
    if argv[:1] == ["--repeat"]:
        repeat, argv = int(argv[1]), argv[2:]
    names = argv
    chosen = [t for t in TEMPLATES if not names or t.name in names]
    unknown = set(names) - {t.name for t in TEMPLATES}
    if unknown:
        print(f"no template called {', '.join(sorted(unknown))}; known: {', '.join(t.name for t in TEMPLATES)}",
              file=sys.stderr)
        return 2
    for t in chosen:
        r = measure(t, repeat=repeat)
        if "unmeasured" in r:
            print(f"{t.name:<26} not measured: {r['unmeasured']}", flush=True)
            continue
        print(f"{t.name:<26} {r['metric']} {r['value']:<8} {r['cpu_seconds']:>7.1f} s  (load {r['load_average']})",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
