"""Where a NaN or infinity started: the failing batch replayed with every op of the model watched.

The loop checks the loss on the device and the host hears of a non-finite one only at its next check
(a batch event, or the epoch's end), when the weights have moved on. Copying the weights every step
would cost as much as the step, so the trainer keeps one copy per epoch: the state the epoch started
from (`keep`, the checkpoint's content held in memory). After a failure `replay` puts it back and trains
that epoch's batches again, exactly as they ran (same order, same random numbers), checking each
batch's loss and gradients before its update; the first batch with a non-finite one runs once more under
`Watch`, which tags every torch op with the graph node whose generated line called it
(runtime.compile.node_on_stack) and hooks every op's output gradient. Nothing of this runs while
training goes well (docs/design.md, "NaN origin").

    state = keep(loop)                        # at the start of each epoch
    origin = replay(loop, state, epoch=1, bad=2)
    origin.message(graph, lr)                 # "The loss became NaN at epoch 1, batch 3: node 'log1' (Log) …"
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from runtime.compile.compiler import node_on_stack
from runtime.train.journal import checkpoint_of, restore
from runtime.train.loop import Loop
from runtime.train.objectives import Step
from runtime.train.optim import hold_frozen

FP16_MAX = 65504.0  # the largest finite float16
HUGE = 1e15  # values or weights beyond this mean the run blew up (float32 overflows at 3.4e38)

_LOGS = ("log", "log2", "log10", "log1p", "xlogy", "log_softmax")
_ROOTS = ("sqrt", "rsqrt")
_DIVISIONS = ("div", "true_divide", "reciprocal", "__truediv__", "__rtruediv__", "div_", "floor_divide")


@dataclass
class Finding:
    """One op that turned finite inputs into a non-finite value (forward) or gradient (backward)."""

    node_id: str | None  # None: outside the model (the loss)
    op: str  # the torch function, e.g. "log", "linear"
    value: str  # "NaN" or "inf"
    dtype: str
    input_min: float | None
    input_max: float | None
    nonpositive: bool  # the input has values ≤ 0
    weights_max: float | None  # the largest |weight| the op used, if it used any


@dataclass
class Origin:
    """What a replay found: the first non-finite output and gradient, the likely cause and what to do."""

    epoch: int
    batch: int  # 1-based, the batch whose loss or gradient first went non-finite
    loss_value: str  # "NaN", "inf" or "finite" (then a gradient went non-finite)
    output: Finding | None
    gradient: Finding | None
    cause: str  # "log", "sqrt", "division", "fp16_overflow", "exploding", "exp", "unknown"
    grad_norms: list[float] = field(default_factory=list)  # the replayed steps' gradient norms
    lr: float = 0.0

    @property
    def node_id(self) -> str | None:
        """The node to mark: the first non-finite output's, else the first non-finite gradient's."""
        for found in (self.output, self.gradient):
            if found is not None and found.node_id is not None:
                return found.node_id
        return None

    def to_dict(self, graph: Any = None) -> dict:
        """The evidence the run folder keeps (JSON)."""
        record = asdict(self)
        for key in ("output", "gradient"):
            if record[key] is not None:
                record[key]["node"] = _node_label(graph, record[key]["node_id"])[0]
        record["node"] = _node_label(graph, self.node_id)[0] if self.node_id else None
        record["node_id"] = self.node_id
        return {"format": "netcanvas-nan-origin", "version": 1, **record, "message": self.message(graph)}

    def message(self, graph: Any = None) -> str:
        """One paragraph: when, which node, from what inputs, the likely cause and what to do."""
        if self.loss_value == "finite":
            head = f"A gradient became NaN or infinite at epoch {self.epoch}, batch {self.batch}"
        else:
            head = f"The loss became {'NaN' if self.loss_value == 'NaN' else 'infinite'} at epoch {self.epoch}, " \
                   f"batch {self.batch}"
        parts = []
        if self.output is not None:
            parts.append(_said(graph, self.output, "produced"))
        if self.gradient is not None and (self.output is None or self.gradient.node_id != self.output.node_id):
            parts.append(_said(graph, self.gradient, "made a gradient of"))
        where = "; ".join(parts) if parts else "no layer's output or gradient was non-finite in the replay"
        cause, todo = _WORDS[self.cause]
        return f"{head}: {where}; {cause}. {todo.format(lr=self.lr)}"


_WORDS = {
    "log": ("log of a non-positive value",
            "Make its input positive (e.g. a ReLU or Softplus and a small offset before it), or check the data."),
    "sqrt": ("square root of a non-positive value (NaN below 0, an infinite gradient at 0)",
             "Keep its input above zero (e.g. a Softplus, or a small offset, before it)."),
    "division": ("division by zero", "Keep the divisor away from zero (add a small offset)."),
    "fp16_overflow": ("float16 overflow (values beyond 65504)",
                      "Scale the values down (a normalisation layer, a smaller scale) or turn off mixed precision."),
    "exploding": ("exploding gradients: the updates grew the weights until the values overflowed",
                  "Lower the learning rate (now {lr:g}) or turn on gradient clipping."),
    "exp": ("exp of a large value overflowed", "Clip its input (a Clip layer) or lower the learning rate (now {lr:g})."),
    "unknown": ("no single layer's inputs explain it",
                "Lower the learning rate (now {lr:g}), turn on gradient clipping, or check the data for extreme values."),
}


def _node_label(graph: Any, node_id: str | None) -> tuple[str, str | None]:
    """(name, layer type) of a node; the loss outside the model is 'the loss function'."""
    if node_id is None:
        return "the loss function", None
    node = graph.nodes.get(node_id) if graph is not None else None
    return (node.name, node.type_id) if node is not None else (node_id, None)


def _said(graph: Any, found: Finding, verb: str) -> str:
    name, type_id = _node_label(graph, found.node_id)
    who = f"node {name!r} ({type_id or found.op})" if found.node_id is not None else name
    span = f" from inputs in [{found.input_min:.3g}, {found.input_max:.3g}]" if found.input_min is not None else ""
    return f"{who} {verb} {found.value}{span}"


# ---------------------------------------------------------------- the state an epoch started from

def keep(loop: Loop) -> dict:
    """A copy of what the next batches start from (model, optimizer, schedule, scaler, random numbers), held in
    host memory: the device keeps no second optimizer state."""
    return _on_host(checkpoint_of(loop, loop.state.epoch))


def _on_host(value: Any) -> Any:
    """A copy of `value`, its tensors copied to host memory and its containers rebuilt (state dicts share both)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _on_host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_host(v) for v in value)
    return value


