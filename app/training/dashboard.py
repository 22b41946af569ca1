"""The live dashboard: status and progress, loss / metric / LR / throughput plots, and a side pane
with the views of the task it shows (app.tasks: a classifier's confusion matrix and per-class
table, a generative run's pictures, an autoencoder's anomaly scores, a forecast against the naive one).
It consumes the trainer's event dicts (docs/events.md) and redraws only when the bridge's timer tick says
new events arrived.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from app.tasks import tab_views
from app.training.confusion import ClassMetricsTable, ConfusionView
from app.training.forecast import PAST_RUN, ForecastView
from app.training.generative import GenerativeView
from app.training.plots import EXTRA, TRAIN, TRAIN_EPOCH, VALID, LivePlot, Series, write_metrics_csv
from app.training.runs_panel import RunInfo
from graph_builder.tasks import CLASSIFICATION, TASKS, TaskSpec

STATE_WORDS = {
    "idle": "Ready to train.",
    "starting": "Starting the training process…",
    "running": "Training…",
    "paused": "Paused.",
    "stopping": "Stopping…",
}


def format_duration(seconds: float | None) -> str:
    """`1:02:03` / `2:03` for a duration in seconds ("–" when unknown)."""
    if seconds is None or not np.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Dashboard(QWidget):
    """Everything a running (or reopened) run shows."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel(STATE_WORDS["idle"])
        self.status.setObjectName("training_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        font = self.status.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        font.setBold(True)
        self.status.setFont(font)
        self.device = QLabel("")
        self.device.setObjectName("training_device")
        self.progress = QProgressBar()
        self.progress.setObjectName("training_progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("training_progress_text")
        self.folds = QLabel("")  # cross-validation: each fold's metrics, then their mean ± std
        self.folds.setObjectName("crossval_folds")
        self.folds.setWordWrap(True)
        self.folds.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.folds.hide()

        self.metric_name = "accuracy"
        self.loss_plot = LivePlot("Loss", "loss", "epoch", [
            Series("train_batch", "train (batch)", TRAIN, width=1.0),
            Series("train_epoch", "train (epoch)", TRAIN_EPOCH, symbols=True, width=2.0),
            Series("val_epoch", "validation", VALID, symbols=True, width=2.0),
        ])
        self.metric_plot = LivePlot("Accuracy", "accuracy", "epoch", [
            Series("train_epoch", "train", TRAIN_EPOCH, symbols=True, width=2.0),
            Series("val_epoch", "validation", VALID, symbols=True, width=2.0),
        ])
        self.lr_plot = LivePlot("Learning rate", "learning rate", "epoch",
                                [Series("lr", "learning rate", EXTRA)], log_y=True)
        self.speed_plot = LivePlot("Throughput", "samples / s", "epoch",
                                   [Series("speed", "samples/s", TRAIN)])
        self.plots = [self.loss_plot, self.metric_plot, self.lr_plot, self.speed_plot]

        self.confusion = ConfusionView()
        self.confusion.setMinimumSize(220, 190)  # ten classes stay readable and clickable in a small dock
        self.confusion.cell_clicked.connect(self.cell_clicked)
        self.class_table = ClassMetricsTable()
        self.class_table.setObjectName("class_metrics")
        self.forecast = ForecastView()  # forecasting runs (app/training/forecast.py)

        export_png = QPushButton("Save plots as PNG…")
        export_png.setObjectName("export_plots_png")
        export_png.clicked.connect(self._on_export_png)
        export_csv = QPushButton("Save metrics as CSV…")
        export_csv.setObjectName("export_metrics_csv")
        export_csv.clicked.connect(self._on_export_csv)

        header = QGridLayout()
        header.addWidget(self.status, 0, 0, 1, 2)
        header.addWidget(self.device, 0, 2, Qt.AlignRight)
        header.addWidget(self.progress, 1, 0, 1, 3)
        header.addWidget(self.progress_text, 2, 0, 1, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(export_png)
        buttons.addWidget(export_csv)
        header.addLayout(buttons, 2, 2, Qt.AlignRight)
        header.addWidget(self.folds, 3, 0, 1, 3)

        grid = QWidget()
        g = QGridLayout(grid)
        g.setContentsMargins(0, 0, 0, 0)
        g.addWidget(self.loss_plot, 0, 0)
        g.addWidget(self.metric_plot, 0, 1)
        g.addWidget(self.lr_plot, 1, 0)
        g.addWidget(self.speed_plot, 1, 1)
        g.setRowStretch(0, 3)
        g.setRowStretch(1, 2)

        side = QTabWidget()
        side.setObjectName("confusion_tabs")
        side.setElideMode(Qt.ElideNone)  # the pane is never narrower than its two tab titles (layout rule)
        side.setUsesScrollButtons(False)
        self.side_tabs = side
        self.generative = GenerativeView()  # reconstruction, VAE and GAN runs (app/training/generative.py)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(grid)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter
        self._sizes: list[int] | None = None  # the split before a task with pictures widened the side pane

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)

        self.state = "idle"
        self.epochs_total: int | None = None
        self.batches_per_epoch: int | None = None
        self.class_names: list[str] = []
        self.confusion_epoch: int | None = None
        self.validation_size: int | None = None
        self.fold_rows: dict[int, str] = {}  # fold -> its line in self.folds
        self.crossval_text: str | None = None  # the mean ± std, once every fold has run
        self._last_dir = str(Path.home())
        self.task: TaskSpec | None = None
        self.show_task(CLASSIFICATION)

    # ----- run lifecycle
    def reset(self) -> None:
        """Forget the previous run's points (a new run starts)."""
        for plot in self.plots:
            plot.clear()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress_text.setText("")
        self.confusion_epoch = None
        self.fold_rows, self.crossval_text = {}, None
        self.folds.setText("")
        self.folds.hide()
        self.generative.reset()
        self.forecast.reset()

    def clear(self, spec: TaskSpec) -> None:
        """Nothing of any run: what a project shows before its first (or without a chosen) run, under the views
        of the task it would train. Another project's results never stay on show."""
        self.reset()  # the plots' overlays go with their points
        self.confusion.clear()
        self.class_table.clear_rows()
        self.epochs_total = self.batches_per_epoch = self.validation_size = None
        self.class_names = []
        self.device.setText("")
        self.status.setText(STATE_WORDS["idle"])
        self.status.setProperty("outcome", None)
        self.status.setStyleSheet("")
        self.show_task(spec)

    def show_past_run(self, info: RunInfo) -> None:
        """A run as its folder keeps it: its curves, its last confusion matrix and per-class table, how it
        ended, and its pictures and anomaly scores, under the views of the task it trained (nothing changes
        while a run trains: the live run keeps the dashboard)."""
        if self.generative.live:
            return
        self.clear(self.task or CLASSIFICATION)
        spec = self.generative.show_run(str(info.path))  # the task the run recorded
        self.forecast.reset(PAST_RUN)  # never another run's forecast under this one's name
        self.show_task(spec or CLASSIFICATION, info.started.get("metric"))
        self.epochs_total, self.batches_per_epoch = info.started.get("epochs"), info.started.get("batches_per_epoch")
        self.class_names = [str(c) for c in (info.started.get("classes") or [])]  # what Evaluate's bars are named
        for ev in info.epochs:
            self._on_epoch_event(ev)
        confusion = info.test_confusion or info.confusion  # what the dashboard showed when the run ended
        if confusion:
            self._on_confusion_event(confusion)
        if info.outcome != "unfinished":
            self.set_outcome(info.outcome, info.final.get("message") or "")
            if info.outcome == "finished":
                self._on_finished_event(info.final)
        self.refresh()

    def set_state(self, state: str) -> None:
        """Show the bridge's state in words."""
        self.state = state
        if state in STATE_WORDS and state != "idle":
            self.status.setText(STATE_WORDS[state])

    def set_outcome(self, outcome: str, message: str) -> None:
        """Show how the run ended (finished, stopped, failed, crashed) in plain words."""
        prefix = {"finished": "Finished", "stopped": "Stopped", "failed": "Failed", "diverged": "Diverged",
                  "crashed": "Crashed"}.get(outcome, outcome.capitalize())
        text = message if message.lower().startswith(prefix.lower()) else f"{prefix}: {message}"
        self.status.setText(text)
        self.status.setProperty("outcome", outcome)
        self.status.setStyleSheet("color: #d64545;" if outcome in ("failed", "diverged", "crashed") else "")

    def show_task(self, spec: TaskSpec, metric: str | None = None) -> None:
        """Show what a run of `spec` has: the plot of its headline metric (or `metric`) and only its own
        side tabs (app.tasks); a task with none (regression) gives the curves the whole width."""
        self.metric_name = metric or spec.headline
        try:
            title = spec.metric(self.metric_name).title
        except KeyError:
            title = self.metric_name
        self.metric_plot.title = title
        self.metric_plot.plot_item.setTitle(title, size="10pt")
        self.metric_plot.plot_item.setLabel("left", self.metric_name)
        if spec is self.task:
            return
        self.task = spec
        views = tab_views(spec)
        side = self.side_tabs
        side.clear()  # the pages stay the dashboard's; only the tabs change
        for view in views:
            side.addTab(view.widget(self), view.title)
        side.setVisible(bool(views))
        self.generative.show_page(next((v.page for v in views if v.page), None))
        wide = next((v for v in views if v.wide), None)
        total = sum(self.splitter.sizes())
        if wide is not None:
            side.setCurrentWidget(wide.widget(self))
            if total > 0:  # the pictures need the room a confusion matrix would take
                if self._sizes is None:
                    self._sizes = self.splitter.sizes()
                curves = int(max(0.3 * total, min(420, 0.45 * total)))  # the curves stay readable too
                self.splitter.setSizes([curves, total - curves])
        elif self._sizes is not None:
            self.splitter.setSizes(self._sizes)
            self._sizes = None

    # ----- events
    def handle_event(self, event: dict) -> None:
        """Route one trainer event to its handler (unknown types are ignored)."""
        handler = getattr(self, f"_on_{event.get('type')}_event", None)
        if handler is not None:
            handler(event)
        self.generative.handle_event(event)

    def refresh(self) -> None:
        """Push new points to the plots (called once per bridge tick)."""
        for plot in self.plots:
            plot.refresh()
        self.generative.refresh()

    def _on_started_event(self, ev: dict) -> None:
        self.epochs_total = ev.get("epochs")
        self.batches_per_epoch = ev.get("batches_per_epoch")
        self.class_names = [str(c) for c in (ev.get("classes") or [])]
        self.validation_size = ev.get("val_size")
        device = ev.get("device_name") or ev.get("device") or ""
        amp = ev.get("amp")
        self.device.setText(f"Device: {device}" + (f" · mixed precision ({amp})" if amp else ""))
        if ev.get("task"):
            self.show_task(TASKS.get(ev["task"], CLASSIFICATION), ev.get("metric"))

    def _epoch_x(self, ev: dict) -> float:
        """Fractional epoch of a batch event, so batch and epoch points share one axis."""
        epoch = ev.get("epoch", 1)
        batch = ev.get("batch", 0)
        per = ev.get("batches") or self.batches_per_epoch
        return (epoch - 1) + (batch + 1) / per if per else float(ev.get("step", 0))

    def _on_batch_event(self, ev: dict) -> None:
        x = self._epoch_x(ev)
        if "loss" in ev:
            self.loss_plot.add_point("train_batch", x, ev["loss"])
        if "lr" in ev:
            self.lr_plot.add_point("lr", x, ev["lr"])

    def _on_epoch_event(self, ev: dict) -> None:
        epoch = ev.get("epoch")
        train = ev.get("train") or {}
        val = ev.get("val") or {}
        self.loss_plot.add_point("train_epoch", epoch, train.get("loss"))
        self.loss_plot.add_point("val_epoch", epoch, val.get("loss"))
        self.metric_plot.add_point("train_epoch", epoch, train.get(self.metric_name))
        self.metric_plot.add_point("val_epoch", epoch, val.get(self.metric_name))
        if ev.get("lr") is not None and self.lr_plot.point_count("lr") == 0:
            self.lr_plot.add_point("lr", epoch, ev["lr"])
        speed = ev.get("samples_per_s")
        if speed:
            self.speed_plot.add_point("speed", epoch, speed)

    def _on_confusion_event(self, ev: dict) -> None:
        matrix = np.asarray(ev.get("matrix"), dtype=np.int64)
        names = [str(c) for c in (ev.get("classes") or self.class_names)]
        split = ev.get("split", "validation")
        caption = f"{split.capitalize()} set, epoch {ev.get('epoch', '?')}: {int(matrix.sum())} samples"
        self.show_confusion(matrix, names, caption, split)
        self.confusion_epoch = ev.get("epoch")

    def show_confusion(self, matrix, names: list[str], caption: str = "", split: str = "validation") -> None:
        """Show a confusion matrix of the data `split` and its per-class table."""
        self.confusion.set_matrix(matrix, names, caption, split)
        self.class_table.set_matrix(matrix, self.confusion.class_names)

    def _on_forecast_event(self, ev: dict) -> None:
        self.forecast.show_forecast(ev)

    def _on_progress_event(self, ev: dict) -> None:
        epoch, epochs = ev.get("epoch"), ev.get("epochs") or self.epochs_total
        batch, batches = ev.get("batch"), ev.get("batches") or self.batches_per_epoch
        fraction = ev.get("fraction")
        if fraction is None and epochs and batches and epoch:
            fraction = ((epoch - 1) + (batch or 0) / batches) / epochs
        if fraction is not None:
            value = int(1000 * min(max(fraction, 0.0), 1.0))
            if abs(value - self.progress.value()) >= 5:  # half-percent steps
                self.progress.setUpdatesEnabled(False)  # setValue would repaint at once; this paints with the rest
                self.progress.setValue(value)
                self.progress.setUpdatesEnabled(True)
            self.progress.setFormat(f"{100 * fraction:.0f} %")
        parts = []
        if epoch:
            parts.append(f"epoch {epoch}/{epochs}" if epochs else f"epoch {epoch}")
        if batch is not None and batches:
            parts.append(f"batch {batch}/{batches}")
        if ev.get("samples_per_s"):
            parts.append(f"{ev['samples_per_s']:,.0f} samples/s")
        if "eta_s" in ev:
            parts.append(f"ETA {format_duration(ev['eta_s'])}")
        self.progress_text.setText(" · ".join(parts))

    def _on_paused_event(self, ev: dict) -> None:
        if self.state != "paused":  # already resumed or stopping: the child's news is stale
            return
        done, total = ev.get("batch") or 0, self.batches_per_epoch
        where = (f"after batch {done}" + (f" of {total}" if total else "")) if done else "at its start"
        self.status.setText(f"Paused in epoch {ev.get('epoch', '?')}, {where}. "
                            "Press Resume to go on, or Stop to end the run.")

    def _on_fold_event(self, ev: dict) -> None:
        fold, folds, val = ev["fold"], ev["folds"], ev.get("val") or {}
        if ev["state"] == "running":  # the plots show the fold that trains now
            for plot in self.plots:
                plot.clear()
            self.fold_rows[fold] = f"Fold {fold}/{folds}: training…"
        else:
            shown = [f"{k} {val[k]:.4f}" for k in dict.fromkeys((self.metric_name, "loss")) if k in val]
            self.fold_rows[fold] = f"Fold {fold}/{folds}: " + (", ".join(shown) if shown else ev["state"])
        self._show_folds()

    def _on_crossval_event(self, ev: dict) -> None:
        mean, std = ev.get("mean") or {}, ev.get("std") or {}
        shown = [f"{k} {mean[k]:.4f} ± {std.get(k, 0.0):.4f}" for k in dict.fromkeys((self.metric_name, "loss"))
                 if k in mean]
        self.crossval_text = ev["message"]
        self.fold_rows[0] = f"Mean ± std over {ev['done']} folds: " + (", ".join(shown) or "no fold finished")
        self._show_folds()

    def _show_folds(self) -> None:
        self.folds.setText("\n".join(self.fold_rows[k] for k in sorted(self.fold_rows, key=lambda k: k or 1e9)))
        self.folds.show()

    def _on_finished_event(self, ev: dict) -> None:
        self.progress.setValue(1000)
        self.progress.setFormat("100 %")

    # ----- export
    def _on_export_png(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save plots as PNG into folder", self._last_dir)
        if folder:
            self._last_dir = folder
            self.export_pngs(folder)

    def export_pngs(self, folder: str | Path) -> list[Path]:
        """Write each plot as `<title>.png` into `folder`."""
        out = []
        for plot in self.plots:
            name = plot.title.lower().replace(" ", "_").replace("²", "2")
            out.append(plot.export_png(Path(folder) / f"{name}.png"))
        return out

    def _on_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save metrics as CSV", str(Path(self._last_dir) / "metrics.csv"),
                                              "CSV files (*.csv)")
        if path:
            self._last_dir = str(Path(path).parent)
            write_metrics_csv(path, self.plots)
