"""An ONNX file as one network of catalog layers, read as data with `onnx.load`.

The file's size, every tensor's declared size (initializers and constants, in the file or in
external data files beside it) and its inputs' test run are checked against the limits before
anything is allocated (graph_builder.limits). External data is read from the model's own folder,
never from elsewhere, and a location outside that folder is refused. Each ONNX node becomes a catalog layer whose tensors come from the file's initializers; the
original is checked with onnxruntime (which evaluates the graph; nothing in the file is code).
Exporters often fold BatchNorm into the convolution before it, so the imported graph holds
the file's parameters, which may be fewer than those of the model it was exported from. Files
from torch's dynamo exporter record the module call of each node; with them, repeated
modules become blocks again (runtime.importers.regions).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import torch

from graph_builder import limits
from graph_builder.errors import GraphBuilderError
from graph_builder.files import not_regular

from runtime.importers.model import (
    ImportedModel, ImportSourceError, ModelImportError, NetworkBuilder, Unsupported, UnsupportedModelError,
    assemble_networks, check_test_run,
)
from runtime.importers.regions import regroup

_ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "HardSwish": "Hardswish",
                "Elu": "ELU", "Selu": "SELU", "Mish": "Mish"}
_PASS_THROUGH = {"Identity", "Dropout"}  # Dropout is the identity in an inference graph


class _Refused(Exception):
    pass


class _OnnxReader:
    def __init__(self, model, source: str) -> None:
        from onnx import numpy_helper

        self.model = model
        self.source = source
        self.init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
        for node in model.graph.node:  # Constant nodes are data too (ReduceMean's axes, Reshape's shape)
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        self.init[node.output[0]] = torch.from_numpy(numpy_helper.to_array(a.t).copy())
        from onnx import shape_inference

        inferred = shape_inference.infer_shapes(model).graph
        self.ranks = {v.name: len(v.type.tensor_type.shape.dim)
                      for v in [*inferred.value_info, *inferred.input, *inferred.output]}
        self.b = NetworkBuilder()
        self.weights: dict[tuple[str, ...], dict] = {}
        self.env: dict[str, tuple[str, str]] = {}
        self.problems: list[Unsupported] = []
        self.stacks: dict[str, tuple] = {}  # node id -> the module calls the torch exporter recorded

    def run(self, path: Path) -> ImportedModel:
        from onnx import helper

        graph = self.model.graph
        for inp in graph.input:
            if inp.name in self.init:
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
            if len(dims) < 2 or any(d is None for d in dims[1:]):
                self.problems.append(Unsupported(inp.name, f"an input of unknown shape {dims}"))
                continue
            self.env[inp.name] = (self.b.add("Input", inp.name, {"shape": tuple(dims[1:])}), "out")
        for node in graph.node:
            if node.op_type == "Constant":
                continue
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            try:
                value = self.node(node, attrs)
                if value is not None:
                    self.env[node.output[0]] = value
                    if value[0] not in self.stacks:
                        self.stacks[value[0]] = tuple(_scope(node))
            except _Refused as exc:
                self.problems.append(Unsupported(_scope(node)[-1][0] if _scope(node) else node.name or node.output[0],
                                                 f"{node.op_type}: {exc}"))
            except (GraphBuilderError, TypeError, ValueError) as exc:
                self.problems.append(Unsupported(_scope(node)[-1][0] if _scope(node) else node.name or node.output[0],
                                                 f"{node.op_type}: {exc}"))
        for out in graph.output:
            if out.name in self.env:
                self.b.add("Output", out.name, inputs=[self.env[out.name]])
        if self.problems:
            raise UnsupportedModelError(self.problems, self.source)
        main = _root_class(graph) or "Imported"
        graphs, weights = regroup(self.b.graph, self.stacks, self.weights, main)
        networks = assemble_networks(graphs, main)
        return ImportedModel(networks, weights, self.source, reference=_onnxruntime_reference(path))

    def name(self, node) -> str:
        """The module path of a torch layer (`layer1_0_conv1`), the path and op of anything else, else the ONNX name."""
        scope = _scope(node)
        if not scope:
            return node.name or node.output[0]
        path, cls = scope[-1]
        if cls.startswith("torch.nn.modules."):
            return path.replace(".", "_")
        return f"{path.replace('.', '_')}_{node.op_type.lower()}"

    def value(self, name: str):
        if name not in self.env:
            raise _Refused(f"input {name!r} is not a tensor this import produced")
        return self.env[name]

    def layer(self, node, type_id, params, tensors=None):
        node_id = self.b.add(type_id, self.name(node), params, inputs=[self.value(node.input[0])])
        tensors = {k: v for k, v in (tensors or {}).items() if v is not None}
        if tensors:
            self.weights[(node_id,)] = tensors
        return (node_id, "out")

    def const(self, node, i):
        return self.init.get(node.input[i]) if len(node.input) > i and node.input[i] else None

    def node(self, node, a):
        op = node.op_type
        if op in _PASS_THROUGH and node.input[0] in self.init:  # an alias of a stored tensor
            self.init[node.output[0]] = self.init[node.input[0]]
            return None
        if op in _PASS_THROUGH:
            return self.value(node.input[0])
        if op in _ACTIVATIONS:
            return self.layer(node, _ACTIVATIONS[op], {})
        if op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                raise _Refused("alpha and beta other than torch's 1/6 and 1/2")
            return self.layer(node, "Hardsigmoid", {})
        if op == "Clip":
            lo, hi = self.const(node, 1), self.const(node, 2)
            if lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0:
                return self.layer(node, "ReLU6", {})
            raise _Refused("a clip other than ReLU6")
        if op == "LeakyRelu":
            return self.layer(node, "LeakyReLU", {"negative_slope": a.get("alpha", 0.01)})
        if op == "Conv":
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None:
                raise _Refused("weights that are not stored in the file")
            n = w.dim() - 2
            pads = list(a.get("pads", [0] * 2 * n))
            if pads[:n] != pads[n:]:
                raise _Refused(f"asymmetric padding {pads}")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise _Refused(f"auto_pad={a['auto_pad']}")
            params = {"out_channels": w.shape[0], "kernel_size": tuple(w.shape[2:]),
                      "stride": tuple(a.get("strides", [1] * n)), "padding": tuple(pads[:n]),
                      "dilation": tuple(a.get("dilations", [1] * n)), "groups": a.get("group", 1),
                      "bias": b is not None}
            return self.layer(node, f"Conv{n}d", params, {"weight": w, "bias": b})
        if op == "BatchNormalization":
            w, b, mean, var = (self.const(node, i) for i in (1, 2, 3, 4))
            rank = {2: 1, 3: 1, 4: 2, 5: 3}.get(self.ranks.get(node.input[0]))
            if rank is None:
                raise _Refused("an input of unknown rank")
            params = {"eps": a.get("epsilon", 1e-5), "momentum": round(1 - a.get("momentum", 0.9), 6)}
            return self.layer(node, f"BatchNorm{rank}d", params,
                              {"weight": w, "bias": b, "running_mean": mean, "running_var": var,
                               "num_batches_tracked": torch.tensor(0)})
        if op in ("MaxPool", "AveragePool"):
            k = tuple(a["kernel_shape"])
            n = len(k)
            pads = list(a.get("pads", [0] * 2 * n))
            if pads[:n] != pads[n:]:
                raise _Refused(f"asymmetric padding {pads}")
            params = {"kernel_size": k, "stride": tuple(a.get("strides", [1] * n)), "padding": tuple(pads[:n]),
                      "ceil_mode": bool(a.get("ceil_mode", 0))}
            if op == "MaxPool":
                params["dilation"] = tuple(a.get("dilations", [1] * n))
                return self.layer(node, f"MaxPool{n}d", params)
            params["count_include_pad"] = bool(a.get("count_include_pad", 0))
            return self.layer(node, f"AvgPool{n}d", params)
        if op == "GlobalAveragePool":
            return self.layer(node, "AdaptiveAvgPool2d", {"output_size": (1, 1)})
        if op == "ReduceMean":
            axes = a.get("axes")
            if axes is None and self.const(node, 1) is not None:
                axes = self.const(node, 1).tolist()
            if sorted(int(x) % 4 for x in (axes or [])) == [2, 3] and not a.get("keepdims", 1):
                return self.layer(node, "GlobalAvgPool", {})
            raise _Refused(f"a mean over axes {axes} (keepdims={a.get('keepdims', 1)})")
        if op == "Flatten":
            if a.get("axis", 1) != 1:
                raise _Refused(f"axis={a.get('axis')}")
            return self.layer(node, "Flatten", {"start_dim": 1, "end_dim": -1})
        if op == "Gemm":
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None or a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise _Refused("a Gemm that is not a linear layer")
            w = w if a.get("transB", 0) else w.t().contiguous()
            return self.layer(node, "Linear", {"out_features": w.shape[0], "bias": b is not None},
                              {"weight": w, "bias": b})
        if op in ("Add", "Mul") and all(i in self.env for i in node.input):
            node_id = self.b.add("Add" if op == "Add" else "Multiply", self.name(node),
                                 inputs=[self.value(i) for i in node.input])
            return (node_id, "out")
        if op == "Concat":
            node_id = self.b.add("Concatenate", self.name(node), {"dim": a["axis"]},
                                 inputs=[self.value(i) for i in node.input])
            return (node_id, "out")
        if op == "Softmax":
            return self.layer(node, "Softmax", {"dim": a.get("axis", -1)})
        raise _Refused("no catalog layer")


def _metadata(node) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def _scope(node) -> list[tuple[str, str]]:
    """The module calls a torch (dynamo) export recorded for `node`: [(path, class), …], outermost first."""
    meta = _metadata(node)
    try:  # Python-literal lists of strings; literal_eval reads data and never runs anything
        scopes = ast.literal_eval(meta.get("pkg.torch.onnx.name_scopes", "[]"))
        classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
    except (ValueError, SyntaxError):
        return []
    if not (isinstance(scopes, list) and isinstance(classes, list)) or len(scopes) != len(classes):
        return []
    pairs = list(zip(scopes, classes))[1:-1]  # neither the root module nor the op itself
    return [(p, c) for p, c in pairs if isinstance(p, str) and isinstance(c, str) and p]


def _root_class(graph) -> str | None:
    for node in graph.node:
        try:
            classes = ast.literal_eval(_metadata(node).get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            continue
        if classes and isinstance(classes[0], str):
            name = classes[0].rsplit(".", 1)[-1]
            return name if name.isidentifier() else None
    return None


def _onnxruntime_reference(path: Path):
    """onnxruntime's session of the file itself (it finds external data beside it), as the reference to match."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime refuses what it cannot run, in its own words
        raise ImportSourceError(f"onnxruntime cannot load {path.name} to check the import against it "
                                f"({_first_line(exc)})") from None
    names = [i.name for i in session.get_inputs()]

    def run(*xs):
        try:
            outs = session.run(None, {n: x.numpy() for n, x in zip(names, xs)})
        except Exception as exc:  # noqa: BLE001
            raise ModelImportError(f"onnxruntime could not run {path.name} on a test input ({_first_line(exc)}); "
                                   "nothing was written") from None
        return tuple(torch.from_numpy(o) for o in outs) if len(outs) > 1 else torch.from_numpy(outs[0])
    return run


