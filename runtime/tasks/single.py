"""What the tasks that train one network share: the main network built, seeded and given its starting weights.

Classification, regression, reconstruction and the VAE (and a task registered from outside) train the
project's main network, or a module given in code; its pretrained weights are loaded and its frozen
nodes held (runtime.pretrained, runtime.train.freezing) before the task's own check of the output.
"""

from __future__ import annotations

from torch import nn

from runtime.tasks.base import Setup, TaskRuntime
from runtime.train.errors import ModelDataMismatchError


class SingleNetwork(TaskRuntime):
    """A task whose one role is the main network."""

    def networks(self, setup: Setup) -> tuple[dict[str, nn.Module], list[str]]:
        if setup.module is not None:
            model = setup.module
            check_given_inputs(model, setup)
            pretrained: list[str] = []
        else:
            project = setup.project
            if project is None or not project.graph.nodes:
                raise ModelDataMismatchError("the graph is empty; add an Input, some layers and an Output")
            from runtime.compile.compiler import build_module
            from runtime.pretrained import load_initial_weights

            model = build_module(project.graph, init=setup.t["init"], seed=setup.t["seed"])
            # Also on resume: the checkpoint then replaces the weights, but the keys say which are the
            # pretrained part (their own learning rate, the optimizer's second group).
            pretrained = load_initial_weights(project, setup.project_path, model)
        model.to(setup.device)
        return {self.spec.roles[0].name: model}, pretrained

    def common(self, setup: Setup, pretrained: list[str], classes: int = 0) -> dict:
        """The settings every one-network task has: what is frozen, what is pretrained, what is monitored."""
        frozen: list[str] = []
        if setup.module is None and setup.project is not None:
            from runtime.train.freezing import frozen_modules

            frozen = frozen_modules(setup.project.graph)
        return {"frozen": frozen, "pretrained": list(pretrained),
                **self.monitor(setup.t, classes, len(setup.data["val"]) > 0)}


def check_given_inputs(model: nn.Module, setup: Setup) -> None:
    """A module built from a graph but given in code: its one Input must take the data's samples."""
    from runtime.compile.compiler import interface_of

    iface = interface_of(model)
    if iface is None:
        return  # a hand-written module: its output is probed, its input fails in plain words at the first batch
    if len(iface.inputs) != 1:
        raise ModelDataMismatchError(f"the model has {len(iface.inputs)} inputs but a dataset feeds one; "
                                     "keep a single Input node")
    inp = iface.inputs[0]
    want, have = tuple(inp.shape[1:]), setup.splits.input_shape  # without the batch dimension
    if want != have:
        raise ModelDataMismatchError(
            f"the Input node {inp.name!r} has shape {want} but {setup.description.label} has samples of "
            f"shape {have}; set the Input shape to {list(have)}")
    if inp.dtype != setup.splits.dtype:
        raise ModelDataMismatchError(f"the Input node {inp.name!r} is {inp.dtype} but {setup.description.label} "
                                     f"gives {setup.splits.dtype}; set the Input dtype to {setup.splits.dtype}")
