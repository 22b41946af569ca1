"""Layer specs, one module per family; importing this package registers them all."""

from graph_builder.layers import (  # noqa: F401  (import order is palette order)
    core,
    conv,
    pool,
    norm,
    activation,
    recurrent,
    attention,
    merge,
    math,
    imported,
    generative,
)
