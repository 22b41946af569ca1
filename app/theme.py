"""Light and dark palettes that follow the system colour scheme, and the canvas colours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QGraphicsView

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass(frozen=True)
class CanvasColors:
    """Colours the canvas items paint with (one set per scheme)."""

    background: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_selected: str
    text: str
    text_dim: str
    wire: str
    wire_selected: str
    wire_label_bg: str
    port: str
    port_ok: str
    port_refused: str
    error: str
    warning: str


LIGHT = CanvasColors(
    background="#f4f5f7", grid_minor="#e6e8ec", grid_major="#d5d9e0", node_body="#ffffff",
    node_border="#b8bec9", node_selected="#2f80ed", text="#1f2430", text_dim="#5c6370",
    wire="#7b8494", wire_selected="#2f80ed", wire_label_bg="#ffffffdd", port="#6b7280",
    port_ok="#27ae60", port_refused="#d64545", error="#d64545", warning="#e0a100",
)
DARK = CanvasColors(
    background="#1e2127", grid_minor="#262a31", grid_major="#30353e", node_body="#2b3039",
    node_border="#454c59", node_selected="#5aa0ff", text="#e6e9ef", text_dim="#a0a8b6",
    wire="#8a93a3", wire_selected="#5aa0ff", wire_label_bg="#1e2127dd", port="#a0a8b6",
    port_ok="#3ccf7a", port_refused="#ff6b6b", error="#ff6b6b", warning="#f2c14e",
)

# Title-bar colour per catalog category (same hue in both schemes, readable with white text).
CATEGORY_COLORS = {
    "Input/Output": "#3a7d44",
    "Core": "#2f6fb5",
    "Convolution": "#7b4fb3",
    "Pooling": "#4b6cb7",
    "Normalization": "#b5762f",
    "Regularization": "#8a6d3b",
    "Activation": "#c0504d",
    "Recurrent": "#2d8a8a",
    "Attention": "#a0438f",
    "Merge": "#5e6b7d",
    "Reshape": "#56708a",
    "Blocks": "#1f7a6b",
}

_current = LIGHT


def canvas_colors() -> CanvasColors:
    """The colours for the scheme in use."""
    return _current


def is_dark() -> bool:
    """True when the system asks for a dark colour scheme."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, dark: bool | None = None) -> None:
    """Fusion style, a palette and a stylesheet for the light or dark scheme (system default)."""
    global _current
    dark = is_dark() if dark is None else dark
    _current = DARK if dark else LIGHT
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if dark else _light_palette())
    sheet = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    extra = RESOURCES / ("style-dark.qss" if dark else "style-light.qss")
    if extra.exists():
        sheet += "\n" + extra.read_text(encoding="utf-8")
    app.setStyleSheet(sheet)


THEMES = ("system", "light", "dark")  # View ▸ Theme
_choice = "system"


def follow_system_theme(app: QApplication, choice: str = "system") -> None:
    """Apply the chosen theme now; with "system", again whenever the user switches the system's."""
    global _choice
    _choice = choice if choice in THEMES else "system"
    apply_theme(app, None if _choice == "system" else _choice == "dark")
    app.styleHints().colorSchemeChanged.connect(lambda scheme: _choice == "system" and _restyle(app, scheme))


def set_theme(app: QApplication, choice: str) -> None:
    """Switch to `choice` (system, light or dark) while running."""
    global _choice
    if choice not in THEMES:
        raise ValueError(f"the theme is one of {', '.join(THEMES)}, not {choice!r}")
    _choice = choice
    _restyle(app, None if choice == "system" else (Qt.ColorScheme.Dark if choice == "dark" else Qt.ColorScheme.Light))


def theme_choice() -> str:
    return _choice


def _restyle(app: QApplication, scheme: Qt.ColorScheme | None) -> None:
    apply_theme(app, dark=None if scheme is None else scheme == Qt.ColorScheme.Dark)
    for widget in app.allWidgets():  # canvas items read canvas_colors() when they paint
        if isinstance(widget, QGraphicsView):
            widget.resetCachedContent()
            widget.viewport().update()


def _light_palette() -> QPalette:
    p = QPalette()
    for role, color in (
        (QPalette.Window, "#eef0f3"), (QPalette.Base, "#ffffff"), (QPalette.AlternateBase, "#f5f6f8"),
        (QPalette.Text, "#1f2430"), (QPalette.WindowText, "#1f2430"), (QPalette.Button, "#f3f4f6"),
        (QPalette.ButtonText, "#1f2430"), (QPalette.Highlight, "#2f80ed"),
        (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#ffffff"),
        (QPalette.ToolTipText, "#1f2430"), (QPalette.PlaceholderText, "#8a919c"),
    ):
        p.setColor(role, QColor(color))
    _dim_disabled(p, text="#a3a9b3", button="#e4e6ea")
    return p


def _dim_disabled(p: QPalette, text: str, button: str) -> None:
    """A disabled control must look disabled: greyed text on a flatter button (setColor above set every group)."""
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, QColor(text))
    p.setColor(QPalette.Disabled, QPalette.Button, QColor(button))


def _dark_palette() -> QPalette:
    p = QPalette()
    for role, color in (
        (QPalette.Window, "#252830"), (QPalette.Base, "#1e2127"), (QPalette.AlternateBase, "#2a2e36"),
        (QPalette.Text, "#e6e9ef"), (QPalette.WindowText, "#e6e9ef"), (QPalette.Button, "#2f343d"),
        (QPalette.ButtonText, "#e6e9ef"), (QPalette.Highlight, "#3d7bd9"),
        (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#2b3039"),
        (QPalette.ToolTipText, "#e6e9ef"), (QPalette.PlaceholderText, "#7d8594"),
    ):
        p.setColor(role, QColor(color))
    _dim_disabled(p, text="#6b7280", button="#292d35")
    return p


def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg (an empty icon if the file is missing)."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
