"""Max, average, adaptive and global pooling."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import check_tuple_len, format_shape, layout, pool_out, prod, require_rank


def _pool_rule(n: int, dilated: bool):
    def rule(p, ins):
        (x,) = ins
        require_rank(x, n + 2, fix="Unflatten" if len(x) == 2 else None)
        k = check_tuple_len("kernel_size", p["kernel_size"], n)
        stride = p["stride"] if p["stride"] is not None else p["kernel_size"]
        s = check_tuple_len("stride", stride, n)
        pad = check_tuple_len("padding", p["padding"], n)
        d = check_tuple_len("dilation", p.get("dilation", 1), n) if dilated else (1,) * n
        if any(pp > kk // 2 for kk, pp in zip(k, pad)):  # torch checks the kernel, not the dilated window
            raise ShapeError(f"padding {p['padding']} must be at most half the kernel size {p['kernel_size']}")
        if n == 3 and not dilated and any(size < kk for size, kk in zip(x[2:], k)):
            # torch's avg_pool3d alone refuses an unpadded input smaller than the window
            raise ShapeError(
                f"window {k} is larger than the input {format_shape(x)}; use a smaller kernel or remove this pooling"
            )
        out = tuple(pool_out(size, kk, ss, pp, dd, p["ceil_mode"])
                    for size, kk, ss, pp, dd in zip(x[2:], k, s, pad, d))
        if any(o < 1 for o in out):
            raise ShapeError(
                f"window {k} is larger than the input {format_shape(x)}; use a smaller kernel or remove this pooling"
            )
        return (*x[:2], *out)
    return rule


def _pool_macs(n: int):
    def macs(p, ins, out):
        return prod(out[1:]) * prod(check_tuple_len("kernel_size", p["kernel_size"], n))
    return macs


def _window_params(n: int, dilated: bool, avg: bool) -> tuple:
    params = [
        ParamSpec("kernel_size", "ints", 2, "Window size.", min=1, max=256, length=n, arg="positional", key=True),
        ParamSpec("stride", "ints", None, "Step between windows; empty means the kernel size.", min=1, max=256,
                  length=n, optional=True, torch_default=None, key=True),
        ParamSpec("padding", "ints", 0, "Implicit padding on each side.", min=0, max=128, length=n, torch_default=0),
    ]
    if dilated:
        params.append(ParamSpec("dilation", "ints", 1, "Spacing between window taps.", min=1, max=16, length=n,
                                torch_default=1))
    params.append(ParamSpec("ceil_mode", "bool", False, "Round the output size up instead of down.",
                            torch_default=False))
    if avg:
        params.append(ParamSpec("count_include_pad", "bool", True, "Count padded zeros in the average.",
                                torch_default=True))
    return tuple(params)


def _adaptive_rule(n: int):
    def rule(p, ins):
        (x,) = ins
        require_rank(x, n + 2, fix="Unflatten" if len(x) == 2 else None)
        if any(size < 1 for size in x[2:]):
            raise ShapeError(f"receives an empty input {format_shape(x)}")
        return (*x[:2], *check_tuple_len("output_size", p["output_size"], n))
    return rule


def _global_rule(p, ins):
    (x,) = ins
    if len(x) < 3:
        raise ShapeError(f"expects (N, C, …spatial) with at least one spatial dimension but receives {format_shape(x)}")
    return x[:2]


specs = []
for n in (1, 2, 3):
    specs.append(LayerSpec(
        f"MaxPool{n}d", f"MaxPool{n}d", "Pooling", f"Maximum over sliding windows of a {layout(n + 2)} input.",
        shape=_pool_rule(n, True), params=_window_params(n, True, False), macs=_pool_macs(n),
        torch_name=f"nn.MaxPool{n}d", signature=("kernel_size",),
    ))
for n in (1, 2, 3):
    specs.append(LayerSpec(
        f"AvgPool{n}d", f"AvgPool{n}d", "Pooling", f"Average over sliding windows of a {layout(n + 2)} input.",
        shape=_pool_rule(n, False), params=_window_params(n, False, True), macs=_pool_macs(n),
        torch_name=f"nn.AvgPool{n}d", signature=("kernel_size",),
    ))
for type_id, n in (("AdaptiveAvgPool1d", 1), ("AdaptiveAvgPool2d", 2), ("AdaptiveMaxPool2d", 2)):
    what = "Average" if "Avg" in type_id else "Maximum"
    specs.append(LayerSpec(
        type_id, type_id, "Pooling",
        f"{what} pooling to a fixed output size, whatever the input size.",
        shape=_adaptive_rule(n),
        params=(ParamSpec("output_size", "ints", 1, "Output size of each spatial dimension.", min=1, max=1024,
                          length=n, arg="positional", key=True),),
        macs=lambda p, ins, out: prod(ins[0][1:]),
        torch_name=f"nn.{type_id}", signature=("output_size",),
    ))
specs.append(LayerSpec(
    "GlobalAvgPool", "Global average pool", "Pooling",
    "Averages every spatial position away: (N, C, H, W) → (N, C). The usual head of a modern CNN.",
    shape=_global_rule, macs=lambda p, ins, out: prod(ins[0][1:]), torch_name="GlobalAvgPool",
))
register(*specs)
