"""The graph scene: one item per model node and edge, kept in step with the model's events.

Loading a project and live edits take the same path (the Orange canvas way): `set_graph`
replays `_on_node_added` / `_on_edge_added` for what is already there. The scene never edits
the model itself; it hands commands to `editor.push`, so every edit is one undo step.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from app.canvas.edges import EdgeItem, wire_path
from app.canvas.nodes import NodeItem
from app.canvas.ports import PortItem
from app.theme import canvas_colors
from graph_builder.graph import Batch, Connect, Edge, Graph, Move, Node
from graph_builder.shape_math import format_shape
from graph_builder.validation import ERROR, Validation


class GraphScene(QGraphicsScene):
    """Mirrors a Graph; reports hints and refusals through `message`."""

    message = Signal(str)

    def __init__(self, editor=None, parent=None):
        super().__init__(parent)
        self.editor = editor  # app.commands.Editor, or None for a read-only picture
        self.graph: Graph | None = None
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self.snap = True
        self._syncing = False  # model -> view moves must not be pushed back as edits
        self._drag: _WireDrag | None = None
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)

    # ------------------------------------------------------------ model -> view

    def set_graph(self, graph: Graph) -> None:
        """Show `graph` (replacing what was shown) and follow its events."""
        if self.graph is not None:
            self.graph.events.disconnect(self._on_event)
        self._cancel_drag()
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        self.graph = graph
        for node in graph.nodes.values():
            self._on_node_added(node)
        for edge in graph.edges:
            self._on_edge_added(edge)
        graph.events.connect(self._on_event)

    def detach(self) -> None:
        """Stop following the graph (before the scene is thrown away)."""
        if self.graph is not None:
            self.graph.events.disconnect(self._on_event)
            self.graph = None

    def _on_event(self, info) -> None:
        handler = _HANDLERS.get(info.signal.name)
        if handler:
            handler(self, *info.args)

    def _on_node_added(self, node: Node) -> None:
        item = NodeItem(node, self.graph.input_ports(node.id), self.graph.output_ports(node.id))
        self.addItem(item)
        self.nodes[node.id] = item

    def _on_node_removed(self, node: Node) -> None:
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self.removeItem(item)

    def _on_edge_added(self, edge: Edge) -> None:
        src, dst = self.nodes[edge.src], self.nodes[edge.dst]
        if edge.src_port not in src.outputs or edge.dst_port not in dst.inputs:
            return  # a block port its network no longer has: validation says so on the node
        item = EdgeItem(edge, src.outputs[edge.src_port], dst.inputs[edge.dst_port])
        self.addItem(item)
        self.edges[edge] = item
        src.edges.append(item)
        dst.edges.append(item)
        item.src.set_connected(True)
        item.dst.set_connected(True)

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is None:
            return
        for node_id in (edge.src, edge.dst):
            node = self.nodes.get(node_id)
            if node is not None and item in node.edges:
                node.edges.remove(item)
        self.removeItem(item)
        for port in (item.src, item.dst):
            port.set_connected(any(e.src is port or e.dst is port for e in self.edges.values()))

    def _on_node_changed(self, node_id: str, *args) -> None:
        node = self.graph.nodes[node_id]
        if node.type_id == "Block":  # another network: other ports, so a new item
            self.rebuild_node(node_id)
            return
        self.nodes[node_id].refresh(node)

    def rebuild_node(self, node_id: str) -> None:
        """Replace a node's item (its ports changed) and redraw its wires."""
        node = self.graph.nodes[node_id]
        wires = [e for e in self.graph.edges if node_id in (e.src, e.dst)]
        for edge in wires:
            self._on_edge_removed(edge)
        selected = self.nodes[node_id].isSelected()
        self._on_node_removed(node)
        self._on_node_added(node)
        self.nodes[node_id].setSelected(selected)
        for edge in wires:
            self._on_edge_added(edge)

    def _on_node_moved(self, node_id: str, pos) -> None:
        item = self.nodes[node_id]
        if (item.pos().x(), item.pos().y()) != tuple(pos):
            self._syncing = True
            try:
                item.setPos(QPointF(*pos))
            finally:
                self._syncing = False

    def apply_validation(self, validation: Validation, memory_lines: Mapping[str, str] | None = None) -> int:
        """Badges, tooltips, parameter counts and wire labels from a check; returns items changed.

        `memory_lines`: node id -> its training-memory line for the tooltip (graph_builder.memory)."""
        memory_lines = memory_lines or {}
        by_node: dict[str, list] = {}
        for issue in validation.issues:
            for node_id in issue.node_ids:
                by_node.setdefault(node_id, []).append(issue)
        shapes = validation.shapes
        changed = 0
        for node_id, item in self.nodes.items():
            issues = by_node.get(node_id, ())
            badge = None
            if issues:
                badge = "error" if any(i.severity == ERROR for i in issues) else "warning"
            lines = [f"{item.name} ({item.type_title})"]
            out = shapes.out.get(node_id)
            if out is not None:
                lines.append(f"output {format_shape(out)}")
            if node_id in memory_lines:
                lines.append(memory_lines[node_id])
            lines += [("⛔ " if i.severity == ERROR else "⚠ ") + i.message for i in issues]
            changed += item.set_status(badge, "\n".join(lines), shapes.params.get(node_id))
        for edge, item in self.edges.items():
            shape = shapes.edge_shape(edge)
            text = format_shape(shape) if shape is not None else ""
            changed += item.set_label(text, error=edge.dst in shapes.errors)
        return changed

    # ------------------------------------------------------------ queries

    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in graph order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.graph.nodes if n in chosen] if self.graph else []

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids) -> None:
        """Select exactly `node_ids`."""
        wanted = set(node_ids)
        self.clearSelection()
        for node_id in wanted:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

    def node_at(self, scene_pos: QPointF) -> str | None:
        """The id of the node under `scene_pos`, if any."""
        for item in self.items(scene_pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem):
                return item.node_id
        return None

    def port_at(self, scene_pos: QPointF) -> PortItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, PortItem):
                return item
        return None

    def graph_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ------------------------------------------------------------ wire dragging and moves

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.LeftButton and self.editor is not None:
            port = self.port_at(event.scenePos())
            if port is not None:
                self._start_drag(port, event.scenePos())
                event.accept()
                return
        _shift_extends_selection(event)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is not None:
            self._drag.move_to(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is not None:
            drag, self._drag = self._drag, None
            edge, reason = drag.finish(event.scenePos())
            if edge is not None:
                self.editor.push(Connect(edge))
            elif reason:
                self.message.emit(f"Cannot connect: {reason}")
            event.accept()
            return
        _shift_extends_selection(event)
        super().mouseReleaseEvent(event)
        self._commit_moves()

    def _commit_moves(self) -> None:
        """Push one undo step for every node the user dragged to a new place."""
        if self.editor is None or self.graph is None:
            return
        moves = []
        for node_id, item in self.nodes.items():
            pos = (item.pos().x(), item.pos().y())
            if pos != self.graph.nodes[node_id].pos:
                moves.append(Move(node_id, pos))
        if moves:
            self.editor.push(moves[0] if len(moves) == 1 else Batch(moves, f"Move {len(moves)} layers"))

    def _start_drag(self, port: PortItem, pos: QPointF) -> None:
        self._drag = _WireDrag(self, port)
        self._drag.move_to(pos)

    def _cancel_drag(self) -> None:
        if self._drag is not None:
            self._drag.finish(None)
            self._drag = None


def _shift_extends_selection(event: QGraphicsSceneMouseEvent) -> None:
    """Shift-click adds to the selection, as Ctrl-click does in Qt."""
    if event.modifiers() & Qt.ShiftModifier:
        event.setModifiers(event.modifiers() | Qt.ControlModifier)


class _WireDrag:
    """A wire being dragged from a port: highlights compatible ports, refuses with a reason."""

    def __init__(self, scene: GraphScene, port: PortItem):
        self.scene = scene
        self.port = port
        self.reasons: dict[PortItem, str] = {}
        graph = scene.graph
        for item in scene.nodes.values():
            if item.node_id == port.node_id:
                continue
            for other in (item.inputs if port.is_output else item.outputs).values():
                ok, reason = graph.can_connect(self.edge_to(other))
                self.reasons[other] = reason
                other.set_state(PortItem.OK if ok else PortItem.NORMAL)
        self.wire = QGraphicsPathItem()
        self.wire.setZValue(3)
        self.wire.setPen(QPen(QColor(canvas_colors().wire_selected), 2, Qt.DashLine))
        scene.addItem(self.wire)

    def edge_to(self, other: PortItem) -> Edge:
        if self.port.is_output:
            return Edge(self.port.node_id, other.node_id, self.port.name, other.name)
        return Edge(other.node_id, self.port.node_id, other.name, self.port.name)

    def target(self, pos: QPointF) -> PortItem | None:
        port = self.scene.port_at(pos)
        if port in self.reasons:
            return port
        node_id = self.scene.node_at(pos)  # dropping on a node's body picks its first free port
        if node_id and node_id != self.port.node_id:
            item = self.scene.nodes[node_id]
            candidates = item.inputs if self.port.is_output else item.outputs
            if self.port.is_output:
                free = self.scene.graph.free_input_port(node_id)
                if free in candidates:
                    return candidates[free]
            for p in candidates.values():
                return p
        return None

    def move_to(self, pos: QPointF) -> None:
        start = self.port.scenePos()
        self.wire.setPath(wire_path(start, pos) if self.port.is_output else wire_path(pos, start))
        target = self.target(pos)
        colors = canvas_colors()
        refused = target is not None and bool(self.reasons.get(target))
        if target is not None and refused:
            target.set_state(PortItem.REFUSED)
            self.scene.message.emit(f"Cannot connect: {self.reasons[target]}")
        for port, reason in self.reasons.items():
            if port is not target or not refused:
                port.set_state(PortItem.NORMAL if reason else PortItem.OK)
        self.wire.setPen(QPen(QColor(colors.port_refused if refused else colors.wire_selected), 2, Qt.DashLine))

    def finish(self, pos: QPointF | None) -> tuple[Edge | None, str]:
        """Clear highlights; the edge to add (or None and the reason it is refused)."""
        target = self.target(pos) if pos is not None else None
        for port in self.reasons:
            port.set_state(PortItem.NORMAL)
        self.scene.removeItem(self.wire)
        if target is None:
            return None, ""
        reason = self.reasons[target]
        return (None, reason) if reason else (self.edge_to(target), "")


_HANDLERS = {
    "node_added": GraphScene._on_node_added,
    "node_removed": GraphScene._on_node_removed,
    "edge_added": GraphScene._on_edge_added,
    "edge_removed": GraphScene._on_edge_removed,
    "param_changed": GraphScene._on_node_changed,
    "node_renamed": GraphScene._on_node_changed,
    "node_moved": GraphScene._on_node_moved,
    "frozen_changed": GraphScene._on_node_changed,
}
