"""Every layer's pure-Python shape rule agrees with real PyTorch (DESIGN.md decision 2).

For each catalog spec, hypothesis draws parameters within the spec's bounds and input shapes
around the rank the layer expects (wrong ranks and too-small inputs included). The torch module
is built from the spec the way code generation builds it (positional arguments from
`signature`, inferred values from `spec.infer`, keyword arguments from params with
arg="keyword"); layers that code generation writes itself get a plain-torch reference here.
Then: a shape from the rule is exactly the shape torch produces (batch None <-> 2), a
ShapeError/ParamError from the rule means torch raises too, and `count_params` equals the
module's parameter count. For a deeper hunt: NETCANVAS_SHAPE_EXAMPLES=600 pytest this file
--hypothesis-show-statistics (the statistics show how many cases reached each outcome).
"""

from __future__ import annotations

import functools
import math
import operator
import os
import warnings
from dataclasses import dataclass
from collections.abc import Callable

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

from graph_builder.catalog import all_specs, get_spec
from graph_builder.errors import ParamError, ShapeError

BATCH = 2

# What torch raises when it refuses an input or an argument (AssertionError: MultiheadAttention's
# head check; IndexError: a dimension that does not exist; ZeroDivisionError: GroupNorm(0, C)).
# KeyError/NameError stay out so a bug in a reference below fails loudly instead of passing as
# "torch refused".
TORCH_REFUSALS = (RuntimeError, ValueError, IndexError, TypeError, AssertionError, NotImplementedError,
                  ZeroDivisionError)

