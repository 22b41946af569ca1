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


BESIDE = 135.0  # how far right of a port a skip connection runs: clear of a 180-px card


def wire_path(p1: QPointF, p2: QPointF) -> QPainterPath:
    """A vertical S-curve from an output at p1 down to an input at p2."""
    span = p2.y() - p1.y()
    path = QPainterPath(p1)
    if span > 260 and abs(p2.x() - p1.x()) < 170:
        # A skip connection down a column would hide behind the layers it jumps over:
        # run it down a lane beside them and come back in just above its input.
        lane = max(p1.x(), p2.x()) + BESIDE
        # It leaves sideways at once, clear of the shape label on the short wire below the port.
        path.cubicTo(QPointF(p1.x() + 40, p1.y() + 12), QPointF(lane, p1.y() + 4), QPointF(lane, p1.y() + 60))
        path.lineTo(QPointF(lane, p2.y() - 60))
        path.cubicTo(QPointF(lane, p2.y() - 4), QPointF(p2.x() + 40, p2.y() - 12), p2)
        return path
    dy = max(40.0, abs(span) * 0.5)
    path.cubicTo(QPointF(p1.x(), p1.y() + dy), QPointF(p2.x(), p2.y() - dy), p2)
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
