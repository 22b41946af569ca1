"""Model summary: parameters, multiply-accumulates and each node's training memory, like torchinfo's table.

The memory figures are graph_builder.memory's estimate of one training step at the panel's batch
size and the project's optimiser (weights, gradients, optimiser state, saved activations, peak).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSpinBox, QTableView,
                               QVBoxLayout, QWidget)

from graph_builder.footprint import size_text
from graph_builder.freezing import parameter_split
from graph_builder.graph import Graph
from graph_builder.memory import MemoryEstimate, NodeMemory
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport

@dataclass(frozen=True)
class Summary:
    """Totals for one graph at one batch size."""

    rows: list[tuple[str, str, str, int, int, str]]  # name, type, output shape, params, MACs, training memory
    total_params: int
    total_macs: int
    memory_bytes: int  # the peak of one training step (0: not estimated)
    batch_size: int
    trainable_params: int | None = None  # None: every parameter trains
    frozen_params: int = 0
    memory: MemoryEstimate | None = None


def summarize(graph: Graph, shapes: ShapeReport, batch_size: int, memory: MemoryEstimate | None = None,
              node_memory: Mapping[str, NodeMemory] | None = None) -> Summary:
    """Rows in execution order; memory from the step's estimate (`node_memory`: the shown network's rows)."""
    node_memory = node_memory or {}
    rows = []
    for node_id in shapes.order:
        node = graph.nodes[node_id]
        out = shapes.out.get(node_id)
        row = node_memory.get(node_id)
        rows.append((node.name, node.type_id, format_shape(out) if out is not None else "?",
                     shapes.params.get(node_id, 0), shapes.macs.get(node_id, 0), size_text(row.total) if row else ""))
    trainable, frozen = parameter_split(graph, shapes)
    return Summary(rows, shapes.total_params, shapes.total_macs, memory.peak if memory else 0, batch_size,
                   trainable, frozen, memory)


def node_memory_text(row: NodeMemory, batch_size: int, optimizer: str) -> str:
    """One tooltip line: a node's training memory and its parts."""
    parts = [f"{what} {size_text(n)}" for what, n in (("weights", row.params), ("gradients", row.grads),
                                                      (f"{optimizer} state", row.state),
                                                      ("saved activations", row.saved)) if n]
    return f"training memory at batch {batch_size}: {size_text(row.total)}" + (f" ({', '.join(parts)})" if parts else "")


def format_big(n: int) -> str:
    for size, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def status_text(summary: Summary) -> str:
    """One line for the status bar."""
    frozen = f" ({format_big(summary.frozen_params)} frozen)" if summary.frozen_params else ""
    return (f"{format_big(summary.total_params)} params{frozen} · {format_big(summary.total_macs)} MACs · "
            f"≈ {size_text(summary.memory_bytes)} to train at batch {summary.batch_size}")


class SummaryModel(QAbstractTableModel):
    """The summary rows as a Qt model (one reset per validation, no per-cell widgets)."""

    HEADERS = ("Layer", "Type", "Output shape", "Params", "MACs", "Memory")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple] = []

    def set_rows(self, rows: list[tuple]) -> None:
        if rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.HEADERS)

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            value = self.rows[index.row()][index.column()]
            return f"{value:,}" if isinstance(value, int) else value
        if role == Qt.ToolTipRole and index.column() == 5:
            return "Weights, gradients, optimiser state and saved activations of one training step"
        if role == Qt.TextAlignmentRole and index.column() >= 3:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None


class SummaryPanel(QWidget):
    """A per-layer table and totals, for the batch size chosen in the spin box."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.batch = QSpinBox()
        self.batch.setRange(1, 10_000_000)
        self.batch.setValue(32)
        self.batch.setToolTip("Batch size used for the memory estimate (follows the training batch size)")
        self._followed_batch: int | None = None
        self.totals = QLabel()
        self.totals.setWordWrap(True)  # the trainable/frozen split made one line wider than a 1366-px window's dock
        self.totals.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.epoch_time = QLabel()  # Train ▸ Estimate Epoch Time's answer, until the next change
        self.epoch_time.setObjectName("epoch_time")
        self.epoch_time.setWordWrap(True)
        self.epoch_time.setVisible(False)
        self.model = SummaryModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((160, 130, 130, 100, 100)):
            self.table.setColumnWidth(column, width)
        top = QHBoxLayout()
        top.addWidget(QLabel("Batch size"))
        top.addWidget(self.batch)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        layout.addWidget(self.epoch_time)
        self.summary: Summary | None = None
        self._graph: Graph | None = None
        self._shapes: ShapeReport | None = None
        self._estimate_at: Callable[[int], MemoryEstimate | None] | None = None
        self._network = ""
        self.batch.valueChanged.connect(lambda _: self._refresh())

    def follow_batch_size(self, batch_size: int) -> None:
        """Estimate at the training batch size whenever that changes (a hand-set value stays until then)."""
        if batch_size != self._followed_batch:
            self._followed_batch = batch_size
            self.batch.blockSignals(True)
            self.batch.setValue(batch_size)
            self.batch.blockSignals(False)

    def set_shapes(self, graph: Graph, shapes: ShapeReport,
                   estimate_at: Callable[[int], MemoryEstimate | None] | None = None, network: str = "") -> Summary:
        """Recompute from a shape report and the project's memory estimate at a batch size (`network`: the one
        shown); returns the summary (the status bar shows it too)."""
        self._graph, self._shapes, self._estimate_at, self._network = graph, shapes, estimate_at, network
        return self._refresh()

    def show_epoch_time(self, text: str) -> None:
        """Show a dry run's answer (Train ▸ Estimate Epoch Time) under the totals; "" hides it."""
        self.epoch_time.setText(text)
        self.epoch_time.setVisible(bool(text))

    def _refresh(self) -> Summary | None:
        self.show_epoch_time("")  # a change to the network or the batch size makes the last answer stale
        if self._graph is None:
            return None
        memory = self._estimate_at(self.batch.value()) if self._estimate_at else None
        rows = memory.of_network(self._network) if memory else None
        self.summary = summarize(self._graph, self._shapes, self.batch.value(), memory, rows)
        self.model.set_rows(self.summary.rows)
        s = self.summary
        text = (f"Total parameters: <b>{s.total_params:,}</b> (<b>{s.trainable_params:,}</b> trainable, "
                f"<b>{s.frozen_params:,}</b> frozen) &nbsp; MACs per sample: <b>{s.total_macs:,}</b>")
        if memory is not None:
            text += (f" &nbsp; Training memory ≈ <b>{size_text(memory.peak)}</b> at its peak with {memory.optimizer}: "
                     f"weights {size_text(memory.params)}, gradients {size_text(memory.grads)}, optimiser state "
                     f"{size_text(memory.state)}, saved activations {size_text(memory.saved)}")
        self.totals.setText(text)
        return self.summary