AGREEMENT = settings(
    max_examples=int(os.environ.get("NETCANVAS_SHAPE_EXAMPLES", 60)), deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# Small caps keep every torch call in the sub-millisecond range.
CAPS = {
    "out_features": 12, "out_channels": 12, "kernel_size": 5, "stride": 3, "padding": 3,
    "output_padding": 2, "dilation": 3, "groups": 4, "num_groups": 4, "num_parameters": 12,
    "num_embeddings": 12, "embedding_dim": 8, "padding_idx": 14, "hidden_size": 6, "num_layers": 2,
    "num_heads": 4, "nhead": 4, "dim_feedforward": 12, "max_len": 12, "upscale_factor": 3,
    "output_size": 6, "normalized_dims": 4,
}


# ---------------------------------------------------------------- drawing parameters and shapes

# Values that make most drawn layers valid, so both the shape path and the error path get cases.
LEANS = {"dilation": (1, 1, 1, 2, 3), "padding": (0, 0, 1, 1, 2, 3), "stride": (1, 1, 1, 2, 3)}
# Parameters whose lower bound is torch's own: one below it, coercion and torch must both refuse.
# (Not padding: a negative reflect/replicate padding crops in torch; NetCanvas never crops.)
TORCH_MINIMUMS = {"kernel_size", "stride", "dilation", "output_padding", "out_channels", "groups",
                  "hidden_size", "num_layers", "num_heads", "nhead", "num_groups", "upscale_factor", "max_len"}


def param_strategy(p, cap: int | None = None):
    """Values within a ParamSpec's bounds (capped small), None too when the spec is optional."""
    cap = cap if cap is not None else CAPS.get(p.name)
    if p.kind == "bool":
        s = st.booleans()
    elif p.kind == "choice":
        s = st.sampled_from(p.choices)
    elif p.kind == "float":
        s = st.floats(p.min, p.max) | st.sampled_from((p.min, p.max))
    elif p.kind == "int" or (p.kind == "ints" and p.length):
        lo = int(p.min) if p.min is not None else 0
        hi = min(x for x in (p.max, cap) if x is not None)
        item = st.integers(lo, int(hi))
        if p.name in LEANS:
            item = st.sampled_from([v for v in LEANS[p.name] if lo <= v <= hi]) | item
        if p.name in TORCH_MINIMUMS:
            item = item | st.just(lo - 1)
        s = item
        if p.kind == "ints":
            s = item | st.tuples(*[item] * p.length)
            if p.strings:
                s = s | st.sampled_from(p.strings)
    else:
        raise AssertionError(f"{p.name}: no generic strategy for a free-length ints parameter")
    return st.none() | s if p.optional else s


def draw_params(draw, type_id: str, **fixed) -> dict:
    """Every parameter of `type_id`: the given strategies or values, the rest drawn generically."""
    out = {}
    for p in get_spec(type_id).params:
        given_value = fixed.get(p.name, param_strategy(p))
        out[p.name] = draw(given_value) if isinstance(given_value, st.SearchStrategy) else given_value
    return out


def shape_of(draw, rank: int, lo: int = 1, hi: int = 12, channels: int | None = None) -> tuple:
    """A batched shape (None, d1, …) of `rank` dims; `channels` caps dim 1."""
    dims = [draw(st.integers(lo, hi)) for _ in range(rank - 1)]
    if channels is not None and dims:
        dims[0] = draw(st.integers(1, channels))
    return (None, *dims)


def rank_near(n: int, spread: int = 1, low: int = 1):
    """Mostly rank n, sometimes one more or less (error paths)."""
    others = [r for r in range(max(low, n - spread), n + spread + 1) if r != n]
    return st.sampled_from([n] * 3 + others)


def simple(type_id: str, ranks=(1, 2, 3, 4, 5), hi: int = 8, **fixed):
    """One input of any of `ranks`, parameters drawn from the spec."""
    @st.composite
    def case(draw):
        return draw_params(draw, type_id, **fixed), [shape_of(draw, draw(st.sampled_from(ranks)), hi=hi)]
    return case()


def factorization(draw, total: int, max_parts: int = 3) -> list:
    """A random split of `total` into a product of up to `max_parts` whole numbers."""
    parts, rest = [], total
    for _ in range(draw(st.integers(1, max_parts)) - 1):
        divisor = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        parts.append(divisor)
        rest //= divisor
    parts.append(rest)
    return draw(st.permutations(parts))


# ---------------------------------------------------------------- building the torch side

class Op(nn.Module):
    """A plain-torch reference for a layer code generation writes itself."""

    def __init__(self, fn: Callable, inner: nn.Module | None = None, **parameters):
        super().__init__()
        self.fn = fn
        self.inner = inner  # a wrapped nn module: its parameters count as ours
        for name, value in parameters.items():
            self.register_parameter(name, nn.Parameter(value))

    def forward(self, *xs):
        return self.fn(self, *xs)


def torch_module(extra: dict | None = None, call: Callable | None = None):
    """Build `nn.<Name>` from the spec: signature positionally, arg='keyword' params by name."""
    def build(spec, args, ins):
        cls = getattr(nn, spec.torch_name.removeprefix("nn."))
        positional = [args[name] for name in spec.signature]
        keywords = {p.name: args[p.name] for p in spec.params if p.arg == "keyword"}
        module = cls(*positional, **keywords, **(extra or {}))
        if call is None:
            return module
        return Op(lambda op, *xs: call(args, op.inner, *xs), module)
    return build


def op(fn: Callable, parameters: Callable | None = None):
    """A reference written with torch ops: fn(args, *inputs); parameters(args) -> learnable tensors."""
    def build(spec, args, ins):
        return Op(lambda module, *xs: fn(args, module, *xs), **(parameters(args) if parameters else {}))
    return build


@dataclass(frozen=True)
class Reference:
    """How to draw cases for a layer and how torch computes it."""

    case: st.SearchStrategy  # -> (params, input shapes)
    build: Callable = torch_module()  # (spec, args, concrete input shapes) -> nn.Module
    # Inputs our rule rejects on purpose although torch accepts them (an unbatched input, folding
    # the batch into another dimension): there we only check that the rule raises.
    deliberate: Callable[[dict, list], bool] = lambda p, ins: False


def unbatched(rank: int):
    """torch also takes an unbatched input one rank lower; our dim 0 is always the batch."""
    return lambda p, ins: len(ins[0]) == rank


# ---------------------------------------------------------------- cases per layer

@st.composite
def input_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 8), min_size=1, max_size=4)))
    return {"shape": list(shape), "dtype": draw(st.sampled_from(("float32", "int64")))}, []


