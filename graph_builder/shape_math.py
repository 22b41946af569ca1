"""Arithmetic shared by the layers' shape rules, so each rule stays a few lines (like Keras)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from graph_builder.errors import ShapeError

_AXES = "CDHW"


def format_shape(shape: Sequence | None) -> str:
    """`(None, 1, 8, 8)` -> `"(N, 1, 8, 8)"`; the batch dimension prints as N."""
    if shape is None:
        return "?"
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ")"


def prod(values: Iterable[int]) -> int:
    return math.prod(int(v) for v in values)


def as_tuple(value, n: int) -> tuple:
    """Broadcast an int to an n-tuple, the way torch treats `kernel_size=3`."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def layout(rank: int) -> str:
    """A readable name for the dimensions of a batched tensor of `rank`."""
    names = {2: "(N, C)", 3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}
    return names.get(rank, f"{rank}-D")


def require_rank(shape, ranks: int | tuple, *, what: str = "", fix: str | None = None,
                 fix_params: dict | None = None) -> None:
    """Raise a ShapeError unless `shape` has one of `ranks` dimensions (batch included)."""
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) in ranks:
        return
    expected = " or ".join(f"{r}-D" for r in ranks)
    detail = what or " or ".join(layout(r) for r in ranks)
    raise ShapeError(
        f"expects a {expected} input {detail} but receives {format_shape(shape)}",
        fix=fix, fix_params=fix_params,
    )


def normalize_dim(dim: int, rank: int, name: str = "dim") -> int:
    """torch's dim wrapping: -1 is the last dimension; out of range raises ShapeError."""
    if not -rank <= dim < rank:
        raise ShapeError(
            f"{name}={dim} is out of range for a {rank}-D input (valid: {-rank} … {rank - 1})"
        )
    return dim % rank


def padding_pairs(padding, kernel: tuple, dilation: tuple) -> tuple[tuple[int, int], ...]:
    """(left, right) padding per spatial dim for an int, a tuple, 'same' or 'valid'."""
    n = len(kernel)
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        pairs = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pairs.append((total // 2, total - total // 2))
        return tuple(pairs)
    return tuple((p, p) for p in as_tuple(padding, n))


def conv_out(size: int, k: int, s: int, pad_l: int, pad_r: int, d: int) -> int:
    """Output length of a convolution along one dimension (floor division, like torch)."""
    return (size + pad_l + pad_r - d * (k - 1) - 1) // s + 1


def pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of a pooling window, including torch's ceil-mode correction."""
    numerator = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = numerator // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def check_tuple_len(name: str, value, n: int) -> tuple:
    """A tuple parameter must match the layer's number of spatial dimensions."""
    t = as_tuple(value, n)
    if len(t) != n:
        raise ShapeError(f"{name} has {len(t)} values but the layer works on {n} dimensions; give {n}")
    return t


def broadcast(shapes: list) -> tuple:
    """numpy/torch broadcasting of several shapes with a symbolic batch dimension."""
    rank = max(len(s) for s in shapes)
    out: list = []
    for i in range(rank):
        dims = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        sized = {d for d in dims if d is not None and d != 1}
        if None in dims:
            if sized:
                raise ShapeError(_mismatch(shapes))
            out.append(None)
        elif len(sized) > 1:
            raise ShapeError(_mismatch(shapes))
        else:
            out.append(sized.pop() if sized else 1)
    return tuple(out)


def _mismatch(shapes: list) -> str:
    listed = ", ".join(format_shape(s) for s in shapes)
    return f"receives shapes that do not match: {listed}; make them equal (a 1×1 conv or Linear can change channels)"
