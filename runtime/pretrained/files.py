"""Weight files read as data, and how a state dict fits a network.

A `.safetensors` file is read as data; a `.pth`/`.pt` file with `torch.load(weights_only=True)`,
which refuses anything but tensors and plain containers, so no code in it ever runs. A
checkpoint that wraps its state dict (`{"state_dict": …}`, `{"model": …}`) is unwrapped.

The tensors are matched to the target network by state-dict key and shape (`fit_state`): a
key both have with different shapes is a misfit and refused, naming it; file keys the network
lacks (the old head) are left out, and network keys the file lacks (a new head) keep their
initial values; a file none of whose tensors has a place in the network is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from graph_builder.protocols import ProjectLike

from runtime.pretrained.registry import PretrainedError

WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors")
WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")


class WeightsFileError(PretrainedError):
    """A weights file that is missing, unreadable or not a state dict."""


class MisfitError(PretrainedError):
    """Weights that do not fit the network they are meant for."""


@dataclass
class Fit:
    """How a state dict fits a network: what loads, what the file has spare, what keeps its initial values."""

    state: dict
    unused: list[str] = field(default_factory=list)  # in the file, not in the network
    untouched: list[str] = field(default_factory=list)  # in the network, not in the file

    def summary(self, what: str, target: str) -> str:
        text = f"{what} fills {len(self.state)} tensor(s) of {target}"
        if self.untouched:
            text += f"; {len(self.untouched)} keep their initial values ({_names(self.untouched)})"
        if self.unused:
            text += f"; {len(self.unused)} in the file are not used ({_names(self.unused)})"
        return text


def _names(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (f", … {len(keys) - n} more" if len(keys) > n else "")


def _shape(t) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def fit_state(state: dict, own: dict, what: str, target: str) -> Fit:
    """The part of `state` that fits `own` (a network's state dict); MisfitError naming what does not fit."""
    wrong = [k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        listed = "; ".join(f"{k} is {_shape(state[k])} in {what} but {_shape(own[k])} in {target}" for k in wrong[:4])
        more = f" (and {len(wrong) - 4} more)" if len(wrong) > 4 else ""
        raise MisfitError(f"{what} does not fit {target}: {listed}{more}; choose weights of the same "
                          "architecture, or change the layers so their sizes match")
    used = {k: v for k, v in state.items() if k in own}
    if 2 * len(used) < len(own):  # a new head is a few tensors; most of the network must come from the file
        count = f"none of the {len(state)}" if not used else f"only {len(used)} of the {len(state)}"
        raise MisfitError(f"{count} tensors in {what} have a place in {target}, which has {len(own)} (the file's keys "
                          f"look like {_names(list(state), 3)}; the network's like {_names(list(own), 3)}); choose "
                          "weights saved from this network or from the model it was imported from")
    return Fit(used, [k for k in state if k not in own], [k for k in own if k not in state])


def read_state_dict(path: str | os.PathLike) -> dict:
    """The tensors of a .safetensors or .pth file (never running code from it); WeightsFileError otherwise."""
    import torch

    p = Path(path).expanduser()
    if p.suffix.lower() not in WEIGHT_SUFFIXES:
        raise WeightsFileError(f"{p.name} is not a weights file NetCanvas reads; use a .safetensors or .pth file")
    if not p.is_file():
        raise WeightsFileError(f"there is no weights file {str(p)!r}; check the path")
    from graph_builder import limits

    limits.check_file(p, limits.MODEL, "a weights file", WeightsFileError, "use smaller weights")
    if p.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(p)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsFileError(f"{p.name} is not a readable safetensors file ({exc})") from None
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle and zip errors of every kind: one message
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WeightsFileError(f"{p.name} cannot be read as a weights file with weights_only=True ({first}); "
                               "NetCanvas never runs code from a file: save a state dict "
                               "(torch.save(model.state_dict(), path)) or a .safetensors file") from None
    for key in WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict) and not isinstance(obj.get(key), torch.Tensor):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsFileError(f"{p.name} does not hold a state dict (names to tensors); save "
                               "model.state_dict() with torch.save")
    return {str(k).removeprefix("module."): v for k, v in obj.items()}  # DataParallel's prefix


def network_state(project: ProjectLike, network: str) -> dict:
    """The state dict of the module NetCanvas compiles from `network` (its keys and shapes)."""
    from runtime.compile.compiler import build_module

    return build_module(project.networks[network]).state_dict()
