"""Listing a project's runs, 1,000 run folders (goal: ≤ 50 ms), beside the full read of every run.

Peer, measured in the same run: what listing did before the runs index, every run's config.json
and metrics journal parsed (RunFolder.summary of each folder). The listing reads the index and
stats two paths a run (its folder and its journal); a run that changed since it was indexed is
read again. The floor printed beside it is those stats alone: on a loaded machine they are most
of the figure, and no listing that notices a changed run can do without them.

    python bench/bench_runs_listing.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_builder.project import load_project, project_to_dict  # noqa: E402
from graph_builder.run_folder import INDEX, RunFolder, RunsIndex, list_runs  # noqa: E402

GOAL_MS = 50.0
EPOCHS = 20


def make_runs(root: Path, runs: int) -> None:
    """`runs` finished run folders of the MLP template, each with a config, a 20-epoch journal and weights."""
    from runtime.templates import template_paths

    snapshot = project_to_dict(load_project(template_paths()["mlp_iris"]))
    config = {"format": "netcanvas-run", "project": snapshot, "resolved": {"input_shape": [4], "classes": 3},
              "network": {"fingerprint": "0" * 64, "parameters": 1000, "title": "bench"}}
    lines = [json.dumps({"type": "epoch", "epoch": e, "epochs": EPOCHS, "train": {"loss": 1 / e, "accuracy": 0.5},
                         "val": {"loss": 1.1 / e, "accuracy": 0.5, "per_class": [0.5, 0.5, 0.5]}})
             for e in range(1, EPOCHS + 1)]
    lines.append(json.dumps({"type": "finished", "message": "done", "best_epoch": EPOCHS,
                             "test": {"loss": 0.1, "accuracy": 0.9}}))
    journal = ("\n".join(lines) + "\n").encode()
    settled = time.time() - 3600  # runs that ended an hour ago
    for i in range(runs):
        run = RunFolder(root / f"20260101-{i // 60:04d}{i % 60:02d}")
        run.path.mkdir(parents=True)
        run.write_config(config)
        run.metrics.write_bytes(journal)
        run.weights_file("best").write_bytes(b"\0" * 64)
        run.weights_file("last").write_bytes(b"\0" * 64)
        for path in (*run.path.iterdir(), run.path):
            os.utime(path, (settled, settled))


def best_ms(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, statistics.median(times) * 1000


def cpu_ms(fn, repeat: int) -> float:
    """The least CPU time of `repeat` calls: on a shared machine the wall time also holds the waits for a core."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times) * 1000


def panel_ms(root: Path, repeat: int) -> tuple[float, float]:
    """(the Runs panel's reload, a bare QTreeWidget filled with as many 7-column rows), best of `repeat`, in ms."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem

    from app.training.runs_panel import RunsPanel

    class Controller:  # what the panel asks of its host, and nothing more
        bridge, current_run = None, None

        def runs_root(self) -> Path:
            return root

    _app = QApplication.instance() or QApplication([])
    panel = RunsPanel(Controller())
    panel.reload()
    reload, _ = best_ms(panel.reload, repeat)
    rows = [[f"run {i}", "finished", "20", "0.05", "accuracy 0.5", "accuracy 0.9", "iris"] for i in range(len(panel.runs))]
    tree = QTreeWidget()

    def bare() -> None:
        tree.clear()
        tree.addTopLevelItems([QTreeWidgetItem(r) for r in rows])

    plain, _ = best_ms(bare, repeat)
    return reload, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_runs(root, args.runs)
        folders = [p for p in root.iterdir() if p.is_dir()]

        full, full_median = best_ms(lambda: [RunFolder(p).summary() for p in folders], max(2, args.repeat // 2))
        t0 = time.perf_counter()
        first = list_runs(root)  # no index yet: every run read once, and the index written
        cold = (time.perf_counter() - t0) * 1000
        assert len(first) == args.runs and (root / INDEX).is_file()
        opened, opened_median = best_ms(lambda: list_runs(root), args.repeat)  # a project opened: index from disk
        opened_cpu = cpu_ms(lambda: list_runs(root), args.repeat)
        full_cpu = cpu_ms(lambda: [RunFolder(p).summary() for p in folders], 2)
        index = RunsIndex(root)
        index.runs()
        relist, relist_median = best_ms(index.runs, args.repeat)  # the panel re-listing each epoch
        where = [os.path.join(p, name) for p in map(str, folders) for name in ("", RunFolder(p).metrics.name)]
        floor, floor_median = best_ms(lambda: [os.stat(p) for p in where], args.repeat)
        try:
            panel = panel_ms(root, args.repeat)
        except ImportError:  # no Qt here: the listing's figures stand alone
            panel = None

    print(f"listing {args.runs} runs ({EPOCHS}-epoch journals), best of {args.repeat} (median in brackets):")
    print(f"  full read of every run (before the index): {full:8.1f} ms ({full_median:.1f})")
    print(f"  first listing, index built:                {cold:8.1f} ms")
    print(f"  listing with the index (project opened):   {opened:8.1f} ms ({opened_median:.1f})  "
          f"{full / opened:5.1f}x faster   goal ≤ {GOAL_MS:.0f} ms: {'met' if opened <= GOAL_MS else 'NOT met'}")
    print(f"  the same in CPU time: full read {full_cpu:.1f} ms, with the index {opened_cpu:.1f} ms "
          f"({full_cpu / opened_cpu:.1f}x; the wall time beyond it is waiting for a core, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  re-listing, index in memory (each epoch):  {relist:8.1f} ms ({relist_median:.1f})  "
          f"{full / relist:5.1f}x faster")
    print(f"  floor: the {len(where)} stats alone:            {floor:8.1f} ms ({floor_median:.1f})  "
          f"listing = {opened / floor:.1f}x the floor")
    if panel is not None:
        print(f"  Runs panel reload (index in memory + rows): {panel[0]:8.1f} ms   a bare QTreeWidget's "
              f"{len(first)} rows: {panel[1]:.1f} ms ({panel[0] / panel[1]:.1f}x)")


if __name__ == "__main__":
    main()
