"""A form built from setting descriptions (one row per field, no hand-written editors).

The Data and Training panels describe their fields declaratively (taken from
graph_builder.settings); this module turns each field into the matching Qt editor, reads and
writes a plain dict, and emits `changed(name, value)` for user edits only (model→view updates
run inside a signal blocker, as napari does, so they never loop back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox,
                               QWidget)


@dataclass(frozen=True)
class Field:
    """One editable setting: kind is int, float, bool, choice or str."""

    name: str
    kind: str
    default: Any
    label: str = ""
    help: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    decimals: int = 6
    optional: bool = False  # None allowed (shown as "auto" / "off")
    visible_when: dict = field(default_factory=dict)  # {other field: allowed values}


def field_from_spec(spec: Any) -> Field:
    """A Field from a settings description (a dict or an object with the same attribute names)."""
    def get(key, default=None):
        if isinstance(spec, dict):
            return spec.get(key, default)
        return getattr(spec, key, default)

    kind = get("kind") or get("type") or "str"
    kind = {"integer": "int", "number": "float", "boolean": "bool", "enum": "choice", "string": "str"}.get(kind, kind)
    choices = tuple(get("choices") or ())
    if choices and kind == "str":
        kind = "choice"
    return Field(name=get("name"), kind=kind, default=get("default"), label=get("label") or get("title") or "",
                 help=get("help") or get("doc") or "", choices=choices, min=get("min"), max=get("max"),
                 optional=bool(get("optional") or get("nullable") or False),
                 visible_when=dict(get("visible_when") or {}))


class SettingsForm(QWidget):
    """Editors for a list of Fields; `values()` returns the dict, `set_values()` fills it."""

    changed = Signal(str, object)

    def __init__(self, fields: list[Field], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = {f.name: f for f in fields}
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        layout.setContentsMargins(4, 4, 4, 4)
        self._layout = layout
        for f in fields:
            editor = self._make_editor(f)
            editor.setObjectName(f"setting_{f.name}")
            editor.setToolTip(f.help)
            self.editors[f.name] = editor
            layout.addRow(f.label or f.name.replace("_", " "), editor)
        self.set_values({f.name: f.default for f in fields})

    def _make_editor(self, f: Field) -> QWidget:
        if f.kind == "bool":
            editor = QCheckBox()
            editor.toggled.connect(lambda v, n=f.name: self._emit(n))
        elif f.kind == "choice":
            editor = QComboBox()
            if f.optional:
                editor.addItem("auto", None)
            for c in f.choices:
                editor.addItem(str(c), c)
            editor.currentIndexChanged.connect(lambda _i, n=f.name: self._emit(n))
        elif f.kind == "int":
            editor = QSpinBox()
            editor.setRange(int(f.min if f.min is not None else -2**31 + 1), int(f.max if f.max is not None else 2**31 - 1))
            if f.optional:
                editor.setMinimum(editor.minimum() - 1)
                editor.setSpecialValueText("off")
            editor.setAccelerated(True)
            editor.valueChanged.connect(lambda _v, n=f.name: self._emit(n))
        elif f.kind == "float":
            editor = QDoubleSpinBox()
            editor.setDecimals(f.decimals)
            lo = f.min if f.min is not None else -1e12
            editor.setRange(float(lo), float(f.max if f.max is not None else 1e12))
            if f.optional:
                editor.setMinimum(editor.minimum() - 1)
                editor.setSpecialValueText("off")
            editor.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
            editor.valueChanged.connect(lambda _v, n=f.name: self._emit(n))
        else:
            editor = QLineEdit()
            if f.optional:
                editor.setPlaceholderText("none")
            editor.editingFinished.connect(lambda n=f.name: self._emit(n))
        return editor

    def _emit(self, name: str) -> None:
        self._update_visibility()
        self.changed.emit(name, self.value(name))

    def value(self, name: str) -> Any:
        """The current value of field `name`."""
        f, editor = self.fields[name], self.editors[name]
        if f.kind == "bool":
            return editor.isChecked()
        if f.kind == "choice":
            return editor.currentData()
        if f.kind in ("int", "float"):
            v = editor.value()
            if f.optional and v == editor.minimum():
                return None
            return int(v) if f.kind == "int" else float(v)
        text = editor.text().strip()
        return None if (f.optional and not text) else text

    def values(self) -> dict:
        """Every field's value; a field hidden by its visible_when rule gives its default (it does not apply)."""
        return {name: self.value(name) if self.applies(name) else self.fields[name].default
                for name in self.fields}

    def applies(self, name: str) -> bool:
        """Whether field `name` is offered for the other fields' current values (its visible_when rule)."""
        f = self.fields[name]
        return all(self.value(other) in allowed for other, allowed in f.visible_when.items() if other in self.fields)

    def set_values(self, values: dict) -> None:
        """Show `values` (unknown keys are ignored; missing keys keep their editor's value)."""
        for name, value in values.items():
            if name not in self.fields:
                continue
            f, editor = self.fields[name], self.editors[name]
            blocker = QSignalBlocker(editor)
            if f.kind == "bool":
                editor.setChecked(bool(value))
            elif f.kind == "choice":
                index = editor.findData(value)
                if index < 0 and value is not None:
                    editor.addItem(str(value), value)  # a value from a newer file stays visible
                    index = editor.count() - 1
                editor.setCurrentIndex(max(index, 0))
            elif f.kind in ("int", "float"):
                if value is None:
                    editor.setValue(editor.minimum())
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    editor.setValue(value)
            else:
                editor.setText("" if value is None else str(value))
            del blocker
        self._update_visibility()

    def _update_visibility(self) -> None:
        for f in self.fields.values():
            if not f.visible_when:
                continue
            self._layout.setRowVisible(self.editors[f.name], self.applies(f.name))
