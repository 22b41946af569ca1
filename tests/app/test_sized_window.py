"""Runs tests/app/sized_window.py (pytest-qt tests that resize the window to 1366×768 or 1920×1080) in a
child pytest on an offscreen screen of 1920×1080: the default offscreen screen (800×800) cannot hold
such a window, and a screen is chosen once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_fits_its_content_at_1366x768_and_1920x1080(tmp_path):
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": 1920, "height": 1080,
                                               "logicalDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "app" / "sized_window.py")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=500)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
