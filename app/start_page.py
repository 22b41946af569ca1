"""The start page: a blank project, the recent ones, and a card per template with a picture of its network.

File ▸ Start Page, File ▸ New from Template and Help ▸ Start Page show it again over an open project;
Back (or Escape) returns to that project unchanged.

Each card also says what the template reaches and how long it trains on a CPU: the figures
resources/templates/measure_templates.py measured and stored in the template's meta["reference"].

Shown in place of the canvas when the app starts without a file; any project opened from it (or
from the menus) brings the canvas back. The pictures are drawn by the canvas's own items after
the page is first shown, so the window still paints at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from app.canvas.scene import GraphScene
from app.theme import RESOURCES, canvas_colors
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph
from graph_builder.project import load_project
from graph_builder.validation import check

CARD_PICTURE = QSize(240, 200)
CARD_WIDTH = 264


def template_files(folder: Path | None = None) -> list[Path]:
    """The template project files, sorted by name."""
    folder = folder or RESOURCES / "templates"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def render_graph(graph: Graph, size: QSize = CARD_PICTURE, min_scale: float = 0.0) -> QPixmap:
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
        scene.render(painter, target, source, Qt.KeepAspectRatio)
        painter.end()
    scene.detach()
    scene.deleteLater()
    return pixmap


def reference_text(reference: dict | None) -> str:
    """The card's line for a template's measured figures: "98.9 % test accuracy · 14 s on CPU"."""
    if not reference:
        return "Not measured yet"
    if "unmeasured" in reference:
        return f"Not measured here: {reference['unmeasured']}"
    value, others = reference["value"], reference.get("others", {})
    figure = {
        "accuracy": lambda: f"{100 * value:.1f} % test accuracy",
        "r2": lambda: f"test R² {value:.3f}",
        "mse": lambda: f"reconstruction MSE {value:.3g} (test)",
        "diversity": lambda: (f"generative, no accuracy: sample diversity {value:.2f}, D(real) "
                              f"{others.get('d_real', float('nan')):.2f}, D(fake) {others.get('d_fake', float('nan')):.2f}"),
    }.get(reference["metric"], lambda: f"test {reference['metric']} {value:.3g}")()
    return f"{figure} · " + f"{_duration(reference['cpu_seconds'])} on CPU".replace(" ", "\u00a0")  # wraps whole


def reference_details(reference: dict | None) -> str:
    """Where and when the figures were measured (the line's tooltip)."""
    if not reference:
        return "Run resources/templates/measure_templates.py to measure this template."
    if "unmeasured" in reference:
        return (f"Checked {reference.get('measured', '?')}: this template {reference['unmeasured']}, which the "
                "machine that measured the templates did not have; train it once online to see what it reaches.")
    runs, threads, load = reference.get("runs", 1), reference.get("threads", 1), reference.get("load_average")
    return (f"Measured {reference.get('measured', '?')} by training with the template's own settings "
            f"({reference.get('epochs', '?')} epochs{f', the fastest of {runs} runs' if runs > 1 else ''}) "
            f"on {reference.get('cpu', 'a CPU')}, "
            f"{threads} thread{'' if threads == 1 else 's'}, torch {reference.get('torch', '?')}"
            + (f", machine load average {load:g}" if load is not None else "")
            + (" (other work on the machine slowed the time)" if (load or 0) > threads + 1 else "") + ".")


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


class TemplateCard(QFrame):
    """One template: its network drawn, title, dataset and description; a click opens it."""

    clicked = Signal(str)  # the template's path

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setObjectName("templateCard")
        self.setFrameShape(QFrame.StyledPanel)
        self.setCursor(Qt.PointingHandCursor)
        self.setFixedWidth(CARD_WIDTH)
        self.project = load_project(path)
        meta = self.project.meta
        self.picture = QLabel()
        self.picture.setFixedSize(CARD_PICTURE)
        self.picture.setAlignment(Qt.AlignCenter)
        title = QLabel(str(meta.get("title") or path.stem.replace("_", " ").title()))
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        dataset = self.project.dataset.value("name")
        epochs = self.project.training.value("epochs")
        facts = QLabel(f"{dataset} data · {len(self.project.graph.nodes)} layers · {epochs} epochs")
        facts.setWordWrap(True)
        facts.setObjectName("templateFacts")
        self.reference = QLabel(reference_text(meta.get("reference")))
        self.reference.setWordWrap(True)
        self.reference.setObjectName("templateReference")
        self.reference.setToolTip(reference_details(meta.get("reference")))
        description = QLabel(str(meta.get("description", "")))
        description.setWordWrap(True)
        description.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        description.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.MinimumExpanding)
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 10, 10, 10)
        for widget in (self.picture, title, facts, self.reference, description):
            box.addWidget(widget)
        self.setToolTip(f"Open {title.text()} as a new, unsaved project")

    def draw(self) -> None:
        """Draw the network's picture (the canvas's own rendering, shrunk)."""
        self.picture.setPixmap(render_graph(self.project.graph, CARD_PICTURE, min_scale=0.42))

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(str(self.path))
        super().mouseReleaseEvent(event)