# ---------------------------------------------------------------- watching every op

class Watch(TorchFunctionMode):
    """Tags every torch op with its node; finds the first to output non-finite values from finite inputs,
    and (after backward) the first whose own backward made a non-finite gradient from a finite one."""

    def __init__(self) -> None:
        super().__init__()
        self.output: Finding | None = None
        self.ops: list[tuple[str | None, str, list, list]] = []  # (node, op, inputs, outputs) needing grads
        self.grad_ok: dict[int, bool] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [t for t in tree_leaves((args, kwargs or {})) if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        name = getattr(func, "__name__", str(func))
        node = node_on_stack(sys._getframe(1))
        if self.output is None and ins and any(not _finite(t) for t in outs) and all(_finite(t) for t in ins) \
                and name not in ("__get__", "__set__"):  # reading a tensor's attribute (a .grad) computes nothing
            self.output = _finding(node, name, ins, outs)
        grads = [t for t in outs if t.requires_grad and t.is_floating_point()]
        if grads and torch.is_grad_enabled():
            for t in grads:
                t.register_hook(self._hook(id(t)))
            self.ops.append((node, name, [t for t in ins if t.requires_grad], grads))
        return out

    def _hook(self, key: int):
        def seen(grad: torch.Tensor) -> None:
            self.grad_ok[key] = self.grad_ok.get(key, True) and _finite(grad)
        return seen

    def gradient(self) -> Finding | None:
        """After backward: the op (latest first, as backward ran) whose output gradient was finite but whose
        inputs' (or weights') gradients were not."""
        for node, name, ins, outs in reversed(self.ops):
            if not all(self.grad_ok.get(id(t), True) for t in outs):
                continue
            bad = [t for t in ins if not self._grad_finite(t)]
            if bad:
                finding = _finding(node, name, ins, outs)
                finding.value = "NaN" if any(_has_nan(self._grad_of(t)) for t in bad) else "inf"
                return finding
        return None

    def _grad_of(self, t: torch.Tensor) -> torch.Tensor | None:
        return t.grad if isinstance(t, torch.nn.Parameter) else None

    def _grad_finite(self, t: torch.Tensor) -> bool:
        if isinstance(t, torch.nn.Parameter):
            return t.grad is None or _finite(t.grad)
        return self.grad_ok.get(id(t), True)


def _finite(t: torch.Tensor | None) -> bool:
    return t is None or not t.is_floating_point() or bool(torch.isfinite(t).all())


def _has_nan(t: torch.Tensor | None) -> bool:
    return t is not None and bool(torch.isnan(t).any())


def _finding(node: str | None, op: str, ins: list, outs: list) -> Finding:
    data = [t for t in ins if t.is_floating_point() and not isinstance(t, torch.nn.Parameter)]
    weights = [t for t in ins if isinstance(t, torch.nn.Parameter)]
    first = data[0].detach() if data else None
    value = "NaN" if any(_has_nan(t) for t in outs) else "inf"
    dtype = str((outs[0] if outs else first if first is not None else torch.empty(0)).dtype).removeprefix("torch.")
    if first is not None and first.numel():
        low, high = float(first.min()), float(first.max())
        nonpositive = low <= 0 if op not in _DIVISIONS or len(data) < 2 else bool((data[1] == 0).any())
    else:
        low = high = None
        nonpositive = False
    wmax = max((float(w.detach().abs().max()) for w in weights if w.numel()), default=None)
    return Finding(node, op, value, dtype, low, high, nonpositive, wmax)


# ---------------------------------------------------------------- the replay

def replay(loop: Loop, state: dict, epoch: int, bad: int) -> Origin | None:
    """Train `epoch` again from `state` (what `keep` took at its start) up to batch `bad` (0-based), and
    say where the first non-finite loss or gradient came from; None when the replay does not reproduce
    it (or the step is not a single network's)."""
    built = loop.built
    step = built.step
    if not isinstance(step, Step):
        return None
    restore(loop, built, state, Path("the state the epoch started from"))
    model, objective = built.model, built.objective
    model.train()
    hold_frozen(built.frozen_norms)
    objective.begin_epoch(epoch)
    lr = loop.lr()
    norms: list[float] = []
    for b, (xb, yb) in enumerate(loop.data["train"].batches(loop.batch_size, loop.order())):
        rng = torch.get_rng_state(), loop.noise.get_state()
        _, _, _, total = step.backward(objective, xb, yb, loop.augment, loop.noise, loop.image)
        grads = [p.grad for p in built.params if p.grad is not None]
        grads_ok = step.scaler is not None or all(_finite(g) for g in grads)  # the scaler skips such steps
        if not _finite(total) or not grads_ok:
            torch.set_rng_state(rng[0])
            loop.noise.set_state(rng[1])
            return _watched(loop, epoch, b, xb, yb, norms, lr)
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.detach().float().norm() for g in grads])))
                     if grads else 0.0)
        if b >= bad:
            return None
        step.update()
    return None


