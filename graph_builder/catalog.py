"""The layer catalog: one declarative LayerSpec per layer type (DESIGN.md decision 1).

The palette, inspector, validation, shape inference, code generation and docs all read the
same spec. A spec's parameter names are torch's constructor keyword names wherever torch has
one, so code generation can pass them through unchanged.
"""

from __future__ import annotations

from graph_builder.errors import UnknownLayerError
from graph_builder.layer_spec import (  # noqa: F401  (re-exported: the catalog's vocabulary)
    _CATALOG, PARAM_KINDS, REQUIRED, LayerSpec, ParamSpec, PortSpec, Shape, register,
)

_loaded = False


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
    "Math",
    "Reshape",
    "Blocks",
)


def categories() -> dict[str, list[LayerSpec]]:
    """Specs grouped by category in palette order."""
    groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORY_ORDER}
    for spec in all_specs():
        groups.setdefault(spec.category, []).append(spec)
    return {c: specs for c, specs in groups.items() if specs}
