"""Embedding and the recurrent layers (RNN, LSTM, GRU), always batch-first."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import require_rank

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _rnn_rule(p, ins):
    (x,) = ins
    require_rank(x, 3, what="(N, L, features)", fix="Permute" if len(x) == 4 else None)
    width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
    if p["output"] in ("last", "last_unpadded"):
        return (None, width)
    return (None, x[1], width)


def _rnn_params(kind: str):
    def count(p):
        h, gates = p["hidden_size"], _GATES[kind]
        dirs = 2 if p["bidirectional"] else 1
        total = 0
        for layer in range(p["num_layers"]):
            inp = p["input_size"] if layer == 0 else h * dirs
            per_dir = gates * h * (inp + h) + (2 * gates * h if p["bias"] else 0)
            total += per_dir * dirs
        return total
    return count


def _rnn_macs(kind: str):
    def macs(p, ins, out):
        steps = ins[0][1]
        h, gates = p["hidden_size"], _GATES[kind]
        dirs = 2 if p["bidirectional"] else 1
        per_step = sum(gates * h * ((p["input_size"] if i == 0 else h * dirs) + h) for i in range(p["num_layers"]))
        return steps * per_step * dirs
    return macs


def _rnn(kind: str, help: str) -> LayerSpec:
    params = [
        ParamSpec("hidden_size", "int", 64, "Features in the hidden state.", min=1, max=8192,
                  arg="positional", key=True),
        ParamSpec("num_layers", "int", 1, "Stacked recurrent layers.", min=1, max=16, torch_default=1, key=True),
    ]
    if kind == "RNN":
        params.append(ParamSpec("nonlinearity", "choice", "tanh", "Activation inside the cell.",
                                choices=("tanh", "relu"), torch_default="tanh"))
    params += [
        ParamSpec("bias", "bool", True, "Learn biases.", torch_default=True),
        ParamSpec("dropout", "float", 0.0, "Dropout between stacked layers (needs num_layers > 1).",
                  min=0.0, max=1.0, torch_default=0.0),
        ParamSpec("bidirectional", "bool", False, "Also read the sequence backwards; doubles the output width.",
                  torch_default=False, key=True),
        ParamSpec("output", "choice", "last", "'sequence': every step (N, L, H); 'last': the last step (N, H). "
                  "The _unpadded kinds skip the padding at the end of each sequence (steps whose input is all "
                  "zeros, as an Embedding with padding_idx=0 gives for padded token ids) by packing it: "
                  "'last_unpadded' is each sequence's last real step.",
                  choices=("sequence", "last", "sequence_unpadded", "last_unpadded"), arg="none", key=True),
    ]
    return LayerSpec(
        kind, kind, "Recurrent", help + " Input (N, L, features); input_size is read from the input.",
        shape=_rnn_rule, params=tuple(params),
        infer=lambda p, ins: {"input_size": ins[0][-1]}, inferred=("input_size",),
        count_params=_rnn_params(kind), macs=_rnn_macs(kind),
        torch_name=f"nn.{kind}", signature=("input_size", "hidden_size"),
    )


def _embedding_rule(p, ins):
    (x,) = ins
    if p["padding_idx"] is not None and p["padding_idx"] >= p["num_embeddings"]:
        raise ShapeError(f"padding_idx={p['padding_idx']} must be below num_embeddings={p['num_embeddings']}")
    return (*x, p["embedding_dim"])


register(
    LayerSpec(
        "Embedding", "Embedding", "Recurrent",
        "Looks up a learned vector for each token id: (N, L) int64 → (N, L, embedding_dim).",
        shape=_embedding_rule,
        params=(
            ParamSpec("num_embeddings", "int", 1000, "Vocabulary size (largest token id + 1).", min=1,
                      max=10_000_000, arg="positional", key=True),
            ParamSpec("embedding_dim", "int", 64, "Length of each vector.", min=1, max=65536,
                      arg="positional", key=True),
            ParamSpec("padding_idx", "int", None, "Token id whose vector stays zero (padding).", min=0,
                      optional=True, torch_default=None),
        ),
        count_params=lambda p: p["num_embeddings"] * p["embedding_dim"],
        torch_name="nn.Embedding", signature=("num_embeddings", "embedding_dim"),
        input_dtype="int", output_dtype="float",
    ),
    _rnn("RNN", "Elman recurrent layer."),
    _rnn("LSTM", "Long short-term memory: gated memory for long sequences."),
    _rnn("GRU", "Gated recurrent unit: an LSTM with fewer gates."),
)
