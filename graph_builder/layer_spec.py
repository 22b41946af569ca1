"""What a layer type is: its LayerSpec (parameters, ports, shape rule, torch class) and the registry
that the layer modules (graph_builder.layers) fill when they are imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

from graph_builder.errors import ParamError
from graph_builder.schema import FIELD_KINDS, REQUIRED, Field  # noqa: F401  (REQUIRED: re-exported)

Shape = tuple  # (None, d1, d2, ...): the batch dimension is symbolic (None)


# A layer parameter is a schema Field (one class for parameters and settings); the old name stays.
ParamSpec = Field
PARAM_KINDS = FIELD_KINDS


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


_CATALOG: dict[str, LayerSpec] = {}  # type id -> spec, in registration (palette) order


def register(*specs: LayerSpec) -> None:
    """Add specs to the catalog (layer modules call this once at import)."""
    for spec in specs:
        if spec.type_id in _CATALOG:
            raise ValueError(f"layer type {spec.type_id!r} is registered twice")
        _CATALOG[spec.type_id] = spec
