"""Freezing and transfer learning on the canvas: Freeze / Unfreeze the selection and Edit ▸ Transfer Learning's presets.

The presets themselves are graph_builder.freezing's; Feature Extraction first reads the pretrained
weights off the GUI thread to learn which nodes they fill.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMainWindow

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import SetFrozen

TRANSFER_PRESETS = (  # Edit ▸ Transfer Learning: text, slot (takes the TransferLearning), tip
    ("&Feature Extraction", lambda t: t.apply_preset("feature-extraction"),
     "Freeze every layer whose weights are pretrained; only the new head trains"),
    ("Fine-tune &Last Blocks…", lambda t: t.apply_preset("last-blocks"),
     "Train the last k blocks and everything after them; freeze the rest"),
    ("F&ull Fine-tuning", lambda t: t.apply_preset("full"),
     "Unfreeze everything; pretrained weights learn at the lower pretrained rate"),
)


class TransferLearning(QObject):
    """What freezes which nodes of `window`'s project, each change one undo step.

    A QObject so the weights job's results (sent from its thread) are handled on the GUI thread.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.pretrained_job = None  # app.training.background.Job reading the weights for Feature Extraction

    def freeze_selection(self, frozen: bool = True) -> bool:
        """Freeze (or unfreeze) the selected nodes: their weights are kept while the rest trains (one undo step)."""
        ids = self.window.scene.selected_node_ids()
        if not ids:
            self.window.status_message(f"Select the layers or blocks to {'freeze' if frozen else 'unfreeze'}")
            return False
        return self.window.editor.push(SetFrozen(tuple(ids), frozen))

    def apply_preset(self, preset: str, k: int | None = None) -> bool:
        """Freeze the main network for transfer learning (graph_builder.freezing's presets), one undo step."""
        from graph_builder.freezing import FEATURE_EXTRACTION, LAST_BLOCKS, blocks_in_order

        graph = self.window.project.graph
        pretrained: set[str] = set()
        if preset == LAST_BLOCKS and k is None:
            count = len(blocks_in_order(graph))
            if not count:
                self.window.status_message("Not changed: the main network has no blocks to fine-tune; group layers "
                                           "into blocks first", 8000)
                return False
            k, ok = QInputDialog.getInt(self.window, "Fine-tune Last Blocks", f"Blocks to train (of {count}), "
                                        "with everything after them:", 1, 1, count)
            if not ok:
                return False
        if preset == FEATURE_EXTRACTION:
            return self._find_pretrained_then_freeze()
        return self._push_preset(preset, pretrained, k)

    def _find_pretrained_then_freeze(self) -> bool:
        """Feature extraction: load the weights off the GUI thread (a download may be needed), then freeze.

        What the weights fill is the pretrained part; the preset applies when they are read, to the
        network as it is then. Returns True when the search started.
        """
        from graph_builder.freezing import FEATURE_EXTRACTION
        from graph_builder.project import project_from_dict

        from app.training.background import Job

        if self.pretrained_job is not None and not self.pretrained_job.done:
            self.window.status_message("Still reading the pretrained weights for Feature Extraction…", 6000)
            return False
        snapshot, path = self.window.project.to_dict(), self.window.project_path()

        def find() -> set[str]:
            from runtime.train import pretrained_nodes  # loads the weights: what they fill is pretrained

            return pretrained_nodes(project_from_dict(snapshot), path)

        self.window.status_message("Reading the pretrained weights to find the pretrained part…", 0)
        job = Job(find, parent=self)
        job.finished.connect(lambda nodes: self._push_preset(FEATURE_EXTRACTION, set(nodes), 1))
        job.failed.connect(lambda exc: self.window.status_message(f"Feature extraction was not applied: {exc}", 12000))
        self.pretrained_job = job
        return True

    def _push_preset(self, preset: str, pretrained: set[str], k: int | None) -> bool:
        from graph_builder.freezing import PRESETS, preset_command

        graph = self.window.project.graph
        try:
            command = preset_command(graph, preset, pretrained, k or 1)
        except GraphBuilderError as exc:
            self.window.status_message(f"{PRESETS[preset]} was not applied: {exc}", 12000)
            return False
        if not self.window.editor.push_on(graph, command):
            return False
        frozen = sum(n.frozen for n in graph.nodes.values())
        self.window.status_message(f"{command.title}: {frozen} of {len(graph.nodes)} nodes of "
                                   f"{self.window.project.networks.main} frozen")
        return True
