"""Model summary: parameters, multiply-accumulates and a memory estimate, like torchinfo's table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSpinBox, QTableView,
                               QVBoxLayout, QWidget)

from graph_builder.freezing import parameter_split
from graph_builder.graph import Graph
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport

BYTES_PER_VALUE = 4  # float32


@dataclass(frozen=True)
class Summary:
    """Totals for one graph at one batch size."""

    rows: list[tuple[str, str, str, int, int]]  # name, type, output shape, params, MACs
    total_params: int
    total_macs: int
    memory_bytes: int
    batch_size: int
    trainable_params: int | None = None  # None: every parameter trains
    frozen_params: int = 0


def summarize(graph: Graph, shapes: ShapeReport, batch_size: int) -> Summary:
    """Rows in execution order; memory = weights + gradients + Adam state + saved activations."""
    rows = []
    activations = 0
    for node_id in shapes.order:
        node = graph.nodes[node_id]
        out = shapes.out.get(node_id)
        if out is not None:
            activations += math.prod(d for d in out[1:])
        rows.append((node.name, node.type_id, format_shape(out) if out is not None else "?",
                     shapes.params.get(node_id, 0), shapes.macs.get(node_id, 0)))
    params = shapes.total_params
    trainable, frozen = parameter_split(graph, shapes)
    # gradients and Adam state are kept for the trainable weights only
    memory = BYTES_PER_VALUE * (params + 3 * trainable + 2 * activations * batch_size)
    return Summary(rows, params, shapes.total_macs, memory, batch_size, trainable, frozen)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def format_big(n: int) -> str:
    for size, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def status_text(summary: Summary) -> str:
    """One line for the status bar."""
    frozen = f" ({format_big(summary.frozen_params)} frozen)" if summary.frozen_params else ""
    return (f"{format_big(summary.total_params)} params{frozen} · {format_big(summary.total_macs)} MACs · "
            f"≈ {format_bytes(summary.memory_bytes)} to train at batch {summary.batch_size}")


class SummaryModel(QAbstractTableModel):
    """The summary rows as a Qt model (one reset per validation, no per-cell widgets)."""

    HEADERS = ("Layer", "Type", "Output shape", "Params", "MACs")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple] = []

    def set_rows(self, rows: list[tuple]) -> None:
        if rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            value = self.rows[index.row()][index.column()]
            return f"{value:,}" if isinstance(value, int) else value
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
        self.totals.setTextInteractionFlags(Qt.TextSelectableByMouse)
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
        for column, width in enumerate((160, 130, 130, 100)):
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
        self.summary: Summary | None = None
        self._graph: Graph | None = None
        self._shapes: ShapeReport | None = None
        self.batch.valueChanged.connect(lambda _: self._refresh())

    def follow_batch_size(self, batch_size: int) -> None:
        """Estimate at the training batch size whenever that changes (a hand-set value stays until then)."""
        if batch_size != self._followed_batch:
            self._followed_batch = batch_size
            self.batch.blockSignals(True)
            self.batch.setValue(batch_size)
            self.batch.blockSignals(False)

    def set_shapes(self, graph: Graph, shapes: ShapeReport) -> Summary:
        """Recompute from a shape report; returns the summary (the status bar shows it too)."""
        self._graph, self._shapes = graph, shapes
        return self._refresh()

    def _refresh(self) -> Summary | None:
        if self._graph is None:
            return None
        self.summary = summarize(self._graph, self._shapes, self.batch.value())
        self.model.set_rows(self.summary.rows)
        s = self.summary
        self.totals.setText(f"Total parameters: <b>{s.total_params:,}</b> (<b>{s.trainable_params:,}</b> trainable, "
                            f"<b>{s.frozen_params:,}</b> frozen) &nbsp; MACs per sample: "
                            f"<b>{s.total_macs:,}</b> &nbsp; Training memory ≈ <b>{format_bytes(s.memory_bytes)}</b>")
        return self.summary