@st.composite
def flatten_case(draw):
    return (draw_params(draw, "Flatten", start_dim=st.integers(-4, 4), end_dim=st.integers(-4, 4)),
            [shape_of(draw, draw(st.integers(2, 5)), hi=5)])


def folds_batch(p, ins, *names):
    """True when a dim parameter points at the batch (torch would happily mix samples)."""
    rank = len(ins[0])
    return any(-rank <= p[n] < rank and p[n] % rank == 0 for n in names)


def flatten_folds_batch(p, ins):
    rank = len(ins[0])
    inside = all(-rank <= p[n] < rank for n in ("start_dim", "end_dim"))
    return inside and p["start_dim"] % rank == 0 and p["end_dim"] % rank > 0


@st.composite
def unflatten_case(draw):
    x = shape_of(draw, draw(st.integers(2, 4)), hi=12)
    dim = draw(st.integers(-4, 4))
    if -len(x) < dim < len(x) and dim % len(x) and draw(st.integers(0, 3)):
        sizes = factorization(draw, x[dim])
    else:
        sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    return {"dim": dim, "unflattened_size": sizes}, [x]


@st.composite
def reshape_case(draw):
    x = shape_of(draw, draw(st.integers(2, 4)), hi=6)
    if draw(st.integers(0, 2)):
        target = factorization(draw, math.prod(x[1:]))
        if draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = -1
    else:
        target = draw(st.lists(st.integers(-1, 6), min_size=1, max_size=3))
    return {"shape": target}, [x]


@st.composite
def permute_case(draw):
    x = shape_of(draw, draw(st.integers(2, 5)), hi=6)
    if draw(st.integers(0, 2)):
        dims = draw(st.permutations(range(1, len(x))))
    else:
        dims = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    return {"dims": list(dims)}, [x]


def conv_case(type_id: str, n: int):
    small = n == 3  # 3-D convolutions stay tiny
    caps = {"kernel_size": 3 if small else 5, "out_channels": 4 if small else 12}

    @st.composite
    def case(draw):
        p = {q.name: param_strategy(q, caps.get(q.name)) for q in get_spec(type_id).params}
        groups = draw(st.sampled_from((1, 1, 2, 3, 4)))
        # channels are usually multiples of groups, so grouped convolutions get valid cases too
        multiple = st.integers(1, 3).map(lambda m: m * groups)
        p.update(groups=groups, out_channels=multiple | st.integers(1, 6))
        params = draw_params(draw, type_id, **p)
        x = list(shape_of(draw, draw(rank_near(n + 2)), hi=6 if small else 12))
        if len(x) > 1:
            x[1] = draw(multiple | st.integers(1, 6))
        return params, [tuple(x)]
    return case()


def window_case(type_id: str, n: int):
    small = n == 3

    @st.composite
    def case(draw):
        params = draw_params(draw, type_id)
        return params, [shape_of(draw, draw(rank_near(n + 2)), hi=6 if small else 12, channels=4)]
    return case()


@st.composite
def prelu_case(draw):
    x = shape_of(draw, draw(st.integers(1, 4)), hi=6)
    count = st.sampled_from((1, x[1])) if len(x) > 1 else st.just(1)
    return draw_params(draw, "PReLU", num_parameters=count | st.integers(1, 6)), [x]


@st.composite
def groupnorm_case(draw):
    return draw_params(draw, "GroupNorm"), [shape_of(draw, draw(rank_near(3, 2)), hi=8)]


def rnn_case(type_id: str):
    @st.composite
    def case(draw):
        return draw_params(draw, type_id), [shape_of(draw, draw(rank_near(3)), hi=6)]
    return case()


def rnn_call(args, module, x):
    out = module(x)[0]
    return out if args["output"].startswith("sequence") else out[:, -1]  # the _unpadded kinds: the same shapes


@st.composite
def sequence_case(draw, type_id: str = "MultiheadAttention"):
    return draw_params(draw, type_id), [shape_of(draw, draw(rank_near(3)), hi=12)]


