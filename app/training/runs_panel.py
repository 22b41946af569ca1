"""The Runs panel: the project's past runs with their final metrics; overlay several runs'
curves on the dashboard; reopen a run's confusion matrix; choose the run whose weights
export and inference use. Reads only the run folders' JSON files (no torch).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from graph_builder.run_folder import RunFolder, RunsIndex, RunSummary, crossval_summaries
from runtime.events import DIVERGED

LIVE_RELOAD_MS = 500


class RunInfo:
    """A listed run: its summary (from the runs folder's index); its journal and snapshot are read when asked for."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary
        self.folder = summary.folder  # the row's key, as text
        self.name = summary.name
        self.final = summary.final  # the ending event's type, kind, message and test measures
        kind = summary.ended
        self.outcome = "diverged" if kind == "failed" and self.final.get("kind") in DIVERGED else kind or "unfinished"

    @property
    def path(self) -> Path:
        return self.summary.path

    @property
    def weights(self) -> str | None:
        """The run's weights file (best, else last), None before its first epoch."""
        return str(self.path / self.summary.weights) if self.summary.weights else None

    @cached_property
    def project(self) -> dict | None:
        """The project snapshot the run trained (None when its configuration has none)."""
        if not self.summary.has_project:
            return None
        config = RunFolder(self.path).read_config_or_empty()
        project = config.get("project", config)
        return project if isinstance(project, dict) and {"networks", "graph"} & set(project) else None  # v2 or v1

    @cached_property
    def _journal(self) -> tuple[list[dict], dict | None, dict | None, dict]:
        epochs, confusion, test_confusion, started = [], None, None, {}
        for ev in RunFolder(self.path).read_events():
            kind = ev.get("type")
            if kind == "epoch":
                epochs.append(ev)
            elif kind == "started":
                started = ev
            elif kind == "confusion":
                if ev.get("split") == "test":
                    test_confusion = ev
                else:
                    confusion = ev
        return epochs, confusion, test_confusion, started

    @property
    def epochs(self) -> list[dict]:
        return self._journal[0]

    @property
    def confusion(self) -> dict | None:
        """The last validation confusion event (the one the dashboard showed)."""
        return self._journal[1]

    @property
    def test_confusion(self) -> dict | None:
        """The confusion on the test split, once the run finished."""
        return self._journal[2]

    @property
    def started(self) -> dict:
        """The started event: the task and metric the run trained, its classes."""
        return self._journal[3]

    def curve(self, split: str, metric: str) -> tuple[list[float], list[float]]:
        """(epochs, values) of `split`'s `metric` (e.g. "val", "loss")."""
        xs, ys = [], []
        for ev in self.epochs:
            section = ev.get(split) or {}
            value = section.get(metric)
            if isinstance(value, (int, float)):
                xs.append(float(ev.get("epoch", len(xs) + 1)))
                ys.append(float(value))
        return xs, ys


def read_run(path: str | Path) -> RunInfo:
    """Read a run folder (tolerant: a run killed mid-write still lists what it has)."""
    return RunInfo(RunFolder(path).summary())


def _mean_std(mean: dict, std: dict, key: str, label: str | None = None) -> str:
    if not isinstance(mean.get(key), (int, float)):
        return ""
    spread = std.get(key) if isinstance(std.get(key), (int, float)) else 0.0
    return f"{label + ' ' if label else ''}{_fmt(mean[key])} ± {_fmt(spread)}"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def headline(metrics: dict) -> str:
    """A run's headline metric in words: accuracy for classes, mean absolute error for values."""
    for key, label in (("accuracy", "accuracy"), ("mae", "MAE")):
        if isinstance(metrics.get(key), (int, float)):
            return f"{label} {_fmt(metrics[key])}"
    return ""


class RunsPanel(QWidget):
    """Past runs of the project."""

    run_selected = Signal(str)  # the run whose weights export and inference use
    COLUMNS = ("run", "outcome", "epochs", "val loss", "val metric", "test metric", "dataset")

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.runs: list[RunInfo] = []
        self._index: RunsIndex | None = None  # runs are re-listed each epoch: the index reads only what changed
        self._items: dict[str, QTreeWidgetItem] = {}  # run folder -> its row
        self._bold: QTreeWidgetItem | None = None  # the row shown in bold (the run in use)
        self._ended: dict[str, str] = {}  # run folder -> how the bridge saw it end (a killed child writes nothing)
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_RELOAD_MS)
        self._live_timer.timeout.connect(self.reload)
        bridge = getattr(controller, "bridge", None)
        if bridge is not None:
            bridge.run_ended.connect(self._on_run_ended)
        self.tree = QTreeWidget()
        self.tree.setObjectName("runs_list")
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.overlay_button = QPushButton("Overlay selected curves")
        self.overlay_button.setObjectName("overlay_runs")
        self.overlay_button.clicked.connect(self.overlay_selected)
        self.confusion_button = QPushButton("Show confusion matrix")
        self.confusion_button.setObjectName("show_run_confusion")
        self.confusion_button.clicked.connect(self.show_selected_confusion)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reload)
        self.hint = QLabel("Select runs to overlay their validation curves; the run you click last (in bold) "
                           "is the one whose weights Export and Inference use.")
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.overlay_button, self.confusion_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def _list(self) -> list[RunInfo]:
        root = Path(self.controller.runs_root())
        if self._index is None or self._index.root != root:
            self._index = RunsIndex(root)
        known = {info.folder: info for info in self.runs}
        out = []
        for summary in self._index.runs():
            info = known.get(summary.folder)
            out.append(info if info is not None and info.summary.stamp == summary.stamp and summary.stamp
                       else RunInfo(summary))  # the same run unchanged keeps the journal it has read
        return out

    def outcome(self, info: RunInfo) -> str:
        """How a run ended, in one word: from its own log, else from what the app saw."""
        if info.outcome != "unfinished":
            return info.outcome
        bridge = getattr(self.controller, "bridge", None)
        if (bridge is not None and bridge.is_active and bridge.run_dir
                and Path(bridge.run_dir) in (info.path, info.path.parent)):  # the parent: a cross-validation's folds
            return "running"
        return self._ended.get(str(info.path), "interrupted")  # else: the app ended during the run

    def _on_run_ended(self, outcome: str, _message: str) -> None:
        bridge = self.controller.bridge
        if bridge.run_dir:
            self._ended[str(Path(bridge.run_dir))] = outcome

    def reload(self) -> None:
        """Re-read the runs folder (the selection is kept)."""
        self.runs = self._list()
        kept = {item.data(0, Qt.UserRole) for item in self.tree.selectedItems()}
        current = self.tree.currentItem()
        current_path = current.data(0, Qt.UserRole) if current is not None else None
        blocker = QSignalBlocker(self.tree)  # re-listing is not the user choosing a run
        selection = QSignalBlocker(self.tree.selectionModel())
        self.tree.clear()
        self._items, self._bold = {}, None
        rows = []
        for info in self.runs:
            val = info.summary.last_val
            test = info.final.get("test") or {}
            item = QTreeWidgetItem([info.name, self.outcome(info), str(info.summary.epochs), _fmt(val.get("loss")),
                                    headline(val), headline(test), str(info.summary.dataset or "")])
            item.setData(0, Qt.UserRole, info.folder)
            item.setToolTip(0, info.final.get("message") or info.folder)
            self._items[info.folder] = item
            rows.append(item)
        self.tree.addTopLevelItems(rows)  # at once: a thousand runs are one insertion, not a thousand
        for path in kept:
            if path in self._items:
                self._items[path].setSelected(True)
        if current_path in self._items:
            self.tree.setCurrentItem(self._items[current_path], 0, QItemSelectionModel.NoUpdate)
        self._list_crossvals()
        del selection, blocker
        self.mark_current()
        self._update_buttons()

    def _list_crossvals(self) -> None:
        """One row per cross-validation, above its folds: the folds' mean ± std (not selectable: no weights)."""
        summaries = crossval_summaries(self.controller.runs_root())
        if not summaries:
            return
        rows = {self.tree.topLevelItem(i).data(0, Qt.UserRole): i for i in range(self.tree.topLevelItemCount())}
        by_path = {str(r.path): r for r in self.runs}
        for path, data in summaries:
            folds = [f for f in data["folds"] if isinstance(f, dict)]
            mean, std = data.get("mean") or {}, data.get("std") or {}
            states = {f.get("state") for f in folds}
            outcome = "finished" if states == {"finished"} else "failed" if "failed" in states else "stopped"
            metric = _mean_std(mean, std, "accuracy", "accuracy") or _mean_std(mean, std, "mae", "MAE")
            first = by_path.get(str(folds[0].get("run_dir"))) if folds else None
            dataset = (first.summary.dataset if first else None) or ""
            item = QTreeWidgetItem([f"{path.name.split('.')[0]} cross-validation ({len(folds)} folds)",
                                    outcome, "", _mean_std(mean, std, "loss"), metric,
                                    headline(data.get("test_mean") or {}), str(dataset)])
            item.setData(0, Qt.UserRole, str(path))
            item.setToolTip(0, f"mean ± standard deviation of the folds' validation metrics ({path})")
            item.setFlags(Qt.ItemIsEnabled)
            self._items[str(path)] = item
            at = [rows[str(f.get("run_dir"))] for f in folds if str(f.get("run_dir")) in rows]
            self.tree.insertTopLevelItem(min(at) if at else self.tree.topLevelItemCount(), item)
            rows = {self.tree.topLevelItem(i).data(0, Qt.UserRole): i for i in range(self.tree.topLevelItemCount())}

    def _update_buttons(self) -> None:
        chosen = bool(self.tree.selectedItems())  # both act on the selected runs
        self.overlay_button.setEnabled(chosen)
        self.confusion_button.setEnabled(chosen)

    def item_for(self, run_dir) -> QTreeWidgetItem | None:
        """The list row of `run_dir`, if it is listed."""
        return self._items.get(str(Path(run_dir))) if run_dir is not None else None

    def mark_current(self) -> None:
        """Show in bold the run whose weights Export and Inference use (only the rows that change are touched)."""
        current = self.item_for(self.controller.current_run)
        if current is self._bold:
            return
        for item, bold in ((self._bold, False), (current, True)):
            if item is not None:
                for col in range(len(self.COLUMNS)):
                    font = item.font(col)
                    font.setBold(bold)
                    item.setFont(col, font)
        self._bold = current

    def note_live_epoch(self) -> None:
        """A running run finished an epoch: list it with its metrics so far (at most twice a second)."""
        if not self._live_timer.isActive():  # tiny models finish dozens of epochs a second
            self._live_timer.start()

    def selected(self) -> list[RunInfo]:
        paths = {item.data(0, Qt.UserRole) for item in self.tree.selectedItems()}
        return [r for r in self.runs if str(r.path) in paths]

    def _on_selection(self) -> None:
        self._update_buttons()
        chosen = self.selected()
        if not chosen:
            return
        item = self.tree.currentItem()  # the row clicked last, when it is among the selected ones
        path = item.data(0, Qt.UserRole) if item is not None and item.isSelected() else str(chosen[0].path)
        self.run_selected.emit(path)
        self.mark_current()

    def overlay_selected(self) -> None:
        """Draw the selected runs' validation loss and metric as dashed lines on the dashboard."""
        dash = self.controller.dashboard
        dash.loss_plot.clear_overlays()
        dash.metric_plot.clear_overlays()
        drawn, empty = [], []
        for i, info in enumerate(self.selected()):
            x, y = info.curve("val", "loss")
            if x:
                dash.loss_plot.add_overlay(f"{info.name} val", x, y, i)
            x, y = info.curve("val", dash.metric_name)
            if x:
                dash.metric_plot.add_overlay(f"{info.name} val", x, y, i)
            (drawn if info.epochs else empty).append(info.name)
        if empty:
            self.controller.status(f"Run {', '.join(empty)} has no finished epoch, so there is no curve to "
                                   "overlay; choose a run that trained at least one epoch.")
        elif drawn:
            self.controller.status(f"Overlaid the validation curves of {', '.join(drawn)} (dashed).")
        self.controller._show("dashboard_dock")

    def show_selected_confusion(self) -> None:
        """Reopen the last validation confusion matrix of the run in use (else another selected run)."""
        current = self.controller.current_run
        chosen = sorted(self.selected(), key=lambda r: current is None or r.path != Path(current))
        for info in chosen:
            ev = info.confusion or info.test_confusion
            if ev:
                caption = f"Run {info.name}, {ev.get('split', 'validation')} set, epoch {ev.get('epoch', '?')}"
                self.controller.dashboard.show_confusion(ev.get("matrix"), ev.get("classes") or [], caption,
                                                        ev.get("split", "validation"))
                self.controller._show("dashboard_dock")
                return
        self.controller.status("The selected run has no confusion matrix (it is not a classification run, "
                               "or it ended before its first epoch).")
