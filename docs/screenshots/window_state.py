"""Open the window in a given state, for ../shared/tools/screenshot.sh (it captures the screen).

    python docs/screenshots/window_state.py PROJECT.json WORKSPACE [--network NAME] [--train EPOCHS]

PROJECT.json may be `-` for none (the start page). `make screenshots` (docs/screenshots/make_all.sh)
takes every screenshot in docs/screenshots this way.

Filling the virtual screen, in WORKSPACE (Design, Data, Train, Evaluate, or Start: the start page); --train starts a
short run so the dashboard has curves and a confusion matrix to show.
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

    def arrange() -> None:
        if args.workspace == "Start":
            window.show_start_page()
            return
        window.workspaces.show(args.workspace)
        if args.network:
            window.show_network(args.network)
        window.view.fit_all()
        if args.train:
            window.editor.push_on(window.project.training, SetSetting("epochs", args.train))
            window.training.train()

    QTimer.singleShot(600, arrange)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