def _tensors(graph) -> list:
    """Every tensor a graph holds: initializers, and those in node attributes (Constant), in subgraphs too."""
    found = list(graph.initializer)
    for node in graph.node:
        for a in node.attribute:
            found += ([a.t] if a.HasField("t") else []) + list(a.tensors)
            for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                found += _tensors(sub)
    return found


def _declared_bytes(tensor) -> int:
    from onnx import helper

    count = 1
    for d in tensor.dims:
        count *= max(0, int(d))
    try:
        size = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        size = 16  # an unknown type counts as the widest there is
    return count * size


def check_external_data(model, path: Path) -> int:
    """The bytes the model's tensors declare, checked: external data must lie in a regular file beside the model,
    within the file, and everything within the model limit; ImportSourceError naming the file otherwise."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    folder = path.resolve().parent
    declared = 0
    for tensor in _tensors(model.graph):
        need = _declared_bytes(tensor)
        declared += need
        if not uses_external_data(tensor):
            continue
        try:
            info = ExternalDataInfo(tensor)
        except (ValueError, TypeError) as exc:
            raise ImportSourceError(f"{path.name}: the tensor {tensor.name[:60]!r} has damaged external data "
                                    f"entries ({exc})") from None
        where = Path(info.location)
        target = (folder / where).resolve()
        if not info.location or where.is_absolute() or ".." in where.parts or folder not in target.parents:
            raise ImportSourceError(f"{path.name}: the tensor {tensor.name[:60]!r} keeps its data at "
                                    f"{info.location[:80]!r}, outside the model's folder; external data is read "
                                    "only from files beside the model")
        problem = not_regular(target)
        if problem or not target.is_file():
            raise ImportSourceError(f"{path.name}: the data of tensor {tensor.name[:60]!r} should be in "
                                    f"{info.location!r} beside it, but " + (problem or "there is no such file")
                                    + f"; keep the model's external data files next to {path.name}")
        offset, length = int(info.offset or 0), info.length
        available = target.stat().st_size - offset
        if length is not None and (int(length) > available or int(length) < 0) or available < 0:
            raise ImportSourceError(f"{path.name}: the data of tensor {tensor.name[:60]!r} runs past the end of "
                                    f"{info.location!r}; the external data file is truncated")
        if length is not None and int(length) != need:
            raise ImportSourceError(f"{path.name}: the tensor {tensor.name[:60]!r} declares {need:,} bytes but its "
                                    f"external data holds {int(length):,}; the files do not belong together")
    limits.check(declared, f"{path.name} (the tensors it declares)", limits.MODEL, ImportSourceError,
                 "import a smaller model")
    return declared


def import_onnx(path: str | os.PathLike):
    """The ImportedModel of an ONNX file and an example input of its shape."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    path = Path(path)
    problem = not_regular(path)
    if problem:
        raise ImportSourceError(f"{problem}; give an .onnx file")
    if not path.is_file():
        raise ImportSourceError(f"there is no file {str(path)!r}")
    limits.check(path.stat().st_size, f"{path.name} (the model file)", limits.MODEL, ImportSourceError,
                 "import a smaller model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 — a damaged or foreign file
        raise ImportSourceError(f"{path.name} is not an ONNX model: {type(exc).__name__}: {_first_line(exc)}") \
            from None
    check_external_data(model, path)
    try:
        load_external_data_for_model(model, str(path.resolve().parent))  # beside the model, never the working folder
        imported = _OnnxReader(model, path.name).run(path)
    except ModelImportError:
        raise
    except Exception as exc:  # noqa: BLE001 — onnx's own checks of a damaged file, in its words
        raise ImportSourceError(f"{path.name} cannot be read as an ONNX model ({type(exc).__name__}: "
                                f"{_first_line(exc)})") from None
    dims = model.graph.input[0].type.tensor_type.shape.dim
    batch = max(1, dims[0].dim_value) if dims and dims[0].HasField("dim_value") else 2
    check_test_run(imported.networks, batch, path.name)
    gen = torch.Generator().manual_seed(0)
    example = tuple(torch.randn(batch, *i.params["shape"], generator=gen)
                    for i in imported.networks.main_graph.inputs())
    return imported, example


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
