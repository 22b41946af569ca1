"""Edge items: Bézier wires between ports, labelled with the tensor shape they carry."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from app.canvas.ports import PortItem
from app.theme import canvas_colors
from graph_builder.graph import Edge

_LABEL_FONT = QFont()
_LABEL_FONT.setPointSizeF(8)
_METRICS = None


def wire_path(p1: QPointF, p2: QPointF) -> QPainterPath:
    """A horizontal S-curve from an output at p1 to an input at p2."""
    span = p2.x() - p1.x()
    dx = max(40.0, abs(span) * 0.5)
    path = QPainterPath(p1)
    if span > 420 and abs(p2.y() - p1.y()) < 60:
        # A skip connection along a row would hide behind the layers it jumps over: arc above them.
        lift = min(260.0, 90.0 + 0.1 * span)
        path.cubicTo(QPointF(p1.x() + 120, p1.y() - lift), QPointF(p2.x() - 120, p2.y() - lift), p2)
        return path
    path.cubicTo(QPointF(p1.x() + dx, p1.y()), QPointF(p2.x() - dx, p2.y()), p2)
    return path


class EdgeItem(QGraphicsPathItem):
    """The view of one model Edge; `label` is the shape text drawn at the wire's middle."""

    def __init__(self, edge: Edge, src: PortItem, dst: PortItem):
        super().__init__()
        self.edge = edge
        self.src = src
        self.dst = dst
        self.label = ""
        self.error = False
        self._label_rect = QRectF()
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self.update_path()

    def update_path(self) -> None:
        """Recompute the curve from the two ports' scene positions."""
        self.prepareGeometryChange()
        self.setPath(wire_path(self.src.scenePos(), self.dst.scenePos()))
        self._place_label()

    def set_label(self, text: str, error: bool = False) -> bool:
        """Show `text` on the wire; repaint only if it changed."""
        if (text, error) == (self.label, self.error):
            return False
        self.prepareGeometryChange()
        self.label, self.error = text, error
        self._place_label()
        self.update()
        return True

    def _place_label(self) -> None:
        global _METRICS
        if not self.label:
            self._label_rect = QRectF()
            return
        if _METRICS is None:
            _METRICS = QFontMetricsF(_LABEL_FONT)
        mid = self.path().pointAtPercent(0.5)
        w = _METRICS.horizontalAdvance(self.label) + 10
        h = _METRICS.height() + 4
        self._label_rect = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)

    def boundingRect(self) -> QRectF:
        rect = super().boundingRect().adjusted(-3, -3, 3, 3)
        return rect.united(self._label_rect) if self.label else rect

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colors = canvas_colors()
        painter.setRenderHint(QPainter.Antialiasing)
        color = colors.wire_selected if self.isSelected() else (colors.error if self.error else colors.wire)
        painter.setPen(QPen(QColor(color), 2.4 if self.isSelected() else 1.8))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
        if self.label and option.levelOfDetailFromTransform(painter.worldTransform()) >= 0.3:
            painter.setPen(QPen(QColor(colors.node_border), 0.8))
            painter.setBrush(QColor(colors.wire_label_bg))
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setFont(_LABEL_FONT)
            painter.setPen(QColor(colors.error if self.error else colors.text))
            painter.drawText(self._label_rect, Qt.AlignCenter, self.label)
