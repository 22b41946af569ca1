"""A torch.export `.pt2` ExportedProgram as one network of catalog layers, read as data.

The archive is checked first and loaded with no pickle at all (runtime.importers.pt2_archive:
pickled members, compiled code, names that would reach generated source and sizes beyond the
limits are refused); each aten call becomes a catalog layer whose tensors come from the program's
state dict. Layers are named after the module path torch.export recorded (`layer1.0.conv1`),
and the instances of a module class used more than once become blocks (runtime.importers.regions).
"""

from __future__ import annotations

import os
import operator
from pathlib import Path

import torch

from graph_builder.errors import GraphBuilderError

from runtime.importers.model import (
    ImportedModel, ImportSourceError, ModelImportError, NetworkBuilder, Unsupported, UnsupportedModelError, assemble_networks,
    check_test_run,
)
from runtime.importers.pt2_archive import load_program
from runtime.importers.regions import regroup

aten = torch.ops.aten

_ACTIVATIONS = {
    aten.relu.default: "ReLU", aten.relu_.default: "ReLU", aten.sigmoid.default: "Sigmoid",
    aten.tanh.default: "Tanh", aten.silu.default: "SiLU", aten.silu_.default: "SiLU",
    aten.hardswish.default: "Hardswish", aten.hardswish_.default: "Hardswish",
    aten.hardsigmoid.default: "Hardsigmoid", aten.hardsigmoid_.default: "Hardsigmoid",
    aten.gelu.default: "GELU", aten.elu.default: "ELU", aten.selu.default: "SELU", aten.mish.default: "Mish",
}
_PASS_THROUGH = {aten.clone.default, aten.alias.default, aten.detach.default, aten.contiguous.default}
_CONV = {aten.conv1d.default: 1, aten.conv2d.default: 2, aten.conv3d.default: 3}


