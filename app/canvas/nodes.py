"""Node items: a card (inputs on top, outputs below) with the node's name, type, key parameters, parameter count and badge."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from app.canvas.ports import PortItem
from app.theme import CATEGORY_COLORS, canvas_colors
from graph_builder.graph import Node

NODE_WIDTH = 180.0
HEADER = 26.0
LINE = 16.0
PORT_GAP = 22.0
GRID = 20.0

_TITLE_FONT = QFont()
_TITLE_FONT.setBold(True)
_TITLE_FONT.setPointSizeF(9.5)
_BODY_FONT = QFont()
_BODY_FONT.setPointSizeF(8.5)


def _format_value(value) -> str:
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value) if all(isinstance(v, int) for v in value) else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_count(n: int) -> str:
    """1234567 -> '1.23 M'."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


class NodeItem(QGraphicsItem):
    """The view of one graph node; ports are child items, wires are updated when it moves."""

    def __init__(self, node: Node, inputs=None, outputs=None):
        super().__init__()
        self.node_id = node.id
        spec = node.spec
        inputs = spec.inputs if inputs is None else inputs  # a block's ports come from its network
        outputs = spec.outputs if outputs is None else outputs
        self.category_color = QColor(CATEGORY_COLORS.get(spec.category, "#5e6b7d"))
        self.type_title = spec.title
        self.badge: str | None = None  # "error" | "warning" | None
        self.param_count: int | None = None
        self.frozen = False  # a lock badge: its weights are not trained
        self._status_tooltip = ""  # the validation status set_status was last given
        self.name = ""
        self.key_text = ""
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setZValue(1)
        self.height = HEADER + 3 * LINE + 14
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        # Networks read top to bottom: inputs along the top edge, outputs along the bottom.
        for ports, is_output, y in ((inputs, False, 0.0), (outputs, True, self.height)):
            left = (NODE_WIDTH - (len(ports) - 1) * PORT_GAP * 2) / 2
            for i, port in enumerate(ports):
                item = PortItem(self, node.id, port.name, is_output, port.multi, port.help, port.title)
                item.setPos(left + i * PORT_GAP * 2, y)
                (self.outputs if is_output else self.inputs)[port.name] = item
        self.edges: list = []  # EdgeItems touching this node (the scene keeps it current)
        self.refresh(node)
        self.setPos(QPointF(*node.pos))

    # ------------------------------------------------------------ model -> view

    def refresh(self, node: Node) -> None:
        """Re-read the name and key parameters from the model node."""
        keys = [p for p in node.spec.params if p.key]
        text = "  ".join(f"{p.name}={_format_value(node.params[p.name])}" for p in keys[:3])
        if node.type_id == "Block":
            text = f"▣ {node.params['network'] or '(no network)'}"
        if (node.name, text, node.frozen) != (self.name, self.key_text, self.frozen):
            self.name, self.key_text, self.frozen = node.name, text, node.frozen
            self.setToolTip(self._tooltip)
            self.update()

    def set_status(self, badge: str | None, tooltip: str, param_count: int | None) -> bool:
        """Set the badge, tooltip and parameter count; repaint only if something changed."""
        changed = (badge, param_count) != (self.badge, self.param_count)
        if changed:
            self.badge, self.param_count = badge, param_count
            self.update()
        self._status_tooltip = tooltip
        if self._tooltip != self.toolTip():
            self.setToolTip(self._tooltip)
            changed = True
        return changed

    @property
    def _tooltip(self) -> str:
        text = self._status_tooltip
        lock = "Frozen: its weights are kept while the rest trains."
        return (f"{text}\n{lock}" if text else lock) if self.frozen else text

    # ------------------------------------------------------------ geometry and painting

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, NODE_WIDTH + 4, self.height + 4)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, self.height), 7, 7)
        return path

    def center(self) -> QPointF:
        return self.pos() + QPointF(NODE_WIDTH / 2, self.height / 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colors = canvas_colors()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        body = QRectF(0, 0, NODE_WIDTH, self.height)
        border = QColor(colors.node_selected) if self.isSelected() else QColor(colors.node_border)
        if self.badge == "error" and not self.isSelected():
            border = QColor(colors.error)
        painter.setPen(QPen(border, 2.2 if self.isSelected() or self.badge == "error" else 1.2))
        painter.setBrush(QColor(colors.node_body))
        painter.drawRoundedRect(body, 7, 7)
        header = QPainterPath()
        header.setFillRule(Qt.WindingFill)  # the two shapes overlap; OddEven would punch a hole
        header.addRoundedRect(QRectF(0.6, 0.6, NODE_WIDTH - 1.2, HEADER), 6.5, 6.5)
        header.addRect(QRectF(0.6, HEADER / 2, NODE_WIDTH - 1.2, HEADER / 2))
        painter.setPen(Qt.NoPen)
        painter.setBrush(self.category_color)
        painter.drawPath(header.simplified())

        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.3:
            return  # zoomed far out: text would be unreadable; skipping it keeps big graphs fast
        painter.setFont(_TITLE_FONT)
        painter.setPen(QColor("#ffffff"))
        right = NODE_WIDTH - (30 if self.badge else 10) - (20 if self.frozen else 0)
        title = QFontMetricsF(_TITLE_FONT).elidedText(self.name, Qt.ElideRight, right - 12)
        painter.drawText(QRectF(12, 0, right - 12, HEADER), Qt.AlignVCenter | Qt.AlignLeft, title)
        if self.badge:
            self._paint_badge(painter, QPointF(NODE_WIDTH - 15, HEADER / 2), colors)
        if self.frozen:
            self._paint_lock(painter, QPointF(NODE_WIDTH - (37 if self.badge else 17), HEADER / 2))

        painter.setFont(_BODY_FONT)
        metrics = QFontMetricsF(_BODY_FONT)
        width = NODE_WIDTH - 28
        y = HEADER + 6
        painter.setPen(QColor(colors.text_dim))
        painter.drawText(QRectF(14, y, width, LINE), Qt.AlignVCenter, self.type_title)
        if self.key_text:
            painter.setPen(QColor(colors.text))
            painter.drawText(QRectF(14, y + LINE, width, LINE), Qt.AlignVCenter,
                             metrics.elidedText(self.key_text, Qt.ElideRight, width))
        if self.param_count:
            painter.setPen(QColor(colors.text_dim))
            painter.drawText(QRectF(14, self.height - LINE - 5, width, LINE), Qt.AlignVCenter | Qt.AlignRight,
                             f"{format_count(self.param_count)} params")

    def _paint_badge(self, painter: QPainter, at: QPointF, colors) -> None:
        color = QColor(colors.error if self.badge == "error" else colors.warning)
        painter.setPen(QPen(QColor("#ffffff"), 1.5))
        painter.setBrush(color)
        painter.drawEllipse(at, 8, 8)
        font = QFont(_TITLE_FONT)
        font.setPointSizeF(8.5)
        painter.setFont(font)
        painter.drawText(QRectF(at.x() - 8, at.y() - 8, 16, 16), Qt.AlignCenter, "!")

    def _paint_lock(self, painter: QPainter, at: QPointF) -> None:
        """A padlock: the node is frozen."""
        painter.setPen(QPen(QColor("#ffffff"), 1.6))
        painter.setBrush(Qt.NoBrush)
        painter.drawArc(QRectF(at.x() - 3.5, at.y() - 8, 7, 8), 0, 180 * 16)  # the shackle
        painter.drawLine(QPointF(at.x() - 3.5, at.y() - 4), QPointF(at.x() - 3.5, at.y() - 1))
        painter.drawLine(QPointF(at.x() + 3.5, at.y() - 4), QPointF(at.x() + 3.5, at.y() - 1))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor("#ffffff"))
        painter.drawRoundedRect(QRectF(at.x() - 5.5, at.y() - 1, 11, 8), 1.5, 1.5)

    # ------------------------------------------------------------ interaction

    def itemChange(self, change, value):
        scene = self.scene()
        if change == QGraphicsItem.ItemPositionChange and scene is not None and scene.snap and not scene._syncing:
            return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        if change == QGraphicsItem.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)
