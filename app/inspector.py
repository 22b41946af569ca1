"""The inspector: editors built from each parameter's spec, rename, help, inferred values.

The editors come from the one editor factory (app.fields), as the settings forms' do. Model ->
view updates happen inside QSignalBlocker so they never loop back as edits (napari). A value the
model refuses is reported next to its field and the field shows the kept value.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QFrame, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from app.commands import Editor
from app.fields import FieldEditor
from graph_builder.graph import Graph, Rename, SetFrozen, SetParam
from graph_builder.shape_math import format_shape
from graph_builder.validation import Validation

class Inspector(QWidget):
    """Shows and edits the selected node."""

    field_menu_requested = Signal(str, str, object, object)  # node id, parameter, the label right-clicked, point

    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.node_id: str | None = None
        self.frozen_box: QCheckBox | None = None
        self.fields: dict[str, QWidget] = {}
        self.editors: dict[str, FieldEditor] = {}
        self.errors: dict[str, QLabel] = {}
        self._validation: Validation | None = None
        self._graph: Graph | None = None
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        self._body = QWidget()
        scroll.setWidget(self._body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self._follow(editor.graph)
        editor.graph_replaced.connect(self._on_graph_replaced)
        self.show_nodes([])

    # ------------------------------------------------------------ following the model

    def _follow(self, graph: Graph) -> None:
        if self._graph is not None:
            self._graph.events.param_changed.disconnect(self._on_param_changed)
            self._graph.events.node_renamed.disconnect(self._on_node_renamed)
            self._graph.events.node_removed.disconnect(self._on_node_removed)
            self._graph.events.frozen_changed.disconnect(self._on_frozen_changed)
        self._graph = graph
        graph.events.frozen_changed.connect(self._on_frozen_changed)
        graph.events.param_changed.connect(self._on_param_changed)
        graph.events.node_renamed.connect(self._on_node_renamed)
        graph.events.node_removed.connect(self._on_node_removed)

    def _on_graph_replaced(self, graph: Graph) -> None:
        self._follow(graph)
        self.show_nodes([])

    def detach(self) -> None:
        """Stop following the model (the window is closing)."""
        if self._graph is not None:
            self._graph.events.param_changed.disconnect(self._on_param_changed)
            self._graph.events.node_renamed.disconnect(self._on_node_renamed)
            self._graph.events.node_removed.disconnect(self._on_node_removed)
            self._graph.events.frozen_changed.disconnect(self._on_frozen_changed)
            self._graph = None

    def _on_param_changed(self, node_id: str, name: str, value: Any) -> None:
        if node_id == self.node_id and name in self.fields:
            self._show_value(name, value)
            self.errors[name].hide()

    def _on_node_renamed(self, node_id: str, name: str) -> None:
        if node_id == self.node_id:
            with QSignalBlocker(self.name_edit):
                self.name_edit.setText(name)
            self.name_error.hide()

    def _on_frozen_changed(self, node_id: str, frozen: bool) -> None:
        if node_id == self.node_id and self.frozen_box is not None:
            with QSignalBlocker(self.frozen_box):
                self.frozen_box.setChecked(frozen)

    def _on_frozen_toggled(self, checked: bool) -> None:
        if self.node_id is not None:
            self.editor.push(SetFrozen((self.node_id,), bool(checked)))

    def _on_node_removed(self, node) -> None:
        if node.id == self.node_id:
            self.show_nodes([])

    # ------------------------------------------------------------ building the form

    def show_nodes(self, node_ids: list[str]) -> None:
        """Edit the one selected node, or say what is selected."""
        self._clear()
        self.fields, self.editors, self.errors = {}, {}, {}
        self.node_id = node_ids[0] if len(node_ids) == 1 else None
        self.frozen_box: QCheckBox | None = None
        if self.node_id is None:
            text = (f"{len(node_ids)} layers selected." if node_ids
                    else "Select a layer to edit its parameters. Add layers from the palette, "
                         "or press Tab on the canvas.")
            self.overview = QLabel()
            self.overview.setTextFormat(Qt.RichText)
            self.overview.setWordWrap(True)
            note = QLabel(text)
            note.setWordWrap(True)
            note.setObjectName("inspectorHelp")
            self._layout.addWidget(self.overview)
            self._layout.addWidget(note)
            self._layout.addStretch(1)
            if self._validation is not None:
                self._show_overview(self._validation)
            return
        node = self.editor.graph.nodes[self.node_id]
        spec = node.spec
        title = QLabel(spec.title)
        title.setObjectName("inspectorTitle")
        help_label = QLabel(spec.help)
        help_label.setWordWrap(True)
        help_label.setObjectName("inspectorHelp")
        self._layout.addWidget(title)
        self._layout.addWidget(help_label)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setToolTip("Unique name of this layer; it names the attribute in the generated code.")
        self.name_edit.editingFinished.connect(self._on_name_edited)
        self.name_error = _error_label()
        form.addRow("name", self.name_edit)
        form.addRow("", self.name_error)
        self.frozen_box = QCheckBox("Frozen")
        self.frozen_box.setChecked(node.frozen)
        self.frozen_box.setToolTip("Keep this layer's weights (a block's: all of them) while the rest trains; "
                                   "its BatchNorm statistics stay as they are too.")
        self.frozen_box.toggled.connect(self._on_frozen_toggled)
        form.addRow("", self.frozen_box)
        for pspec in spec.params:
            if node.type_id == "Block" and pspec.name == "network":  # a choice of this project's networks
                pspec = replace(pspec, kind="choice", choices=self._block_choices(node.params["network"]))
            editor = FieldEditor(pspec, "none (torch decides)")
            editor.edited.connect(lambda value, n=pspec.name, e=editor: self._edit(n, value, e.merge_key()))
            self.editors[pspec.name] = editor
            widget = editor.widget
            widget.setToolTip(f"{pspec.help}\nAccepts {pspec.describe()}.")
            self.fields[pspec.name] = widget
            self.errors[pspec.name] = _error_label()
            label = QLabel(pspec.name)
            label.setToolTip(widget.toolTip())
            label.setContextMenuPolicy(Qt.CustomContextMenu)  # right-click: Search over this
            label.customContextMenuRequested.connect(
                lambda pos, n=pspec.name, w=label: self.field_menu_requested.emit(self.node_id, n, w, pos))
            form.addRow(label, widget)
            form.addRow("", self.errors[pspec.name])
            self._show_value(pspec.name, node.params[pspec.name])
        self._layout.addLayout(form)
        self.inferred_box = QLabel()
        self.inferred_box.setObjectName("inferredNote")
        self.inferred_box.setWordWrap(True)
        self.inferred_box.setTextFormat(Qt.RichText)
        self._layout.addWidget(self.inferred_box)
        self._layout.addStretch(1)
        if self._validation is not None:
            self.set_validation(self._validation)

    def _block_choices(self, current: str) -> tuple[str, ...]:
        """The networks a block here may stand for: not the shown one, nor any that contains it."""
        graph = self.editor.graph
        networks = graph.library
        if networks is None:
            return (current,) if current else ()
        names = networks.block_candidates(networks.name_of(graph))
        if current and current not in names:
            names.insert(0, current)  # shown as it is, even when it no longer fits
        return tuple(names) or ("",)

    def _clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
            elif item.layout():
                _delete_layout(item.layout())

    def _show_value(self, name: str, value: Any) -> None:
        self.editors[name].set_value(value)

    # ------------------------------------------------------------ view -> model

    def _edit(self, name: str, value: Any, gesture: Any = None) -> None:
        node = self.editor.graph.nodes.get(self.node_id)
        if node is None or node.params.get(name) == value:
            self.errors[name].hide()
            self._show_value(name, node.params[name]) if node else None
            return
        merge_key = (self.node_id, gesture) if gesture is not None else None  # one drag: one undo step
        if self.editor.push(SetParam(self.node_id, name, value), merge_key):
            self.errors[name].hide()
        else:
            self.errors[name].setText(self.editor.last_refusal)
            self.errors[name].show()
            self._show_value(name, node.params[name])  # the kept value

    def _on_name_edited(self) -> None:
        node = self.editor.graph.nodes.get(self.node_id)
        text = self.name_edit.text()
        if node is None or text.strip() == node.name:
            return
        if self.editor.push(Rename(self.node_id, text)):
            self.name_error.hide()
        else:
            self.name_error.setText(self.editor.last_refusal)
            self.name_error.show()
            with QSignalBlocker(self.name_edit):
                self.name_edit.setText(node.name)

    # ------------------------------------------------------------ inferred values

    def set_validation(self, validation: Validation) -> None:
        """Show the constructor arguments inferred from the input, read-only, with their source."""
        self._validation = validation
        if self.node_id is None:
            self._show_overview(validation)
            return
        if self.node_id not in self.editor.graph.nodes:
            return
        graph = self.editor.graph
        shapes = validation.shapes
        node = graph.nodes[self.node_id]
        rows = []
        inferred = shapes.inferred.get(self.node_id, {})
        in_edges = graph.in_edges(self.node_id)
        source = ""
        if in_edges:
            src = graph.nodes[in_edges[0].src]
            source = f"{src.name}'s output {format_shape(shapes.out.get(src.id))}"
        for name in node.spec.inferred:
            if name in inferred:
                rows.append(f"<tr><td><b>{name}</b></td><td>&nbsp;= {inferred[name]}</td>"
                            f"<td>&nbsp;&nbsp;from {_html(source)}</td></tr>")
            else:
                rows.append(f"<tr><td><b>{name}</b></td><td>&nbsp;= ?</td>"
                            f"<td>&nbsp;&nbsp;set once the input shape is known</td></tr>")
        out = shapes.out.get(self.node_id)
        lines = []
        if rows:
            lines.append("Inferred from the input (read-only):<table>" + "".join(rows) + "</table>")
        if out is not None:
            lines.append(f"Output shape: <b>{format_shape(out)}</b>")
        if self.node_id in shapes.params:
            lines.append(f"Parameters: <b>{shapes.params[self.node_id]:,}</b>")
        for issue in validation.for_node(self.node_id):
            color = "#d64545" if issue.severity == "error" else "#b58900"
            lines.append(f"<span style='color:{color}'>{_html(issue.message)}</span>")
        self.inferred_box.setText("<br>".join(lines))


    def _show_overview(self, validation: Validation) -> None:
        """With nothing selected: the network's inputs, outputs and size."""
        graph, shapes = self.editor.graph, validation.shapes
        if not graph.nodes:
            self.overview.setText("")
            return
        def ends(nodes, shape_of):
            return "<br>".join(f"&nbsp;&nbsp;{_html(n.name)} {format_shape(shape_of(n))}" for n in nodes) or "&nbsp;&nbsp;none"
        inputs = ends(graph.inputs(), lambda n: shapes.out.get(n.id))
        outputs = ends(graph.outputs(), lambda n: (shapes.in_shapes.get(n.id) or [None])[0])
        state = (f"<span style='color:#d64545'>{len(validation.errors)} error(s)</span>" if validation.errors
                 else "ready to train")
        self.overview.setText(
            f"<b>Network</b><br>{len(graph.nodes)} layers, {len(graph.edges)} wires, {state}<br>"
            f"Parameters: <b>{shapes.total_params:,}</b><br><br><b>Inputs</b><br>{inputs}<br>"
            f"<b>Outputs</b><br>{outputs}<br>")


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


def _delete_layout(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget():
            item.widget().deleteLater()
        elif item.layout():
            _delete_layout(item.layout())


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