def _module_path(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else ""


class _Pt2Reader:
    def __init__(self, program, source: str) -> None:
        self.program = program
        self.source = source
        sig = program.graph_signature
        self.tensor_names = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
                             **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
        self.b = NetworkBuilder()
        self.weights: dict[tuple[str, ...], dict] = {}
        self.problems: list[Unsupported] = []
        self.env: dict = {}
        self.stacks: dict[str, tuple] = {}  # node id -> the module calls it ran in

    def tensor(self, node) -> torch.Tensor | None:
        if node is None:
            return None
        key = self.tensor_names.get(node.name)
        if key is None:
            return None
        if key in self.program.state_dict:
            return self.program.state_dict[key].detach().clone()
        return self.program.constants[key].detach().clone()

    def run(self) -> ImportedModel:
        user_inputs = set(self.program.graph_signature.user_inputs)
        for node in self.program.graph.nodes:
            try:
                if node.op == "placeholder":
                    if node.name in user_inputs:
                        val = node.meta.get("val")
                        shape = tuple(int(d) for d in tuple(val.shape)[1:])
                        self.env[node] = (self.b.add("Input", node.name, {"shape": shape}), "out")
                elif node.op == "call_function":
                    value = self.call(node)
                    self.env[node] = value
                    if isinstance(value, tuple) and value[0] not in self.stacks:
                        stack = (node.meta.get("nn_module_stack") or {}).values()
                        self.stacks[value[0]] = tuple((path, cls) for path, cls in stack if path)
                elif node.op == "output":
                    outs = node.args[0]
                    for i, out in enumerate(outs if isinstance(outs, (tuple, list)) else (outs,)):
                        value = self.env.get(out)
                        if value is not None:
                            self.b.add("Output", "y" if len(outs) == 1 else f"y{i}", inputs=[value])
            except _Refused as exc:
                self.problems.append(Unsupported(_module_path(node) or node.name, str(exc)))
            except (GraphBuilderError, TypeError, ValueError) as exc:
                self.problems.append(Unsupported(_module_path(node) or node.name, f"{node.target}: {exc}"))
        if self.problems:
            raise UnsupportedModelError(self.problems, self.source)
        main = self.root_class() or "Imported"
        graphs, weights = regroup(self.b.graph, self.stacks, self.weights, main)
        networks = assemble_networks(graphs, main)
        module = self.program.module()  # torch's own interpreter of the loaded graph: the reference
        return ImportedModel(networks, weights, self.source, reference=lambda *xs: module(*xs))

    def root_class(self) -> str | None:
        """The exported module's class name, as torch.export recorded it."""
        for node in self.program.graph.nodes:
            for path, cls in (node.meta.get("nn_module_stack") or {}).values():
                if path == "":
                    name = cls.rsplit(".", 1)[-1]
                    return name if name.isidentifier() else None
        return None

    def value(self, a):
        v = self.env.get(a)
        if v is None:
            raise _Refused("fed by a value that could not be imported")
        return v

    def name(self, node) -> str:
        """The module path of a torch layer (`layer1_0_conv1`); the path and op of anything else (`layer1_0_add`)."""
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        op = str(node.target).split(".")[1].rstrip("_") if str(node.target).count(".") >= 1 else node.name
        if stack and stack[-1][0] and stack[-1][1].startswith("torch.nn.modules."):
            return stack[-1][0].replace(".", "_")
        path = stack[-1][0].replace(".", "_") if stack and stack[-1][0] else ""
        return f"{path}_{op}" if path else op

    def layer(self, node, type_id, params, x, tensors=None):
        node_id = self.b.add(type_id, self.name(node), params, inputs=[self.value(x)])
        tensors = {k: v for k, v in (tensors or {}).items() if v is not None}
        if tensors:
            self.weights[(node_id,)] = tensors
        return (node_id, "out")

    def call(self, node):
        t, args = node.target, node.args
        rank = len(node.meta["val"].shape) if hasattr(node.meta.get("val"), "shape") else None
        if t in _PASS_THROUGH:
            return self.value(args[0])
        if t is operator.getitem:
            if isinstance(self.env.get(args[0]), tuple) and args[1] == 0:
                return self.env[args[0]]
            raise _Refused("operator.getitem of a multi-output op")
        if t in _ACTIVATIONS and node.kwargs.get("approximate", "none") == "none":
            return self.layer(node, _ACTIVATIONS[t], {}, args[0])
        if t in (aten.hardtanh.default, aten.hardtanh_.default) and tuple(args[1:3]) == (0.0, 6.0):
            return self.layer(node, "ReLU6", {}, args[0])
        if t in _CONV:
            n = _CONV[t]
            w, b = self.tensor(args[1]), self.tensor(args[2]) if len(args) > 2 else None
            stride, padding, dilation = (list(args[i]) if len(args) > i else [d] * n
                                         for i, d in ((3, 1), (4, 0), (5, 1)))
            groups = args[6] if len(args) > 6 else 1
            params = {"out_channels": w.shape[0], "kernel_size": tuple(w.shape[2:]), "stride": tuple(stride),
                      "padding": tuple(padding), "dilation": tuple(dilation), "groups": groups, "bias": b is not None}
            return self.layer(node, f"Conv{n}d", params, args[0], {"weight": w, "bias": b})
        if t in (aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default):
            no_training = t is not aten.batch_norm.default
            w, b, mean, var = (self.tensor(a) for a in args[1:5])
            momentum, eps = (args[5], args[6]) if no_training else (args[6], args[7])
            if mean is None:
                raise _Refused("batch norm without running statistics")
            kind = {2: 1, 3: 1, 4: 2, 5: 3}.get(rank)
            count_key = self.tensor_names[args[3].name].rsplit(".", 1)[0] + ".num_batches_tracked"
            count = self.program.state_dict.get(count_key, torch.tensor(0))
            params = {"eps": eps, "momentum": momentum, "affine": w is not None}
            out = self.layer(node, f"BatchNorm{kind}d", params, args[0],
                             {"weight": w, "bias": b, "running_mean": mean, "running_var": var,
                              "num_batches_tracked": count.clone()})
            return out
        if t is aten.linear.default:
            w, b = self.tensor(args[1]), self.tensor(args[2]) if len(args) > 2 else None
            return self.layer(node, "Linear", {"out_features": w.shape[0], "bias": b is not None}, args[0],
                              {"weight": w, "bias": b})
        if t in (aten.max_pool2d.default, aten.avg_pool2d.default):
            k = tuple(args[1])
            stride = tuple(args[2]) if len(args) > 2 and args[2] else None
            pad = tuple(args[3]) if len(args) > 3 else (0, 0)
            if t is aten.max_pool2d.default:
                dil = tuple(args[4]) if len(args) > 4 else (1, 1)
                ceil = args[5] if len(args) > 5 else False
                return self.layer(node, "MaxPool2d", {"kernel_size": k, "stride": stride, "padding": pad,
                                                      "dilation": dil, "ceil_mode": ceil}, args[0])
            ceil = args[4] if len(args) > 4 else False
            include = args[5] if len(args) > 5 else True
            if len(args) > 6 and args[6] is not None:
                raise _Refused("avg_pool2d with divisor_override")
            return self.layer(node, "AvgPool2d", {"kernel_size": k, "stride": stride, "padding": pad,
                                                  "ceil_mode": ceil, "count_include_pad": include}, args[0])
        if t is aten.adaptive_avg_pool2d.default:
            return self.layer(node, "AdaptiveAvgPool2d", {"output_size": tuple(args[1])}, args[0])
        if t is aten.flatten.using_ints:
            start = args[1] if len(args) > 1 else 0
            end = args[2] if len(args) > 2 else -1
            return self.layer(node, "Flatten", {"start_dim": start, "end_dim": end}, args[0])
        if t is aten.mean.dim and sorted(d % 4 for d in args[1]) == [2, 3] and not (len(args) > 2 and args[2]):
            return self.layer(node, "GlobalAvgPool", {}, args[0])
        if t in (aten.dropout.default, aten.dropout_.default):
            return self.layer(node, "Dropout", {"p": args[1]}, args[0])
        if t in (aten.add.Tensor, aten.add_.Tensor, aten.mul.Tensor, aten.mul_.Tensor) and \
                all(hasattr(a, "op") for a in args[:2]) and node.kwargs.get("alpha", 1) == 1:
            kind = "Add" if t in (aten.add.Tensor, aten.add_.Tensor) else "Multiply"
            node_id = self.b.add(kind, self.name(node),
                                 inputs=[self.value(args[0]), self.value(args[1])])
            return (node_id, "out")
        if t is aten.cat.default:
            dim = args[1] if len(args) > 1 else 0
            node_id = self.b.add("Concatenate", self.name(node), {"dim": dim},
                                 inputs=[self.value(a) for a in args[0]])
            return (node_id, "out")
        if t in (aten._softmax.default, aten.softmax.int):
            return self.layer(node, "Softmax", {"dim": args[1]}, args[0])
        raise _Refused(f"{t} (no catalog layer)")


class _Refused(Exception):
    pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def import_pt2(path: str | os.PathLike):
    """The ImportedModel of a .pt2 file and an example input of its shape."""
    path = Path(path)
    if not path.is_file():
        raise ImportSourceError(f"there is no file {str(path)!r}")
    try:
        program = load_program(path)
    except ModelImportError:
        raise
    except Exception as exc:  # noqa: BLE001 — a damaged or foreign file
        raise ImportSourceError(f"{path.name} is not a torch.export program: {type(exc).__name__}: "
                                f"{_first_line(exc)}") from None
    try:
        imported = _Pt2Reader(program, path.name).run()
        inputs = imported.networks.main_graph.inputs()
        first = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == inputs[0].name)
        batch = first.meta["val"].shape[0]
    except ModelImportError:
        raise
    except Exception as exc:  # noqa: BLE001 — a program torch loads but that is not what torch.export writes
        raise ImportSourceError(f"{path.name} is not a torch.export program NetCanvas can read "
                                f"({type(exc).__name__}: {_first_line(exc)})") from None
    batch = batch if isinstance(batch, int) else 2  # a dynamic batch: any size works
    check_test_run(imported.networks, max(1, batch), path.name)
    gen = torch.Generator().manual_seed(0)
    example = tuple(torch.randn(batch, *i.params["shape"], generator=gen) for i in inputs)
    return imported, example
