"""The one field schema: layer parameters and dataset/training settings are both Fields.

A Field names a value, its kind, default and bounds, the words the forms show and the rules
`coerce` checks. The layer catalog (ParamSpec), the settings tables (SettingSpec) and the app's
editor factory all read this one class, so a rule or an error message changes in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from graph_builder.errors import ParamError


class _Required:
    """Marks a torch constructor argument without a default (always written out)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()

FIELD_KINDS = ("int", "float", "bool", "choice", "ints", "str")


def format_number(value: float) -> str:
    """1 -> '1', 1048576 -> '1048576', 1e-08 -> '1e-08': bounds read as people write them."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:g}"


def _shown(value: Any) -> str:
    """`repr(value)`, cut short: a hostile file's megabyte string must not fill an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


class _AnyValue:
    """In a visible_when rule: the other field has any value (is not empty)."""

    def __contains__(self, value: Any) -> bool:
        return value not in (None, "")

    def __repr__(self) -> str:
        return "ANY_VALUE"


ANY_VALUE = _AnyValue()


@dataclass(frozen=True)
class Field:
    """One typed, bounded value: a layer parameter or a project setting."""

    name: str
    kind: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    optional: bool = False  # None is accepted ("torch decides", "off", "the dataset's default")
    label: str = ""  # what a form calls it; the name when empty
    visible_when: dict = _field(default_factory=dict, hash=False)  # {other field: allowed values, or ANY_VALUE}
    length: int | None = None  # ints: exact tuple length; a bare int is broadcast by torch
    allow_int: bool = True  # ints: a single int is accepted; str: a whole number is taken as text
    strings: tuple = ()  # ints: string values accepted as well, e.g. ("same", "valid")
    max_length: int = 200  # str: longest text accepted
    arg: str = "keyword"  # layer parameters: how codegen passes it (positional | keyword | none)
    torch_default: Any = REQUIRED
    key: bool = False  # layer parameters: shown on the node's face in the editor
    tags: frozenset = frozenset()  # settings: the tasks it applies to, by TaskSpec.setting_tags (empty: all)

    def __post_init__(self) -> None:
        assert self.kind in FIELD_KINDS, self.kind
        assert self.arg in ("positional", "keyword", "none"), self.arg

    @property
    def title(self) -> str:
        """The words a form shows for this field."""
        return self.label or self.name.replace("_", " ")

    def applies(self, values: dict) -> bool:
        """Whether this field is offered for the other fields' `values` (its visible_when rule)."""
        return all(values.get(other) in allowed for other, allowed in self.visible_when.items() if other in values)

    def coerce(self, value: Any) -> Any:
        """Return `value` normalised to this field's type, or raise ParamError."""
        if value is None:
            if self.optional:
                return None
            default = f" (its default is {self.default!r})" if self.default is not None else ""
            raise self._error(f"{self.name} cannot be empty; it takes {self.describe()}{default}")
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise self._error(f"{self.name} must be true or false, not {_shown(value)}")
        if kind == "int":
            return self._bounded(self._as_int(value))
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise self._error(f"{self.name} must be a finite number, not {_shown(value)}")
            return self._bounded(float(value))
        if kind == "choice":
            if value in self.choices and isinstance(value, type(self.choices[0])):
                return value
            options = ", ".join(str(c) for c in self.choices)
            raise self._error(f"{self.name} must be one of {options}, not {_shown(value)}")
        if kind == "str":
            if isinstance(value, int) and not isinstance(value, bool) and self.allow_int:
                value = str(value)
            if not isinstance(value, str):
                raise self._error(f"{self.name} must be a text, not {_shown(value)}")
            value = value.strip()
            if len(value) > self.max_length:
                raise self._error(f"{self.name} is {len(value)} characters long; at most {self.max_length}")
            return None if (self.optional and not value) else value
        # kind == "ints"
        if isinstance(value, str):
            if value in self.strings:
                return value
            raise self._error(f"{self.name} must be {self.describe()}, not {_shown(value)}")
        if isinstance(value, (list, tuple)):
            items = tuple(self._bounded(self._as_int(v)) for v in value)
            if self.length is not None and len(items) != self.length:
                raise self._error(f"{self.name} needs {self.length} numbers, not {len(items)}; {self.describe()}")
            if not items:
                raise self._error(f"{self.name} needs at least one number")
            return items
        if self.allow_int:
            return self._bounded(self._as_int(value))
        raise self._error(f"{self.name} must be a list of whole numbers, not {_shown(value)}")

    def _error(self, message: str) -> ParamError:
        return ParamError(message, param=self.name)

    def _as_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(f"{self.name} must be a whole number, not {_shown(value)}")
        if isinstance(value, float):
            if not value.is_integer():
                raise self._error(f"{self.name} must be a whole number, not {_shown(value)}")
            value = int(value)
        return value

    def _bounded(self, value: float) -> Any:
        if self.min is not None and value < self.min:
            raise self._error(f"{self.name} must be at least {format_number(self.min)}{self._range()}, not {_shown(value)}")
        if self.max is not None and value > self.max:
            raise self._error(f"{self.name} must be at most {format_number(self.max)}{self._range()}, not {_shown(value)}")
        return value

    def _range(self) -> str:
        if self.min is None or self.max is None:
            return ""
        return f" (between {format_number(self.min)} and {format_number(self.max)})"

    def describe(self) -> str:
        """A short human description of the accepted values."""
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        bounds = []
        if self.min is not None:
            bounds.append(f"≥ {format_number(self.min)}")
        if self.max is not None:
            bounds.append(f"≤ {format_number(self.max)}")
        bound_text = f" ({' and '.join(bounds)})" if bounds else ""
        if self.kind == "ints":
            what = f"{self.length} whole numbers" if self.length else "a list of whole numbers"
            if self.allow_int:
                what = f"a whole number or {what}"
            if self.strings:
                what += " or " + " or ".join(repr(s) for s in self.strings)
            return what + bound_text
        names = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text"}
        return names[self.kind] + bound_text
