"""The Help menu's windows: the keyboard shortcuts (read from the window's own actions), the user guide, About."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QVBoxLayout


def typeable(sequence: QKeySequence) -> bool:
    """False for empty sequences and for keys few keyboards have (F13–F35, Save, Undo, Copy keys…).

    Qt's standard bindings on X11 add such keys (Undo is also F14, Save also Shift+Save); a
    shortcut list that shows them reads as noise.
    """
    if sequence.isEmpty():
        return False
    for i in range(sequence.count()):
        key = sequence[i].key()
        if Qt.Key_F13 <= key <= Qt.Key_F35 or key >= Qt.Key_Back:
            return False
    return True


class Help:
    """Help ▸ User Guide, Keyboard Shortcuts and About for `window`."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.guide_dialog = None  # the user guide's window, once shown

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, keys) for every action of the window with a shortcut, training ones included."""
        rows = {}
        for action in self.window.findChildren(QAction):
            keys = ", ".join(s.toString(QKeySequence.NativeText) for s in action.shortcuts() if typeable(s))
            text = action.text().replace("&", "").split("\t")[0].rstrip("…")
            if keys and text and text not in rows:
                rows[text] = keys
        return list(rows.items())

    def show_shortcuts(self) -> None:
        """Every shortcut in one table, the canvas's mouse gestures after them."""
        rows = [f"<tr><td>{text}</td><td>&nbsp;&nbsp;<b>{keys}</b></td></tr>" for text, keys in self.shortcut_rows()]
        rows += ["<tr><td>Add layer at the mouse</td><td>&nbsp;&nbsp;<b>Tab</b> or double-click</td></tr>",
                 "<tr><td>Pan</td><td>&nbsp;&nbsp;<b>middle drag</b> or <b>Space+drag</b></td></tr>",
                 "<tr><td>Zoom</td><td>&nbsp;&nbsp;<b>mouse wheel</b></td></tr>"]
        box = QMessageBox(QMessageBox.NoIcon, "Keyboard shortcuts", "<table>" + "".join(rows) + "</table>",
                          QMessageBox.Ok, self.window)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def user_guide_path(self) -> Path:
        """docs/user-guide.md of this checkout."""
        return Path(__file__).resolve().parents[1] / "docs" / "user-guide.md"

    def show_user_guide(self) -> None:
        """docs/user-guide.md in a window of its own (Markdown rendered by Qt, images included)."""
        from PySide6.QtWidgets import QDialog, QTextBrowser

        path = self.user_guide_path()
        dialog = QDialog(self.window)
        dialog.setObjectName("userGuide")
        dialog.setWindowTitle("NetCanvas user guide")
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        browser = QTextBrowser(dialog)
        browser.setOpenExternalLinks(True)
        browser.setSearchPaths([str(path.parent)])
        browser.setMarkdown(path.read_text(encoding="utf-8") if path.exists() else "The user guide is missing.")
        box = QVBoxLayout(dialog)
        box.addWidget(browser)
        screen = self.window.screen().availableGeometry()
        dialog.resize(min(900, screen.width() - 80), min(760, screen.height() - 80))
        dialog.show()
        self.guide_dialog = dialog

    def show_about(self) -> None:
        """The version and what the app is for."""
        from netcanvas import __version__

        QMessageBox.about(self.window, "About NetCanvas",
                          f"<b>NetCanvas {__version__}</b><br>Design, train and export neural networks as node "
                          f"graphs.<br>Help ▸ User Guide tells how.")
