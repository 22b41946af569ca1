"""Port items: the small circles on a node's top and bottom edges where wires start and end."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from app.theme import canvas_colors

PORT_RADIUS = 5.5
HIT_RADIUS = 10.0


class PortItem(QGraphicsItem):
    """One input or output port of a node; `state` drives highlighting during a wire drag."""

    NORMAL, OK, REFUSED = "normal", "ok", "refused"

    def __init__(self, parent: QGraphicsItem, node_id: str, name: str, is_output: bool, multi: bool,
                 help_text: str = "", label: str = ""):
        super().__init__(parent)
        self.node_id = node_id
        self.name = name
        self.is_output = is_output
        self.multi = multi
        self.state = self.NORMAL
        self.connected = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)
        kind = "output" if is_output else ("input (takes several wires)" if multi else "input")
        self.setToolTip(f"{label or name}: {kind}" + (f"\n{help_text}" if help_text else "")
                        + "\nDrag to another port to connect.")
        self.setZValue(2)

    def boundingRect(self) -> QRectF:
        return QRectF(-HIT_RADIUS, -HIT_RADIUS, 2 * HIT_RADIUS, 2 * HIT_RADIUS)

    def set_state(self, state: str) -> None:
        """Highlight as normal, compatible (ok) or refused."""
        if state != self.state:
            self.state = state
            self.update()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colors = canvas_colors()
        painter.setRenderHint(QPainter.Antialiasing)
        ring = {self.OK: colors.port_ok, self.REFUSED: colors.port_refused}.get(self.state)
        if ring:
            painter.setPen(QPen(QColor(ring), 2.5))
            painter.setBrush(Qt.NoBrush)
            painter.drawEllipse(QPointF(0, 0), PORT_RADIUS + 3.5, PORT_RADIUS + 3.5)
        painter.setPen(QPen(QColor(colors.port), 1.5))
        painter.setBrush(QBrush(QColor(colors.port if self.connected else colors.node_body)))
        if self.multi:
            painter.drawRoundedRect(QRectF(-PORT_RADIUS - 3, -PORT_RADIUS, 2 * PORT_RADIUS + 6,
                                           2 * PORT_RADIUS), 4, 4)
        else:
            painter.drawEllipse(QPointF(0, 0), PORT_RADIUS, PORT_RADIUS)
