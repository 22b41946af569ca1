"""The window's layout rules at the two screen sizes people use most: 1366×768 and 1920×1080.

Each size needs its own screen, so each runs tests/app/layout_rules.py in a child process on an
offscreen screen of that size, through every workspace, with the residual CNN open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from tests.app.layout_rules import broken_rules

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_every_workspace_fits_the_screen_with_no_clipped_label_or_tab_or_sideways_scroll(tmp_path, width, height):
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(ROOT),
               NETCANVAS_SETTINGS_DIR=str(tmp_path / "settings"), NETCANVAS_NO_AUTOSAVE_PROMPT="1")
    done = subprocess.run([sys.executable, "-m", "tests.app.layout_rules",
                           str(ROOT / "resources" / "templates" / "residual_cnn_digits.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_rules_catch_a_clipped_label_an_elided_tab_and_a_sideways_scroll(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    box = QVBoxLayout(window)
    label = QLabel("a label far too long for the forty pixels it is given")
    label.setFixedWidth(40)
    area = QScrollArea()
    inner = QWidget()
    inner.setMinimumWidth(2000)
    area.setWidget(inner)
    area.setFixedWidth(200)
    tabs = QTabWidget()
    tabs.setElideMode(Qt.ElideRight)
    tabs.addTab(QWidget(), "Confusion matrix")
    tabs.addTab(QWidget(), "Per-class metrics")
    tabs.setFixedWidth(150)
    box.addWidget(label)
    box.addWidget(area)
    box.addWidget(tabs)
    window.show()
    qtbot.waitExposed(window)
    problems = broken_rules(window, "test")
    assert any("needs" in p and "label" in p for p in problems)
    assert any("scrolls sideways" in p for p in problems)
    assert any("tab 'Per-class metrics'" in p for p in problems), problems
