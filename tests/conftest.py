"""Test-wide settings: Qt always runs offscreen, so tests never need a display."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NETCANVAS_NO_AUTOSAVE_PROMPT", "1")