def _watched(loop: Loop, epoch: int, b: int, xb: torch.Tensor, yb: torch.Tensor, norms: list[float],
             lr: float) -> Origin:
    """Batch `b` once more under Watch (its state and random numbers as before)."""
    built = loop.built
    built.optimizer.zero_grad(set_to_none=True)
    watch = Watch()
    with watch:
        _, _, _, total = built.step.backward(built.objective, xb, yb, loop.augment, loop.noise, loop.image)
    gradient = watch.gradient() if watch.output is None else None  # after a NaN output, gradients only follow it
    loss_value = "NaN" if _has_nan(total) else "inf" if not _finite(total) else "finite"
    weights = max((float(p.detach().abs().max()) for p in built.params if p.numel()), default=0.0)
    cause = _cause(watch.output or gradient, norms, weights, lr)
    return Origin(epoch, b + 1, loss_value, watch.output, gradient, cause, norms[-20:], lr)


def _cause(found: Finding | None, norms: list[float], weights: float, lr: float) -> str:
    """The likely cause, from the op, its inputs, its dtype and how the run's weights and gradients grew."""
    if found is None:
        return "exploding" if weights > HUGE or any(n > HUGE for n in norms) else "unknown"
    op, span = found.op, max(abs(found.input_min or 0.0), abs(found.input_max or 0.0))
    if op in _LOGS and found.nonpositive:
        return "log"
    if op in _ROOTS and (found.input_min or 0.0) < 0:
        return "sqrt"
    if op in _DIVISIONS and found.nonpositive:
        return "division"
    if weights > HUGE or span > HUGE or any(n * lr > HUGE for n in norms) or (found.weights_max or 0) > HUGE:
        return "exploding"
    if found.dtype in ("float16", "half") and (span > FP16_MAX or found.value == "inf"):
        return "fp16_overflow"
    if op in ("exp", "exp2", "expm1") and span > math.log(3.4e38):
        return "exp"
    if op in _ROOTS and found.input_min == 0.0:
        return "sqrt"
    return "unknown"
