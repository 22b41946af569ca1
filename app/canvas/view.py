"""The canvas view: zoom under the mouse, pan (middle drag or space+drag), grid, drops, quick-add."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView

from app.canvas.nodes import GRID
from app.theme import canvas_colors

LAYER_MIME = "application/x-netcanvas-layer"
MIN_ZOOM, MAX_ZOOM = 0.08, 4.0
READABLE_ZOOM = 0.6  # below this a card's title is too small to read: Fit to View stops here
FIT_MARGIN = 24.0  # scene pixels around the fitted network (its shape labels reach past the cards)


class GraphView(QGraphicsView):
    """Shows a GraphScene; asks the window to add layers (drops, quick-add) or open files."""

    layer_dropped = Signal(str, QPointF)  # type id, scene position of the drop
    quick_add_requested = Signal(QPointF)  # scene position where the layer should go
    file_dropped = Signal(str)
    node_double_clicked = Signal(str)  # node id (a block opens its network)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSceneRect(QRectF(-50_000, -50_000, 100_000, 100_000))
        self.show_grid = True
        self._pan_from: QPoint | None = None
        self._space = False

    # ------------------------------------------------------------ zoom and pan

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Scale about the mouse (or the centre), within sensible limits."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        if factor != 1.0:
            self.scale(factor, factor)

    def fit_all(self) -> None:
        """Show the whole graph (or the selection), but never below READABLE_ZOOM: then show its top."""
        scene = self.scene()
        items = [i for i in scene.selectedItems() if i.parentItem() is None] or list(scene.nodes.values())
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self.fitInView(rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN), Qt.KeepAspectRatio)
        zoom = min(1.25, max(READABLE_ZOOM, self.zoom()))
        if zoom != self.zoom():
            self.zoom_about_center(zoom / self.zoom())
        self.show_rect(rect)

    def show_graph(self) -> None:
        """Fit the whole graph as Fit to View does (the form a freshly opened network takes)."""
        self.fit_all()

    def actual_size(self) -> None:
        """Zoom 100 %, centred on the network (its top when it is taller than the view)."""
        self.resetTransform()
        self.show_rect(self.scene().graph_rect())

    def show_rect(self, rect: QRectF) -> None:
        """Centre on `rect`; where it is taller or wider than the view, show its top-left part."""
        if rect.isEmpty():
            self.centerOn(0, 0)
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        x = rect.center().x() if rect.width() + 80 <= visible.width() else rect.left() - 40 + visible.width() / 2
        y = rect.center().y() if rect.height() + 80 <= visible.height() else rect.top() - 40 + visible.height() / 2
        self.centerOn(x, y)

    def zoom_about_center(self, factor: float) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.AnchorViewCenter)
        self.scale(factor, factor)
        self.setTransformationAnchor(anchor)

    def center_on_node(self, node_id: str) -> None:
        item = self.scene().nodes.get(node_id)
        if item is not None:
            self.centerOn(item.center())

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
            event.accept()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view contents by (dx, dy) pixels."""
        # Scroll bars count whole pixels: moving them by the mouse's delta is exact, where
        # centerOn() rounds on every move and a slow drag would drift behind the mouse.
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(dx))
        v.setValue(v.value() - round(dy))

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        pos = self.mapToScene(event.position().toPoint())
        node_id = self.scene().node_at(pos) if event.button() == Qt.LeftButton else None
        if event.button() == Qt.LeftButton and node_id is None:
            self.quick_add_requested.emit(pos)
            event.accept()
            return
        if node_id is not None:
            self.node_double_clicked.emit(node_id)
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key_Tab and not event.modifiers():
            self.quick_add_requested.emit(self.cursor_scene_pos())
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens the quick-add popup instead of moving focus

    def cursor_scene_pos(self) -> QPointF:
        """The scene position under the mouse, or the view's centre when the mouse is outside."""
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local)

    def visible_center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # ------------------------------------------------------------ drops

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or _project_url(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or _project_url(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasFormat(LAYER_MIME):
            type_id = bytes(mime.data(LAYER_MIME)).decode("utf-8")
            self.layer_dropped.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        elif path := _project_url(mime):
            self.file_dropped.emit(path)
            event.acceptProposedAction()
        else:
            event.ignore()

    # ------------------------------------------------------------ grid

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        colors = canvas_colors()
        painter.fillRect(rect, QColor(colors.background))
        if not self.show_grid:
            return
        zoom = self.zoom()
        for step, color, min_zoom in ((GRID, colors.grid_minor, 0.45), (GRID * 5, colors.grid_major, 0.1)):
            if zoom < min_zoom:
                continue
            left = int(rect.left() // step) * step
            top = int(rect.top() // step) * step
            lines = []
            x = left
            while x < rect.right():
                lines.append(QLineF(x, rect.top(), x, rect.bottom()))
                x += step
            y = top
            while y < rect.bottom():
                lines.append(QLineF(rect.left(), y, rect.right(), y))
                y += step
            painter.setPen(QPen(QColor(color), 0))
            painter.drawLines(lines)


def _project_url(mime) -> str | None:
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(".json"):
                return url.toLocalFile()
    return None
