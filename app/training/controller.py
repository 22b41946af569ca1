"""Wires the training docks, the Train menu and the Export menu into the main window.

The controller owns the bridge (one run at a time) and keeps the panels in step with the
window's project. Each run trains a snapshot of the project taken when Train is pressed, so
editing the graph while it trains changes nothing in the run.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from app.training.bridge import TrainingBridge
from app.training.host import TrainingHost
from graph_builder.runs import RunsError, carry_runs, new_run_dir, runs_folder, untitled_runs_folder

DOCKS = (  # object name, title, area — one row per dock (declarative)
    ("data_dock", "Data", Qt.RightDockWidgetArea),
    ("training_dock", "Training", Qt.RightDockWidgetArea),
    ("dashboard_dock", "Dashboard", Qt.BottomDockWidgetArea),
    ("runs_dock", "Runs", Qt.BottomDockWidgetArea),
    ("inference_dock", "Inference", Qt.BottomDockWidgetArea),
    ("explain_dock", "Inside", Qt.BottomDockWidgetArea),
    ("experiments_dock", "Experiments", Qt.BottomDockWidgetArea),
)


def runs_root(project_path: str | os.PathLike) -> Path:
    """Where a saved project's runs live: `<name>.runs/` beside its file (graph_builder.runs)."""
    return runs_folder(project_path)


def untitled_runs_base() -> Path:
    """Where untitled projects get their own runs folders: NETCANVAS_RUNS_DIR, else the app's data folder."""
    override = os.environ.get("NETCANVAS_RUNS_DIR")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation) or str(Path.home() / ".netcanvas")
    return Path(base) / "runs"


class _DockBody(QWidget):
    """A dock's fixed content widget; the real panel is put in after the first paint."""

    def __init__(self) -> None:
        super().__init__()
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QLabel("Loading…")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.box.addWidget(self.placeholder)

    def put(self, widget: QWidget) -> None:
        self.box.removeWidget(self.placeholder)
        self.placeholder.deleteLater()
        self.box.addWidget(widget)


