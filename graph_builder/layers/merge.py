"""Layers that merge branches, reduce, pick steps or resize."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, PortSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import broadcast, format_shape, normalize_dim, prod, require_rank

_MULTI = (PortSpec("in", multi=True, help="Two or more inputs."),)


def _same_rank(ins) -> int:
    """Inputs of one rank, so every batch dimension lines up with the others."""
    rank = len(ins[0])
    if any(len(s) != rank for s in ins):
        listed = ", ".join(format_shape(s) for s in ins)
        raise ShapeError(f"needs inputs with the same number of dimensions but receives {listed}; "
                         "add a Reshape or Unflatten to one branch")
    return rank


def broadcast_rule(p, ins):
    """Inputs of one rank broadcast together (torch's rules, the batch dimension aligned)."""
    _same_rank(ins)  # torch would also broadcast (N, 5) against (N, 1, 5), mixing the batch in
    return broadcast(ins)


def _concat_rule(p, ins):
    rank = _same_rank(ins)
    dim = normalize_dim(p["dim"], rank)
    if dim == 0:
        raise ShapeError("cannot concatenate along the batch dimension; use dim ≥ 1 (1 is channels)")
    for i in range(rank):
        if i != dim and len({s[i] for s in ins}) > 1:
            listed = ", ".join(format_shape(s) for s in ins)
            raise ShapeError(
                f"inputs must match in every dimension except dim={p['dim']}, but receives {listed}; "
                "resize one branch (pooling, Upsample or a strided conv) to match"
            )
    return (*ins[0][:dim], sum(s[dim] for s in ins), *ins[0][dim + 1:])


def _reduce_rule(p, ins):
    (x,) = ins
    dim = normalize_dim(p["dim"], len(x))
    if dim == 0:
        raise ShapeError("reducing over the batch dimension would mix samples; use dim ≥ 1")
    if p["keepdim"]:
        return (*x[:dim], 1, *x[dim + 1:])
    return (*x[:dim], *x[dim + 1:])


def _select_rule(p, ins):
    (x,) = ins
    if len(x) < 3:
        raise ShapeError(f"expects a sequence (N, L, features) but receives {format_shape(x)}")
    return (x[0], *x[2:])


_UPSAMPLE_RANKS = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}


def _upsample_rule(p, ins):
    (x,) = ins
    ranks = _UPSAMPLE_RANKS[p["mode"]]
    require_rank(x, ranks, what=f"for mode={p['mode']!r}")
    out = tuple(int(s * p["scale_factor"]) for s in x[2:])
    if any(o < 1 for o in out):
        raise ShapeError(f"scale_factor={p['scale_factor']} shrinks {format_shape(x)} to nothing; use a larger factor")
    return (*x[:2], *out)


