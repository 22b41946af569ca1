"""Copy and paste of nodes: internal wires kept, new ids and unique names, offset positions.

The node text (copy_nodes, paste_command) is Qt-free; Clipboard puts it on the system clipboard
for Edit ▸ Cut, Copy, Paste and Duplicate of a window's canvas.
"""

from __future__ import annotations

import atexit
import json

from PySide6.QtCore import QMimeData, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

from graph_builder.graph import AddNode, Batch, Connect, Edge, Graph

GRAPH_MIME = "application/x-netcanvas-nodes"
PASTE_OFFSET = 40.0  # each paste of the same copy lands this much further down and right


def copy_nodes(graph: Graph, node_ids: list[str]) -> str:
    """JSON text for `node_ids` and the wires between them (wires to other nodes are dropped)."""
    chosen = set(node_ids)
    data = graph.to_dict()
    return json.dumps({
        "nodes": [n for n in data["nodes"] if n["id"] in chosen],
        "edges": [e for e in data["edges"] if e["src"] in chosen and e["dst"] in chosen],
    })


def paste_command(graph: Graph, text: str, offset: tuple[float, float]) -> tuple[Batch, list[str]] | None:
    """The edit adding a copy of the copied nodes (None if `text` is not copied nodes)."""
    try:
        data = json.loads(text)
        nodes, edges = data["nodes"], data["edges"]
    except (ValueError, TypeError, KeyError):
        return None
    ids: dict[str, str] = {}
    taken: set[str] = set()
    commands = []
    for raw in nodes:
        try:
            add = graph.add_node_command(raw["type"], params=raw.get("params", {}),
                                         pos=(raw["pos"][0] + offset[0], raw["pos"][1] + offset[1]))
        except (KeyError, TypeError, IndexError, ValueError):
            return None
        add = AddNode(add.node_id, add.type_id, graph.unique_name(raw["name"], taken), add.params, add.pos,
                      frozen=raw.get("frozen") is True)
        taken.add(add.name)
        ids[raw["id"]] = add.node_id
        commands.append(add)
    for e in edges:
        if e["src"] in ids and e["dst"] in ids:
            commands.append(Connect(Edge(ids[e["src"]], ids[e["dst"]], e["src_port"], e["dst_port"])))
    if not commands:
        return None
    count = len(ids)
    return Batch(commands, f"Paste {count} layer{'s' * (count != 1)}"), list(ids.values())


_CLIPBOARD_HOOKED = False


def _hand_clipboard_back_at_exit() -> None:
    """At interpreter exit, swap our Python-made QMimeData for Qt's own plain text.

    Qt deletes the clipboard's QMimeData while Python is finalising; when that object was made
    in Python the process dies with a segmentation fault on the way out. Keeping the copied
    layers as text (what other programs could paste anyway) avoids it and loses nothing.
    """
    global _CLIPBOARD_HOOKED
    if _CLIPBOARD_HOOKED:
        return
    _CLIPBOARD_HOOKED = True

    def hand_back() -> None:
        app = QApplication.instance()
        if app is None:
            return
        clipboard = QApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasFormat(GRAPH_MIME):
            clipboard.setText(mime.text())

    atexit.register(hand_back)


class Clipboard(QObject):
    """Edit ▸ Cut, Copy, Paste and Duplicate on `window`'s canvas (its scene, editor and status bar)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.pastes = 0  # pastes of the current copy: each one lands further from the original

    def copy(self) -> bool:
        """Copy the selected layers (and the wires between them) to the clipboard."""
        nodes = self.window.scene.selected_node_ids()
        if not nodes:
            self.window.status_message("Select layers to copy")
            return False
        mime = QMimeData()
        text = copy_nodes(self.window.editor.graph, nodes)
        mime.setData(GRAPH_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        _hand_clipboard_back_at_exit()
        self.pastes = 0
        return True

    def cut(self) -> None:
        """Copy the selected layers, then delete them (one undo step)."""
        if self.copy():
            self.window.design.delete_selection()

    def paste(self, text: str | None = None) -> list[str]:
        """Paste copied layers next to the originals; returns the new ids (selected afterwards)."""
        if text is None:
            mime = QApplication.clipboard().mimeData()
            if mime is None or not mime.hasFormat(GRAPH_MIME):
                self.window.status_message("Nothing to paste: copy some layers first")
                return []
            text = bytes(mime.data(GRAPH_MIME)).decode("utf-8")
        self.pastes += 1
        offset = PASTE_OFFSET * self.pastes
        result = paste_command(self.window.editor.graph, text, (offset, offset))
        if result is None:
            self.window.status_message("The clipboard does not hold NetCanvas layers")
            return []
        command, ids = result
        if not self.window.editor.push(command):
            return []
        self.window.scene.select_nodes(ids)
        return ids

    def duplicate(self) -> list[str]:
        """Paste a copy of the selected layers beside them, leaving the clipboard as it was."""
        nodes = self.window.scene.selected_node_ids()
        if not nodes:
            return []
        self.pastes = 0
        return self.paste(copy_nodes(self.window.editor.graph, nodes))
