"""New-project gallery: every template in resources/templates with a picture of its graph."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListView, QListWidget, QListWidgetItem,
                               QVBoxLayout)

from app.canvas.scene import GraphScene
from app.theme import RESOURCES, canvas_colors
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph
from graph_builder.project import Project, load_project
from graph_builder.validation import check

PICTURE = QSize(260, 160)
PATH_ROLE = Qt.UserRole + 1


def template_files(folder: Path | None = None) -> list[Path]:
    """The template project files, sorted by name."""
    folder = folder or RESOURCES / "templates"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def render_graph(graph: Graph, size: QSize = PICTURE, min_scale: float = 0.0) -> QPixmap:
    """A picture of `graph` drawn by the canvas's own items (shapes on the wires included).

    With `min_scale`, a network too tall to fit at that scale is shown from its top rather
    than shrunk to coloured slivers.
    """
    pixmap = QPixmap(size)
    pixmap.fill(QColor(canvas_colors().background))
    scene = GraphScene()
    scene.set_graph(graph)
    scene.apply_validation(check(graph))
    source = scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
    target = QRectF(4, 4, size.width() - 8, size.height() - 8)
    scale = min(target.width() / max(source.width(), 1), target.height() / max(source.height(), 1))
    if not source.isEmpty() and scale < min_scale:
        width, height = target.width() / min_scale, target.height() / min_scale
        source = QRectF(source.center().x() - width / 2, source.top(), width, min(height, source.height()))
    if not source.isEmpty():
        painter = QPainter(pixmap)
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        scene.render(painter, QRectF(4, 4, size.width() - 8, size.height() - 8), source, Qt.KeepAspectRatio)
        painter.end()
    scene.detach()
    scene.deleteLater()
    return pixmap


class TemplateGallery(QDialog):
    """Pick a blank project or a template; `chosen()` is the Project to open (None: blank)."""

    def __init__(self, parent=None, folder: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.resize(900, 620)
        self.list = QListWidget()
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(PICTURE)
        self.list.setGridSize(QSize(PICTURE.width() + 24, PICTURE.height() + 56))
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setWordWrap(True)
        self.description = QLabel()
        self.description.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Create")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Start from a blank canvas or from an example network:"))
        layout.addWidget(self.list)
        layout.addWidget(self.description)
        layout.addWidget(buttons)
        self.projects: dict[str, Project] = {}
        blank = QListWidgetItem(QIcon(render_graph(Graph())), "Blank project")
        blank.setData(PATH_ROLE, "")
        blank.setToolTip("An empty canvas")
        self.list.addItem(blank)
        for path in template_files(folder):
            self._add_template(path)
        self.list.setCurrentRow(0)
        self.list.currentItemChanged.connect(lambda item, _: self.description.setText(item.toolTip() if item else ""))
        self.list.itemActivated.connect(lambda _: self.accept())
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def _add_template(self, path: Path) -> None:
        try:
            project = load_project(path)
        except GraphBuilderError as exc:
            item = QListWidgetItem(f"{path.stem} (unreadable)")
            item.setToolTip(str(exc))
            item.setFlags(Qt.NoItemFlags)
            self.list.addItem(item)
            return
        title = str(project.meta.get("title") or path.stem.replace("_", " ").replace("-", " ").title())
        item = QListWidgetItem(QIcon(render_graph(project.graph)), title)
        item.setData(PATH_ROLE, str(path))
        item.setToolTip(str(project.meta.get("description", "")))
        self.list.addItem(item)
        self.projects[str(path)] = project

    def select(self, title: str) -> None:
        """Highlight the entry called `title`."""
        for row in range(self.list.count()):
            if self.list.item(row).text() == title:
                self.list.setCurrentRow(row)
                return
        raise KeyError(f"no template titled {title!r}")

    def chosen(self) -> Project | None:
        """The highlighted template's project (a fresh copy), or None for a blank project."""
        item = self.list.currentItem()
        path = item.data(PATH_ROLE) if item else ""
        if not path:
            return None
        from runtime.templates import template_project

        return template_project(path)  # bundled data found beside the template
