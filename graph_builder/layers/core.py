"""Input, Output, Linear and the layers that only rearrange a tensor."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import format_shape, normalize_dim, prod


def _input_shape(p, ins):
    return (None, *p["shape"])


def _output_shape(p, ins):
    return ins[0]


def _linear_shape(p, ins):
    (x,) = ins
    if len(x) < 2:
        raise ShapeError(f"expects an input (N, …, features) but receives {format_shape(x)}")
    return (*x[:-1], p["out_features"])


def _flatten_shape(p, ins):
    (x,) = ins
    start = normalize_dim(p["start_dim"], len(x), "start_dim")
    end = normalize_dim(p["end_dim"], len(x), "end_dim")
    if start > end:
        raise ShapeError(f"start_dim={p['start_dim']} comes after end_dim={p['end_dim']} for a {len(x)}-D input")
    if start == 0 and end > 0:
        raise ShapeError("flattening the batch dimension (start_dim=0) would mix samples; use start_dim=1")
    if start == end:
        return x
    return (*x[:start], prod(x[start:end + 1]), *x[end + 1:])


def _unflatten_shape(p, ins):
    (x,) = ins
    dim = normalize_dim(p["dim"], len(x))
    sizes = p["unflattened_size"]
    if dim == 0:
        raise ShapeError("cannot unflatten the batch dimension; use dim ≥ 1")
    if prod(sizes) != x[dim]:
        raise ShapeError(
            f"unflattened_size {tuple(sizes)} holds {prod(sizes)} values but dimension {p['dim']} of "
            f"{format_shape(x)} has {x[dim]}; choose sizes whose product is {x[dim]}"
        )
    return (*x[:dim], *sizes, *x[dim + 1:])


def _reshape_shape(p, ins):
    (x,) = ins
    target = list(p["shape"])
    total = prod(x[1:])
    if target.count(-1) > 1:
        raise ShapeError("shape may contain -1 at most once")
    known = prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape {format_shape(x)} ({total} values per sample) to {tuple(target)}")
        target[target.index(-1)] = total // known
    elif known != total:
        raise ShapeError(
            f"cannot reshape {format_shape(x)} ({total} values per sample) to {tuple(target)} "
            f"({known} values); the product of shape must be {total}"
        )
    return (None, *target)


def _permute_shape(p, ins):
    (x,) = ins
    dims = tuple(p["dims"])
    if sorted(dims) != list(range(1, len(x))):
        raise ShapeError(
            f"dims {dims} must be a reordering of 1 … {len(x) - 1} for {format_shape(x)} "
            "(the batch dimension stays first)"
        )
    return (None, *(x[d] for d in dims))


def _block_shape(p, ins):
    # Shape inference goes through the block's network (graph_builder.shapes); never called directly.
    raise ShapeError("a block's shape comes from its network")


def _identity(p, ins):
    return ins[0]


register(
    LayerSpec(
        "Input", "Input", "Input/Output",
        "A model input. Its shape excludes the batch dimension: (1, 8, 8) is a one-channel 8×8 image; "
        "use dtype int64 for token ids feeding an Embedding.",
        shape=_input_shape, inputs=(),
        params=(
            ParamSpec("shape", "ints", (1, 8, 8), "Tensor shape without the batch dimension.",
                      min=1, max=1_000_000, allow_int=False, arg="none", key=True),
            ParamSpec("dtype", "choice", "float32", "float32 for features, int64 for token ids.",
                      choices=("float32", "int64"), arg="none"),
        ),
        input_dtype="any", output_dtype="float",  # the real dtype is read from the dtype param
    ),
    LayerSpec(
        "Output", "Output", "Input/Output",
        "A model output: what the model returns (the logits for classification).",
        shape=_output_shape, outputs=(), input_dtype="any",
    ),
    LayerSpec(
        "Block", "Block", "Blocks",
        "Another network of the project used as one layer: its Inputs are this node's inputs and its "
        "Outputs its outputs. Double-click it to open that network.",
        shape=_block_shape, inputs=(), outputs=(), input_dtype="any",
        params=(
            ParamSpec("network", "str", "", "The network of this project that the block stands for.",
                      arg="none", key=True),
        ),
    ),
    LayerSpec(
        "Linear", "Linear (dense)", "Core",
        "Fully connected layer: y = x·Wᵀ + b over the last dimension.",
        shape=_linear_shape,
        params=(
            ParamSpec("out_features", "int", 64, "Number of output features.", min=1, max=1_000_000,
                      arg="positional", key=True),
            ParamSpec("bias", "bool", True, "Learn an additive bias.", torch_default=True),
        ),
        infer=lambda p, ins: {"in_features": ins[0][-1]}, inferred=("in_features",),
        count_params=lambda p: p["in_features"] * p["out_features"] + (p["out_features"] if p["bias"] else 0),
        macs=lambda p, ins, out: prod(out[1:]) * p["in_features"],
        torch_name="nn.Linear", signature=("in_features", "out_features"),
    ),
    LayerSpec(
        "Identity", "Identity", "Core", "Passes its input through unchanged.",
        shape=_identity, torch_name="nn.Identity", input_dtype="any",
    ),
    LayerSpec(
        "Flatten", "Flatten", "Reshape",
        "Joins dimensions start_dim … end_dim into one, e.g. (N, 16, 4, 4) → (N, 256) before a Linear.",
        shape=_flatten_shape,
        params=(
            ParamSpec("start_dim", "int", 1, "First dimension to join (0 is the batch).", min=-8, max=8,
                      torch_default=1),
            ParamSpec("end_dim", "int", -1, "Last dimension to join; -1 is the last.", min=-8, max=8,
                      torch_default=-1),
        ),
        torch_name="nn.Flatten", input_dtype="any",
    ),
    LayerSpec(
        "Unflatten", "Unflatten", "Reshape",
        "Splits one dimension into several, e.g. (N, 64) → (N, 1, 8, 8).",
        shape=_unflatten_shape,
        params=(
            ParamSpec("dim", "int", 1, "Dimension to split.", min=-8, max=8, arg="positional"),
            ParamSpec("unflattened_size", "ints", (1, 8, 8), "Sizes it splits into.", min=1,
                      allow_int=False, arg="positional", key=True),
        ),
        torch_name="nn.Unflatten", signature=("dim", "unflattened_size"), input_dtype="any",
    ),
    LayerSpec(
        "Reshape", "Reshape", "Reshape",
        "Gives each sample a new shape with the same number of values; one entry may be -1.",
        shape=_reshape_shape,
        params=(ParamSpec("shape", "ints", (-1,), "New shape without the batch dimension.", min=-1,
                          allow_int=False, arg="positional", key=True),),
        torch_name="Reshape", signature=("shape",), input_dtype="any",
    ),
    LayerSpec(
        "Permute", "Permute", "Reshape",
        "Reorders the non-batch dimensions (1-based, like Keras): dims (2, 1) turns (N, L, C) into (N, C, L).",
        shape=_permute_shape,
        params=(ParamSpec("dims", "ints", (2, 1), "New order of dimensions 1 … rank-1.", min=1,
                          allow_int=False, arg="positional", key=True),),
        torch_name="Permute", signature=("dims",), input_dtype="any",
    ),
)