@st.composite
def decoder_case(draw):
    tgt = shape_of(draw, draw(rank_near(3)), hi=8)
    if draw(st.integers(0, 3)):  # usually a memory of matching width, another length
        memory = (*tgt[:-2], draw(st.integers(1, 6)), tgt[-1]) if len(tgt) >= 3 else tgt
    else:
        memory = shape_of(draw, draw(rank_near(3)), hi=8)
    return draw_params(draw, "TransformerDecoderLayer"), [tgt, memory]


@st.composite
def merge_case(draw, type_id: str):
    base = shape_of(draw, draw(st.integers(2, 4)), hi=5)
    shapes = []
    for _ in range(draw(st.integers(2, 3))):
        how = draw(st.integers(0, 5))
        s = list(base)
        if how == 1:  # broadcast one dimension from 1
            i = draw(st.integers(1, len(s) - 1))
            s[i] = 1
        elif how == 2:  # a different size somewhere
            i = draw(st.integers(1, len(s) - 1))
            s[i] = draw(st.integers(1, 5))
        elif how == 3:  # another rank
            s = list(shape_of(draw, draw(st.integers(1, 4)), hi=5))
        shapes.append(tuple(s))
    return draw_params(draw, type_id), shapes


def ranks_differ(p, ins):
    return len({len(s) for s in ins}) > 1


@st.composite
def concat_case(draw):
    base = shape_of(draw, draw(st.integers(2, 4)), hi=5)
    dim = draw(st.sampled_from((1, -1, 2)) | st.integers(-4, 4))
    shapes = []
    for _ in range(draw(st.integers(2, 3))):
        s = list(base)
        how = draw(st.integers(0, 9))
        if how <= 7 and -len(s) <= dim < len(s) and dim % len(s):
            s[dim] = draw(st.integers(1, 5))  # the concatenated dimension may differ
        elif how == 8:
            s[draw(st.integers(1, len(s) - 1))] = draw(st.integers(1, 5))
        elif how == 9:
            s = list(shape_of(draw, draw(st.integers(1, 4)), hi=5))
        shapes.append(tuple(s))
    return {"dim": dim}, shapes


UPSAMPLE_RANKS = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}


@st.composite
def upsample_case(draw):
    scale = st.sampled_from((0.5, 1.5, 2.0, 3.0, 1 / 3, 2.5, 0.1)) | st.floats(0.01, 4.0)
    params = draw_params(draw, "Upsample", scale_factor=scale)
    rank = draw(st.sampled_from(UPSAMPLE_RANKS[params["mode"]]) | st.integers(2, 6))
    return params, [shape_of(draw, rank, hi=7, channels=3)]


def upsample_build(spec, args, ins):
    interpolating = args["mode"] != "nearest"  # torch refuses align_corners for 'nearest'
    return nn.Upsample(scale_factor=args["scale_factor"], mode=args["mode"],
                       align_corners=args["align_corners"] if interpolating else None)


@st.composite
def pixel_shuffle_case(draw):
    r = draw(st.integers(1, 3))
    x = list(shape_of(draw, draw(rank_near(4)), hi=5))
    if len(x) > 1 and draw(st.integers(0, 2)):
        x[1] = r * r * draw(st.integers(1, 3))
    return {"upscale_factor": r}, [tuple(x)]


@st.composite
def positional_case(draw):
    return (draw_params(draw, "PositionalEncoding"), [shape_of(draw, draw(rank_near(3)), hi=12)])


def positional_forward(args, module, x):
    _, length, _ = x.shape  # (N, L, d_model); the table has max_len rows, so L > max_len fails
    table = module.table if args["kind"] == "learned" else torch.zeros(args["max_len"], args["d_model"])
    return nn.functional.dropout(x + table[torch.arange(length)], args["dropout"])


def positional_parameters(args):
    if args["kind"] == "learned":
        return {"table": torch.zeros(args["max_len"], args["d_model"])}
    return {}


@st.composite
def latent_case(draw):
    mean = shape_of(draw, draw(rank_near(2)), hi=6)
    log_var = mean if draw(st.integers(0, 2)) else shape_of(draw, len(mean), hi=6)
    return {}, [mean, log_var]


def latent_sample(args, module, mean, log_var):
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


REDUCE = {"mean": torch.mean, "sum": torch.sum, "max": torch.amax}
MERGE = {"Add": operator.add, "Multiply": operator.mul, "Average": operator.add, "Maximum": torch.maximum,
         "Minimum": torch.minimum}


