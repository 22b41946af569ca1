"""The window's menus, toolbar and actions: one table row per action (menu, text, shortcuts, slot, icon,
on the toolbar), plus the menus that are built from the app's own lists (recent files, workspaces, themes)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu

from app.help import typeable
from app.theme import icon
from app.transfer import TRANSFER_PRESETS

MENUS = ("&File", "&Edit", "&Network", "&View", "&Train", "E&xport", "&Help")


class Menus:
    """The menu bar of `window` (app.main_window.MainWindow), its actions by their text and the toolbar."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.by_name: dict[str, QMenu] = {name: window.menuBar().addMenu(name) for name in MENUS}
        self.actions_by_text: dict[str, QAction] = {}  # "Save", "Fit to View", …: the text without & and …
        self.theme_actions: dict[str, QAction] = {}
        self.panels: QMenu | None = None  # View ▸ Panels: one toggle per dock

    def menu(self, name: str) -> QMenu:
        """The menu called `name` ("&File", "&Edit", "&View", "&Train", "E&xport", "&Help")."""
        if name not in self.by_name:
            raise KeyError(f"there is no menu {name!r}; menus: {', '.join(self.by_name)}")
        return self.by_name[name]

    def build_actions(self) -> None:
        """The File, Edit, Network, View and Help actions and the toolbar, from one table."""
        w = self.window
        std = QKeySequence.StandardKey
        # One row per action: menu, text, shortcuts, slot, icon, on the toolbar.
        rows = [
            ("&File", "&New", [std.New], w.files.new_project, "new", True),
            ("&File", "New from &Template…", ["Ctrl+Shift+N"], w.new_from_template, "template", True),
            (("&File", "&Help"), "&Start Page", [], w.show_start_page, None, False),
            ("&File", "&Open…", [std.Open], w.files.open_dialog, "open", True),
            ("&File", "&Import…", ["Ctrl+I"], lambda: w.imports.ask(), None, False),
            ("&File", None, None, None, None, False),
            ("&File", "&Save", [std.Save], w.files.save, "save", True),
            ("&File", "Save &As…", [std.SaveAs, "Ctrl+Shift+S"], w.files.save_as_dialog, None, False),
            ("&File", None, None, None, None, False),
            ("&File", "&Quit", [std.Quit, "Ctrl+Q"], w.close, None, False),
            ("&Edit", "&Undo", [std.Undo], w.editor.stack.undo, "undo", True),
            ("&Edit", "&Redo", [std.Redo, "Ctrl+Shift+Z"], w.editor.stack.redo, "redo", True),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "Cu&t", [std.Cut], w.clipboard.cut, None, False),
            ("&Edit", "&Copy", [std.Copy], w.clipboard.copy, None, False),
            ("&Edit", "&Paste", [std.Paste], lambda: w.clipboard.paste(), None, False),
            ("&Edit", "D&uplicate", ["Ctrl+D"], w.clipboard.duplicate, None, False),
            ("&Edit", "&Delete", [std.Delete, "Backspace"], w.design.delete_selection, "delete", False),
            ("&Edit", "Select &All", [std.SelectAll], w.design.select_all, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "&Add Layer…\tTab", [], lambda: w.design.quick_add_at(w.view.visible_center()),
             None, False),
            ("&Edit", "&Find Layer in Palette", [std.Find], w.design.focus_palette_search, None, False),
            ("&Edit", "&History", ["Ctrl+H"], w.design.show_history, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "&Group into Block", ["Ctrl+G"], w.network_edits.group_selection, None, False),
            ("&Edit", "U&ngroup Block", ["Ctrl+Shift+G"], w.network_edits.ungroup_selection, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "Free&ze", [], lambda: w.transfer.freeze_selection(True), None, False),
            ("&Edit", "Unfree&ze", [], lambda: w.transfer.freeze_selection(False), None, False),
            ("&Network", "&New Network", ["Ctrl+Alt+N"], w.network_edits.add_network, None, False),
            ("&Network", "&Rename Network…", [], lambda: w.network_edits.rename_network_dialog(w.network_edits.current_network()),
             None, False),
            ("&Network", "&Delete Network", [], lambda: w.network_edits.delete_network(w.network_edits.current_network()), None, False),
            ("&Network", "Make &Main Network", [], lambda: w.network_edits.set_main_network(w.network_edits.current_network()),
             None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "&Open Block's Network", [], w.network_edits.open_selected_block, None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "Load &Pretrained Weights…", [], lambda: w.pretrained.load_into_network(), None, False),
            ("&Network", "Load Pretrained Weights into &Block…", [], lambda: w.pretrained.load_into_block(),
             None, False),
            ("&Network", "Remo&ve Pretrained Weights", [], w.pretrained.remove, None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "&Back to Main Network", ["Alt+Home"], lambda: w.network_edits.show_network(w.project.networks.main),
             None, False),
            ("&View", "&Fit to View", ["F", "Ctrl+0"], w.view.fit_all, "fit", True),
            ("&View", "Zoom &In", [std.ZoomIn, "Ctrl+="], lambda: w.view.zoom_about_center(1.25), None, False),
            ("&View", "Zoom &Out", [std.ZoomOut], lambda: w.view.zoom_about_center(0.8), None, False),
            ("&View", "&Actual Size", ["Ctrl+1"], w.design.actual_size, None, False),
            ("&View", None, None, None, None, False),
            ("&View", "Auto &Layout", ["Ctrl+L"], w.design.auto_layout, "layout", True),
            ("&View", "Layout &Selection", ["Ctrl+Shift+L"], lambda: w.design.auto_layout(selection=True),
             None, False),
            ("&Help", "&Tour", [], w.start_tour, None, False),
            ("&Help", "&User Guide", [std.HelpContents, "F1"], w.help.show_user_guide, None, False),
            ("&Help", "&Keyboard Shortcuts", ["Ctrl+/"], w.help.show_shortcuts, None, False),
            ("&Help", "&About NetCanvas", [], w.help.show_about, None, False),
        ]
        toolbar = w.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setMovable(False)
        for menu_names, text, keys, slot, icon_name, on_toolbar in rows:
            menus = [self.by_name[n] for n in ((menu_names,) if isinstance(menu_names, str) else menu_names)]
            if text is None:
                menus[0].addSeparator()
                continue
            action = QAction(text, w)
            if icon_name:
                action.setIcon(icon(icon_name))
            shortcuts = []
            for key in keys:
                shortcuts += QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) \
                    else [QKeySequence(key)]
            action.setShortcuts(list(dict.fromkeys(s for s in shortcuts if typeable(s))))
            action.triggered.connect(lambda _=False, f=slot: f())
            for menu in menus:  # one action in several menus: one shortcut, one entry in the shortcut list
                menu.addAction(action)
            if on_toolbar:
                toolbar.addAction(action)
            self.actions_by_text[text.replace("&", "").split("\t")[0].rstrip("…")] = action
        transfer = self.by_name["&Edit"].addMenu("Transfer &Learning")
        for text, slot, tip in TRANSFER_PRESETS:
            action = transfer.addAction(text)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, f=slot: f(w.transfer))
            self.actions_by_text[text.replace("&", "").rstrip("…")] = action
        self.recent_menu = self.by_name["&File"].addMenu("Open &Recent")
        self.by_name["&File"].insertMenu(self.actions_by_text["Save"], self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.by_name["&File"].insertSeparator(self.actions_by_text["Save"])
        undo, redo = self.actions_by_text["Undo"], self.actions_by_text["Redo"]
        w.editor.stack.canUndoChanged.connect(undo.setEnabled)
        w.editor.stack.canRedoChanged.connect(redo.setEnabled)
        undo.setEnabled(False)
        redo.setEnabled(False)
        view_menu = self.by_name["&View"]
        view_menu.addSeparator()
        self.grid_action = view_menu.addAction("Show &Grid")
        self.grid_action.setCheckable(True)
        self.grid_action.setChecked(True)
        self.grid_action.setShortcut(QKeySequence("Ctrl+'"))
        self.grid_action.toggled.connect(w.design.set_grid)
        self.snap_action = view_menu.addAction("&Snap to Grid")
        self.snap_action.setCheckable(True)
        self.snap_action.setChecked(True)
        self.snap_action.setShortcut(QKeySequence("Ctrl+Shift+'"))
        self.snap_action.toggled.connect(lambda on: setattr(w.scene, "snap", on))
        view_menu.addSeparator()
        self.panels = view_menu.addMenu("&Panels")

    def _fill_recent_menu(self) -> None:
        w = self.window
        self.recent_menu.clear()
        paths = w.recent.paths()
        for i, path in enumerate(paths):
            action = self.recent_menu.addAction(f"&{i + 1}  {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: w.files.open_project(p))
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def add_workspace_menu(self) -> None:
        """View ▸ Workspace: one entry per workspace (Alt+1…) and Reset This Workspace's Layout."""
        w = self.window
        menu = self.by_name["&View"].addMenu("&Workspace")
        for i, name in enumerate(w.workspaces.names()):
            action = QAction(name, w)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.triggered.connect(lambda _=False, n=name: w.workspaces.show(n))
            menu.addAction(action)
            w.addAction(action)
        menu.addSeparator()
        reset = QAction("&Reset This Workspace's Layout", w)
        reset.triggered.connect(w.workspaces.reset)
        menu.addAction(reset)

    def add_theme_menu(self) -> None:
        """View ▸ Theme: light, dark or the system's."""
        w = self.window
        from PySide6.QtGui import QActionGroup

        from app.theme import THEMES, theme_choice

        menu = self.by_name["&View"].addMenu("&Theme")
        group = QActionGroup(w)
        for choice in THEMES:
            action = QAction(choice.capitalize() if choice != "system" else "Follow the &System", w)
            action.setCheckable(True)
            action.setChecked(choice == theme_choice())
            action.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            group.addAction(action)
            menu.addAction(action)
            self.theme_actions[choice] = action

    def set_theme(self, choice: str) -> None:
        """Use the light or dark theme, or follow the system's; remembered for the next start."""
        from app.theme import set_theme

        set_theme(QApplication.instance(), choice)
        self.theme_actions[choice].setChecked(True)
        self.window.settings.setValue("view/theme", choice)
