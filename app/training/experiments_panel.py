"""The Experiments view: the search space, the study's trials, its plots, and Apply best trial.

The panel owns no state (DESIGN.md decision 11): the space is the project's experiment section
(edited through the undo stack: "Search over this" on a field adds to it), the trials are read
from the study file in the runs folder (runtime.tune.read_study). Plot items are made once and
fed with setData. `netcanvas tune FILE` runs the study; Reload shows its latest trials.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from graph_builder.experiment import AddDimension, ApplyTrial, Dimension, RemoveDimension
from graph_builder.schema import Field

FIXED_COLUMNS = ("trial", "state", "metric", "time (s)")


def default_dimension(field: Field, value: Any, where: dict) -> dict:
    """A first range around a field's current value: ×/÷10 on a log scale for positive floats, half to
    double for whole numbers, every choice for choices; within the field's own bounds."""
    def clip(v):
        if field.min is not None:
            v = max(v, field.min)
        if field.max is not None:
            v = min(v, field.max)
        return v

    if field.kind in ("choice", "bool"):
        return {**where, "choices": list(field.choices) if field.kind == "choice" else [False, True]}
    if field.kind == "int":
        v = value if isinstance(value, int) else int(field.default or 1)
        low, high = clip(max(1, v // 2)), clip(max(v * 2, v + 2))
        return {**where, "low": int(low), "high": int(high), **({"log": True} if low > 0 and high >= 4 * low else {})}
    if field.kind == "float":
        v = float(value if isinstance(value, (int, float)) else field.default or 0.0)
        if v > 0 and (field.min is None or field.min > 0 or v / 10 > 0):
            low, high = clip(v / 10), clip(v * 10)
            return {**where, "low": low, "high": high, "log": low > 0}
        high = clip(field.max if field.max is not None and field.max <= 1 else 1.0)
        return {**where, "low": clip(0.0), "high": high}
    raise ValueError(f"{field.name} takes {field.describe()}; a search varies numbers and choices")


def search_actions(window, make: Callable[[], dict]) -> list:
    """The context-menu rows a field offers: Search over this (and Remove from search when searched)."""
    experiment = window.project.experiment
    dim = make()
    key = Dimension(**{k: dim[k] for k in ("setting", "network", "node", "param") if k in dim}).key
    rows = [("Search over this", lambda: window.editor.push_on(window.project.experiment, AddDimension(dim)))]
    if experiment.dimension(key) is not None:
        rows.append(("Remove from search", lambda: window.editor.push_on(window.project.experiment,
                                                                          RemoveDimension(key))))
    return rows


def show_field_menu(widget: QWidget, pos, rows: list) -> QMenu:
    """Pop up `rows` (text, slot) at `pos` of `widget`; returned so tests can trigger an action."""
    menu = QMenu(widget)
    for text, slot in rows:
        menu.addAction(text).triggered.connect(slot)
    menu.popup(widget.mapToGlobal(pos))
    return menu


class ExperimentsPanel(QWidget):
    """Trial table (sortable), best-so-far, parallel coordinates, parameter importances, Apply best trial."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.window = controller.window
        self.result = None
        self.importances: dict[str, float] = {}
        self._experiment = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.PlainText)
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.apply_button = QPushButton("Apply best trial")
        self.apply_button.setToolTip("Set the best trial's values in the project (one undoable edit)")
        self.apply_button.clicked.connect(self.apply_best)
        top.addWidget(self.summary, 1)
        top.addWidget(self.reload_button)
        top.addWidget(self.apply_button)
        layout.addLayout(top)
        split = QSplitter(Qt.Horizontal)
        self.table = QTableWidget(0, len(FIXED_COLUMNS))
        self.table.setHorizontalHeaderLabels(FIXED_COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        split.addWidget(self.table)
        self.tabs = QTabWidget()
        self.best_plot = pg.PlotWidget()
        self.best_plot.setLabel("bottom", "trial")
        self.trial_points = self.best_plot.plot([], [], pen=None, symbol="o", symbolSize=6)
        self.best_curve = self.best_plot.plot([], [], pen=pg.mkPen(width=2), stepMode=None)
        self.parallel_plot = pg.PlotWidget()
        self.parallel_plot.hideAxis("left")
        self.parallel_lines = pg.PlotDataItem([], [], connect="finite", pen=pg.mkPen(120, 160, 255, 140))
        self.parallel_best = pg.PlotDataItem([], [], pen=pg.mkPen(255, 140, 0, width=3))
        self.parallel_plot.addItem(self.parallel_lines)
        self.parallel_plot.addItem(self.parallel_best)
        self.importance_plot = pg.PlotWidget()
        self.importance_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.6)
        self.importance_plot.addItem(self.importance_bars)
        self.tabs.addTab(self.best_plot, "Best so far")
        self.tabs.addTab(self.parallel_plot, "Parallel coordinates")
        self.tabs.addTab(self.importance_plot, "Importances")
        split.addWidget(self.tabs)
        layout.addWidget(split, 1)
        self.follow(self.window.project)

    # ------------------------------------------------------------ following the model

    def follow(self, project) -> None:
        """Show `project`'s experiment (a replaced project: its own experiment, no old trials)."""
        if self._experiment is not None:
            self._experiment.events.changed.disconnect(self._on_experiment_changed)
        self._experiment = project.experiment
        self._experiment.events.changed.connect(self._on_experiment_changed)
        self.reload()

    def _on_experiment_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the study of the current search from the runs folder and show it."""
        from runtime.tune import TuneError, read_study

        project = self.window.project
        ex = project.experiment
        words = ", ".join(d.label(project) for d in ex.space) or "nothing yet (right-click a field ▸ Search over this)"
        head = f"Searches {words}; {ex['metric']} ({ex.direction}), {ex['method']}, {ex['trials']} trials."
        problems = ex.problems(project) if ex.space else []
        try:
            read = read_study(project, self.controller.runs_root())
        except TuneError as exc:
            read, problems = None, [*problems, str(exc)]
        self.result, self.importances = read if read else (None, {})
        if self.result is None:
            tail = " No study of this search yet: run `netcanvas tune FILE` on the saved project."
        else:
            best = self.result.best
            tail = f" {len(self.result.trials)} trials" + (f", best {best.value:.4f} (trial {best.trial})."
                                                            if best else ", none complete.")
        self.summary.setText(head + tail + ("\n" + "\n".join(problems) if problems else ""))
        self.apply_button.setEnabled(self.result is not None and self.result.best is not None)
        self._fill_table()
        self._fill_plots()

    def _fill_table(self) -> None:
        trials = self.result.trials if self.result else []
        params = list(dict.fromkeys(k for t in trials for k in t.params))
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(FIXED_COLUMNS) + len(params))
        self.table.setHorizontalHeaderLabels([*FIXED_COLUMNS[:2], self.result.metric if self.result else "metric",
                                              FIXED_COLUMNS[3], *params])
        self.table.setRowCount(len(trials))
        for row, t in enumerate(trials):
            cells = [t.trial, t.state, t.value, t.duration_s, *(t.params.get(p) for p in params)]
            for col, value in enumerate(cells):
                item = QTableWidgetItem()
                item.setData(Qt.DisplayRole, value if value is not None else "")  # numbers sort as numbers
                if col == 1 and t.reason:
                    item.setToolTip(t.reason)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)

    def _fill_plots(self) -> None:
        done = [t for t in (self.result.trials if self.result else []) if t.value is not None]
        maximize = self.result is not None and self.result.direction == "maximize"
        x = np.array([t.trial for t in done], dtype=float)
        y = np.array([t.value for t in done], dtype=float)
        best = (np.maximum.accumulate(y) if maximize else np.minimum.accumulate(y)) if len(y) else y
        self.trial_points.setData(x, y)
        self.best_curve.setData(x, best)
        self._fill_parallel(done, maximize)
        names = list(self.importances)
        self.importance_bars.setOpts(x0=np.zeros(len(names)), y=np.arange(len(names)),
                                     width=[self.importances[n] for n in names], height=0.6)
        self.importance_plot.getAxis("left").setTicks([list(enumerate(names))])

    def _fill_parallel(self, done: list, maximize: bool) -> None:
        """One polyline per trial over its parameters scaled to 0..1, then its metric; the best is drawn over."""
        if not done:
            self.parallel_lines.setData([], [])
            self.parallel_best.setData([], [])
            return
        params = list(dict.fromkeys(k for t in done for k in t.params))
        columns = [[t.params.get(p) for t in done] for p in params] + [[t.value for t in done]]
        scaled = np.array([_scale(col) for col in columns]).T  # trials × axes
        axes = np.arange(scaled.shape[1], dtype=float)
        xs = np.concatenate([np.append(axes, np.nan) for _ in done])
        ys = np.concatenate([np.append(row, np.nan) for row in scaled])
        self.parallel_lines.setData(xs, ys)
        pick = int(np.argmax([t.value for t in done]) if maximize else np.argmin([t.value for t in done]))
        self.parallel_best.setData(axes, scaled[pick])
        self.parallel_plot.getAxis("bottom").setTicks([list(enumerate([*params, self.result.metric]))])

    # ------------------------------------------------------------ Apply best trial

    def apply_best(self) -> bool:
        """Set the best trial's values in the project as one undoable edit."""
        best = self.result.best if self.result else None
        if best is None:
            return False
        ok = self.window.editor.push_on(self.window.project, ApplyTrial(dict(best.values),
                                                                        label=f"Apply trial {best.trial}"))
        if ok:
            self.window.status_message(f"Applied trial {best.trial}: "
                                       + ", ".join(f"{k}={v}" for k, v in best.params.items()))
        return ok


def _scale(values: list) -> list[float]:
    """Numbers to 0..1 (log scale when they span decades); choices to evenly spaced ranks."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        a = np.array(values, dtype=float)
        if a.min() > 0 and a.max() / a.min() > 20:
            a = np.log(a)
        span = a.max() - a.min()
        return list((a - a.min()) / span) if span > 0 else [0.5] * len(a)
    ranks = {v: i for i, v in enumerate(sorted(set(map(repr, values))))}
    n = max(1, len(ranks) - 1)
    return [ranks[repr(v)] / n if len(ranks) > 1 else 0.5 for v in values]