def _pixel_shuffle_rule(p, ins):
    (x,) = ins
    require_rank(x, 4)
    r = p["upscale_factor"]
    if x[1] % (r * r):
        raise ShapeError(
            f"needs channels divisible by upscale_factor²={r * r} but receives {x[1]} channels; "
            f"give the conv before it a multiple of {r * r} channels"
        )
    return (None, x[1] // (r * r), x[2] * r, x[3] * r)


def _pad_rule(p, ins):
    (x,) = ins
    require_rank(x, 4)
    left, right, top, bottom = _pads(p["padding"])
    if p.get("reflect") and (max(left, right) >= x[3] or max(top, bottom) >= x[2]):
        raise ShapeError(f"reflection padding {(left, right, top, bottom)} must be smaller than the input's height "
                         f"and width {format_shape(x)}; use ReplicationPad2d or less padding")
    return (*x[:2], x[2] + top + bottom, x[3] + left + right)


def _pads(padding) -> tuple:
    return tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * 4


def _pad(type_id: str, help: str, extra: tuple = (), reflect: bool = False) -> LayerSpec:
    rule = (lambda p, ins: _pad_rule({**p, "reflect": True}, ins)) if reflect else _pad_rule
    return LayerSpec(
        type_id, type_id, "Reshape", help, shape=rule,
        params=(ParamSpec("padding", "ints", 1, "Left, right, top, bottom (one number: all four).", min=0,
                          max=1024, length=4, arg="positional", key=True), *extra),
        torch_name=f"nn.{type_id}", signature=("padding", *(p.name for p in extra)),
    )


def _merge(type_id: str, help: str, torch_name: str) -> LayerSpec:
    return LayerSpec(type_id, type_id, "Merge", help, shape=broadcast_rule, inputs=_MULTI,
                     macs=lambda p, ins, out: prod(out[1:]) * (len(ins) - 1), torch_name=torch_name)


register(
    _merge("Add", "Sums two or more inputs of the same shape: the join of a residual (skip) connection.", "Add"),
    _merge("Multiply", "Multiplies two or more inputs element by element (gating).", "Multiply"),
    _merge("Average", "Averages two or more inputs element by element.", "Average"),
    _merge("Maximum", "The largest of two or more inputs, element by element.", "Maximum"),
    _merge("Minimum", "The smallest of two or more inputs, element by element.", "Minimum"),
    LayerSpec(
        "Concatenate", "Concatenate", "Merge",
        "Joins inputs along dim (1 = channels/features), as in U-Net and DenseNet skips.",
        shape=_concat_rule, inputs=_MULTI,
        params=(ParamSpec("dim", "int", 1, "Dimension to join along.", min=-8, max=8, torch_default=1,
                          key=True),),
        torch_name="Concatenate", input_dtype="any",
    ),
    LayerSpec(
        "Reduce", "Reduce", "Reshape",
        "Mean, max or sum over one dimension, e.g. average a sequence over time.",
        shape=_reduce_rule,
        params=(
            ParamSpec("op", "choice", "mean", "How to reduce.", choices=("mean", "max", "sum"), arg="positional",
                      key=True),
            ParamSpec("dim", "int", 1, "Dimension to reduce.", min=-8, max=8, arg="positional", key=True),
            ParamSpec("keepdim", "bool", False, "Keep the reduced dimension with size 1.", torch_default=False),
        ),
        macs=lambda p, ins, out: prod(ins[0][1:]), torch_name="Reduce", signature=("op", "dim"),
    ),
    LayerSpec(
        "SelectStep", "Select step", "Reshape",
        "Picks the first or last step of a sequence: (N, L, F) → (N, F).",
        shape=_select_rule,
        params=(ParamSpec("which", "choice", "last", "Which step.", choices=("first", "last"),
                          arg="positional", key=True),),
        torch_name="SelectStep", signature=("which",), input_dtype="any",
    ),
    LayerSpec(
        "Upsample", "Upsample", "Reshape",
        "Enlarges the spatial dimensions by scale_factor (nearest, linear, bilinear, bicubic, trilinear).",
        shape=_upsample_rule,
        params=(
            ParamSpec("scale_factor", "float", 2.0, "Size multiplier.", min=0.01, max=64.0, key=True),
            ParamSpec("mode", "choice", "nearest", "Interpolation.", choices=tuple(_UPSAMPLE_RANKS),
                      torch_default="nearest", key=True),
            ParamSpec("align_corners", "bool", False, "Align corner pixels (interpolating modes only).",
                      arg="none"),
        ),
        macs=lambda p, ins, out: prod(out[1:]),
        torch_name="nn.Upsample",
    ),
    LayerSpec(
        "PixelShuffle", "PixelShuffle", "Reshape",
        "Moves channels into space: (N, C·r², H, W) → (N, C, H·r, W·r) (sub-pixel convolution).",
        shape=_pixel_shuffle_rule,
        params=(ParamSpec("upscale_factor", "int", 2, "Factor r.", min=1, max=16, arg="positional", key=True),),
        torch_name="nn.PixelShuffle", signature=("upscale_factor",),
    ),
    _pad("ZeroPad2d", "Adds rows and columns of zeros around an (N, C, H, W) input."),
    _pad("ConstantPad2d", "Adds rows and columns of one value around an (N, C, H, W) input.",
         (ParamSpec("value", "float", 0.0, "The value padded with.", min=-1e9, max=1e9, arg="positional"),)),
    _pad("ReflectionPad2d", "Pads an (N, C, H, W) input with its own mirror image (the edge not repeated).",
         reflect=True),
    _pad("ReplicationPad2d", "Pads an (N, C, H, W) input by repeating its edge values."),
)
