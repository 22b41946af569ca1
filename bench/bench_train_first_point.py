"""GUI: Train clicked → first loss point drawn, MLP template, with a spare training process and without (not a test).

The real main window (offscreen): each round trains the MLP digits template once in a fresh child (the peer:
spawn, import torch and the engine, train) and once in the spare the window keeps (started after the run
before, torch imported while nothing was clicked), timed from Train to the first batch point on the loss
plot; each run is then stopped. Goal (issue 27): <= 1 s with the spare.

    python bench/bench_train_first_point.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_S = 1.0


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("NETCANVAS_SETTINGS_DIR", tempfile.mkdtemp(prefix="nc-bench-settings-"))
    os.environ.setdefault("NETCANVAS_RUNS_DIR", tempfile.mkdtemp(prefix="nc-bench-runs-"))
    os.environ.pop("NETCANVAS_NO_SPARE_PROCESS", None)

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from graph_builder.project import load_project

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    window.show()
    project = load_project(Path(__file__).resolve().parents[1] / "resources" / "templates" / "mlp_digits.json")
    project.training.update({"epochs": 3})
    window.set_project(project, None)
    controller, bridge = window.training, window.training.bridge
    controller.ensure_built()

    def wait(until, timeout: float) -> float:
        start = time.perf_counter()
        while not until():
            if time.perf_counter() - start > timeout:
                raise SystemExit("timed out waiting: " + controller.dashboard.status.text())
            app.processEvents()
            time.sleep(0.002)
        return time.perf_counter() - start

    def spare_ready() -> bool:
        """The spare has imported torch and gone quiet (waiting for its run)."""
        pid = bridge.spare_pid
        if pid is None or "libtorch" not in Path(f"/proc/{pid}/maps").read_text():
            return False
        before = cpu_ticks(pid)
        time.sleep(0.3)
        return cpu_ticks(pid) == before

    def first_point() -> float:
        start = time.perf_counter()
        if not controller.train():
            raise SystemExit("could not start training: " + controller.dashboard.status.text())
        wait(lambda: controller.dashboard.loss_plot.point_count("train_batch") > 0, 120.0)
        seconds = time.perf_counter() - start
        controller.stop()
        wait(lambda: not bridge.is_active, 30.0)
        return seconds

    times: dict[str, list[float]] = {"fresh": [], "spare": []}
    for _ in range(args.rounds):
        bridge.release_spare()
        times["fresh"].append(first_point())
        bridge.keep_spare()
        wait(spare_ready, 120.0)
        times["spare"].append(first_point())
    bridge.kill()
    window.discard_changes()
    window.close()

    fresh, spare = statistics.median(times["fresh"]), statistics.median(times["spare"])
    print(f"Train → first loss point, MLP template, median of {args.rounds} (load average {os.getloadavg()[0]:.1f})")
    print(f"  fresh child (peer)   {fresh:6.2f} s   " + ", ".join(f"{t:.2f}" for t in times["fresh"]))
    print(f"  spare process        {spare:6.2f} s   " + ", ".join(f"{t:.2f}" for t in times["spare"])
          + f"   {fresh / spare:.1f}x sooner   (goal <= {GOAL_S:.0f} s: {'met' if spare <= GOAL_S else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
