"""The layer catalog: one declarative LayerSpec per layer type (DESIGN.md decision 1).

The palette, inspector, validation, shape inference, code generation and docs all read the
same spec. A spec's parameter names are torch's constructor keyword names wherever torch has
one, so code generation can pass them through unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from graph_builder.errors import ParamError, UnknownLayerError

Shape = tuple  # (None, d1, d2, ...): the batch dimension is symbolic (None)


class _Required:
    """Marks a torch constructor argument without a default (always written out)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()

PARAM_KINDS = ("int", "float", "bool", "choice", "ints", "str")


@dataclass(frozen=True)
class ParamSpec:
    """One typed, bounded parameter of a layer."""

    name: str
    kind: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    length: int | None = None  # ints: exact tuple length; a bare int is broadcast by torch
    allow_int: bool = True  # ints: a single int is accepted
    strings: tuple = ()  # ints: string values accepted as well, e.g. ("same", "valid")
    optional: bool = False  # None is accepted (and means "torch decides")
    arg: str = "keyword"  # how codegen passes it: positional | keyword | none
    torch_default: Any = REQUIRED
    key: bool = False  # shown on the node's face in the editor

    def __post_init__(self) -> None:
        assert self.kind in PARAM_KINDS, self.kind
        assert self.arg in ("positional", "keyword", "none"), self.arg

    def coerce(self, value: Any) -> Any:
        """Return `value` normalised to this parameter's type, or raise ParamError."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{self.name} needs a value; {self.describe()}", param=self.name)
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"{self.name} must be true or false, not {value!r}", param=self.name)
        if kind == "int":
            return self._bounded(self._as_int(value))
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(f"{self.name} must be a number, not {value!r}", param=self.name)
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"{self.name} must be a finite number, not {value!r}", param=self.name)
            return self._bounded(value)
        if kind == "choice":
            if value in self.choices and isinstance(value, type(self.choices[0])):
                return value
            options = ", ".join(repr(c) for c in self.choices)
            raise ParamError(f"{self.name} must be one of {options}, not {value!r}", param=self.name)
        if kind == "str":
            if isinstance(value, str) and len(value) <= 200:
                return value
            raise ParamError(f"{self.name} must be a short text, not {value!r}", param=self.name)
        # kind == "ints"
        if isinstance(value, str):
            if value in self.strings:
                return value
            raise ParamError(f"{self.name} must be {self.describe()}, not {value!r}", param=self.name)
        if isinstance(value, (list, tuple)):
            items = tuple(self._bounded(self._as_int(v)) for v in value)
            if self.length is not None and len(items) != self.length:
                raise ParamError(
                    f"{self.name} needs {self.length} numbers, not {len(items)}; {self.describe()}",
                    param=self.name,
                )
            if not items:
                raise ParamError(f"{self.name} needs at least one number", param=self.name)
            return items
        if self.allow_int:
            return self._bounded(self._as_int(value))
        raise ParamError(f"{self.name} must be a list of whole numbers, not {value!r}", param=self.name)

    def _as_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"{self.name} must be a whole number, not {value!r}", param=self.name)
        if isinstance(value, float):
            if not value.is_integer():
                raise ParamError(f"{self.name} must be a whole number, not {value!r}", param=self.name)
            value = int(value)
        return value

    def _bounded(self, value: float) -> Any:
        if self.min is not None and value < self.min:
            raise ParamError(f"{self.name} must be at least {self.min}, not {value}", param=self.name)
        if self.max is not None and value > self.max:
            raise ParamError(f"{self.name} must be at most {self.max}, not {value}", param=self.name)
        return value

    def describe(self) -> str:
        """A short human description of the accepted values."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        bounds = []
        if self.min is not None:
            bounds.append(f"≥ {self.min:g}")
        if self.max is not None:
            bounds.append(f"≤ {self.max:g}")
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


@dataclass(frozen=True)
class PortSpec:
    """An input or output port; a `multi` input takes two or more wires (Add, Concatenate)."""

    name: str
    multi: bool = False
    help: str = ""
    label: str = ""  # what the canvas shows, when it is not the name (a block's port shows its Input's name)

    @property
    def title(self) -> str:
        return self.label or self.name


