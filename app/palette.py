"""The layer palette (every catalog layer by category, searchable, draggable) and quick-add popup."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QLineEdit, QListWidget, QListWidgetItem,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from app.canvas.view import LAYER_MIME
from app.theme import CATEGORY_COLORS
from graph_builder.catalog import LayerSpec, all_specs, categories

TYPE_ROLE = Qt.UserRole + 1
BLOCK_PREFIX = "Block:"  # a palette entry "Block:Name" adds a Block standing for network Name


def block_entry(network: str) -> str:
    """The palette/drag id of a block standing for `network`."""
    return f"{BLOCK_PREFIX}{network}"


def matches(spec: LayerSpec, text: str) -> bool:
    """True when every word of `text` appears in the layer's id, title, category or help."""
    hay = f"{spec.type_id} {spec.title} {spec.category} {spec.help}".lower()
    return all(word in hay for word in text.lower().split())


def rank(spec: LayerSpec, text: str) -> tuple:
    """Sort key: exact and prefix matches on the type id first."""
    t, q = spec.type_id.lower(), text.lower().strip()
    return (t != q, not t.startswith(q), q not in t, spec.type_id)


def tooltip(spec: LayerSpec) -> str:
    params = ", ".join(p.name for p in spec.params) or "none"
    return f"<b>{spec.title}</b> <i>({spec.category})</i><br>{spec.help}<br><br>Parameters: {params}"


class _LayerTree(QTreeWidget):
    """Tree whose drags carry the layer's type id."""

    def mimeData(self, items):
        mime = QMimeData()
        type_ids = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        if type_ids:
            mime.setData(LAYER_MIME, type_ids[0].encode("utf-8"))
        return mime

    def mimeTypes(self):
        return [LAYER_MIME]


class Palette(QWidget):
    """Every layer grouped by category; drag one onto the canvas or press Enter to add it."""

    add_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search layers…  (Ctrl+F)")
        self.search.setObjectName("paletteSearch")
        self.search.setClearButtonEnabled(True)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.blocks_group: QTreeWidgetItem | None = None
        for category, specs in categories().items():
            specs = [s for s in specs if s.type_id != "Block"]  # blocks are listed per network below
            group = QTreeWidgetItem(self.tree, [category])
            if category == "Blocks":
                self.blocks_group = group
            group.setFlags(Qt.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setForeground(0, QColor(CATEGORY_COLORS.get(category, "#5e6b7d")))
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.title])
                item.setData(0, TYPE_ROLE, spec.type_id)
                item.setToolTip(0, tooltip(spec))
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self.items[spec.type_id] = item
        self.set_networks([])
        self.tree.expandAll()
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemActivated.connect(self._on_activated)

    def set_networks(self, names: list[str]) -> None:
        """List the project's other networks under Blocks: drag one in (or press Enter) to use it."""
        group = self.blocks_group
        if group is None:
            return
        for key in [k for k in self.items if k.startswith(BLOCK_PREFIX)]:
            del self.items[key]
        group.takeChildren()
        for name in names:
            item = QTreeWidgetItem(group, [name])
            item.setData(0, TYPE_ROLE, block_entry(name))
            item.setToolTip(0, f"<b>{name}</b> <i>(a network of this project)</i><br>Add it here as a block: its "
                               "Inputs and Outputs become the block's ports. Double-click the block to open it.")
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            self.items[block_entry(name)] = item
        if not names:
            hint = QTreeWidgetItem(group, ["select layers, then Ctrl+G"])
            hint.setToolTip(0, "Group layers into a block (Edit ▸ Group into Block) or add a network "
                               "(Network ▸ New Network); the project's other networks are listed here.")
            hint.setFlags(Qt.ItemIsEnabled)
            hint.setForeground(0, QColor("#8a8f98"))
        group.setExpanded(True)
        if self.search.text():
            self._on_search(self.search.text())

    def _on_search(self, text: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                if not item.data(0, TYPE_ROLE):
                    item.setHidden(bool(text))
                    continue
                hit = matches(self.spec_of(item), text) or text.lower() in item.text(0).lower()
                item.setHidden(not hit)
                shown += hit
            group.setHidden(shown == 0)

    @staticmethod
    def spec_of(item: QTreeWidgetItem) -> LayerSpec:
        from graph_builder.catalog import get_spec

        type_id = item.data(0, TYPE_ROLE)
        return get_spec("Block" if type_id.startswith(BLOCK_PREFIX) else type_id)

    def visible_type_ids(self) -> list[str]:
        return [t for t, item in self.items.items() if not item.isHidden() and not item.parent().isHidden()]

    def _add_first_visible(self) -> None:
        visible = self.visible_type_ids()
        if visible:
            self.add_requested.emit(sorted(visible, key=lambda t: rank(self.spec_of(self.items[t]),
                                                                        self.search.text()))[0])

    def _on_activated(self, item: QTreeWidgetItem) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.add_requested.emit(type_id)


class QuickAdd(QFrame):
    """A popup with type-to-filter: Enter adds the highlighted layer, Escape closes."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        self.search = QLineEdit(placeholderText="Add layer…")
        self.search.setObjectName("quickAddSearch")
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(280, 320)
        self._specs = [s for s in all_specs() if s.type_id != "Block"]  # blocks come from the palette
        self.search.textChanged.connect(self._fill)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self._fill("")

    def _fill(self, text: str) -> None:
        self.list.clear()
        for spec in sorted((s for s in self._specs if matches(s, text)), key=lambda s: rank(s, text)):
            item = QListWidgetItem(f"{spec.title}    ·  {spec.category}")
            item.setData(TYPE_ROLE, spec.type_id)
            item.setToolTip(spec.help)
            self.list.addItem(item)
        self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.KeyPress:
            if event.key() in (Qt.Key_Down, Qt.Key_Up):
                row = self.list.currentRow() + (1 if event.key() == Qt.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if event.key() in (Qt.Key_Return, Qt.Key_Enter):
                self._choose(self.list.currentItem())
                return True
        return super().eventFilter(obj, event)

    def _choose(self, item) -> None:
        if item is not None:
            type_id = item.data(TYPE_ROLE)
            self.close()
            self.chosen.emit(type_id)

    def popup(self, global_pos: QPoint) -> None:
        """Show at `global_pos` with an empty filter and the keyboard in the search box."""
        self.search.clear()
        self.move(global_pos)
        self.show()
        self.search.setFocus()
