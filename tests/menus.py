"""Driving the window's menus as a user does: the menu bar clicked open, then the entry clicked."""

from __future__ import annotations

from PySide6.QtCore import Qt


def click_menu_entry(qtbot, window, menu_name: str, text: str) -> None:
    """Click menu `menu_name` open in the menu bar, then click its entry reading `text` ("&" and "…" ignored)."""
    menu = window.menu(menu_name)
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible)
    entries = {a.text().replace("&", "").split("\t")[0].rstrip("…"): a for a in menu.actions() if not a.isSeparator()}
    assert text in entries, f"{menu_name} has no entry {text!r}; it has {', '.join(entries)}"
    qtbot.mouseClick(menu, Qt.LeftButton, pos=menu.actionGeometry(entries[text]).center())
    qtbot.waitUntil(lambda: not menu.isVisible())
