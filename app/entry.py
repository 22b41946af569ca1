"""The `netcanvas` console script: the editor without arguments, the headless CLI otherwise.

    netcanvas                 open the editor
    netcanvas open FILE       open the editor with a project
    netcanvas --version       print the version
    netcanvas layers …        any other command runs runtime.cli (no Qt is imported)

The GUI path shows the window before torch is imported: torch loads in a background thread
after the first paint (importing it takes seconds).
"""

from __future__ import annotations

import sys
import time

_STARTED = time.perf_counter()  # as close to process start as Python code gets


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the GUI or the CLI and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return run_gui(None)
    if argv[0] in ("--version", "-V"):
        from netcanvas import __version__

        print(f"netcanvas {__version__}")
        return 0
    if argv[0] == "open":
        if len(argv) != 2:
            print("usage: netcanvas open FILE  (one project file)", file=sys.stderr)
            return 2
        return run_gui(argv[1])
    from runtime.cli import main as cli_main

    return cli_main(argv)


def run_gui(path: str | None) -> int:
    """Start the Qt application, show the main window (opening `path`), run the event loop."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow, install_excepthook
    from app.theme import follow_system_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("NetCanvas")
    app.setApplicationName("NetCanvas")
    app.setApplicationDisplayName("NetCanvas")
    from app.projects import settings

    follow_system_theme(app, str(settings().value("view/theme", "system")))
    window = MainWindow()
    install_excepthook(window)
    window.first_painted.connect(lambda: _after_first_paint(window))
    if window.settings.value("window/geometry") is None:
        window.showMaximized()  # first run: the canvas wants room
    else:
        window.show()
    if path:
        window.open_project(path)
    else:
        window.show_start_page()
    window.offer_recovery()
    window.offer_tour()
    return app.exec()


def _after_first_paint(window) -> None:
    import os

    if os.environ.get("NETCANVAS_REPORT_STARTUP"):  # bench/bench_editor.py reads this line
        print(f"first-paint {time.perf_counter() - _STARTED:.4f}", flush=True)
        if os.environ.get("NETCANVAS_REPORT_STARTUP") == "exit":
            from PySide6.QtCore import QTimer
            from PySide6.QtWidgets import QApplication

            window.discard_changes()
            QTimer.singleShot(0, QApplication.quit)
            return
    window.start_warmup()


if __name__ == "__main__":
    sys.exit(main())
