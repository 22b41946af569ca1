"""Workspaces: the window arranged for one task at a time (Design, Data, Train, Evaluate, Experiments).

Each workspace is one table row naming the docks it shows and where; tabs along the top switch
between them. A workspace's dock layout is remembered (QMainWindow.saveState in QSettings under
``workspace/<name>``), so moving a panel in Train leaves Design as it was. A dock no row names
(one a later feature adds) starts hidden and can be opened from View ▸ Panels, after which the
workspace remembers it like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QToolBar

STATE_VERSION = 3  # bump when the rows below change enough that old saved layouts mislead
FIT_LIMIT = 0.4  # an area sized to its content takes at most this share of the window

Groups = tuple[tuple[str, ...], ...]  # dock groups in one area; the docks of a group share tabs


@dataclass(frozen=True)
class Workspace:
    """One task's arrangement: docks per area (as tab groups) and each area's share of the window.

    A share of None sizes the area to its first dock's content (a one-line Problems list takes one
    line, not a quarter of the window), up to FIT_LIMIT.
    """

    name: str
    tip: str
    left: Groups = ()
    right: Groups = ()
    bottom: Groups = ()
    left_share: float = 0.16
    right_share: float = 0.24
    bottom_share: float | None = 0.24

    def area(self, side: str) -> tuple[Groups, float | None]:
        """The dock groups of one side ("left", "right" or "bottom") and its share of the window."""
        return {"left": (self.left, self.left_share), "right": (self.right, self.right_share),
                "bottom": (self.bottom, self.bottom_share)}[side]


WORKSPACES = (
    Workspace("Design", "Build the network: layers, inspector, problems and the model summary",
              # The canvas keeps the height: a 7-node chain fits at 1366×768, Problems takes what it lists.
              left=(("paletteDock",),), right=(("inspectorDock", "summaryDock", "historyDock"),),
              bottom=(("problemsDock",),), bottom_share=None),
    Workspace("Data", "Choose and inspect the dataset the network trains on",
              right=(("data_dock",),), bottom=(("problemsDock",),), right_share=0.46, bottom_share=None),
    Workspace("Train", "Set the training options, train and watch the curves",
              # The network stays in sight above the curves: at 1366×768 the canvas keeps over a third.
              right=(("training_dock",),), bottom=(("dashboard_dock", "runs_dock"),),
              right_share=0.27, bottom_share=0.48),
    Workspace("Evaluate", "Compare runs, read the confusion matrix, try the model on samples and look inside it",
              right=(("inference_dock", "explain_dock"),), bottom=(("runs_dock", "dashboard_dock"),),
              right_share=0.4, bottom_share=0.55),
    Workspace("Experiments", "Search hyperparameters: the study's settings and ranges, its trials and plots",
              right=(("training_dock",),), bottom=(("experiments_dock", "runs_dock"),),
              right_share=0.25, bottom_share=0.74),
)

_AREAS = (("left", Qt.LeftDockWidgetArea, Qt.Vertical), ("right", Qt.RightDockWidgetArea, Qt.Vertical),
          ("bottom", Qt.BottomDockWidgetArea, Qt.Horizontal))


class Workspaces(QObject):
    """The workspace tabs of a main window, and the layouts they remember."""

    changed = Signal(str)  # the workspace now shown

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget], settings) -> None:
        super().__init__(window)
        self.window = window
        self.docks = docks
        self.settings = settings
        self.tabs = QTabBar()
        self.tabs.setObjectName("workspaceTabs")
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        for i, ws in enumerate(WORKSPACES):
            self.tabs.addTab(ws.name)
            self.tabs.setTabToolTip(i, f"{ws.tip} (Alt+{i + 1})")
        self.bar = QToolBar("Workspaces")
        self.bar.setObjectName("workspaceBar")
        self.bar.setMovable(False)
        self.bar.addWidget(self.tabs)
        window.addToolBar(Qt.TopToolBarArea, self.bar)
        # Side panels run the full height, so a tall form (Training) is not squeezed by the bottom row.
        window.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        window.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        self.current = ""
        self.tabs.currentChanged.connect(lambda i: self.show(WORKSPACES[i].name))

    def names(self) -> list[str]:
        return [ws.name for ws in WORKSPACES]

    def start(self) -> None:
        """Show the workspace the last session ended in (Design the first time)."""
        name = str(self.settings.value("workspace/current", WORKSPACES[0].name))
        if name not in self.names():
            name = WORKSPACES[0].name
        self.show(name)

    def show(self, name: str) -> None:
        """Switch to workspace `name`: remember the current layout, then lay out the new one."""
        if name == self.current:
            return
        workspace = next(ws for ws in WORKSPACES if ws.name == name)
        self.remember()
        self.current = name
        self.tabs.blockSignals(True)
        self.tabs.setCurrentIndex(self.names().index(name))
        self.tabs.blockSignals(False)
        state = self.settings.value(f"workspace/{name}")
        if state is None or not self.window.restoreState(state, STATE_VERSION):
            self.lay_out(workspace)
            QTimer.singleShot(0, lambda: self._size(workspace) if self.current == name else None)
        self.settings.setValue("workspace/current", name)
        self.changed.emit(name)

    def reveal(self, dock_name: str) -> None:
        """Switch to a workspace that shows `dock_name`, unless the current one does."""
        def holds(ws: Workspace) -> bool:
            return any(dock_name in group for groups in (ws.left, ws.right, ws.bottom) for group in groups)

        current = next((ws for ws in WORKSPACES if ws.name == self.current), None)
        if current is not None and holds(current):
            return
        target = next((ws for ws in WORKSPACES if holds(ws)), None)
        if target is not None:
            self.show(target.name)

    def remember(self) -> None:
        """Store the current workspace's layout."""
        if self.current:
            self.settings.setValue(f"workspace/{self.current}", self.window.saveState(STATE_VERSION))

    def reset(self) -> None:
        """Put the current workspace back to its default layout."""
        workspace = next(ws for ws in WORKSPACES if ws.name == self.current)
        self.settings.remove(f"workspace/{self.current}")
        self.lay_out(workspace)
        self._size(workspace)

    def lay_out(self, workspace: Workspace) -> None:
        """The default arrangement of `workspace`: its docks placed and shown, every other dock hidden."""
        w = self.window
        shown = set()
        for attr, area, split in _AREAS:
            previous = None
            for group in workspace.area(attr)[0]:
                docks = [self.docks[n] for n in group if n in self.docks]
                if not docks:
                    continue
                first = docks[0]
                w.addDockWidget(area, first) if previous is None else w.splitDockWidget(previous, first, split)
                for dock in docks[1:]:
                    w.addDockWidget(area, dock)
                    w.tabifyDockWidget(first, dock)
                for dock in docks:
                    dock.setFloating(False)
                    dock.show()
                    shown.add(dock)
                first.raise_()
                previous = first
        for dock in self.docks.values():
            if dock not in shown:
                dock.hide()

    def fit(self, dock_name: str) -> None:
        """Size the area holding `dock_name` to its content again, where the current workspace sizes it so."""
        workspace = next((ws for ws in WORKSPACES if ws.name == self.current), None)
        dock = self.docks.get(dock_name)
        if workspace is None or dock is None or not dock.isVisible() or dock.isFloating():
            return
        for attr, _area, _split in _AREAS:
            found, share = workspace.area(attr)
            groups = [g for g in found if g and g[0] in self.docks]
            if groups and groups[0][0] == dock_name and share is None:
                self._size_area(workspace, attr)

    def _size(self, workspace: Workspace) -> None:
        for attr, _area, _split in _AREAS:
            self._size_area(workspace, attr)

    def _size_area(self, workspace: Workspace, attr: str) -> None:
        w = self.window
        found, share = workspace.area(attr)
        groups = [g for g in found if g and g[0] in self.docks]
        if not groups:
            return
        first = self.docks[groups[0][0]]
        vertical = attr == "bottom"
        whole = w.height() if vertical else w.width()
        if share is None:
            hint = first.sizeHint()
            size = min(hint.height() if vertical else hint.width(), int(whole * FIT_LIMIT))
        else:
            size = int(whole * share)
        w.resizeDocks([first], [size], Qt.Vertical if vertical else Qt.Horizontal)