def merge_build(spec, args, ins):
    combine = MERGE[spec.type_id]

    def forward(module, *xs):
        out = functools.reduce(combine, xs)
        return out / len(xs) if spec.type_id == "Average" else out
    return Op(forward)


ACTIVATIONS = ("ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
               "Softmax", "LogSoftmax", "Hardswish", "Hardsigmoid", "ReLU6", "Softplus", "Softsign", "Softmin")
PADS = ("ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d")
MATH = {"Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt, "Abs": torch.abs, "Neg": torch.neg}


@st.composite
def pow_case(draw):
    params, shapes = draw(merge_case("Pow"))
    return params, shapes[:2]  # base and exponent

REFERENCES: dict[str, Reference] = {
    "Input": Reference(input_case(), op(lambda a, m: torch.zeros(BATCH, *a["shape"]))),
    "Output": Reference(simple("Output"), op(lambda a, m, x: x)),
    "Linear": Reference(simple("Linear", ranks=(1, 2, 3, 4)), deliberate=unbatched(1)),
    "Identity": Reference(simple("Identity")),
    "Flatten": Reference(flatten_case(), deliberate=flatten_folds_batch),
    "Unflatten": Reference(unflatten_case(), deliberate=lambda p, ins: folds_batch(p, ins, "dim")),
    "Reshape": Reference(reshape_case(), op(lambda a, m, x: x.reshape(x.shape[0], *a["shape"]))),
    # dims are 1-based over the non-batch dimensions
    "Permute": Reference(permute_case(), op(lambda a, m, x: x.permute(0, *a["dims"]))),
    **{f"Conv{n}d": Reference(conv_case(f"Conv{n}d", n), deliberate=unbatched(n + 1)) for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": Reference(conv_case(f"ConvTranspose{n}d", n), deliberate=unbatched(n + 1))
       for n in (1, 2, 3)},
    **{f"{kind}Pool{n}d": Reference(window_case(f"{kind}Pool{n}d", n), deliberate=unbatched(n + 1))
       for kind in ("Max", "Avg") for n in (1, 2, 3)},
    **{name: Reference(window_case(name, n), deliberate=unbatched(n + 1))
       for name, n in (("AdaptiveAvgPool1d", 1), ("AdaptiveMaxPool2d", 2))},
    # for output size 1 torch takes a mean over the last two dims of any rank, skipping its check
    "AdaptiveAvgPool2d": Reference(window_case("AdaptiveAvgPool2d", 2), deliberate=lambda p, ins: len(ins[0]) == 3
                                   or (len(ins[0]) > 4 and p["output_size"] in (1, (1, 1)))),
    "GlobalAvgPool": Reference(simple("GlobalAvgPool", hi=5), op(lambda a, m, x: torch.flatten(x, 2).mean(-1))),
    "BatchNorm1d": Reference(simple("BatchNorm1d", ranks=(1, 2, 3, 4))),
    "BatchNorm2d": Reference(simple("BatchNorm2d", ranks=(2, 3, 4, 5), hi=5)),
    "BatchNorm3d": Reference(simple("BatchNorm3d", ranks=(3, 4, 5, 6), hi=4)),
    # torch also normalizes over the batch when the input has no more dims than normalized_dims
    "LayerNorm": Reference(simple("LayerNorm", hi=5), torch_module(),
                           deliberate=lambda p, ins: len(ins[0]) <= p["normalized_dims"]),
    "GroupNorm": Reference(groupnorm_case()),
    "InstanceNorm2d": Reference(simple("InstanceNorm2d", ranks=(2, 3, 4, 5), hi=4), deliberate=unbatched(3)),
    "Dropout": Reference(simple("Dropout")),
    # torch only warns (deprecated) for a Dropout2d input that is not 4-D; we refuse it
    "Dropout2d": Reference(simple("Dropout2d", ranks=(2, 3, 4, 5), hi=5),
                           deliberate=lambda p, ins: len(ins[0]) != 4),
    **{name: Reference(simple(name, hi=6)) for name in ACTIVATIONS},
    "PReLU": Reference(prelu_case()),
    "Embedding": Reference(simple("Embedding", ranks=(1, 2, 3), hi=6)),
    **{kind: Reference(rnn_case(kind), torch_module({"batch_first": True}, rnn_call), deliberate=unbatched(2))
       for kind in ("RNN", "LSTM", "GRU")},
    "MultiheadAttention": Reference(
        sequence_case(), torch_module({"batch_first": True}, lambda a, m, x: m(x, x, x, need_weights=False)[0]),
        deliberate=unbatched(2)),
    "TransformerEncoderLayer": Reference(sequence_case("TransformerEncoderLayer"),
                                         torch_module({"batch_first": True}), deliberate=unbatched(2)),
    "TransformerDecoderLayer": Reference(decoder_case(), torch_module({"batch_first": True}),
                                         deliberate=lambda p, ins: len(ins[0]) == len(ins[1]) == 2),
    "PositionalEncoding": Reference(positional_case(), op(positional_forward, positional_parameters)),
    # torchvision.ops.StochasticDepth; the reference runs in eval mode, where it is the identity
    "StochasticDepth": Reference(simple("StochasticDepth"), op(lambda a, m, x: x)),
    **{name: Reference(merge_case(name), merge_build, deliberate=ranks_differ) for name in MERGE},
    # torch would broadcast (N, 1) against (N, 5), and take an unbatched (D,) vector
    "GaussianLatent": Reference(latent_case(), op(latent_sample),
                                deliberate=lambda p, ins: ins[0] != ins[1] or len(ins[0]) < 2),
    "Concatenate": Reference(concat_case(), op(lambda a, m, *xs: torch.cat(xs, a["dim"])),
                             deliberate=lambda p, ins: not ranks_differ(p, ins) and folds_batch(p, ins, "dim")),
    "Reduce": Reference(
        simple("Reduce", ranks=(1, 2, 3, 4), dim=st.integers(-5, 5)),
        op(lambda a, m, x: REDUCE[a["op"]](x, dim=a["dim"], keepdim=a["keepdim"])),
        deliberate=lambda p, ins: folds_batch(p, ins, "dim")),
    # on (N, F) torch would pick a feature, not a step
    "SelectStep": Reference(simple("SelectStep", ranks=(1, 2, 3, 4)),
                            op(lambda a, m, x: x[:, 0] if a["which"] == "first" else x[:, -1]),
                            deliberate=unbatched(2)),
    "Upsample": Reference(upsample_case(), upsample_build),
    # NetCanvas' PixelShuffle is (N, C·r², H, W) only: ONNX DepthToSpace is 4-D
    "PixelShuffle": Reference(pixel_shuffle_case(), deliberate=lambda p, ins: len(ins[0]) != 4),
    "GLU": Reference(simple("GLU", hi=6), deliberate=lambda p, ins: folds_batch(p, ins, "dim")),
    # torch also pads (C, H, W), and the last two dims of higher ranks; NetCanvas's are (N, C, H, W) layers
    **{name: Reference(simple(name, ranks=(3, 4, 5), hi=6), deliberate=lambda p, ins: len(ins[0]) != 4)
       for name in PADS},
    **{name: Reference(simple(name), op(lambda a, m, x, fn=fn: fn(x))) for name, fn in MATH.items()},
    "Clip": Reference(simple("Clip"), op(lambda a, m, x: torch.clamp(x, a["min"], a["max"]))),
    "Rescaling": Reference(simple("Rescaling"), op(lambda a, m, x: x * a["scale"] + a["offset"])),
    "Pow": Reference(pow_case(), op(lambda a, m, base, exponent: torch.pow(base, exponent)),
                     deliberate=ranks_differ),
}


# ---------------------------------------------------------------- the agreement check

def rule_outcome(spec, params: dict, ins: list):
    """(shape, args) from our rule, or (None, the ShapeError/ParamError it raised)."""
    try:
        coerced = spec.coerce_params(params)
        out = tuple(spec.shape(coerced, ins))
        inferred = spec.infer(coerced, ins)
    except (ShapeError, ParamError) as exc:
        return None, exc
    assert all(v is not None for v in inferred.values()), f"inferred {inferred} reads the batch dimension"
    args = {**coerced, **inferred}
    # shape inference calls these next; a crash there would show a valid layer as broken
    assert isinstance(spec.macs(args, ins, out), int) and spec.macs(args, ins, out) >= 0
    return out, args


def torch_outcome(spec, ref: Reference, params: dict, ins: list):
    """(shape, module) from real torch on a batch of 2, or (None, the exception torch raised)."""
    concrete = [tuple(BATCH if d is None else d for d in s) for s in ins]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecations and "dropout with one layer" notes
        try:
            # An input without the dim `infer` reads cannot even build the module: a refusal.
            args = {**params, **spec.infer(params, concrete)}
            module = ref.build(spec, args, concrete)
            dtype = torch.long if spec.input_dtype == "int" else torch.float32
            xs = [torch.zeros(s, dtype=dtype) if dtype == torch.long else torch.randn(s) for s in concrete]
            out = module(*xs)
        except TORCH_REFUSALS as exc:
            return None, exc
    if 0 in out.shape:  # torch returns an empty tensor (ConvTranspose with big padding); we refuse it
        return None, ValueError(f"an empty output {tuple(out.shape)}")
    return tuple(out.shape), module


def check_agreement(type_id: str, params: dict, ins: list):
    """Assert the rule and torch agree on `ins`; returns the rule's shape (None when it raised)."""
    spec, ref = get_spec(type_id), REFERENCES[type_id]
    ours, detail = rule_outcome(spec, params, ins)
    where = f"{type_id} params={params} inputs={ins}"
    if ours is None and ref.deliberate(params, ins):
        return None  # refused on purpose (see Reference.deliberate)
    assert not ref.deliberate(params, ins), f"{where}: the rule should refuse this input but gives {ours}"
    theirs, module = torch_outcome(spec, ref, {**spec.defaults(), **params}, ins)
    if ours is None:
        assert theirs is None, f"{where}: the rule raised {detail!r} but torch gives {theirs}"
        return None
    assert theirs is not None, f"{where}: the rule gives {ours} but torch raised {module!r}"
    assert ours[0] is None and None not in ours[1:], f"{where}: the batch must stay first alone, got {ours}"
    assert (BATCH, *ours[1:]) == theirs, f"{where}: the rule gives {ours}, torch {theirs}"
    ours_count, torch_count = spec.count_params(detail), sum(p.numel() for p in module.parameters())
    assert ours_count == torch_count, f"{where}: count_params gives {ours_count}, torch has {torch_count}"
    return ours


@pytest.mark.parametrize("type_id", [s.type_id for s in all_specs() if s.type_id != "Block"])  # blocks: test_blocks.py
@AGREEMENT
@given(data=st.data())
def test_shape_rule_matches_torch(type_id, data):
    if type_id not in REFERENCES:
        pytest.fail(f"{type_id} has no torch reference; add one to REFERENCES in this file")
    params, ins = data.draw(REFERENCES[type_id].case, label="case")
    shape = check_agreement(type_id, params, ins)
    deliberate = REFERENCES[type_id].deliberate(params, ins)
    event("a shape" if shape is not None else "refused on purpose" if deliberate else "both refuse")


def test_every_reference_names_a_catalog_layer():
    assert set(REFERENCES) <= {s.type_id for s in all_specs()}


# ---------------------------------------------------------------- notable edge cases, spelled out

@pytest.mark.parametrize(("type_id", "params", "ins", "expected"), [
    # ceil_mode keeps a last window that starts inside the input ...
    ("MaxPool2d", {"kernel_size": 2, "stride": 2, "ceil_mode": True}, [(None, 1, 5, 5)], (None, 1, 3, 3)),
    # ... but drops one that would start in the right padding
    ("AvgPool1d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [(None, 1, 5)], (None, 1, 3)),
    ("AvgPool1d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [(None, 1, 6)], (None, 1, 4)),
    ("MaxPool1d", {"kernel_size": 3, "stride": 2, "ceil_mode": False}, [(None, 2, 6)], (None, 2, 2)),
    # padding='same' with an even kernel pads unevenly (left 1, right 2 for k=4) and keeps the size
    ("Conv2d", {"out_channels": 3, "kernel_size": (4, 2), "padding": "same"}, [(None, 2, 7, 6)], (None, 3, 7, 6)),
    ("Conv1d", {"out_channels": 2, "kernel_size": 4, "dilation": 3, "padding": "same",
                "padding_mode": "reflect"}, [(None, 1, 10)], (None, 2, 10)),
    ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
     [(None, 8, 5, 5)], (None, 4, 10, 10)),
    ("ConvTranspose1d", {"out_channels": 4, "kernel_size": 3, "stride": 1, "dilation": 2, "output_padding": 1},
     [(None, 2, 5)], (None, 4, 10)),
    ("Upsample", {"scale_factor": 1.5, "mode": "bilinear"}, [(None, 3, 5, 7)], (None, 3, 7, 10)),
    ("Upsample", {"scale_factor": 0.5, "mode": "nearest"}, [(None, 3, 5)], (None, 3, 2)),
    # grouped and depthwise convolution
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "groups": 3, "padding": 1}, [(None, 9, 4, 4)], (None, 6, 4, 4)),
    ("Conv1d", {"out_channels": 8, "kernel_size": 3, "groups": 4}, [(None, 4, 8)], (None, 8, 6)),
    # replicate padding may exceed the input; circular may wrap around once
    ("Conv1d", {"out_channels": 1, "kernel_size": 3, "padding": 5, "padding_mode": "replicate"}, [(None, 1, 1)],
     (None, 1, 9)),
    ("Conv1d", {"out_channels": 1, "kernel_size": 3, "padding": 3, "padding_mode": "circular"}, [(None, 1, 3)],
     (None, 1, 7)),
    # a dilated max pool still limits padding by half the (undilated) kernel
    ("MaxPool1d", {"kernel_size": 3, "padding": 1, "dilation": 2}, [(None, 1, 6)], (None, 1, 2)),
    ("Embedding", {"num_embeddings": 5, "embedding_dim": 4}, [(None,)], (None, 4)),
])
def test_notable_shapes_match_torch(type_id, params, ins, expected):
    assert check_agreement(type_id, params, ins) == expected


