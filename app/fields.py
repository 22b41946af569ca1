"""The one editor factory: the Qt editor of a schema Field (a layer parameter or a setting).

The inspector and the settings forms both build their editors here. A FieldEditor makes the
widget the Field's kind calls for, shows a value without emitting (inside a QSignalBlocker, so a
model -> view update never loops back), reads the value back, and emits `edited(value)` only for
a user edit that changes what is shown. Spin boxes and combo boxes take focus on click or Tab,
never from the wheel, and ignore the wheel until they have focus, so scrolling a panel never
changes a value under the pointer.

`merge_key()` names the user's current gesture on a spin box (from the first tick until Enter or
focus leaves): the edits of one drag or one typed number share it and merge into one undo step.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from graph_builder.schema import Field

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12
_gestures = itertools.count(1)  # every gesture gets a number no other gesture had


def format_value(value: Any) -> str:
    """How a value reads in a text field: (3, 3) -> '3, 3', None -> ''."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_value(spec: Field, text: str) -> Any:
    """Text from a field to a value for `spec.coerce` (which does the real checking)."""
    text = text.strip()
    if spec.kind == "str":
        return text if text or not spec.optional else None
    if not text:
        return None
    if spec.kind == "ints":
        if text in spec.strings:
            return text
        parts = [p for p in text.strip("()[] ").replace(",", " ").split()]
        numbers = [_number(p) for p in parts]
        if len(numbers) == 1 and spec.allow_int and "," not in text:
            return numbers[0]
        return tuple(numbers)
    return _number(text)


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text  # coerce names the problem ("must be a whole number, not 'abc'")


class _WheelOnlyWhenFocused:
    """A wheel over the unfocused editor scrolls the panel (the event goes to the parent)."""

    def wheelEvent(self, event) -> None:
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)


class SpinBox(_WheelOnlyWhenFocused, QSpinBox):
    """A QSpinBox that leaves the wheel alone until it has focus."""


class DoubleSpinBox(_WheelOnlyWhenFocused, QDoubleSpinBox):
    """Shows 0.001, not 0.00100000: enough decimals for the smallest bound, no trailing zeros."""

    def textFromValue(self, value: float) -> str:
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


class ComboBox(_WheelOnlyWhenFocused, QComboBox):
    """A QComboBox that leaves the wheel alone until it has focus."""


class FieldEditor(QObject):
    """The editor widget of one Field, its value in and out, and `edited` for user edits."""

    edited = Signal(object)

    def __init__(self, field: Field, null_text: str = "off", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.null_text = null_text
        self._gesture = next(_gestures)
        self.widget = self._build()
        if parent is None:
            self.setParent(self.widget)  # lives and dies with its widget
        self.widget.installEventFilter(self)
        self._shown: Any = self.value()

    # ------------------------------------------------------------ building

    def _build(self) -> QWidget:
        f = self.field
        if f.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(self._on_user_edit)
            return box
        if f.kind == "choice":
            combo = ComboBox()
            combo.setFocusPolicy(Qt.StrongFocus)
            if f.optional:
                combo.addItem("auto", None)
            for choice in f.choices:
                combo.addItem(str(choice), choice)
            combo.currentIndexChanged.connect(self._on_user_edit)
            return combo
        if f.kind == "int":
            spin = SpinBox()
            spin.setRange(int(max(-INT_LIMIT + 1, f.min if f.min is not None else -INT_LIMIT + 1)),
                          int(min(INT_LIMIT, f.max if f.max is not None else INT_LIMIT)))
        elif f.kind == "float":
            spin = DoubleSpinBox()
            # Enough decimals to reach the smallest positive bound (a learning rate of 1e-8).
            smallest = min((abs(b) for b in (f.min, f.max) if b), default=1.0)
            spin.setDecimals(max(6, math.ceil(-math.log10(smallest)) if smallest < 1 else 6))
            spin.setRange(float(f.min if f.min is not None else -FLOAT_LIMIT),
                          float(f.max if f.max is not None else FLOAT_LIMIT))
            spin.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        else:
            edit = QLineEdit()
            edit.setPlaceholderText(self.null_text if f.optional else f.describe())
            edit.editingFinished.connect(self._on_user_edit)
            return edit
        if f.optional:  # one step below the minimum reads as "off" / "none"
            spin.setMinimum(spin.minimum() - 1)
            spin.setSpecialValueText(self.null_text)
        spin.setFocusPolicy(Qt.StrongFocus)
        spin.setKeyboardTracking(False)  # typing "60" is one edit (on Enter), not 6 then 60
        spin.setAccelerated(True)
        spin.valueChanged.connect(self._on_user_edit)
        spin.editingFinished.connect(self._end_gesture)
        return spin

    # ------------------------------------------------------------ value in and out

    def value(self) -> Any:
        """The value the editor shows, as the model takes it."""
        f, w = self.field, self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            v = w.value()
            if f.optional and v == w.minimum():
                return None
            return int(v) if f.kind == "int" else float(v)
        return parse_value(f, w.text())

    def set_value(self, value: Any) -> None:
        """Show `value` without emitting anything (a model -> view update)."""
        w = self.widget
        with QSignalBlocker(w):
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                index = w.findData(value)
                if index < 0 and value is not None:
                    w.addItem(str(value), value)  # a value from a newer file stays visible
                    index = w.count() - 1
                w.setCurrentIndex(max(index, 0))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                if value is None:
                    w.setValue(w.minimum())
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    w.setValue(value)
            else:
                w.setText(format_value(value))
        self._shown = self.value()

    def merge_key(self) -> Any:
        """What names the current gesture (a spin-box drag or typed number); None for one-shot editors."""
        if isinstance(self.widget, (QSpinBox, QDoubleSpinBox)):
            return (self.field.name, self._gesture)
        return None

    # ------------------------------------------------------------ user edits

    def _on_user_edit(self, *_args) -> None:
        value = self.value()
        if value == self._shown and type(value) is type(self._shown):
            return  # focus left a text field without a change, or a tick landed on the same value
        self._shown = value
        self.edited.emit(value)

    def _end_gesture(self) -> None:
        self._gesture = next(_gestures)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget and event.type() == QEvent.FocusOut:
            self._end_gesture()
        return False
