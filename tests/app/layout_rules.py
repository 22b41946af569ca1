"""Checks the window's layout rules on the screen it runs on; run as a script by test_layout_rules.py.

    python -m tests.app.layout_rules PROJECT.json   (under QT_QPA_PLATFORM=offscreen:configfile=…)

Prints one JSON list of broken rules: a label whose text does not fit its width, a tab whose
title is elided or pushed behind the scroll arrows, a scroll area showing a horizontal scroll bar,
a window that reaches past the screen, for every workspace and the start page.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (QAbstractButton, QApplication, QLabel, QScrollArea, QTabBar, QToolButton,
                               QWidget)


def _text_width(label: QLabel) -> float:
    """The width the label's longest line needs (rich text measured as Qt lays it out)."""
    text = label.text()
    rich = label.textFormat() == Qt.RichText or (label.textFormat() == Qt.AutoText and "<" in text and ">" in text)
    if rich:
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        return doc.idealWidth()
    return max((label.fontMetrics().horizontalAdvance(line) for line in text.splitlines()), default=0)


def _icon_only(button: QAbstractButton) -> bool:
    return isinstance(button, QToolButton) and button.toolButtonStyle() == Qt.ToolButtonIconOnly


def _clipped_tabs(bar: QTabBar, where: str) -> list[str]:
    """Tabs drawn narrower than their title needs (elided) or reaching past the bar (behind its scroll arrows)."""
    problems = []
    horizontal = bar.shape() in (QTabBar.RoundedNorth, QTabBar.RoundedSouth, QTabBar.TriangularNorth,
                                 QTabBar.TriangularSouth)
    for i in range(bar.count()):
        if not bar.isTabVisible(i) or not bar.tabText(i):
            continue
        rect, hint = bar.tabRect(i), bar.tabSizeHint(i)
        given, wanted = (rect.width(), hint.width()) if horizontal else (rect.height(), hint.height())
        if given < wanted:
            problems.append(f"{where}: tab {bar.tabText(i)!r} needs {wanted} px, has {given}")
        elif not bar.rect().contains(rect):
            problems.append(f"{where}: tab {bar.tabText(i)!r} reaches past its tab bar (behind the scroll arrows)")
    return problems


def broken_rules(window, where: str) -> list[str]:
    """Every rule the window breaks as it is shown now."""
    problems = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.window() is not window:
            continue
        if isinstance(widget, QLabel) and not widget.wordWrap() and widget.pixmap().isNull():
            need = _text_width(widget)
            room = widget.contentsRect().width() - 2 * widget.margin() - max(widget.indent(), 0)
            if widget.text().strip() and need > room + 1:
                problems.append(f"{where}: label {widget.text()[:60]!r} needs {need:.0f} px, has {room}")
        elif isinstance(widget, QAbstractButton) and widget.text() and not _icon_only(widget):
            need = widget.fontMetrics().horizontalAdvance(widget.text().replace("&", ""))
            if need > widget.width():
                problems.append(f"{where}: button {widget.text()!r} needs {need} px, has {widget.width()}")
        elif isinstance(widget, QTabBar):
            problems += _clipped_tabs(widget, where)
        elif isinstance(widget, QScrollArea) and widget.horizontalScrollBar().isVisible():
            problems.append(f"{where}: {widget.objectName() or type(widget.widget()).__name__} scrolls sideways")
    screen = window.screen().availableGeometry()
    if not screen.contains(window.frameGeometry()):
        problems.append(f"{where}: window {window.frameGeometry()} reaches past the screen {screen}")
    return problems


def main(path: str) -> int:
    app = QApplication([])
    app.setOrganizationName("NetCanvas")
    from app.main_window import MainWindow

    window = MainWindow()
    window.show()
    window.open_project(path)
    problems = []
    for name in window.workspaces.names():
        window.workspaces.show(name)
        for _ in range(5):
            app.processEvents()
        problems += broken_rules(window, f"{window.screen().size().width()}: {name}")
    window.show_start_page()
    for _ in range(5):
        app.processEvents()
    problems += broken_rules(window, f"{window.screen().size().width()}: start page")
    print(json.dumps(problems))
    window.discard_changes()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
