"""The Network menu's edits and the canvas's network tabs: add, rename, delete, make main, switch, group into
a block and back, each change one undo step on the project's networks."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QSignalBlocker, Qt
from PySide6.QtWidgets import QInputDialog, QMenu, QTabBar

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph
from graph_builder.networks import (AddNetwork, Networks, RemoveNetwork, RenameNetwork, SetMainNetwork,
                                    group_command, ungroup_command)
from graph_builder.project import Project


class NetworksHost(Protocol):
    """What the network edits need of the main window."""

    project: Project
    editor: object  # app.commands.Editor
    design: object  # app.design_workspace.DesignWorkspace: the scene, the view, validation

    def status_message(self, text: str, timeout_ms: int = 6000) -> None: ...


class NetworkEdits(QObject):
    """The project's networks as tabs above the canvas, and the edits that add, rename, remove and switch them."""

    def __init__(self, host: NetworksHost) -> None:
        super().__init__(host)  # the host is the main window: this lives as long as it
        self.host = host
        self._networks: Networks | None = None
        self.tabs = QTabBar()
        self.tabs.setObjectName("networkTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setMovable(False)
        self.tabs.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tabs.setToolTip("The networks of this project (★ the main one). Double-click to rename; "
                             "right-click for more.")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.tabBarDoubleClicked.connect(lambda i: self.rename_network_dialog(self._tab_name(i)))
        self.tabs.customContextMenuRequested.connect(self._on_tab_menu)

    def follow(self, networks: Networks) -> None:
        """Follow the document's networks (the tabs, the blocks the palette offers)."""
        if self._networks is not None:
            self._networks.events.changed.disconnect(self._on_networks_changed)
        self._networks = networks
        networks.events.changed.connect(self._on_networks_changed)
        self._fill_tabs()

    def detach(self) -> None:
        """Stop following the document (the window is closing)."""
        if self._networks is not None:
            self._networks.events.changed.disconnect(self._on_networks_changed)
            self._networks = None

    def _tab_name(self, index: int) -> str | None:
        return self.tabs.tabData(index) if 0 <= index < self.tabs.count() else None

    def _fill_tabs(self) -> None:
        networks = self.host.project.networks
        current = networks.name_of(self.host.editor.graph) or networks.main
        with QSignalBlocker(self.tabs):
            while self.tabs.count():
                self.tabs.removeTab(0)
            for name in networks:
                index = self.tabs.addTab(f"★ {name}" if name == networks.main else name)
                self.tabs.setTabData(index, name)
                graph = networks[name]
                self.tabs.setTabToolTip(index, f"{name}: {len(graph.nodes)} nodes"
                                        + (" (the main network: trained and exported)"
                                           if name == networks.main else ""))
            self.tabs.setCurrentIndex(list(networks).index(current))
        self.tabs.setVisible(True)
        self._offer_blocks()

    def _on_networks_changed(self) -> None:
        networks = self.host.project.networks
        if networks.name_of(self.host.editor.graph) is None:  # the shown network was deleted (or undone away)
            self.show_network(networks.main)
        self._fill_tabs()
        self.host.design.validate_soon()

    def _offer_blocks(self) -> None:
        """The palette lists the other networks with Inputs and Outputs as blocks to drag in (not those
        that contain the shown network: that block would be refused)."""
        self.host.design.palette.set_networks(self.host.project.networks.block_candidates(self.current_network()))

    def _on_tab_changed(self, index: int) -> None:
        name = self._tab_name(index)
        if name is not None:
            self.show_network(name)

    def current_network(self) -> str:
        """The name of the network on the canvas."""
        return self.host.project.networks.name_of(self.host.editor.graph) or self.host.project.networks.main

    def show_network(self, name: str) -> bool:
        """Put network `name` on the canvas (the undo history is the project's: it stays)."""
        networks = self.host.project.networks
        if name not in networks:
            self.host.status_message(f"There is no network {name!r}")
            return False
        graph = networks[name]
        if graph is not self.host.editor.graph:
            self.host.editor.show_graph(graph)
            self.host.design.show_graph(graph)
        with QSignalBlocker(self.tabs):
            self.tabs.setCurrentIndex(list(networks).index(name))
        self._offer_blocks()
        return True

    def add_network(self, name: str | None = None) -> str | None:
        """Add an empty network (one undo step) and show it; returns its name."""
        networks = self.host.project.networks
        name = name or networks.unique_name("Network")
        if not self.host.editor.push_on(networks, AddNetwork(name)):
            return None
        self.show_network(name)
        return name

    def rename_network_dialog(self, name: str | None) -> None:
        if not name:
            return
        new, ok = QInputDialog.getText(self.tabs.window(), "Rename network", f"New name for {name}:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.rename_network(name, new)

    def rename_network(self, old: str, new: str) -> bool:
        """Rename a network; the blocks that use it follow (one undo step)."""
        return self.host.editor.push_on(self.host.project.networks, RenameNetwork(old, new))

    def delete_network(self, name: str) -> bool:
        """Delete a network no block uses (one undo step)."""
        return self.host.editor.push_on(self.host.project.networks, RemoveNetwork(name))

    def set_main_network(self, name: str) -> bool:
        """Make `name` the network that is trained and exported."""
        if name == self.host.project.networks.main:
            return True
        return self.host.editor.push_on(self.host.project.networks, SetMainNetwork(name))

    def _on_tab_menu(self, pos) -> None:
        name = self._tab_name(self.tabs.tabAt(pos))
        menu = QMenu(self.tabs.window())
        if name:
            menu.addAction("Rename…", lambda: self.rename_network_dialog(name))
            menu.addAction("Make Main Network", lambda: self.set_main_network(name))
            menu.addAction("Delete", lambda: self.delete_network(name))
            menu.addSeparator()
        menu.addAction("New Network", self.add_network)
        menu.popup(self.tabs.mapToGlobal(pos))

    def group_selection(self, name: str | None = None) -> str | None:
        """Turn the selected layers into a new network placed here as one block (Ctrl+G)."""
        scene = self.host.design.scene
        ids = scene.selected_node_ids()
        if not ids:
            self.host.status_message("Select the layers to group into a block")
            return None
        networks = self.host.project.networks
        try:
            command = group_command(networks, self.current_network(), ids, name)
        except GraphBuilderError as exc:
            self.host.status_message(f"Not grouped: {exc}", 8000)
            return None
        if not self.host.editor.push_on(networks, command):
            return None
        block = next(n for n in self.host.editor.graph.nodes.values() if n.type_id == "Block"
                     and n.params["network"] == command.commands[0].name and n.id not in ids)
        scene.select_nodes([block.id])
        self.host.status_message(f"Grouped {len(ids)} layers into block {block.name} (network "
                                 f"{command.commands[0].name}); double-click it to open")
        return command.commands[0].name

    def ungroup_selection(self) -> bool:
        """Put the selected block's layers back in its place (Ctrl+Shift+G)."""
        graph = self.host.editor.graph
        blocks = [n for n in self.host.design.scene.selected_node_ids() if graph.nodes[n].type_id == "Block"]
        if len(blocks) != 1:
            self.host.status_message("Select one block to ungroup")
            return False
        try:
            command = ungroup_command(self.host.project.networks, self.current_network(), blocks[0])
        except GraphBuilderError as exc:
            self.host.status_message(f"Not ungrouped: {exc}", 8000)
            return False
        return self.host.editor.push_on(self.host.project.networks, command)

    def open_selected_block(self) -> None:
        graph = self.host.editor.graph
        blocks = [n for n in self.host.design.scene.selected_node_ids() if graph.nodes[n].type_id == "Block"]
        if blocks:
            self.open_block(blocks[0])
        else:
            self.host.status_message("Select a block to open its network")

    def selected_block(self) -> str | None:
        """The name of the one selected block of the main network, or None."""
        graph = self.host.editor.graph
        if graph is not self.host.project.graph:
            return None
        blocks = [n for n in self.host.design.scene.selected_node_ids() if graph.nodes[n].type_id == "Block"]
        return graph.nodes[blocks[0]].name if len(blocks) == 1 else None

    def open_block(self, node_id: str) -> None:
        """A block's network on the canvas (a double-click on the block)."""
        node = self.host.editor.graph.nodes.get(node_id)
        if node is not None and node.type_id == "Block":
            if not self.show_network(node.params["network"]):
                self.host.status_message(f"{node.name} stands for no network of this project; choose one in the "
                                         "Inspector")

    def on_undone_or_redone(self, target) -> None:
        """An undo or redo in a network not on the canvas shows that network, so the change is seen."""
        name = self.host.project.networks.name_of(target) if isinstance(target, Graph) else None
        if name is not None and target is not self.host.editor.graph:
            self.show_network(name)
