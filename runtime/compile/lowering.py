"""The static allowlist: how each catalog layer becomes code (DESIGN.md decisions 1 and 5).

Adding a layer is one LayerSpec in graph_builder plus one entry in LOWERINGS here. An entry
says which class (from this fixed table, never from a project file) is built in `__init__`
and how `forward` calls it, or which inline torch op stands for the node. Every value that
reaches the text goes through `literal()`, every name is a sanitised identifier from the
per-file namespace (runtime.compile.codegen), so nothing a user typed can become code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from runtime.errors import NetCanvasRuntimeError


class LoweringError(NetCanvasRuntimeError):
    """A value or layer that code generation refuses to write (a bug or a hostile file)."""


@dataclass(frozen=True)
class NodeContext:
    """What a lowering needs to know about one node; every string in it is a safe identifier."""

    node_id: str
    type_id: str
    params: dict
    inferred: dict
    attr: str | None  # `self.<attr>` for layers built in __init__
    var: str  # the local holding this node's output
    inputs: tuple[str, ...]  # locals feeding it, in port order
    in_shapes: tuple[tuple, ...]
    out_shape: tuple


def literal(value: Any) -> str:
    """repr() of a validated primitive; anything else is refused (nothing else may reach the text)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise LoweringError(f"cannot write the non-finite number {value!r} into generated code")
        return repr(float(value))
    if isinstance(value, str):
        # Only choice values and fixed words reach here; keep them to plain words all the same.
        if not value.replace("_", "").isalnum() or not value.isascii() or len(value) > 40:
            raise LoweringError(f"refusing to write the text {value[:40]!r} into generated code")
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise LoweringError(f"cannot write a value of type {type(value).__name__} into generated code")


def _call_module(ctx: NodeContext) -> list[str]:
    return [f"{ctx.var} = self.{ctx.attr}({', '.join(ctx.inputs)})"]


@dataclass(frozen=True)
class Lowering:
    """How one layer type is written: a submodule built in __init__ and called, or an inline op."""

    module: str | None = None  # class expression built in __init__ ("nn.Conv2d" or a helper class)
    call: Callable[[NodeContext], list[str]] = _call_module  # the forward line(s); the last gets the shape
    fixed: tuple[tuple[str, Any], ...] = ()  # keyword arguments always passed (batch_first=True)
    extra: Callable[[NodeContext], list[tuple[str, Any]]] | None = None  # keyword args decided per node
    helper: str | None = None  # name of a helper class in HELPERS emitted when used
    onnx: str | None = None  # why ONNX export cannot handle it; None when it can
    role: str = "layer"  # layer | input | output | block


# ---------------------------------------------------------------- inline ops


def _one(ctx: NodeContext) -> str:
    return ctx.inputs[0]


def _reshape(ctx: NodeContext) -> list[str]:
    # The resolved target shape (no -1 left) keeps the batch dimension free for ONNX.
    dims = ", ".join(literal(d) for d in ctx.out_shape[1:])
    return [f"{ctx.var} = {_one(ctx)}.reshape(-1, {dims})"]


def _permute(ctx: NodeContext) -> list[str]:
    dims = ", ".join(literal(d) for d in (0, *ctx.params["dims"]))
    return [f"{ctx.var} = {_one(ctx)}.permute({dims})"]


def _global_avg_pool(ctx: NodeContext) -> list[str]:
    dims = tuple(range(2, len(ctx.in_shapes[0])))
    return [f"{ctx.var} = {_one(ctx)}.mean(dim={literal(dims[0] if len(dims) == 1 else dims)})"]


def _add(ctx: NodeContext) -> list[str]:
    return [f"{ctx.var} = {' + '.join(ctx.inputs)}"]


def _multiply(ctx: NodeContext) -> list[str]:
    return [f"{ctx.var} = {' * '.join(ctx.inputs)}"]


def _average(ctx: NodeContext) -> list[str]:
    return [f"{ctx.var} = ({' + '.join(ctx.inputs)}) / {literal(len(ctx.inputs))}"]


def _pairwise(fn: str):
    def call(ctx: NodeContext) -> list[str]:
        text = ctx.inputs[0]
        for other in ctx.inputs[1:]:
            text = f"{fn}({text}, {other})"
        return [f"{ctx.var} = {text}"]
    return call


def _unary(template: str):
    def call(ctx: NodeContext) -> list[str]:
        return [f"{ctx.var} = {template.format(x=_one(ctx))}"]
    return call


def _clip(ctx: NodeContext) -> list[str]:
    bounds = ", ".join(f"{k}={literal(float(ctx.params[k]))}" for k in ("min", "max") if ctx.params[k] is not None)
    return [f"{ctx.var} = {_one(ctx)}.clamp({bounds})"]


