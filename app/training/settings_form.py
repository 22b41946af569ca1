"""A form built from schema Fields (one row per field, editors from the one editor factory).

The Data and Training panels show a settings section of the document (graph_builder.settings)
with it. The form is a view: `follow(section, push)` shows the section and keeps showing it (an
undo, a replaced project), model -> view updates run inside a signal blocker so they never loop
back (napari), and a user edit becomes a SetSetting command handed to `push` (the window's undo
stack); the form keeps no copy of the values of its own.

A row is shown when its setting applies: its visible_when rule holds and, for a tagged setting,
the task the document trains offers it (the section asks its task scope, graph_builder.task_scope,
which re-resolves as the task, the networks, the data or the latent layers change).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Hashable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QWidget

from app.fields import FieldEditor
from graph_builder.schema import Field
from graph_builder.settings import SetSetting, SettingsSection

Push = Callable[[SettingsSection, SetSetting, Hashable], bool]  # Editor.push_on


class SettingsForm(QWidget):
    """Editors for a list of Fields; `follow` binds them to a settings section."""

    changed = Signal(str, object)  # a user edit the section took (or any user edit, when unbound)
    field_menu_requested = Signal(str, object, object)  # setting, the label right-clicked, the point in it

    def __init__(self, fields: list[Field], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = {f.name: f for f in fields}
        self.field_editors: dict[str, FieldEditor] = {}
        self.editors: dict[str, QWidget] = {}
        self.section: SettingsSection | None = None
        self._push: Push | None = None
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        layout.setContentsMargins(4, 4, 4, 4)
        self._layout = layout
        for f in fields:
            self._add_row(f)
        self.set_values({f.name: f.default for f in fields})

    def _add_row(self, f: Field) -> None:
        editor = FieldEditor(f)
        editor.edited.connect(lambda value, n=f.name: self._on_edited(n, value))
        widget = editor.widget
        widget.setObjectName(f"setting_{f.name}")
        widget.setToolTip(f.help)
        self.fields[f.name] = f
        self.field_editors[f.name] = editor
        self.editors[f.name] = widget
        self._layout.addRow(f.title, widget)
        label = self._layout.labelForField(widget)
        label.setContextMenuPolicy(Qt.CustomContextMenu)
        label.customContextMenuRequested.connect(
            lambda pos, n=f.name, w=label: self.field_menu_requested.emit(n, w, pos))

    # ------------------------------------------------------------ following the model

    def follow(self, section: SettingsSection, push: Push | None = None) -> None:
        """Show `section` from now on; user edits go to `push(section, command, merge_key)`."""
        self.detach()
        for f in section.fields.values():  # a registered task's own settings (graph_builder.tasks) get rows too
            if f.name not in self.fields:
                self._add_row(f)
        self.section, self._push = section, push
        section.events.value_changed.connect(self._on_value_changed)
        section.events.offered_changed.connect(self._update_visibility)
        self.set_values(section.full())

    def detach(self) -> None:
        """Stop following the section (a new project, or the window is closing)."""
        if self.section is not None:
            self.section.events.value_changed.disconnect(self._on_value_changed)
            self.section.events.offered_changed.disconnect(self._update_visibility)
            self.section = None

    def _on_value_changed(self, name: str, value: Any) -> None:
        if name in self.field_editors:
            self.field_editors[name].set_value(value)
            self._update_visibility()

    # ------------------------------------------------------------ view -> model

    def _on_edited(self, name: str, value: Any) -> None:
        editor = self.field_editors[name]
        if self.section is not None and self._push is not None:
            if not self._push(self.section, SetSetting(name, value), editor.merge_key()):
                editor.set_value(self.section.value(name))  # refused: show the kept value
                return
        self._update_visibility()
        self.changed.emit(name, value)

    def edit(self, name: str, value: Any) -> None:
        """A user edit made outside the editor (a file dialog's choice): shown, then pushed."""
        editor = self.field_editors[name]
        editor.set_value(value)
        self._on_edited(name, editor.value())

    # ------------------------------------------------------------ the shown values

    def value(self, name: str) -> Any:
        """The value field `name` shows."""
        return self.field_editors[name].value()

    def values(self) -> dict:
        """Every field's shown value; a field that does not apply (a hidden row) gives its default."""
        applying = self.applying()
        return {name: self.value(name) if name in applying else self.fields[name].default for name in self.fields}

    def applies(self, name: str) -> bool:
        """Whether field `name` is offered for the shown values (see `applying`)."""
        return name in self.applying()

    def applying(self) -> frozenset[str]:
        """The fields offered for the shown values: their visible_when rules and, when the form follows a
        section, the task the document trains with them (the section's scope)."""
        shown = {name: self.value(name) for name in self.fields}
        if self.section is not None:  # a row the section does not have (a task since removed) applies nowhere
            return self.section.applying({k: v for k, v in shown.items() if k in self.section.fields})
        return frozenset(name for name, f in self.fields.items() if f.applies(shown))

    def set_values(self, values: dict) -> None:
        """Show `values` without emitting (unknown keys are ignored; missing keys keep what they show)."""
        for name, value in values.items():
            if name in self.field_editors:
                self.field_editors[name].set_value(value)
        self._update_visibility()

    def _update_visibility(self) -> None:
        applying = self.applying()
        for f in self.fields.values():
            if f.visible_when or f.tags:
                self._layout.setRowVisible(self.editors[f.name], f.name in applying)
