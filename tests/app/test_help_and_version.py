"""The shortcut list names every action with keys a keyboard has; the version is one fact, shown everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_shortcut_list_shows_train_pause_stop_and_only_real_keys(window):
    rows = dict(window.help.shortcut_rows())
    for action in ("Train", "Pause / Resume", "Stop", "Undo", "Save", "Fit to View", "Design", "Evaluate"):
        assert action in rows, action
    keys = " ".join(rows.values())
    assert "F14" not in keys and "F20" not in keys and "Save" not in keys.replace("Shift+S", "")
    assert rows["Undo"].startswith("Ctrl+Z")


def test_python_m_netcanvas_prints_the_version_of_pyproject(tmp_path):
    from netcanvas import __version__

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "netcanvas", "--version"], capture_output=True, text=True, check=False,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"netcanvas {__version__}"
    assert 'version = { attr = "netcanvas.__version__" }' in (ROOT / "pyproject.toml").read_text()


def test_the_memory_estimate_in_the_status_bar_uses_the_training_batch_size(window, qtbot):
    from graph_builder.settings import SetSetting

    assert window.editor.push_on(window.project.training, SetSetting("batch_size", 256))
    qtbot.waitUntil(lambda: "at batch 256" in window.summary_label.text())


def test_help_user_guide_shows_the_guide_from_docs(window, qtbot):
    from PySide6.QtWidgets import QTextBrowser

    window.actions_by_text["User Guide"].trigger()
    dialog = window.help.guide_dialog
    qtbot.waitExposed(dialog)
    text = dialog.findChild(QTextBrowser).toPlainText()
    assert "five workspaces" in text and "diverged" in text
    dialog.close()
