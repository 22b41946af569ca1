"""An nn.Module as networks of catalog layers, through torch.fx symbolic tracing.

Each module is traced one level deep (its children are leaves of the trace), so the import
follows the module tree: a child that is a catalog layer becomes a node; a child whose class
is used more than once (a ResNet's BasicBlock, a MobileNet's InvertedResidual and its
SqueezeExcitation) becomes a Block node, one network per distinct structure; containers
(Sequential and friends) and one-off modules are inlined. Tracing runs the module's Python
forward with proxies, so only modules the user chose (torchvision's, or their own file) come here.
"""

from __future__ import annotations

import json
import operator
from collections import Counter

import torch
import torch.fx as fx
from torch import nn

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph

from runtime.importers import modules as M
from runtime.importers.model import (
    ImportedModel, ModelImportError, NetworkBuilder, Unsupported, UnsupportedModelError, assemble_networks,
)

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


class _OneLevel(fx.Tracer):
    """Every submodule is a leaf: the trace shows what this module itself does with its children."""

    def is_leaf_module(self, m: nn.Module, qualified_name: str) -> bool:
        return True


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class FxImporter:
    """Imports one root module; `run()` gives an ImportedModel or raises UnsupportedModelError."""

    def __init__(self, root: nn.Module, example: tuple[torch.Tensor, ...], source: str) -> None:
        self.root = root.eval()
        self.example = example
        self.source = source
        self.problems: list[Unsupported] = []
        self.graphs: dict[str, Graph] = {}
        self.by_structure: dict[str, str] = {}
        self.input_shapes = self._record_input_shapes()
        self.class_uses = Counter(type(m) for m in root.modules() if self._may_be_block(m))
        self.called: set[int] = set()

    # ------------------------------------------------------------ setup

    def _record_input_shapes(self) -> dict[str, list[tuple]]:
        """The input shapes of every module's first call, from one eval pass with pre-hooks."""
        shapes: dict[str, list[tuple]] = {}
        handles = []
        for path, module in self.root.named_modules():
            def hook(mod, args, path=path):
                shapes.setdefault(path, [tuple(a.shape) if isinstance(a, torch.Tensor) else None for a in args])
            handles.append(module.register_forward_pre_hook(hook))
        try:
            with torch.no_grad():
                self.root(*self.example)
        except Exception as exc:  # noqa: BLE001 — the user's model failed on the example input: say so
            raise ModelImportError(f"{self.source} fails on an input of shape "
                                   f"{', '.join(str(tuple(x.shape)) for x in self.example)}: "
                                   f"{type(exc).__name__}: {exc}; give the input shape it expects") from exc
        finally:
            for h in handles:
                h.remove()
        return shapes

    @staticmethod
    def _may_be_block(m: nn.Module) -> bool:
        return (not isinstance(m, _CONTAINERS) and M.leaf_type(m) is None
                and any(True for _ in m.parameters()))

    # ------------------------------------------------------------ the walk

    def run(self) -> ImportedModel:
        main_name = type(self.root).__name__
        graph, weights = self._network(self.root, "")
        if self.problems:
            raise UnsupportedModelError(self.problems, self.source)
        self.graphs = {main_name: graph, **{k: v for k, v in self.graphs.items() if k != main_name}}
        networks = assemble_networks(self.graphs, main_name)
        root = self.root
        return ImportedModel(networks, weights, self.source, reference=lambda *xs: root(*xs))

    def _trace(self, module: nn.Module, path: str) -> fx.Graph | None:
        try:
            return _OneLevel().trace(module)
        except Exception as exc:  # noqa: BLE001 — data-dependent control flow and the like
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problems.append(Unsupported(path, f"{type(module).__name__} cannot be traced by torch.fx "
                                                   f"({first[:200]})"))
            return None

    def _network(self, module: nn.Module, path: str) -> tuple[Graph, dict]:
        """The network of `module` on its own: Inputs for its arguments, Outputs for what it returns."""
        b = NetworkBuilder()
        weights: dict[tuple[str, ...], dict] = {}
        traced = self._trace(module, path)
        if traced is None:
            return b.graph, weights
        shapes = self.input_shapes.get(path, [])
        env: dict[fx.Node, object] = {}
        placeholders = [n for n in traced.nodes if n.op == "placeholder"]
        for i, node in enumerate(placeholders):
            shape = shapes[i] if i < len(shapes) else None
            if shape is None:
                self.problems.append(Unsupported(path, f"argument {node.name!r} that is not a tensor"))
                continue
            env[node] = (b.add("Input", node.name, {"shape": tuple(shape[1:])}), "out")
        outputs = self._emit(traced, module, path, b, env, weights, "")
        for i, value in enumerate(outputs):
            name = "y" if len(outputs) == 1 else f"y{i}"
            if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
                b.add("Output", name, inputs=[value])
            else:
                self.problems.append(Unsupported(path, "returns something other than tensors"))
        return b.graph, weights

    def _emit(self, traced: fx.Graph, module: nn.Module, path: str, b: NetworkBuilder, env: dict,
              weights: dict, prefix: str) -> list:
        """Add the trace's nodes to `b` (placeholders already bound in env); returns the output values."""
        for node in traced.nodes:
            if node.op == "placeholder":
                if node not in env:
                    if node.args:  # a default argument: a constant
                        env[node] = node.args[0]
                    else:
                        env[node] = None
                continue
            if node.op == "output":
                result = node.args[0]
                items = result if isinstance(result, (tuple, list)) else (result,)
                return [env.get(a) if isinstance(a, fx.Node) else a for a in items]
            try:
                env[node] = self._node(node, module, path, b, env, weights, prefix)
            except M.NotExpressible as exc:
                self.problems.append(Unsupported(_join(path, str(node.target)) if node.op == "call_module" else path,
                                                 str(exc)))
                # carry the input on, so what comes after is checked (and reported) too
                fed = [env.get(a) for a in node.all_input_nodes]
                env[node] = next((v for v in fed if _is_value(v)), None)
        return []

    def _args(self, node: fx.Node, env: dict):
        def value(a):
            if isinstance(a, fx.Node):
                return env.get(a)
            if isinstance(a, (list, tuple)):
                return type(a)(value(x) for x in a)
            return a
        return value(node.args), {k: value(v) for k, v in node.kwargs.items()}

    def _node(self, node: fx.Node, module: nn.Module, path: str, b: NetworkBuilder, env: dict,
              weights: dict, prefix: str):
        args, kwargs = self._args(node, env)
        if any(a is None for a in args if not isinstance(a, (list, tuple))):
            return None  # fed by something already reported
        if node.op == "call_module":
            return self._call_module(node, module, path, b, args, kwargs, weights, prefix)
        if node.op == "get_attr":
            raise M.NotExpressible(f"uses its parameter or buffer {node.target!r} directly in forward")
        return self._call(node, path, b, args, kwargs, prefix)

    # ------------------------------------------------------------ modules

    def _call_module(self, node, module, path, b, args, kwargs, weights, prefix):
        child = module.get_submodule(node.target)
        child_path = _join(path, node.target)
        name = prefix + str(node.target).replace(".", "_")
        type_id = M.leaf_type(child)
        has_weights = any(True for _ in child.parameters()) or any(True for _ in child.buffers())
        if has_weights and id(child) in self.called:
            raise M.NotExpressible(f"{type(child).__name__} called more than once (shared weights)")
        self.called.add(id(child))
        inputs = [a for a in args]
        if type_id is not None:
            if len(inputs) != 1 or kwargs:
                raise M.NotExpressible(f"{type(child).__name__} called with {len(inputs)} arguments")
            node_id = b.add(type_id, name, M.module_params(type_id, child), inputs=inputs)
            state = {k: v.detach().clone() for k, v in child.state_dict().items()}
            if state:
                weights[(node_id,)] = state
            return (node_id, "out")
        if self._may_be_block(child) and self.class_uses[type(child)] >= 2:
            return self._block(child, child_path, name, b, inputs, weights)
        stages = _stages(child)
        if stages:
            return self._stage_blocks(child, child_path, name, b, inputs, weights, stages)
        if type(child).__module__.startswith("torch.nn") and not isinstance(child, _CONTAINERS):
            raise M.NotExpressible(f"{type(child).__name__} (no catalog layer)")
        traced = self._trace(child, child_path)
        if traced is None:
            return None
        placeholders = [n for n in traced.nodes if n.op == "placeholder"]
        inner_env = {p: a for p, a in zip(placeholders, inputs)}
        outs = self._emit(traced, child, child_path, b, inner_env, weights, name + "_")
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _stage_blocks(self, child, child_path, name, b, inputs, weights, stages):
        """A VGG-style Sequential of plain layers as one block per stage (each ends with its pooling)."""
        (value,) = inputs
        for k, indices in enumerate(stages, start=1):
            sb = NetworkBuilder()
            first = _join(child_path, str(indices[0]))
            shape = self.input_shapes.get(first, [None])[0]
            if shape is None:
                return None  # never reached: the layer did not run on the example input
            current = (sb.add("Input", "x", {"shape": tuple(shape[1:])}), "out")
            stage_weights = {}
            for i in indices:
                layer = child[i]
                type_id = M.leaf_type(layer)
                node_id = sb.add(type_id, f"{type_id.lower()}_{i}", M.module_params(type_id, layer), inputs=[current])
                state = {key: v.detach().clone() for key, v in layer.state_dict().items()}
                if state:
                    stage_weights[(node_id,)] = state
                current = (node_id, "out")
            sb.add("Output", "y", inputs=[current])
            value = self._add_block(sb.graph, stage_weights, "Stage", f"{name}_stage{k}", b, [value], weights)
        return value

    def _block(self, child, child_path, name, b, inputs, weights):
        graph, inner_weights = self._network(child, child_path)
        return self._add_block(graph, inner_weights, type(child).__name__, name, b, inputs, weights)

    def _add_block(self, graph, inner_weights, base, name, b, inputs, weights):
        """A Block node for `graph`, sharing the network of an earlier block with the same structure."""
        key = json.dumps(graph.to_dict(), sort_keys=True, default=str)
        network = self.by_structure.get(key)
        if network is None:
            network, i = base, 2
            while network in self.graphs or network == type(self.root).__name__:
                network = f"{base}{i}"
                i += 1
            self.graphs[network] = graph
            self.by_structure[key] = network
        ports = [n.id for n in graph.inputs()]
        if len(ports) != len(inputs):
            raise M.NotExpressible(f"{base} called with {len(inputs)} of its {len(ports)} inputs")
        block_id = b.add("Block", name, {"network": network}, inputs=list(inputs), ports=ports)
        for rel, state in inner_weights.items():
            weights[(block_id, *rel)] = state
        outs = [(block_id, o.id) for o in graph.outputs()]
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ------------------------------------------------------------ functions and methods

    def _call(self, node, path, b, args, kwargs, prefix):
        target = node.target
        name = prefix + node.name
        what = M.call_name(target)
        tensors = [a for a in args if _is_value(a)]
        kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}

        if target in M.ADD_CALLS or target in M.MUL_CALLS:
            if len(args) == 2 and len(tensors) == 2 and not kwargs:
                return (b.add("Add" if target in M.ADD_CALLS else "Multiply", name, inputs=list(args)), "out")
            raise M.NotExpressible(f"{what} of a tensor and a constant (no catalog layer)")
        if target in M.ACTIVATION_CALLS and len(args) == 1 and len(tensors) == 1 and not kwargs:
            return (b.add(M.ACTIVATION_CALLS[target], name, inputs=[args[0]]), "out")
        if target in M.FLATTEN_CALLS and _is_value(args[0]):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            return (b.add("Flatten", name, {"start_dim": start, "end_dim": end}, inputs=[args[0]]), "out")
        if target in M.CAT_CALLS and isinstance(args[0], (list, tuple)) and all(_is_value(a) for a in args[0]):
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            return (b.add("Concatenate", name, {"dim": dim}, inputs=list(args[0])), "out")
        if target in M.ADAPTIVE_AVG_CALLS and _is_value(args[0]):
            size = args[1] if len(args) > 1 else kwargs.get("output_size")
            return (b.add(M.ADAPTIVE_AVG_CALLS[target], name, {"output_size": size}, inputs=[args[0]]), "out")
        if target in M.MEAN_CALLS and _is_value(args[0]):
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            if tuple(dims or ()) in ((2, 3), (-2, -1)) and not kwargs.get("keepdim", False):
                return (b.add("GlobalAvgPool", name, inputs=[args[0]]), "out")
        if target in M.DROPOUT_CALLS and _is_value(args[0]):
            p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            return (b.add("Dropout", name, {"p": p}, inputs=[args[0]]), "out")
        if target in M.SOFTMAX_CALLS and _is_value(args[0]):
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            return (b.add(M.SOFTMAX_CALLS[target], name, {"dim": dim}, inputs=[args[0]]), "out")
        if target is operator.getitem and isinstance(args[0], tuple) and isinstance(args[1], int) \
                and all(_is_value(a) for a in args[0]):
            return args[0][args[1]]
        raise M.NotExpressible(f"{what} (no catalog layer)")


def _stages(module: nn.Module) -> list[list[int]] | None:
    """Index runs ending at each MaxPool2d of a Sequential of plain layers (a VGG's features), else None."""
    if type(module) is not nn.Sequential or len(module) < 4:
        return None
    children = list(module)
    if any(M.leaf_type(c) is None for c in children):
        return None
    pools = [i for i, c in enumerate(children) if isinstance(c, nn.MaxPool2d)]
    if len(pools) < 2:
        return None
    stages, start = [], 0
    for p in pools:
        stages.append(list(range(start, p + 1)))
        start = p + 1
    if start < len(children):
        stages[-1].extend(range(start, len(children)))
    return stages


def _is_value(a) -> bool:
    return isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], str)


def import_module(module: nn.Module, input_shape: tuple[int, ...], source: str) -> ImportedModel:
    """`module` (eval mode) as an ImportedModel, for inputs of (N, *input_shape)."""
    example = (torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0)),)
    try:
        return FxImporter(module, example, source).run()
    except GraphBuilderError as exc:  # a parameter the catalog refused while building
        raise UnsupportedModelError([Unsupported("", str(exc))], source) from exc