class StartPage(QScrollArea):
    """What the window shows before a project is open."""

    blank_requested = Signal()
    open_requested = Signal()
    template_chosen = Signal(str)  # a template's path
    recent_chosen = Signal(str)  # a project's path
    back_requested = Signal()  # return to the open project, unchanged

    def __init__(self, recent_paths: list[str], folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        heading = QLabel("Start a project")
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)
        blank = QPushButton("Blank project")
        blank.setObjectName("blankProject")
        blank.clicked.connect(self.blank_requested)
        open_button = QPushButton("Open…")
        open_button.clicked.connect(self.open_requested)
        self.back_button = QPushButton("Back to the project")
        self.back_button.setObjectName("backToProject")
        self.back_button.setToolTip("Return to the open project as it was (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        self.back_button.hide()  # shown while a project is open behind the page
        buttons = QHBoxLayout()
        buttons.addWidget(blank)
        buttons.addWidget(open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        self.set_recent(recent_paths)
        self.recent.itemActivated.connect(self._on_recent)
        self.recent.itemClicked.connect(self._on_recent)
        self.cards: list[TemplateCard] = []
        for path in template_files(folder):
            try:
                card = TemplateCard(path)
            except GraphBuilderError:
                continue  # an unreadable template is left out rather than shown broken
            card.clicked.connect(self.template_chosen)
            self.cards.append(card)
        self.grid = QGridLayout()
        self.grid.setSpacing(14)
        self._columns = 0
        box = QVBoxLayout(body)
        box.setContentsMargins(28, 20, 28, 20)
        box.addWidget(heading)
        box.addLayout(buttons)
        box.addWidget(QLabel("Recent projects"))
        box.addWidget(self.recent)
        self.examples = QLabel("Examples: click one to open it as a new project")
        box.addWidget(self.examples)
        box.addLayout(self.grid)
        box.addStretch(1)
        self._reflow()
        QTimer.singleShot(0, self._draw_pictures)

    def set_recent(self, paths: list[str]) -> None:
        """List `paths` (newest first) as the recent projects."""
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {Path(path).parent}")
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        if not paths:
            self.recent.addItem(QListWidgetItem("No recent projects yet"))
        self.recent.setMaximumHeight(24 * max(2, min(len(paths), 5)) + 8)

    def set_project_name(self, name: str | None) -> None:
        """Offer Back to the project called `name` (None: no project is open behind the page)."""
        self.back_button.setVisible(name is not None)
        if name is not None:
            self.back_button.setText(f"Back to {name}")

    def show_examples(self) -> None:
        """Scroll so the template cards start at the top (New from Template)."""
        self.verticalScrollBar().setValue(self.examples.y() - 12)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape and self.back_button.isVisible():
            self.back_requested.emit()
            return
        super().keyPressEvent(event)

    def _draw_pictures(self) -> None:
        for card in self.cards:
            card.draw()

    def _on_recent(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.UserRole)
        if path:
            self.recent_chosen.emit(path)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._reflow()

    def _reflow(self) -> None:
        """As many card columns as the width holds; never a sideways scroll bar."""
        columns = max(1, (self.viewport().width() - 56 + 14) // (CARD_WIDTH + 14))
        if columns == self._columns:
            return
        self._columns = columns
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns, Qt.AlignTop)
        self.grid.setColumnStretch(columns, 1)