def _rescaling(ctx: NodeContext) -> list[str]:
    offset = float(ctx.params["offset"])
    text = f"{_one(ctx)} * {literal(float(ctx.params['scale']))}"
    if offset:
        text += f" {'-' if offset < 0 else '+'} {literal(abs(offset))}"
    return [f"{ctx.var} = {text}"]


def _concatenate(ctx: NodeContext) -> list[str]:
    return [f"{ctx.var} = torch.cat([{', '.join(ctx.inputs)}], dim={literal(ctx.params['dim'])})"]


_REDUCE_METHODS = {"mean": "mean", "max": "amax", "sum": "sum"}


def _reduce(ctx: NodeContext) -> list[str]:
    method = _REDUCE_METHODS[ctx.params["op"]]
    keep = ", keepdim=True" if ctx.params["keepdim"] else ""
    return [f"{ctx.var} = {_one(ctx)}.{method}(dim={literal(ctx.params['dim'])}{keep})"]


def _select_step(ctx: NodeContext) -> list[str]:
    index = -1 if ctx.params["which"] == "last" else 0
    return [f"{ctx.var} = {_one(ctx)}[:, {literal(index)}]"]


# ---------------------------------------------------------------- special calls


def _recurrent(ctx: NodeContext) -> list[str]:
    if ctx.params["output"].endswith("_unpadded"):
        return _recurrent_packed(ctx)
    call = f"self.{ctx.attr}({_one(ctx)})"
    if ctx.params["output"] == "sequence":
        return [f"{ctx.var}, _ = {call}"]
    if not ctx.params["bidirectional"]:
        return [f"{ctx.var} = {call}[0][:, -1]"]
    # Bidirectional: the backward direction ends at step 0, so join both final hidden states
    # (output[:, -1] would hold the backward pass after a single step).
    hidden = f"({ctx.var}, _)" if ctx.type_id == "LSTM" else ctx.var
    return [f"_, {hidden} = {call}", f"{ctx.var} = torch.cat([{ctx.var}[-2], {ctx.var}[-1]], dim=1)"]


def _recurrent_packed(ctx: NodeContext) -> list[str]:
    # A sequence's length is its steps before the all-zero padding (an Embedding's padding_idx row);
    # packing runs each sequence only that far. The last real step is gathered from the padded-back
    # sequence rather than read from the final hidden state, which ONNX export cannot follow.
    x, v, rnn = _one(ctx), ctx.var, f"self.{ctx.attr}"
    lengths = f"{x}.ne(0).any(dim=-1).sum(dim=1).clamp(min=1)"
    lines = [f"{v} = nn.utils.rnn.pack_padded_sequence({x}, {lengths}.cpu(), batch_first=True, "
             "enforce_sorted=False)",
             f"{v}, _ = {rnn}({v})",
             f"{v}, _ = nn.utils.rnn.pad_packed_sequence({v}, batch_first=True, total_length={x}.shape[1])"]
    if ctx.params["output"] == "sequence_unpadded":
        return lines
    last = f"{v}[torch.arange({v}.shape[0], device={v}.device), {lengths} - 1"
    if not ctx.params["bidirectional"]:
        return lines + [f"{v} = {last}]"]
    # the backward direction ends at step 0
    hidden = literal(ctx.params["hidden_size"])
    return lines + [f"{v} = torch.cat([{last}, :{hidden}], {v}[:, 0, {hidden}:]], dim=1)"]


def _self_attention(ctx: NodeContext) -> list[str]:
    x = _one(ctx)
    return [f"{ctx.var}, _ = self.{ctx.attr}({x}, {x}, {x}, need_weights=False)"]


_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def _upsample_extra(ctx: NodeContext) -> list[tuple[str, Any]]:
    # torch refuses align_corners for 'nearest'; for the others say it explicitly.
    if ctx.params["mode"] in _INTERPOLATING:
        return [("align_corners", bool(ctx.params["align_corners"]))]
    return []


_BATCH_FIRST = (("batch_first", True),)

# ---------------------------------------------------------------- helper classes

POSITIONAL_ENCODING = '''\
class PositionalEncoding(nn.Module):
    """Adds position vectors to a batch-first sequence: fixed sinusoids or a learned table."""

    def __init__(self, d_model: int, kind: str = "sinusoidal", max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        if kind == "learned":
            self.pe = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        else:
            position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                                 * (-torch.log(torch.tensor(10000.0)) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
            self.register_buffer("pe", pe, persistent=False)  # recomputed, so not saved with the weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.size(1)])
'''

