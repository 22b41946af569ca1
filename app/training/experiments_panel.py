"""The Experiments view: the search space, the study's trials, its plots, and Apply best trial.

The panel owns no state (DESIGN.md decision 11): the space is the project's experiment section
(edited through the undo stack: "Search over this" on a field adds to it), the trials are read
from the study file in the runs folder (runtime.tune.study.read_study). Plot items are made once and
fed with setData. Run study runs the project's experiment in a child process (runtime.tune.study.study_child,
never on the GUI thread); each trial it finishes is shown as it comes. `netcanvas tune FILE` runs the
same study from a terminal; Reload shows its latest trials.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from typing import Any
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from app.training.settings_form import SettingsForm
from app.training.trials_view import IntegerAxis, ParallelAxis, ParallelCoordinates, TrialsTable
from graph_builder.experiment import (EXPERIMENT_FIELDS, AddDimension, ApplyTrial, Dimension, RemoveDimension,
                                      SetExperimentSetting)
from graph_builder.schema import Field

SPACE_COLUMNS = ("searches", "low", "high", "log", "choices")
TICK_MS = 100  # the study's messages are few (one per trial): ten looks a second are plenty
STOP_GRACE_S = 15.0  # after Stop, how long the study process may take to end its workers


class StudyRunner(QObject):
    """Owns the study's child process and relays its (kind, data) messages on the GUI thread."""

    message = Signal(str, object)  # started / trial / done / error, with their data
    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = mp.get_context("spawn")
        self._process = None
        self._queue = None
        self._stop = None
        self._stop_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)
        app = QApplication.instance()
        if app is not None:  # a study process is not a daemon: Python would wait for it at exit
            app.aboutToQuit.connect(self.kill)

    @property
    def is_active(self) -> bool:
        return self._process is not None

    def start(self, snapshot: dict, root: str, project_path: str | None = None) -> None:
        from runtime.tune import study_child

        self._queue = self._ctx.Queue()
        self._stop = self._ctx.Event()
        self._stop_at = None
        # Not a daemon: the study process starts worker processes of its own.
        self._process = self._ctx.Process(target=study_child, args=(snapshot, root, self._queue, self._stop,
                                                                    project_path), name="netcanvas-study")
        self._process.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the study to end its trials in flight (they resume on the next Run study) and stop."""
        if self.is_active and self._stop_at is None:
            self._stop.set()
            self._stop_at = time.monotonic()

    def kill(self) -> None:
        """End the study process at once (the window closes); its workers end with it."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
                self._process.join(2)
            self._finish()

    def _on_tick(self) -> None:
        self._drain()
        process = self._process
        if process is None:
            return
        if self._stop_at is not None and process.is_alive() and time.monotonic() - self._stop_at > STOP_GRACE_S:
            process.kill()
            process.join(1)
        if not process.is_alive():
            process.join(0.1)
            self._drain()
            self._finish()

    def _drain(self) -> None:
        while self._queue is not None:
            try:
                kind, data = self._queue.get_nowait()
            except queue_mod.Empty:
                return
            except (EOFError, OSError, ValueError, TypeError):  # the pipe broke with the process
                return
            self.message.emit(kind, data)

    def _finish(self) -> None:
        self._timer.stop()
        if self._queue is not None:
            self._queue.close()
            self._queue.cancel_join_thread()
        self._process = self._queue = self._stop = None
        self.ended.emit()


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
        self.main_window = controller.window
        self.result = None
        self.importances: dict[str, float] = {}
        self._experiment = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.PlainText)
        self.run_button = QPushButton("Run study")
        self.run_button.setObjectName("run_study")
        self.run_button.setToolTip("Run the search in the background; the trials appear here as they finish")
        self.run_button.clicked.connect(self.run_study)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop_study")
        self.stop_button.setToolTip("Stop the search; the trials in flight continue on the next Run study")
        self.stop_button.clicked.connect(self.stop_study)
        self.stop_button.setEnabled(False)
        self.runner = StudyRunner(self)
        self.runner.message.connect(self._on_study_message)
        self.runner.ended.connect(self._on_study_ended)
        self.running_total: int | None = None  # while a study runs: its number of trials
        self.running: dict[int, Any] = {}  # trial number -> TrialRecord of a trial training now
        self.error: str | None = None  # the last study's failure, in words
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.apply_button = QPushButton("Apply best trial")
        self.apply_button.setToolTip("Set the best trial's values in the project (one undoable edit)")
        self.apply_button.clicked.connect(self.apply_best)
        top.addWidget(self.summary, 1)
        top.addWidget(self.run_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.reload_button)
        top.addWidget(self.apply_button)
        layout.addLayout(top)
        split = QSplitter(Qt.Horizontal)  # what is searched | the trials | the plots
        split.setChildrenCollapsible(False)
        split.addWidget(self._search_editor())
        self.table = TrialsTable()
        split.addWidget(self.table)
        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(False)  # every tab title whole: the splitter keeps the room they need
        self.best_plot = pg.PlotWidget(axisItems={"bottom": IntegerAxis("bottom")})
        self.best_plot.setLabel("bottom", "trial")
        self.trial_points = self.best_plot.plot([], [], pen=None, symbol="o", symbolSize=7,
                                                symbolBrush="#7f7f7f", symbolPen=None)
        self.best_curve = self.best_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2), stepMode=None)
        self.parallel_plot = pg.PlotWidget()
        self.parallel = ParallelCoordinates(self.parallel_plot)
        self.parallel_lines, self.parallel_best = self.parallel.lines, self.parallel.best
        self.importance_plot = pg.PlotWidget()
        self.importance_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.6)
        self.importance_plot.addItem(self.importance_bars)
        for plot in (self.best_plot, self.parallel_plot, self.importance_plot):
            plot.setBackground(None)  # the window's own background, in either theme (as the dashboard's plots)
            plot.getPlotItem().showGrid(x=True, y=True, alpha=0.25)
        self.tabs.addTab(self.best_plot, "Best so far")
        self.tabs.addTab(self.parallel_plot, "Parallel coordinates")
        self.tabs.addTab(self.importance_plot, "Importances")
        split.addWidget(self.tabs)
        # The trials table gets the most: every parameter column in view at 1920×1080.
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        split.setSizes([340, 680, 420])
        layout.addWidget(split, 1)
        self.follow(self.main_window.project)

    def _search_editor(self) -> QWidget:
        """The study's settings (metric, direction, trials, method, pruning, seed) and the searched ranges.

        Both edit the project's experiment section through the undo stack; they show it and keep
        no copy (the section's `changed` event redraws them).
        """
        box = QWidget()
        box.setMinimumWidth(340)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.study_form = SettingsForm(list(EXPERIMENT_FIELDS))
        self.study_form.setObjectName("study_settings")
        self.study_form.changed.connect(self._on_study_setting)
        column.addWidget(self.study_form)
        self.space_table = QTableWidget(0, len(SPACE_COLUMNS))
        self.space_table.setObjectName("search_space")
        self.space_table.setHorizontalHeaderLabels(SPACE_COLUMNS)
        header = self.space_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)  # names and numbers are never cut
        header.setSectionResizeMode(len(SPACE_COLUMNS) - 1, QHeaderView.Stretch)  # choices take the rest
        self.space_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.space_table.setWordWrap(False)
        self.space_table.verticalHeader().setVisible(False)
        self.space_table.setSelectionBehavior(QTableWidget.SelectRows)
        self.space_table.setToolTip("Double-click a range's low or high, tick log, or type choices separated by commas; each edit is one "
                                    "undo step. Right-click a field of the inspector or the training form ▸ Search "
                                    "over this adds a value to search.")
        self.space_table.itemChanged.connect(self._on_space_edited)
        column.addWidget(self.space_table, 1)
        self.remove_button = QPushButton("Remove from search")
        self.remove_button.setObjectName("remove_dimension")
        self.remove_button.clicked.connect(self.remove_selected_dimension)
        column.addWidget(self.remove_button)
        return box

    def _on_study_setting(self, name: str, value: Any) -> None:
        experiment = self.main_window.project.experiment
        if not self.main_window.editor.push_on(experiment, SetExperimentSetting(name, value),
                                          self.study_form.field_editors[name].merge_key()):
            self.study_form.set_values({name: experiment[name]})  # refused: show what the section holds

    def _fill_space(self) -> None:
        project = self.main_window.project
        space = project.experiment.space
        self.space_table.blockSignals(True)
        self.space_table.setRowCount(len(space))
        for row, dim in enumerate(space):
            ranged = not dim.choices
            texts = (dim.label(project), _number_text(dim.low) if ranged else "",
                     _number_text(dim.high) if ranged else "", None,
                     ", ".join(str(c) for c in dim.choices))
            for col, text in enumerate(texts):
                item = QTableWidgetItem("" if text is None else text)
                flags = Qt.ItemIsSelectable | Qt.ItemIsEnabled
                if col in (1, 2) and ranged or col == 4 and not ranged:
                    flags |= Qt.ItemIsEditable
                if col == 3 and ranged:
                    flags |= Qt.ItemIsUserCheckable
                    item.setCheckState(Qt.Checked if dim.log else Qt.Unchecked)
                item.setFlags(flags)
                self.space_table.setItem(row, col, item)
        self.space_table.blockSignals(False)
        self.remove_button.setEnabled(bool(space))

    def _on_space_edited(self, item: QTableWidgetItem) -> None:
        """A user edit of a range, its log scale or its choices: one AddDimension (it replaces that value's range)."""
        experiment = self.main_window.project.experiment
        row, col = item.row(), item.column()
        if not 0 <= row < len(experiment.space):
            return
        raw = experiment.space[row].to_dict()
        text = item.text().strip()
        if col in (1, 2):
            raw["low" if col == 1 else "high"] = _parse_number(text)
        elif col == 3:
            raw["log"] = item.checkState() == Qt.Checked
            if not raw["log"]:
                raw.pop("log")
        elif col == 4:
            raw["choices"] = [_parse_number(part.strip()) for part in text.split(",") if part.strip()]
        if not self.main_window.editor.push_on(experiment, AddDimension(raw, index=row)):
            self._fill_space()  # refused (the status bar says why): show the range the section kept

    def remove_selected_dimension(self) -> bool:
        experiment = self.main_window.project.experiment
        rows = sorted({i.row() for i in self.space_table.selectedIndexes()}) or ([0] if len(experiment.space) == 1
                                                                                 else [])
        if not rows:
            self.main_window.status_message("Choose the searched value to remove in the search table first", 6000)
            return False
        keys = [experiment.space[r].key for r in rows if r < len(experiment.space)]
        return all(self.main_window.editor.push_on(experiment, RemoveDimension(key)) for key in keys)

    # ------------------------------------------------------------ following the model

    def follow(self, project) -> None:
        """Show `project`'s experiment (a replaced project: its own experiment, no old trials)."""
        if self._experiment is not None:
            self._experiment.events.changed.disconnect(self._on_experiment_changed)
        if self.runner.is_active:  # its runs belong to the project being closed
            self.runner.kill()
        self._experiment = project.experiment
        self._experiment.events.changed.connect(self._on_experiment_changed)
        self.running = {}
        self.error = None
        self.reload()

    def _on_experiment_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the study of the current search from the runs folder and show it."""
        from runtime.tune import TuneError, read_study

        project = self.main_window.project
        problems = project.experiment.problems(project) if project.experiment.space else []
        try:
            read = read_study(project, self.controller.runs_root())
        except TuneError as exc:
            read, problems = None, [*problems, str(exc)]
        self.result, self.importances = read if read else (None, {})
        self._show(problems)

    def _show(self, problems: list[str] = ()) -> None:
        """The summary line, the table and the plots, from self.result."""
        project = self.main_window.project
        ex = project.experiment
        words = ", ".join(d.label(project) for d in ex.space) or "nothing yet (right-click a field ▸ Search over this)"
        head = f"Searches {words}; {ex['metric']} ({ex.direction}), {ex['method']}, {ex['trials']} trials."
        if self.result is None:
            tail = " No study of this search yet: press Run study."
        else:
            best = self.result.best
            done = len(self.result.trials)
            training = f", {len(self.running)} training" if self.running else ""
            tail = (f" Running: {done} of {self.running_total} trials done{training}" if self.running_total is not None
                    else f" {done} trials") + (f", best {best.value:.4f} (trial {best.trial})."
                                                if best else ", none complete.")
        notes = [*problems, *([self.error] if self.error else [])]
        self.summary.setText(head + tail + ("\n" + "\n".join(notes) if notes else ""))
        self.apply_button.setEnabled(self.result is not None and self.result.best is not None)
        self.study_form.set_values({f.name: ex[f.name] for f in EXPERIMENT_FIELDS})
        self._fill_space()
        self._fill_table()
        self._fill_plots()

    # ------------------------------------------------------------ running the study

    def run_study(self) -> bool:
        """Run the project's experiment in a background process; False (with the reason shown) when it cannot."""
        if self.runner.is_active:
            self.main_window.status_message("A study is already running: stop it before starting another.")
            return False
        project = self.main_window.project
        problems = project.experiment.problems(project)
        self.error = None
        if problems:
            self.error = "The study was not started: " + "; ".join(problems) + "."
            self._show()
            self.main_window.status_message(self.error)
            return False
        try:
            root = self.controller.runs_root()
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.error = f"The study was not started: the runs folder cannot be made ({exc})."
            self._show()
            return False
        ex = project.experiment
        self.running_total = min(ex["trials"], ex.grid_size()) if ex["method"] == "grid" else ex["trials"]
        self.runner.start(self.controller.snapshot(), str(root), self.controller.project_path())
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._show()
        self.main_window.status_message("Study started: its trials appear in Experiments as they finish.")
        return True

    def stop_study(self) -> None:
        """Stop the running study; the trials in flight continue on the next Run study."""
        if self.runner.is_active:
            self.runner.stop()
            self.stop_button.setEnabled(False)
            self.main_window.status_message("Stopping the study…")

    def _on_study_message(self, kind: str, data) -> None:
        from runtime.tune import StudyResult, TrialRecord

        if kind == "started":
            self.running_total = data["total"]
            self.running = {}
            self.result = StudyResult(data["study"], data["storage"], data["metric"], data["direction"],
                                      [TrialRecord(**t) for t in data["trials"]])
            self._show()
        elif kind == "running":  # a row per trial in training, its epochs and best so far, before it ends
            self.running[data["trial"]] = TrialRecord(**data)
            self._show()
        elif kind == "trial":
            self.running.pop(data["trial"], None)
            if self.result is not None:
                self.result.trials.append(TrialRecord(**data))
            self._show()
            self.controller.runs_panel.reload()  # the trial's run, with its number
        elif kind == "done":
            words = "stopped; the trials in flight continue on the next Run study" if data["stopped"] else "finished"
            self.main_window.status_message(f"Study {words} ({data['trials']} trials).")
        elif kind == "error":
            self.error = f"The study stopped: {data}"
            self.main_window.status_message(self.error)

    def _on_study_ended(self) -> None:
        self.running_total = None
        self.running = {}
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self._show()
        self.controller.runs_panel.reload()
        if not self.error:  # the whole study as stored, with the parameter importances (off the GUI thread)
            from app.training.background import run_in_background
            from runtime.tune import read_study

            project = self.main_window.project
            self._read_job = run_in_background(read_study, project, self.controller.runs_root(), parent=self,
                                               on_done=lambda read: self._on_study_read(project, read),
                                               on_error=lambda exc: None)  # the live trials stay shown

    def _on_study_read(self, project, read) -> None:
        if read and project is self.main_window.project and not self.runner.is_active:
            self.result, self.importances = read
            self._show()

    def _fill_table(self) -> None:
        finished = self.result.trials if self.result else []
        listed = {t.trial for t in finished}
        trials = [*finished, *(t for n, t in sorted(self.running.items()) if n not in listed)]
        self.table.set_trials(trials, self.result.metric if self.result else self.main_window.project.experiment["metric"])

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
        """One polyline per trial over its parameters, then its metric; each axis over its searched range."""
        project = self.main_window.project
        dimensions = {d.label(project): d for d in project.experiment.space}
        params = list(dict.fromkeys(k for t in done for k in t.params))
        rows = [[*(t.params.get(p) for p in params), t.value] for t in done]
        axes = [ParallelAxis.of(name, [row[i] for row in rows], dimensions.get(name))
                for i, name in enumerate([*params, self.result.metric if self.result else "metric"])]
        values = [t.value for t in done]
        best = (int(np.argmax(values) if maximize else np.argmin(values))) if done else None
        self.parallel.set_trials(rows, axes, best)

    # ------------------------------------------------------------ Apply best trial

    def apply_best(self) -> bool:
        """Set the best trial's values in the project as one undoable edit."""
        best = self.result.best if self.result else None
        if best is None:
            return False
        ok = self.main_window.editor.push_on(self.main_window.project, ApplyTrial(dict(best.values),
                                                                        label=f"Apply trial {best.trial}"))
        if ok:
            self.main_window.status_message(f"Applied trial {best.trial}: "
                                       + ", ".join(f"{k}={v}" for k, v in best.params.items()))
        return ok


def _number_text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _parse_number(text: str) -> Any:
    """A typed range end or choice: an int, a float, true/false, else the text (the section's check says what fits)."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
