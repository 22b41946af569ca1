"""Self-attention, transformer layers and positional encodings (all batch-first)."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, PortSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import format_shape, require_rank

_SEQ = "(N, L, d_model)"


def _heads_divide(d: int, heads: int, name: str) -> None:
    if d % heads:
        raise ShapeError(
            f"the model width {d} must be divisible by {name}={heads}; change {name} "
            "or project the input with a Linear first"
        )


def _mha_rule(p, ins):
    (x,) = ins
    require_rank(x, 3, what="(N, L, embed_dim)")
    _heads_divide(x[-1], p["num_heads"], "num_heads")
    return x


def _mha_params(e: int, bias: bool) -> int:
    return 4 * e * e + (4 * e if bias else 0)


def _ffn_params(p) -> int:
    e, f, b = p["d_model"], p["dim_feedforward"], p["bias"]
    return 2 * e * f + ((f + e) if b else 0)


def _norm_params(e: int, bias: bool) -> int:
    return 2 * e if bias else e


def _encoder_rule(p, ins):
    (x,) = ins
    require_rank(x, 3, what=_SEQ)
    _heads_divide(x[-1], p["nhead"], "nhead")
    return x


def _decoder_rule(p, ins):
    tgt, memory = ins
    require_rank(tgt, 3, what=f"target {_SEQ}")
    require_rank(memory, 3, what=f"memory {_SEQ}")
    if memory[-1] != tgt[-1]:
        raise ShapeError(
            f"memory width {memory[-1]} must equal the target width {tgt[-1]} "
            f"(target {format_shape(tgt)}, memory {format_shape(memory)}); add a Linear to the memory"
        )
    _heads_divide(tgt[-1], p["nhead"], "nhead")
    return tgt


def _transformer_params(decoder: bool) -> tuple:
    return (
        ParamSpec("nhead", "int", 4, "Attention heads; must divide d_model.", min=1, max=256,
                  arg="positional", key=True),
        ParamSpec("dim_feedforward", "int", 256, "Width of the feed-forward block.", min=1, max=65536,
                  torch_default=2048, key=True),
        ParamSpec("dropout", "float", 0.1, "Dropout inside the layer.", min=0.0, max=1.0, torch_default=0.1),
        ParamSpec("activation", "choice", "relu", "Feed-forward activation.", choices=("relu", "gelu"),
                  torch_default="relu"),
        ParamSpec("layer_norm_eps", "float", 1e-5, "LayerNorm epsilon.", min=1e-12, max=1.0, torch_default=1e-5),
        ParamSpec("norm_first", "bool", False, "Pre-norm (more stable for deep stacks).", torch_default=False),
        ParamSpec("bias", "bool", True, "Learn biases in linear and norm layers.", torch_default=True),
    )


def _pe_rule(p, ins):
    (x,) = ins
    require_rank(x, 3, what=_SEQ)
    if x[1] > p["max_len"]:
        raise ShapeError(f"sequence length {x[1]} exceeds max_len={p['max_len']}; raise max_len")
    return x


register(
    LayerSpec(
        "MultiheadAttention", "Multi-head self-attention", "Attention",
        "Self-attention over a sequence (N, L, embed_dim): every step attends to every other.",
        shape=_mha_rule,
        params=(
            ParamSpec("num_heads", "int", 4, "Attention heads; must divide embed_dim.", min=1, max=256,
                      arg="positional", key=True),
            ParamSpec("dropout", "float", 0.0, "Dropout on attention weights.", min=0.0, max=1.0,
                      torch_default=0.0),
            ParamSpec("bias", "bool", True, "Learn projection biases.", torch_default=True),
        ),
        infer=lambda p, ins: {"embed_dim": ins[0][-1]}, inferred=("embed_dim",),
        count_params=lambda p: _mha_params(p["embed_dim"], p["bias"]),
        macs=lambda p, ins, out: 4 * out[1] * out[2] ** 2 + 2 * out[1] ** 2 * out[2],
        torch_name="nn.MultiheadAttention", signature=("embed_dim", "num_heads"),
    ),
    LayerSpec(
        "TransformerEncoderLayer", "Transformer encoder layer", "Attention",
        "Self-attention plus a feed-forward block, each with a residual and LayerNorm.",
        shape=_encoder_rule, params=_transformer_params(False),
        infer=lambda p, ins: {"d_model": ins[0][-1]}, inferred=("d_model",),
        count_params=lambda p: _mha_params(p["d_model"], p["bias"]) + _ffn_params(p)
        + 2 * _norm_params(p["d_model"], p["bias"]),
        macs=lambda p, ins, out: out[1] * (4 * out[2] ** 2 + 2 * out[2] * p["dim_feedforward"])
        + 2 * out[1] ** 2 * out[2],
        torch_name="nn.TransformerEncoderLayer", signature=("d_model", "nhead"),
    ),
    LayerSpec(
        "TransformerDecoderLayer", "Transformer decoder layer", "Attention",
        "Self-attention on the target, cross-attention to the memory, then a feed-forward block.",
        shape=_decoder_rule, params=_transformer_params(True),
        inputs=(PortSpec("tgt", help="Target sequence (N, T, d_model)."),
                PortSpec("memory", help="Encoder output (N, S, d_model).")),
        infer=lambda p, ins: {"d_model": ins[0][-1]}, inferred=("d_model",),
        count_params=lambda p: 2 * _mha_params(p["d_model"], p["bias"]) + _ffn_params(p)
        + 3 * _norm_params(p["d_model"], p["bias"]),
        macs=lambda p, ins, out: out[1] * (8 * out[2] ** 2 + 2 * out[2] * p["dim_feedforward"])
        + 2 * out[1] * (out[1] + ins[1][1]) * out[2],
        torch_name="nn.TransformerDecoderLayer", signature=("d_model", "nhead"),
    ),
    LayerSpec(
        "PositionalEncoding", "Positional encoding", "Attention",
        "Adds position information to a sequence (N, L, d_model): fixed sinusoids or a learned table.",
        shape=_pe_rule,
        params=(
            ParamSpec("kind", "choice", "sinusoidal", "Fixed sinusoids or a learned table.",
                      choices=("sinusoidal", "learned"), torch_default="sinusoidal", key=True),
            ParamSpec("max_len", "int", 512, "Longest sequence supported.", min=1, max=100_000,
                      torch_default=512),
            ParamSpec("dropout", "float", 0.0, "Dropout after adding the encoding.", min=0.0, max=1.0,
                      torch_default=0.0),
        ),
        infer=lambda p, ins: {"d_model": ins[0][-1]}, inferred=("d_model",),
        count_params=lambda p: p["max_len"] * p["d_model"] if p["kind"] == "learned" else 0,
        torch_name="PositionalEncoding", signature=("d_model",),
    ),
)