STOCHASTIC_DEPTH = '''\
class StochasticDepth(nn.Module):
    """Drops a residual branch while training (per sample, or the whole batch); the identity in eval."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
'''

GAUSSIAN_LATENT = '''\
class GaussianLatent(nn.Module):
    """VAE sampling: z = mean + exp(log_var / 2) * eps while training, z = mean in eval.

    `kl` keeps each sample's KL divergence from N(0, I) of the last call (the VAE objective adds
    it to the loss); setting `prior` to a batch of z decodes those instead (sampling the prior).
    """

    def __init__(self):
        super().__init__()
        self.kl = None
        self.prior = None

    def forward(self, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        self.kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).flatten(1).sum(1)
        if self.prior is not None:
            return self.prior
        if not self.training:
            return mean
        return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
'''

HELPERS: dict[str, str] = {"PositionalEncoding": POSITIONAL_ENCODING, "StochasticDepth": STOCHASTIC_DEPTH,
                           "GaussianLatent": GAUSSIAN_LATENT}

# ---------------------------------------------------------------- the table

_PLAIN_MODULES = (
    "Linear", "Identity", "Flatten", "Unflatten",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
    "Dropout", "Dropout2d",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Hardswish", "Hardsigmoid", "ReLU6",
    "Embedding", "PixelShuffle",
    "Softplus", "Softsign", "Softmin", "GLU",
    "ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d",
)

LOWERINGS: dict[str, Lowering] = {
    "Input": Lowering(role="input"),
    "Output": Lowering(role="output"),
    "Block": Lowering(role="block"),  # an instance of the class generated for its network
    **{type_id: Lowering(module=f"nn.{type_id}") for type_id in _PLAIN_MODULES},
    "Upsample": Lowering(module="nn.Upsample", extra=_upsample_extra),
    "RNN": Lowering(module="nn.RNN", fixed=_BATCH_FIRST, call=_recurrent),
    "LSTM": Lowering(module="nn.LSTM", fixed=_BATCH_FIRST, call=_recurrent),
    "GRU": Lowering(module="nn.GRU", fixed=_BATCH_FIRST, call=_recurrent),
    "MultiheadAttention": Lowering(module="nn.MultiheadAttention", fixed=_BATCH_FIRST, call=_self_attention),
    "TransformerEncoderLayer": Lowering(module="nn.TransformerEncoderLayer", fixed=_BATCH_FIRST),
    "TransformerDecoderLayer": Lowering(module="nn.TransformerDecoderLayer", fixed=_BATCH_FIRST),
    "PositionalEncoding": Lowering(module="PositionalEncoding", helper="PositionalEncoding"),
    "StochasticDepth": Lowering(module="StochasticDepth", helper="StochasticDepth"),
    "GaussianLatent": Lowering(module="GaussianLatent", helper="GaussianLatent"),
    "Reshape": Lowering(call=_reshape),
    "Permute": Lowering(call=_permute),
    "GlobalAvgPool": Lowering(call=_global_avg_pool),
    "Add": Lowering(call=_add),
    "Multiply": Lowering(call=_multiply),
    "Average": Lowering(call=_average),
    "Maximum": Lowering(call=_pairwise("torch.maximum")),
    "Minimum": Lowering(call=_pairwise("torch.minimum")),
    "Concatenate": Lowering(call=_concatenate),
    "Exp": Lowering(call=_unary("torch.exp({x})")),
    "Log": Lowering(call=_unary("torch.log({x})")),
    "Sqrt": Lowering(call=_unary("torch.sqrt({x})")),
    "Abs": Lowering(call=_unary("torch.abs({x})")),
    "Neg": Lowering(call=_unary("-{x}")),
    "Clip": Lowering(call=_clip),
    "Pow": Lowering(call=_pairwise("torch.pow")),
    "Rescaling": Lowering(call=_rescaling),
    "Reduce": Lowering(call=_reduce),
    "SelectStep": Lowering(call=_select_step),
}


def lowering_for(type_id: str) -> Lowering:
    """The allowlist entry of `type_id`; a layer without one cannot be compiled."""
    try:
        return LOWERINGS[type_id]
    except KeyError:
        raise LoweringError(
            f"layer type {type_id!r} has no entry in runtime/compile/lowering.py LOWERINGS, so it cannot be "
            "compiled; add one next to its LayerSpec"
        ) from None


def not_exportable_to_onnx() -> dict[str, str]:
    """Layer types ONNX export refuses, with the reason."""
    return {t: entry.onnx for t, entry in LOWERINGS.items() if entry.onnx}
