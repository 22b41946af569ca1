"""The problems panel: every validation issue; click to find the node, one click to apply a fix."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from app.commands import Editor
from app.theme import icon
from graph_builder.validation import ERROR, Issue

ISSUE_ROLE = Qt.UserRole + 1


class ProblemsPanel(QWidget):
    """Lists issues; `node_activated` asks the window to select and centre a node."""

    node_activated = Signal(str)
    rows_changed = Signal()  # the list grew or shrank: its dock may size itself to it again

    MAX_ROWS_SHOWN = 6  # beyond this the list scrolls rather than taking the canvas's height

    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.issues: list[Issue] = []
        self.fix_buttons: list[QPushButton] = []
        self.heading = QLabel()
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.itemActivated.connect(self._on_clicked)
        self._icons = {ERROR: icon("error"), "warning": icon("warning")}
        self.set_issues([])

    def set_issues(self, issues: list[Issue]) -> None:
        """Show `issues` (replacing the list)."""
        if [i.to_dict() for i in issues] == [i.to_dict() for i in self.issues] and self.tree.topLevelItemCount():
            self.issues = issues  # same problems: keep the rows, refresh the fix commands
            for button, issue in zip(self.fix_buttons, [i for i in issues if i.fix]):
                button.setProperty("issue_index", issues.index(issue))
            return
        self.issues = issues
        self.tree.clear()
        self.fix_buttons = []
        for index, issue in enumerate(issues):
            item = QTreeWidgetItem(self.tree, [issue.message])
            item.setIcon(0, self._icons.get(issue.severity, self._icons["warning"]))
            item.setData(0, ISSUE_ROLE, index)
            item.setToolTip(0, f"{issue.severity} · {issue.code}\n{issue.message}")
            if issue.fix is not None:
                button = QPushButton(issue.fix.title)
                button.setObjectName("fixButton")
                button.setToolTip("Apply this fix (one undo step)")
                button.setProperty("issue_index", index)
                button.clicked.connect(lambda _=False, b=button: self.apply_fix(b.property("issue_index")))
                self.tree.setItemWidget(item, 1, button)
                self.fix_buttons.append(button)
        self.tree.setVisible(bool(issues))  # no problems: the heading says so, no empty list below it
        self.updateGeometry()
        self.rows_changed.emit()
        errors = sum(1 for i in issues if i.severity == ERROR)
        warnings = len(issues) - errors
        if not issues:
            self.heading.setText("✓ No problems: the network is ready to train.")
        else:
            self.heading.setText(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")

    def sizeHint(self) -> QSize:
        """As tall as the heading and the rows listed (up to MAX_ROWS_SHOWN), so its dock fits them."""
        margins = self.layout().contentsMargins()
        height = margins.top() + margins.bottom() + self.heading.sizeHint().height()
        count = self.tree.topLevelItemCount()
        if count:
            line = self.tree.fontMetrics().height() + 8
            rows = sum(max(line, self.tree.sizeHintForRow(i)) for i in range(min(count, self.MAX_ROWS_SHOWN)))
            height += self.layout().spacing() + rows + 2 * self.tree.frameWidth()
        return QSize(super().sizeHint().width(), height)

    def apply_fix(self, index: int) -> bool:
        """Apply the suggested fix of issue `index` as one undo step."""
        issue = self.issues[index]
        return issue.fix is not None and self.editor.push(issue.fix.command)

    def _on_clicked(self, item: QTreeWidgetItem) -> None:
        issue = self.issues[item.data(0, ISSUE_ROLE)]
        if issue.node_ids:
            self.node_activated.emit(issue.node_ids[0])