class TrainingController(QObject):
    """The training side of the main window."""

    run_finished = Signal(str, str)  # outcome, message (after the dashboard shows it)

    def __init__(self, window: TrainingHost) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = TrainingBridge(self)
        self.built = False
        self.current_run: Path | None = None  # the run whose weights export and inference use
        self.live_shown = False  # the dashboard shows the run that trains (not when another project was opened)
        self.alarms: list[str] = []  # the sanity warnings of the latest run (runtime/train/sanity.py)
        self.untitled_runs = untitled_runs_folder(untitled_runs_base())  # this untitled document's own
        self._pending_carry: tuple[Path, Path] | None = None  # runs to move once the active run ends
        self.bodies: dict[str, _DockBody] = {}
        self._tensorboard = None  # the TensorBoard server Train ▸ Open in TensorBoard started
        self.field_menu = None  # the last Search over this menu shown
        self._epoch_timer = None  # Train ▸ Estimate Epoch Time, made when first used
        self.docks = {}
        for object_name, title, area in DOCKS:
            body = _DockBody()
            self.bodies[object_name] = body
            self.docks[object_name] = window.add_dock(body, title, area, object_name)
        self._make_train_menu()
        from app.training.export_actions import ExportActions

        self.exports = ExportActions(self)
        window.run_issues = self.run_issues
        window.project_replaced.connect(self._on_project_replaced)
        window.project_saved.connect(self._on_project_saved)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.bridge.kill)
        window.installEventFilter(self)
        window.first_painted.connect(self._after_first_paint)

    # ----- menus
    def _make_train_menu(self) -> None:
        menu = self.window.menu("&Train")
        rows = (  # attribute, text, shortcut, slot
            ("train_action", "&Train", "Ctrl+T", self.train),
            ("pause_action", "&Pause / Resume", "Ctrl+Shift+P", self.toggle_pause),
            ("stop_action", "&Stop", "Ctrl+.", self.stop),
            ("tensorboard_action", "Open in Tensor&Board", "", self.open_tensorboard),
            ("epoch_time_action", "&Estimate Epoch Time", "", self.estimate_epoch_time),
        )
        for attr, text, shortcut, slot in rows:
            action = QAction(text, self.window)
            action.setObjectName(attr)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)
            setattr(self, attr, action)
        self._on_state_changed("idle")

    def estimate_epoch_time(self) -> None:
        """Time three real training steps in a child process and show what one epoch takes (app/training/epoch_time)."""
        from app.training.epoch_time import EpochTimer

        if self._epoch_timer is None:
            self._epoch_timer = EpochTimer(self)
        self._epoch_timer.start()

    def open_tensorboard(self) -> None:
        """Show this project's runs in TensorBoard (started on 127.0.0.1), or say how to install it."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from runtime.train import INSTALL_HINT, TensorBoardServer, tensorboard_available

        if not tensorboard_available():
            self.window.status_message(INSTALL_HINT, 12000)
            return
        root = self.runs_root()
        server = self._tensorboard
        if server is None or not server.running() or server.logdir != root:
            if server is not None:
                server.stop()
            root.mkdir(parents=True, exist_ok=True)
            self._tensorboard = server = TensorBoardServer(root)
            app = QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(server.stop)
        self.window.status_message(f"TensorBoard shows {root} at {server.url}", 12000)
        QDesktopServices.openUrl(QUrl(server.url))

    def _on_setting_menu(self, name: str, widget, pos) -> None:
        """Right-click on a training setting: Search over this (adds it to the experiment)."""
        from app.training.experiments_panel import default_dimension, search_actions, show_field_menu

        section = self.project.training
        self.field_menu = show_field_menu(widget, pos, search_actions(
            self.window, lambda: default_dimension(section.field(name), section.value(name), {"setting": name})))

    def on_param_menu(self, node_id: str, name: str, widget, pos) -> None:
        """Right-click on a layer parameter in the inspector: Search over this."""
        from app.training.experiments_panel import default_dimension, search_actions, show_field_menu

        network = self.window.current_network()
        node = self.project.network(network).nodes[node_id]
        where = {"network": network, "node": node_id, "param": name}
        self.field_menu = show_field_menu(widget, pos, search_actions(
            self.window, lambda: default_dimension(node.spec.param(name), node.params[name], where)))

    def _after_first_paint(self) -> None:
        QTimer.singleShot(0, self.ensure_built)
        if not os.environ.get("NETCANVAS_NO_SPARE_PROCESS"):  # set by tests/conftest.py: test windows hold none
            self.bridge.keep_spare()  # the next Train skips the seconds torch takes to import
        if os.environ.get("NETCANVAS_AUTOTRAIN"):  # for screenshots and the latency bench
            QTimer.singleShot(300, self.train)

    # ----- building (deferred: pyqtgraph takes ~0.4 s to import)
    def ensure_built(self) -> None:
        """Create the real panels inside the docks (once)."""
        if self.built:
            return
        self.built = True
        from app.training.dashboard import Dashboard
        from app.training.data_panel import DataPanel
        from app.training.explain_panel import ExplainPanel
        from app.training.experiments_panel import ExperimentsPanel
        from app.training.inference_panel import InferencePanel
        from app.training.runs_panel import RunsPanel
        from app.training.training_panel import TrainingPanel

        self.dashboard = Dashboard()
        self.training_panel = TrainingPanel()
        self.data_panel = DataPanel(self)
        self.runs_panel = RunsPanel(self)
        self.inference_panel = InferencePanel(self)
        self.explain_panel = ExplainPanel(self, self.inference_panel)
        self.experiments_panel = ExperimentsPanel(self)
        self.training_panel.form.field_menu_requested.connect(self._on_setting_menu)
        self.bodies["data_dock"].put(self.data_panel)
        self.bodies["training_dock"].put(self.training_panel)
        self.bodies["dashboard_dock"].put(self.dashboard)
        self.bodies["runs_dock"].put(self.runs_panel)
        self.bodies["inference_dock"].put(self.inference_panel)
        self.bodies["explain_dock"].put(self.explain_panel)
        self.bodies["experiments_dock"].put(self.experiments_panel)

        self.training_panel.train_clicked.connect(self.train)
        self.training_panel.pause_clicked.connect(self.toggle_pause)
        self.training_panel.stop_clicked.connect(self.stop)
        self.dashboard.cell_clicked.connect(self.inference_panel.show_cell)
        self.runs_panel.run_selected.connect(self.select_run)  # a past run's results, views and pictures
        self.bridge.event_received.connect(self._on_event)
        self.bridge.drained.connect(self._on_drained)
        self.bridge.state_changed.connect(self._on_state_changed)
        self.bridge.run_ended.connect(self._on_run_ended)
        self._on_project_replaced()

    # ----- project sync
    @property
    def project(self):
        return self.window.project

    def project_path(self) -> str | None:
        """The open project's file, if it has been saved."""
        path = self.window.project_path()
        return str(path) if path else None

    def runs_root(self) -> Path:
        """The open project's runs folder: beside its file, or this untitled document's own."""
        path = self.project_path()
        return runs_root(path) if path else self.untitled_runs

    def _on_project_replaced(self, *_args) -> None:
        # Another document: its own runs, and no run of the previous one stays chosen.
        self.current_run = None
        if not self.project_path():
            self.untitled_runs = untitled_runs_folder(untitled_runs_base())
        if not self.built:
            return
        if self.live_shown:  # a run of the previous project trains on, into its own folder, out of view
            self.live_shown = False
            self.dashboard.generative.live = False
            self.status("The previous project's run goes on in its own runs folder; its results are not shown "
                        "under this project.")
        # The panels show the new project's own sections: nothing of the previous project stays.
        self.training_panel.follow(self.project.training, self.window.editor.push_on)
        self.data_panel.follow(self.project.dataset, self.window.editor.push_on)
        self.runs_panel.reload()
        self.experiments_panel.follow(self.project)
        self.explain_panel.clear()
        self.project.training.events.offered_changed.connect(self._on_task_changed)
        self.show_newest_run()

    def show_newest_run(self) -> None:
        """Every view shows the newest finished run of the open project's network (the one Evaluate and Export
        then use), or nothing of any run when it has none: never the results of the project shown before."""
        if self.live_shown:
            return  # the live run keeps the dashboard until it ends
        from graph_builder.runs import RunsError, check_run_fits

        for info in self.runs_panel.runs:  # newest first
            if info.outcome != "finished" or info.weights is None:
                continue
            try:
                check_run_fits(info.path, self.project)
            except RunsError:
                continue  # trained for another version of the network
            self.select_run(str(info.path))
            return
        self.current_run = None
        self.runs_panel.mark_current()
        self.dashboard.clear(self.project.task())  # before its first run: the tabs of what it trains
        self.window.validate_now()

    def _on_task_changed(self) -> None:
        # An edit made the document another task (a Gaussian latent layer, the task setting, a second
        # network): the dashboard's tabs follow, unless a run trains and its own views are on show.
        if self.built and not self.live_shown:
            self.dashboard.show_task(self.project.task())

    # ----- running
    def snapshot(self) -> dict:
        """The project as the run will see it: a deep copy, immune to later edits.

        The settings are the document's (the panels only show them), so a run trains exactly
        what a save would write.
        """
        from graph_builder.project import project_to_dict

        from graph_builder.settings import dataset_beside

        snapshot = copy.deepcopy(project_to_dict(self.project))
        snapshot["dataset"] = dataset_beside(snapshot["dataset"], self.project_path())  # the run may start elsewhere
        return snapshot

    def train(self) -> bool:
        """Start a run of the current project; False (with a message) when it cannot start."""
        self.ensure_built()
        if self.bridge.is_active:
            self.status("A run is already going: stop it before starting another.")
            return False
        problem = self._blocking_problem()
        if problem:
            self.dashboard.set_outcome("failed", problem)
            self.status(problem)
            self._show("dashboard_dock")
            return False
        folds = self.project.training.value("folds")
        try:
            if folds > 1:  # cross-validation: each fold makes its own run in the runs folder
                run_dir = self.runs_root()
                run_dir.mkdir(parents=True, exist_ok=True)
            else:
                run_dir = new_run_dir(self.runs_root())
        except OSError as exc:
            self.dashboard.set_outcome("failed", f"Cannot create the run folder: {exc}")
            return False
        self.dashboard.reset()
        self.live_shown = True
        self.current_run = run_dir if folds == 1 else None
        self.alarms = []
        self.bridge.start(self.snapshot(), str(run_dir), self.project_path())
        self.window.validate_now()  # the previous run's problems leave the canvas
        self._show("dashboard_dock")
        self._give_dashboard_room()
        self.status(f"{folds}-fold cross-validation started" if folds > 1 else f"Training started: {run_dir.name}")
        return True

    def _blocking_problem(self) -> str | None:
        from graph_builder.datafit import fit_issues
        from graph_builder.settings import SettingsError, validate_dataset_section, validate_training_section

        errors = self.window.validate_now().errors
        misfits = fit_issues(errors)  # the model against the data: after the graph's and the settings' own
        errors = [i for i in errors if i not in misfits]
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return f"The graph has a problem to fix before training: {errors[0].message}{more}"
        # Refuse settings that cannot work here, before a child process is spent on them.
        snapshot = self.snapshot()
        for section, check, panel in (("training", validate_training_section, "Training"),
                                      ("dataset", validate_dataset_section, "Data")):
            try:
                check(snapshot.get(section) or {}, f"$.{section}", fill_defaults=True)
            except SettingsError as exc:
                setting = exc.path.rsplit(".", 1)[-1].replace("_", " ")
                return (f"Training was not started: the {setting} setting cannot work: {exc.message}. "
                        f"Change it in the {panel} panel and press Train again.")
        if misfits:
            more = f" (and {len(misfits) - 1} more)" if len(misfits) > 1 else ""
            return f"The model does not fit the data: {misfits[0].message}{more}"
        return None

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one."""
        if self.bridge.state == "paused":
            self.bridge.resume()
        else:
            self.bridge.pause()

    def stop(self) -> None:
        """Stop the run (it is terminated if it does not end within the grace period)."""
        self.bridge.stop()

    def _on_state_changed(self, state: str) -> None:
        active = state != "idle"
        self.train_action.setEnabled(not active)
        self.epoch_time_action.setEnabled(not active)  # a dry run beside a run would time neither
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.stop_action.setEnabled(state in ("starting", "running", "paused"))
        if self.built:
            self.training_panel.set_state(state)
            if self.live_shown:
                self.dashboard.set_state(state)

    def _on_drained(self) -> None:
        if self.live_shown:
            self.dashboard.refresh()

    def _on_event(self, event: dict) -> None:
        if not self.live_shown:
            return  # the run of a project no longer open: its folder keeps everything
        self.dashboard.handle_event(event)
        kind = event.get("type")
        if kind == "alarm":  # runtime/train/sanity.py: odd settings before the first epoch, or a hopeless run
            self.alarms.append(event["message"])
            self.dashboard.status.setText("⚠ " + event["message"])
            self.status(event["message"])
        elif kind == "epoch":
            self.runs_panel.note_live_epoch()
        elif kind == "started":
            self.inference_panel.set_split_sizes({"train": event.get("train_size"), "val": event.get("val_size"),
                                                  "test": event.get("test_size")})

    def _on_project_saved(self, previous: str, path: str) -> None:
        """The first Save of an untitled project carries its runs folder to `<name>.runs/`."""
        if previous:
            return  # a saved project's runs stay beside the file they were made for
        source, target = self.untitled_runs, runs_root(path)
        if self.bridge.is_active:  # the child writes into the folder: move it when the run ends
            self._pending_carry = (source, target)
            self.status(f"The runs move to {target} when this training ends.")
            return
        self._carry(source, target)

    def _carry(self, source: Path, target: Path) -> None:
        self._pending_carry = None
        try:
            moved = carry_runs(source, target)
        except (RunsError, OSError) as exc:
            self.window.show_error("Runs not moved", f"The project was saved, but {exc}.")
            return
        if moved:
            if self.current_run is not None and self.current_run.parent == source:
                self.current_run = target / self.current_run.name
            self.status(f"Saved; its runs moved to {target}")
        if self.built:
            self.runs_panel.reload()

    def _on_run_ended(self, outcome: str, message: str) -> None:
        if self._pending_carry is not None:
            self._carry(*self._pending_carry)
        if not self.live_shown:  # the previous project's run: said once, shown under no other project
            self.status(f"The previous project's run ended ({outcome}): {message}")
            self.runs_panel.reload()
            self.run_finished.emit(outcome, message)
            return
        self.live_shown = False
        if outcome == "finished" and self.dashboard.crossval_text:
            message = self.dashboard.crossval_text  # the folds' mean ± std, not the last fold's own words
        self.dashboard.set_outcome(outcome, message)
        self.dashboard.refresh()
        self.status(self.dashboard.status.text())
        self.runs_panel.reload()
        self.window.validate_now()  # a NaN's node is marked from the run's outcome
        self.run_finished.emit(outcome, message)

    def run_issues(self) -> list:
        """The chosen run's problems on the open network, derived from its folder at each check: the node where
        its NaN started (graph_builder.runs.nan_problem), while the network is the one it trained."""
        from graph_builder.runs import nan_problem

        issue = nan_problem(self.current_run, self.project)
        return [issue] if issue is not None else []

    def select_run(self, run_dir: str) -> None:
        """Use `run_dir`'s weights for export and inference, and show its results."""
        self.current_run = Path(run_dir)
        if not self.built:
            return
        self.runs_panel.mark_current()
        self.window.validate_now()  # the chosen run's problems (a NaN's node) on the canvas
        if not self.live_shown:  # a live run keeps the dashboard
            from app.training.runs_panel import read_run

            self.dashboard.show_past_run(read_run(run_dir))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Close:
            QTimer.singleShot(0, self, self._after_close)  # cancelled if we are deleted first
        return False

    def _after_close(self) -> None:
        window_gone = not shiboken6.isValid(self.window)
        if window_gone or not self.window.isVisible():  # the close was not refused: end the child too
            self.bridge.kill()
            if self.built:  # the project may outlive its window: its sections must not call dead views
                self.experiments_panel.runner.kill()  # a running study and its workers end with the window
                self.training_panel.detach()
                self.data_panel.detach()

    # ----- window helpers
    def show_beside_dashboard(self, object_name: str) -> None:
        """Show a dock next to the dashboard (not as a tab behind it), so both stay in view."""
        dash, dock, w = self.docks["dashboard_dock"], self.docks.get(object_name), self.window
        if dock is None:
            return
        if dock in w.tabifiedDockWidgets(dash):
            # Qt splits a tab group only by re-adding the dock to the area: it lands beside the group.
            w.removeDockWidget(dock)
            w.addDockWidget(w.dockWidgetArea(dash), dock, Qt.Horizontal)
            dock.show()
            w.resizeDocks([dash, dock], [int(w.width() * 0.6), int(w.width() * 0.4)], Qt.Horizontal)
        dock.show()
        dock.raise_()
        dash.raise_()

    def _give_dashboard_room(self, share: float = 0.42) -> None:
        """Grow the dashboard dock to a readable height (plots and a clickable confusion matrix)."""
        dock, w = self.docks.get("dashboard_dock"), self.window
        if dock is None or dock.isFloating():
            return
        wanted = int(w.height() * share)
        if dock.height() < wanted:
            w.resizeDocks([dock], [wanted], Qt.Vertical)

    def status(self, text: str) -> None:
        self.window.status_message(text)

    def _show(self, object_name: str) -> None:
        dock = self.docks.get(object_name)
        if dock is not None:
            self.window.reveal_dock(object_name)
            dock.show()
            dock.raise_()
