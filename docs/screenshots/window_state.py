"""Open the window in a given state, for ../shared/tools/screenshot.sh (it captures the screen).

    python docs/screenshots/window_state.py PROJECT.json WORKSPACE [--network NAME] [--train EPOCHS] [--out PNG]

PROJECT.json may be `-` for none (the start page). `make screenshots` (docs/screenshots/make_all.sh)
takes every screenshot in docs/screenshots this way. With --out the script captures the screen itself
once the window is ready (every panel built, nothing "Loading…", the run finished) and exits: a fixed
wait catches a half-drawn window on a busy machine.

Filling the virtual screen, in WORKSPACE (Design, Data, Train, Evaluate, or Start: the start page); --train starts a
short run so the dashboard has curves and a confusion matrix to show (Evaluate then predicts a sample with
it); Data shows the dataset's samples.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("project")
    parser.add_argument("workspace")
    parser.add_argument("--network")
    parser.add_argument("--train", type=int, default=0, help="epochs of a run to start")
    parser.add_argument("--study", type=int, default=0, help="trials of a small study to run (lr and batch size)")
    parser.add_argument("--out", help="capture the screen to this PNG once the window is ready, then quit")
    args = parser.parse_args()
    app = QApplication([])
    app.setOrganizationName("NetCanvas")
    app.setApplicationName("NetCanvas")
    from app.main_window import MainWindow
    from app.theme import follow_system_theme
    from graph_builder.settings import SetSetting

    follow_system_theme(app)
    window = MainWindow()
    window.setGeometry(window.screen().availableGeometry())  # a bare X server has no window manager to maximise
    window.show()
    if args.project != "-":
        window.open_project(args.project)

    finished, predicted = [], []

    def on_finished(*_args) -> None:
        finished.append(True)
        if args.workspace == "Evaluate":  # the run's own prediction of a sample, as a click on Predict shows
            panel = window.training.inference_panel  # built after the first paint, so looked up here
            panel.predicted.connect(lambda *_: predicted.append(True))
            panel.predict_sample()

    window.training.run_finished.connect(on_finished)

    studied = []

    def ready() -> bool:
        if args.study and not (studied or completed_trials() >= min(2, args.study)):
            return False  # a study shows its table and plots once two trials are in (the rest may still run)
        return not args.train or bool(finished and (predicted or args.workspace != "Evaluate"))

    def completed_trials() -> int:
        table = window.training.experiments_panel.table
        return sum(1 for row in range(table.rowCount()) if table.item(row, 1) and table.item(row, 1).text() == "complete")

    def run_study() -> None:
        """A study of `args.study` two-epoch trials over the learning rate (log) and the batch size."""
        from graph_builder.experiment import ReplaceExperiment

        panel = getattr(window.training, "experiments_panel", None)
        if panel is None:  # the panels are built after the first paint
            QTimer.singleShot(250, run_study)
            return
        window.editor.push_on(window.project.training, SetSetting("epochs", 2))
        window.editor.push_on(window.project.experiment, ReplaceExperiment({
            "metric": "val_accuracy", "trials": args.study, "method": "tpe",
            "space": [{"setting": "lr", "low": 1e-4, "high": 3e-2, "log": True},
                      {"setting": "batch_size", "choices": [16, 32, 64]}]}))
        panel.runner.ended.connect(lambda: studied.append(True))
        panel.run_study()

    def arrange() -> None:
        if args.out:
            QTimer.singleShot(500, lambda: capture_when_ready(window, args.out, ready))
        if args.workspace == "Start":
            window.show_start_page()
            return
        window.workspaces.show(args.workspace)
        if args.workspace == "Data":
            window.training.data_panel.load()  # Show samples: the dataset's size, classes and samples
        if args.network:
            window.show_network(args.network)
        window.view.fit_all()
        if args.study:
            run_study()
        if args.train:
            window.editor.push_on(window.project.training, SetSetting("epochs", args.train))
            window.training.train()

    QTimer.singleShot(600, arrange)
    return app.exec()


def loading(window) -> bool:
    """Whether a panel still says it is loading (a dock body before its panel, a dataset preview)."""
    from PySide6.QtWidgets import QLabel

    return any(label.isVisible() and label.text().startswith("Loading") for label in window.findChildren(QLabel))


def capture_when_ready(window, out: str, done, settle_ms: int = 1500, limit_s: float = 300) -> None:
    """Save the screen to `out` once `done()` holds and nothing is loading (then `settle_ms` more), and quit."""
    import time

    started = time.monotonic()

    def poll() -> None:
        late = time.monotonic() - started > limit_s
        if not late and (loading(window) or not done()):
            QTimer.singleShot(250, poll)
            return
        if late:
            print(f"window_state: not ready after {limit_s:.0f} s; capturing anyway", file=sys.stderr)
        if window.pages.currentIndex() == 0:
            window.view.fit_all()  # framed for the workspace's final layout (docks sized after the first fit)

        def grab() -> None:
            saved = window.screen().grabWindow(0).save(out)
            print(f"wrote {out}" if saved else f"window_state: could not write {out}", file=sys.stderr)
            window.discard_changes()
            window.close()
            QApplication.instance().exit(0 if saved and not late else 1)

        QTimer.singleShot(settle_ms, grab)

    poll()


if __name__ == "__main__":
    sys.exit(main())
