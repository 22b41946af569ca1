"""The spare training process: started after the first paint with torch loaded, given the next run, renewed.

Each run keeps its own process, so a killed run ends alone and a dead spare never loses a run.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


@pytest.fixture
def spare_allowed(monkeypatch):
    """Windows made after this hold a spare process (tests/conftest.py turns it off for the others)."""
    monkeypatch.delenv("NETCANVAS_NO_SPARE_PROCESS", raising=False)


def torch_loaded(pid: int) -> bool:
    """Whether process `pid` has mapped torch's C++ library (it has imported torch)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def open_mlp(window, epochs: int) -> None:
    from graph_builder.project import load_project

    project = load_project(TEMPLATES / "mlp_digits.json")
    project.training.update({"epochs": epochs})
    window.set_project(project, None, unsaved=True)


def test_train_runs_in_the_spare_that_loaded_torch_before_the_click_and_a_new_spare_follows(spare_allowed, window,
                                                                                             qtbot):
    c = window.training
    qtbot.waitUntil(lambda: c.bridge.spare_pid is not None, timeout=10000)
    spare = c.bridge.spare_pid
    qtbot.waitUntil(lambda: torch_loaded(spare), timeout=120000)
    open_mlp(window, 2)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.pid == spare and c.bridge.spare_pid is None  # no second torch import while this one trains
    qtbot.waitUntil(lambda: c.dashboard.loss_plot.point_count("train_batch") > 0, timeout=60000)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=120000)
    assert c.dashboard.status.text().startswith("Finished"), c.dashboard.status.text()
    assert gone(spare)
    assert c.bridge.spare_pid not in (None, spare)


def test_a_killed_run_ends_alone_and_a_dead_spare_gives_way_to_a_fresh_child(spare_allowed, window, qtbot):
    c = window.training
    qtbot.waitUntil(lambda: c.bridge.spare_pid is not None, timeout=10000)
    open_mlp(window, 200)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    running = c.bridge.pid
    qtbot.waitUntil(lambda: c.dashboard.loss_plot.point_count("train_batch") > 0, timeout=120000)
    os.kill(running, signal.SIGKILL)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    assert c.dashboard.status.text().startswith("Crashed")
    spare = c.bridge.spare_pid
    assert spare is not None and spare != running

    os.kill(spare, signal.SIGKILL)  # the spare dies before it is needed: Train still trains, in a fresh child
    qtbot.waitUntil(lambda: gone(spare) or Path(f"/proc/{spare}/stat").read_text().split()[2] == "Z", timeout=10000)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.pid not in (None, spare, running)
    qtbot.waitUntil(lambda: c.dashboard.loss_plot.point_count("train_batch") > 0, timeout=120000)
    qtbot.mouseClick(c.training_panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    assert c.dashboard.status.text().startswith("Stopped")


def test_closing_the_window_ends_its_spare(spare_allowed, window, qtbot):
    bridge = window.training.bridge
    qtbot.waitUntil(lambda: bridge.spare_pid is not None, timeout=10000)
    spare = bridge.spare_pid
    window.discard_changes()
    window.close()
    qtbot.waitUntil(lambda: gone(spare), timeout=10000)
    assert bridge.spare_pid is None
