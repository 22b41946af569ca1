"""Light and dark palettes follow the system's colour scheme, also when it changes while we run."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app import theme


def background_pixel(window) -> QColor:
    """The colour the canvas really painted in its top-left corner (grid lines avoided)."""
    image = window.view.viewport().grab().toImage()
    return image.pixelColor(3, 3)


def test_switching_the_system_scheme_repaints_the_window_and_canvas(window, qtbot):
    app = QApplication.instance()
    hints = app.styleHints()
    theme.follow_system_theme(app)
    try:
        # Offscreen Qt has no system theme to switch, so send the notification the OS would cause.
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        qtbot.waitUntil(lambda: theme.canvas_colors() is theme.DARK)
        assert app.palette().color(QPalette.Window).lightness() < 80
        qtbot.waitUntil(lambda: background_pixel(window).lightness() < 60)

        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.waitUntil(lambda: theme.canvas_colors() is theme.LIGHT)
        assert app.palette().color(QPalette.Window).lightness() > 200
        qtbot.waitUntil(lambda: background_pixel(window).lightness() > 200)
    finally:
        theme.apply_theme(app, dark=False)


def test_view_theme_dark_holds_while_the_system_switches_and_system_follows_again(window, qtbot):
    app = QApplication.instance()
    theme.follow_system_theme(app)
    try:
        window.theme_actions["dark"].trigger()
        assert theme.canvas_colors() is theme.DARK and window.settings.value("view/theme") == "dark"
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert theme.canvas_colors() is theme.DARK  # a chosen theme is not the system's to change
        window.theme_actions["system"].trigger()
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        qtbot.waitUntil(lambda: theme.canvas_colors() is theme.DARK)
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.waitUntil(lambda: theme.canvas_colors() is theme.LIGHT)
    finally:
        theme.set_theme(app, "light")
        theme.follow_system_theme(app)
        theme.apply_theme(app, dark=False)


def test_a_disabled_button_looks_disabled_in_both_themes(window):
    app = QApplication.instance()
    try:
        for dark in (False, True):
            theme.apply_theme(app, dark=dark)
            palette = app.palette()
            enabled = palette.color(QPalette.Active, QPalette.ButtonText)
            disabled = palette.color(QPalette.Disabled, QPalette.ButtonText)
            assert abs(enabled.lightness() - disabled.lightness()) > 60, dark
    finally:
        theme.apply_theme(app, dark=False)