@pytest.mark.parametrize(("type_id", "params", "ins"), [
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "groups": 4}, [(None, 8, 5, 5)]),  # 6 % 4
    ("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"}, [(None, 1, 8, 8)]),
    ("ConvTranspose1d", {"out_channels": 2, "kernel_size": 3, "stride": 2, "output_padding": 2}, [(None, 1, 4)]),
    ("Conv1d", {"out_channels": 2, "kernel_size": 3, "padding": 4, "padding_mode": "reflect"}, [(None, 1, 4)]),
    ("MaxPool2d", {"kernel_size": 2, "padding": 2}, [(None, 1, 8, 8)]),
    ("Upsample", {"scale_factor": 0.1, "mode": "nearest"}, [(None, 1, 9)]),
    ("Upsample", {"scale_factor": 2.0, "mode": "bilinear"}, [(None, 1, 9)]),
    ("PositionalEncoding", {"max_len": 4}, [(None, 5, 8)]),
    ("MultiheadAttention", {"num_heads": 3}, [(None, 4, 8)]),
    ("Conv1d", {"out_channels": 1, "kernel_size": 3, "padding": 4, "padding_mode": "circular"}, [(None, 1, 3)]),
    ("MaxPool1d", {"kernel_size": 3, "padding": 2, "dilation": 2}, [(None, 1, 6)]),
    ("AvgPool3d", {"kernel_size": 3, "padding": 1}, [(None, 1, 3, 3, 2)]),  # torch wants input >= window
    ("InstanceNorm2d", {}, [(None, 3, 1, 1)]),  # one spatial value: no variance when training
    ("ConvTranspose1d", {"out_channels": 1, "kernel_size": 1, "padding": 1}, [(None, 1, 2)]),  # empty output
    ("Add", {}, [(None, 5), (None, 1, 5)]),  # would broadcast the batch into dim 1
])
def test_notable_errors_match_torch(type_id, params, ins):
    assert check_agreement(type_id, params, ins) is None
