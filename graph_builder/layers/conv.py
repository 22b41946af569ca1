"""Convolutions and transposed convolutions in 1, 2 and 3 dimensions."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import (
    check_tuple_len, conv_out, format_shape, layout, padding_pairs, prod, require_rank,
)

_MAX = 4096


def _check_groups(p, channels: int) -> None:
    g = p["groups"]
    if channels % g:
        raise ShapeError(f"groups={g} must divide the {channels} input channels")
    if p["out_channels"] % g:
        raise ShapeError(f"groups={g} must divide out_channels={p['out_channels']}")


def _conv_rule(n: int):
    def rule(p, ins):
        (x,) = ins
        require_rank(x, n + 2, fix="Unflatten" if len(x) == 2 else "Reshape")
        _check_groups(p, x[1])
        k = check_tuple_len("kernel_size", p["kernel_size"], n)
        s = check_tuple_len("stride", p["stride"], n)
        d = check_tuple_len("dilation", p["dilation"], n)
        if p["padding"] == "same" and any(v != 1 for v in s):
            raise ShapeError("padding='same' needs stride 1; use a number for padding with a larger stride")
        pad = p["padding"] if isinstance(p["padding"], str) else check_tuple_len("padding", p["padding"], n)
        pairs = padding_pairs(pad, k, d)
        sizes = x[2:]
        mode = p["padding_mode"]
        # torch: reflect mirrors inside the input (pad < size), circular wraps at most once
        # (pad <= size); zeros and replicate take any padding
        limit = {"reflect": 0, "circular": 1}.get(mode)
        if limit is not None and any(max(pl, pr) >= size + limit for size, (pl, pr) in zip(sizes, pairs)):
            bound = "smaller than" if mode == "reflect" else "at most"
            raise ShapeError(
                f"padding_mode={mode!r} needs padding {bound} the input size ({format_shape(x)}); "
                "lower padding or use padding_mode='zeros'"
            )
        out = tuple(conv_out(size, kk, ss, pl, pr, dd)
                    for size, kk, ss, (pl, pr), dd in zip(sizes, k, s, pairs, d))
        if any(o < 1 for o in out):
            raise ShapeError(
                f"kernel {k} (dilation {d}) is larger than the padded input {format_shape(x)}; "
                "use a smaller kernel, more padding, or pool less before this layer"
            )
        return (None, p["out_channels"], *out)
    return rule


def _convT_rule(n: int):
    def rule(p, ins):
        (x,) = ins
        require_rank(x, n + 2, fix="Unflatten" if len(x) == 2 else "Reshape")
        _check_groups(p, x[1])
        k = check_tuple_len("kernel_size", p["kernel_size"], n)
        s = check_tuple_len("stride", p["stride"], n)
        d = check_tuple_len("dilation", p["dilation"], n)
        pad = check_tuple_len("padding", p["padding"], n)
        op = check_tuple_len("output_padding", p["output_padding"], n)
        for o, ss, dd in zip(op, s, d):
            if o >= ss and o >= dd:
                raise ShapeError(f"output_padding={p['output_padding']} must be smaller than stride or dilation")
        out = tuple((size - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                    for size, kk, ss, pp, dd, oo in zip(x[2:], k, s, pad, d, op))
        if any(o < 1 for o in out):
            raise ShapeError(f"padding {p['padding']} leaves no output for input {format_shape(x)}; lower padding")
        return (None, p["out_channels"], *out)
    return rule


def _conv_params(n: int):
    def count(p):
        k = prod(check_tuple_len("kernel_size", p["kernel_size"], n))
        weights = p["out_channels"] * (p["in_channels"] // p["groups"]) * k
        return weights + (p["out_channels"] if p["bias"] else 0)
    return count


def _conv_macs(n: int):
    def macs(p, ins, out):
        k = prod(check_tuple_len("kernel_size", p["kernel_size"], n))
        return prod(out[1:]) * (p["in_channels"] // p["groups"]) * k
    return macs


def _convT_macs(n: int):
    def macs(p, ins, out):
        k = prod(check_tuple_len("kernel_size", p["kernel_size"], n))
        return prod(ins[0][2:]) * p["in_channels"] * (p["out_channels"] // p["groups"]) * k
    return macs


def _common(n: int, transposed: bool) -> tuple:
    params = [
        ParamSpec("out_channels", "int", 16, "Number of filters (output channels).", min=1, max=_MAX,
                  arg="positional", key=True),
        ParamSpec("kernel_size", "ints", 3, "Size of each filter.", min=1, max=64, length=n,
                  arg="positional", key=True),
        ParamSpec("stride", "ints", 1, "Step between filter positions.", min=1, max=64, length=n,
                  torch_default=1, key=True),
    ]
    if transposed:
        params += [
            ParamSpec("padding", "ints", 0, "Implicit zero padding removed from each side of the output.",
                      min=0, max=64, length=n, torch_default=0, key=True),
            ParamSpec("output_padding", "ints", 0, "Extra size added to one side of the output.",
                      min=0, max=64, length=n, torch_default=0),
        ]
    else:
        params.append(
            ParamSpec("padding", "ints", 0, "Padding on each side: a number, 'same' (keep the size, stride 1) "
                      "or 'valid' (none).", min=0, max=64, length=n, strings=("same", "valid"),
                      torch_default=0, key=True)
        )
    params += [
        ParamSpec("dilation", "ints", 1, "Spacing between filter taps.", min=1, max=64, length=n, torch_default=1),
        ParamSpec("groups", "int", 1, "Split channels into groups convolved separately (depthwise = channels).",
                  min=1, max=_MAX, torch_default=1),
        ParamSpec("bias", "bool", True, "Learn an additive bias per output channel.", torch_default=True),
    ]
    modes = ("zeros",) if transposed else ("zeros", "reflect", "replicate", "circular")
    params.append(ParamSpec("padding_mode", "choice", "zeros", "How the border is padded.", choices=modes,
                            torch_default="zeros"))
    return tuple(params)


def _spec(n: int, transposed: bool) -> LayerSpec:
    name = f"ConvTranspose{n}d" if transposed else f"Conv{n}d"
    axes = layout(n + 2)
    what = ("Transposed convolution (learned upsampling)" if transposed else "Convolution")
    return LayerSpec(
        name, name, "Convolution",
        f"{what} over a {axes} input; in_channels is read from the input.",
        shape=_convT_rule(n) if transposed else _conv_rule(n),
        params=_common(n, transposed),
        infer=lambda p, ins: {"in_channels": ins[0][1]}, inferred=("in_channels",),
        count_params=_conv_params(n),
        macs=_convT_macs(n) if transposed else _conv_macs(n),
        torch_name=f"nn.{name}", signature=("in_channels", "out_channels", "kernel_size"),
    )


register(*(_spec(n, False) for n in (1, 2, 3)), *(_spec(n, True) for n in (1, 2, 3)))