def _no_params(params: dict) -> int:
    return 0


def _no_macs(params: dict, ins: list, out: Shape) -> int:
    return 0


def _nothing_inferred(params: dict, ins: list) -> dict:
    return {}


@dataclass(frozen=True)
class LayerSpec:
    """Everything NetCanvas knows about one layer type."""

    type_id: str
    title: str
    category: str
    help: str
    shape: Callable[[dict, list], Shape]  # (params, input shapes) -> output shape; raises ShapeError
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[PortSpec, ...] = (PortSpec("in"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("out"),)
    infer: Callable[[dict, list], dict] = _nothing_inferred  # constructor args read off the input
    inferred: tuple[str, ...] = ()  # names `infer` returns, for the inspector
    count_params: Callable[[dict], int] = _no_params  # params + inferred -> learnable parameters
    macs: Callable[[dict, list, Shape], int] = _no_macs  # multiply-accumulates per sample
    torch_name: str | None = None  # e.g. "nn.Conv2d"; None: code generation writes the op itself
    signature: tuple[str, ...] = ()  # positional constructor arguments, in torch's order
    input_dtype: str = "float"  # float | int | any
    output_dtype: str = "same"  # same | float | int
    tags: tuple[str, ...] = field(default=())

    def param(self, name: str) -> ParamSpec:
        """The ParamSpec called `name`."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.type_id} has no parameter {name!r}")

    def defaults(self) -> dict:
        """A fresh dict of every parameter's default value."""
        return {p.name: p.default for p in self.params}

    def coerce_params(self, values: dict) -> dict:
        """Defaults overlaid with `values`, each validated; raises ParamError on the first bad one."""
        known = {p.name for p in self.params}
        for name in values:
            if name not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ParamError(
                    f"{self.type_id} has no parameter {name!r} (its parameters: {allowed})", param=name
                )
        out = {}
        for p in self.params:
            out[p.name] = p.coerce(values[p.name]) if p.name in values else p.default
        return out

    @property
    def is_source(self) -> bool:
        return not self.inputs

    @property
    def is_sink(self) -> bool:
        return not self.outputs


_CATALOG: dict[str, LayerSpec] = {}
_loaded = False


def register(*specs: LayerSpec) -> None:
    """Add specs to the catalog (layer modules call this once at import)."""
    for spec in specs:
        if spec.type_id in _CATALOG:
            raise ValueError(f"layer type {spec.type_id!r} is registered twice")
        _CATALOG[spec.type_id] = spec


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        import graph_builder.layers  # noqa: F401  (registers every spec)


def get_spec(type_id: str) -> LayerSpec:
    """The spec of `type_id`; raises UnknownLayerError naming close matches."""
    _ensure_loaded()
    try:
        return _CATALOG[type_id]
    except (KeyError, TypeError):
        import difflib

        close = difflib.get_close_matches(str(type_id), list(_CATALOG), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `netcanvas layers` to list them"
        raise UnknownLayerError(f"unknown layer type {type_id!r}{hint}") from None


def has_spec(type_id: str) -> bool:
    """True when the catalog holds `type_id`."""
    _ensure_loaded()
    return isinstance(type_id, str) and type_id in _CATALOG


def all_specs() -> list[LayerSpec]:
    """Every spec, in catalog order (category by category)."""
    _ensure_loaded()
    return list(_CATALOG.values())


CATEGORY_ORDER = (
    "Input/Output",
    "Core",
    "Convolution",
    "Pooling",
    "Normalization",
    "Regularization",
    "Activation",
    "Recurrent",
    "Attention",
    "Merge",
    "Reshape",
    "Blocks",
)


def categories() -> dict[str, list[LayerSpec]]:
    """Specs grouped by category in palette order."""
    groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORY_ORDER}
    for spec in all_specs():
        groups.setdefault(spec.category, []).append(spec)
    return {c: specs for c, specs in groups.items() if specs}
