"""An ONNX file as one network of catalog layers, read as data with `onnx.load`.

The file's size, every tensor's declared size (initializers and constants, in the file or in
external data files beside it) and its inputs' test run are checked against the limits before
anything is allocated (graph_builder.limits). External data is read from the model's own folder,
never from elsewhere, and a location outside that folder is refused. An older opset is first converted to the one NetCanvas exports (onnx's version converter);
nodes whose inputs are all stored tensors are evaluated (onnx's reference evaluator, within
the same limits); patterns of several nodes that one layer expresses are joined
(runtime.importers.onnx_patterns).
Each ONNX node becomes a catalog layer whose tensors come from the file's initializers; the
original is checked with onnxruntime (which evaluates the graph; nothing in the file is code).
Exporters often fold BatchNorm into the convolution before it, so the imported graph holds
the file's parameters, which may be fewer than those of the model it was exported from. Files
from torch's dynamo exporter record the module call of each node; with them, repeated
modules become blocks again (runtime.importers.regions).
"""

from __future__ import annotations

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
from runtime.importers.onnx_patterns import FUSED, fuse, module_scope, root_class
from runtime.importers.onnx_source import check_external_data, converted, first_line, onnxruntime_reference, opset
from runtime.importers.regions import regroup

_ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "HardSwish": "Hardswish",
                "Mish": "Mish", "Softplus": "Softplus", "Softsign": "Softsign", "Exp": "Exp", "Log": "Log",
                "Sqrt": "Sqrt", "Abs": "Abs", "Neg": "Neg"}
_PADS = {"constant": "ConstantPad2d", "reflect": "ReflectionPad2d", "edge": "ReplicationPad2d"}
_MERGES = {"Add": "Add", "Sum": "Add", "Mul": "Multiply", "Max": "Maximum", "Min": "Minimum", "Mean": "Average"}
_PASS_THROUGH = {"Identity", "Dropout"}  # Dropout is the identity in an inference graph
_NOT_FOLDED = {"Constant", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
               "Bernoulli", "Dropout"}  # random ops differ run to run; Constant is read directly


class _Refused(Exception):
    pass


class _OnnxReader:
    def __init__(self, model, source: str) -> None:
        from onnx import numpy_helper

        self.model = model
        self.source = source
        self.opset = opset(model)
        self.init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
        for node in model.graph.node:  # Constant nodes are data too (ReduceMean's axes, Reshape's shape)
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        self.init[node.output[0]] = torch.from_numpy(numpy_helper.to_array(a.t).copy())
        from onnx import shape_inference

        inferred = shape_inference.infer_shapes(model, data_prop=True).graph
        self.shapes = {v.name: tuple(d.dim_value if d.HasField("dim_value") else None
                                     for d in v.type.tensor_type.shape.dim)
                       for v in [*inferred.value_info, *inferred.input, *inferred.output]
                       if v.type.tensor_type.HasField("shape")}
        self.ranks = {name: len(shape) for name, shape in self.shapes.items()}
        self.consumers: dict[str, int] = {}
        for node in model.graph.node:
            for name in node.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        for out in model.graph.output:
            self.consumers[out.name] = self.consumers.get(out.name, 0) + 1
        self.b = NetworkBuilder()
        self.weights: dict[tuple[str, ...], dict] = {}
        self.env: dict[str, tuple[str, str]] = {}
        self.problems: list[Unsupported] = []
        self.stacks: dict[str, tuple] = {}  # node id -> the module calls the torch exporter recorded

    def run(self, path: Path) -> ImportedModel:
        from onnx import helper

        graph = self.model.graph
        batches = {self.shapes.get(i.name, (None,))[0] for i in graph.input if i.name not in self.init}
        if len(batches) > 1:
            self.problems.append(Unsupported("inputs", f"inputs of different batch sizes {sorted(map(str, batches))}: "
                                                       "one broadcasts across the batch, which no layer does"))
        for inp in graph.input:
            if inp.name in self.init:
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
            if len(dims) < 2:
                self.problems.append(Unsupported(inp.name, f"an input of shape {dims}: a batch with nothing per sample "
                                                           "(NetCanvas inputs have a dimension after the batch)"))
                continue
            if any(d is None for d in dims[1:]):
                self.problems.append(Unsupported(inp.name, f"an input of unknown shape {dims}"))
                continue
            dtype = {1: "float32", 11: "float32", 7: "int64"}.get(inp.type.tensor_type.elem_type)  # float64 read as float32
            if dtype is None:
                self.problems.append(Unsupported(inp.name, f"an input of element type {inp.type.tensor_type.elem_type} "
                                                           "(NetCanvas inputs are float or int64)"))
                continue
            self.env[inp.name] = (self.b.add("Input", inp.name, {"shape": tuple(dims[1:]), "dtype": dtype}), "out")
        for node in fuse(list(graph.node), self.init, self.consumers):
            if node.op_type == "Constant":
                continue
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            try:
                if self.fold(node):
                    continue
                value = self.node(node, attrs)
                if value is not None:
                    self.env[node.output[0]] = value
                    if value[0] not in self.stacks:
                        self.stacks[value[0]] = tuple(module_scope(node))
            except _Refused as exc:
                self.problems.append(Unsupported(module_scope(node)[-1][0] if module_scope(node)
                                                 else node.name or node.output[0], f"{node.op_type}: {exc}"))
            except (GraphBuilderError, TypeError, ValueError) as exc:
                self.problems.append(Unsupported(module_scope(node)[-1][0] if module_scope(node)
                                                 else node.name or node.output[0], f"{node.op_type}: {exc}"))
        for out in graph.output:
            if out.name in self.env:
                self.b.add("Output", out.name, inputs=[self.env[out.name]])
        if self.problems:
            raise UnsupportedModelError(self.problems, self.source)
        main = root_class(graph) or "Imported"
        graphs, weights = regroup(self.b.graph, self.stacks, self.weights, main)
        networks = assemble_networks(graphs, main)
        return ImportedModel(networks, weights, self.source, reference=onnxruntime_reference(self.model, path))

    def name(self, node) -> str:
        """The module path of a torch layer (`layer1_0_conv1`), the path and op of anything else, else the ONNX name."""
        scope = module_scope(node)
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

    def fold(self, node) -> bool:
        """Evaluate a node whose inputs are all stored tensors (shape arithmetic, generated weights); True if done."""
        names = [i for i in node.input if i]
        if node.op_type in _NOT_FOLDED or not all(i in self.init for i in names):
            return False
        if not names and node.op_type != "ConstantOfShape":
            return False
        import numpy as np
        from onnx.reference import ReferenceEvaluator

        declared = 0
        for out in node.output:
            shape = self.shapes.get(out)
            if shape is None or None in shape:
                return False  # an output of unknown size is never allocated to find out
            count = 1
            for d in shape:
                count *= d
            declared += count * 8
        limits.check(declared, f"{node.op_type} {node.name or node.output[0]} (a constant it computes)",
                     limits.MODEL, ImportSourceError, "import a smaller model")
        try:
            evaluator = ReferenceEvaluator(node, opsets={"": self.opset})
            values = evaluator.run(None, {i: self.init[i].numpy() for i in names})
        except Exception:  # noqa: BLE001 — what onnx's reference cannot evaluate is mapped (or refused) as a layer
            return False
        for name, value in zip(node.output, values):
            self.init[name] = torch.from_numpy(np.array(value).copy())
        return True

    def same_batch(self, node) -> tuple:
        """The output shape of `node` when it is static and keeps the input's batch dimension first."""
        src, out = self.shapes.get(node.input[0]), self.shapes.get(node.output[0])
        if not src or not out or None in out or len(out) < 2 or out[0] != src[0]:
            raise _Refused(f"a reshape from {src} to {out} that does not keep the batch dimension first")
        return out

    def rescaling(self, node):
        """x + c, x - c, c - x, x·c, x / c with c one stored number: a Rescaling layer."""
        op = node.op_type
        x, c = node.input
        flipped = x not in self.env
        if flipped:
            x, c = c, x
        value = self.init.get(c)
        if x not in self.env or value is None:
            raise _Refused("inputs that are neither two tensors of the network nor one and a stored number")
        if value.numel() != 1 or op == "Div" and (flipped or not float(value)):
            raise _Refused(f"a stored tensor of shape {tuple(value.shape)} as an operand; one stored number "
                           "(not dividing by it or by zero) is a Rescaling layer, a tensor is none")
        v = float(value)
        scale, offset = {"Add": (1.0, v), "Mul": (v, 0.0), "Sub": (-1.0, v) if flipped else (1.0, -v),
                         "Div": (1.0 / v if v else 0.0, 0.0)}[op]
        node_id = self.b.add("Rescaling", self.name(node), {"scale": scale, "offset": offset},
                             inputs=[self.value(x)])
        return (node_id, "out")

    def pad(self, node, a):
        """A 4-D Pad of height and width only: one of the four padding layers."""
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = a.get("pads")
        if pads is None and self.const(node, 1) is not None:
            pads = self.const(node, 1).tolist()
        value = a.get("value", float(self.const(node, 2)) if self.const(node, 2) is not None else 0.0)
        if mode not in _PADS or pads is None or len(pads) != 8 or len(node.input) > 3 and node.input[3]:
            raise _Refused(f"a {mode} padding {pads} that is not of height and width (N, C, H, W)")
        if any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            raise _Refused(f"pads {pads} on the batch or channels, or cropping")
        padding = (pads[3], pads[7], pads[2], pads[6])  # torch: left, right, top, bottom
        if mode == "constant":
            if value == 0.0:
                return self.layer(node, "ZeroPad2d", {"padding": padding})
            return self.layer(node, "ConstantPad2d", {"padding": padding, "value": value})
        return self.layer(node, _PADS[mode], {"padding": padding})

    def node(self, node, a):
        op = node.op_type
        if op in _PASS_THROUGH and node.input[0] in self.init:  # an alias of a stored tensor
            self.init[node.output[0]] = self.init[node.input[0]]
            return None
        if op in _PASS_THROUGH:
            return self.value(node.input[0])
        if op in _ACTIVATIONS:
            return self.layer(node, _ACTIVATIONS[op], {})
        if op == "Elu":
            return self.layer(node, "ELU", {"alpha": a.get("alpha", 1.0)})
        if op == "Selu":
            if abs(a.get("alpha", 1.67326) - 1.6732632) > 1e-4 or abs(a.get("gamma", 1.0507) - 1.0507009) > 1e-4:
                raise _Refused("alpha and gamma other than torch's SELU constants")
            return self.layer(node, "SELU", {})
        if op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                raise _Refused("alpha and beta other than torch's 1/6 and 1/2")
            return self.layer(node, "Hardsigmoid", {})
        if op == "Clip":
            lo, hi = self.const(node, 1), self.const(node, 2)
            lo = a.get("min", lo if lo is not None else None)  # opset < 11 keeps the bounds as attributes
            hi = a.get("max", hi if hi is not None else None)
            if lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0:
                return self.layer(node, "ReLU6", {})
            return self.layer(node, "Clip", {"min": None if lo is None else float(lo),
                                             "max": None if hi is None else float(hi)})
        if op == "LeakyRelu":
            return self.layer(node, "LeakyReLU", {"negative_slope": a.get("alpha", 0.01)})
        if op == "PRelu":
            slope, shape = self.const(node, 1), self.shapes.get(node.input[0])
            if slope is None or not shape:
                raise _Refused("a slope that is not stored in the file")
            n = slope.numel()
            per_channel = n > 1 and len(shape) > 1 and shape[1] == n and \
                tuple(slope.shape) in ((n,) if len(shape) == 2 else (), (n, *[1] * (len(shape) - 2)))
            if n > 1 and not per_channel:
                raise _Refused(f"a slope of shape {tuple(slope.shape)} that is neither one value nor one per channel")
            return self.layer(node, "PReLU", {"num_parameters": n}, {"weight": slope.reshape(n).float()})
        if op in ("Conv", "ConvTranspose"):
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None:
                raise _Refused("weights that are not stored in the file")
            n = w.dim() - 2
            pads = list(a.get("pads", [0] * 2 * n))
            if pads[:n] != pads[n:]:
                raise _Refused(f"asymmetric padding {pads}")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise _Refused(f"auto_pad={a['auto_pad']}")
            groups = a.get("group", 1)
            params = {"kernel_size": tuple(w.shape[2:]),
                      "stride": tuple(a.get("strides", [1] * n)), "padding": tuple(pads[:n]),
                      "dilation": tuple(a.get("dilations", [1] * n)), "groups": groups, "bias": b is not None}
            if op == "Conv":
                return self.layer(node, f"Conv{n}d", {"out_channels": w.shape[0], **params}, {"weight": w, "bias": b})
            if "output_shape" in a:
                raise _Refused("an output_shape instead of padding")
            params["output_padding"] = tuple(a.get("output_padding", [0] * n))
            return self.layer(node, f"ConvTranspose{n}d", {"out_channels": w.shape[1] * groups, **params},
                              {"weight": w, "bias": b})
        if op == "BatchNormalization":
            w, b, mean, var = (self.const(node, i) for i in (1, 2, 3, 4))
            rank = {2: 1, 3: 1, 4: 2, 5: 3}.get(self.ranks.get(node.input[0]))
            if rank is None:
                raise _Refused("an input of unknown rank")
            params = {"eps": a.get("epsilon", 1e-5), "momentum": round(1 - a.get("momentum", 0.9), 6)}
            return self.layer(node, f"BatchNorm{rank}d", params,
                              {"weight": w, "bias": b, "running_mean": mean, "running_var": var,
                               "num_batches_tracked": torch.tensor(0)})
        if op == "InstanceNormalization":
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None or b is None or self.ranks.get(node.input[0]) != 4:
                raise _Refused("a scale and shift not stored in the file, or an input that is not 4-D")
            return self.layer(node, "InstanceNorm2d", {"eps": max(a.get("epsilon", 1e-5), 1e-12), "affine": True},
                              {"weight": w, "bias": b})
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
        if op in ("ReduceMean", "ReduceSum", "ReduceMax"):
            axes = a.get("axes")
            if axes is None and self.const(node, 1) is not None:
                axes = self.const(node, 1).tolist()
            rank = self.ranks.get(node.input[0], 0)
            keep = bool(a.get("keepdims", 1))
            axes = sorted(int(x) % rank for x in (axes or [])) if rank else []
            if op == "ReduceMean" and rank == 4 and axes == [2, 3] and not keep:
                return self.layer(node, "GlobalAvgPool", {})
            if len(axes) == 1 and axes[0] != 0:
                return self.layer(node, "Reduce", {"op": op[6:].lower(), "dim": axes[0], "keepdim": keep})
            raise _Refused(f"a reduction over axes {axes or 'all'} (keepdims={int(keep)}); one axis other than "
                           "the batch is a Reduce layer")
        if op == "Flatten" and a.get("axis", 1) == 1:
            return self.layer(node, "Flatten", {"start_dim": 1, "end_dim": -1})
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            return self.layer(node, "Reshape", {"shape": self.same_batch(node)[1:]})
        if op == "Transpose":
            perm = list(a.get("perm", []))
            if not perm or perm[0] != 0:
                raise _Refused(f"perm={perm} moves the batch dimension")
            return self.layer(node, "Permute", {"dims": tuple(perm[1:])})
        if op == "Gather" and self.const(node, 0) is not None and a.get("axis", 0) == 0:
            w = self.const(node, 0)
            if w.dim() != 2 or not w.is_floating_point():
                raise _Refused(f"a gather from a stored tensor of shape {tuple(w.shape)} (an Embedding's table is 2-D)")
            node_id = self.b.add("Embedding", self.name(node), {"num_embeddings": w.shape[0],
                                                               "embedding_dim": w.shape[1]},
                                 inputs=[self.value(node.input[1])])
            self.weights[(node_id,)] = {"weight": w}
            return (node_id, "out")
        if op == "Gemm":
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None or a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise _Refused("a Gemm that is not a linear layer")
            w = w if a.get("transB", 0) else w.t().contiguous()
            return self.layer(node, "Linear", {"out_features": w.shape[0], "bias": b is not None},
                              {"weight": w, "bias": b})
        if op in ("MatMul", "Linear") and node.domain in ("", FUSED):
            w, b = self.const(node, 1), self.const(node, 2)
            if w is None or w.dim() != 2:
                raise _Refused("a product with a tensor that is not a stored matrix (a Linear's weight)")
            return self.layer(node, "Linear", {"out_features": w.shape[1], "bias": b is not None},
                              {"weight": w.t().contiguous(), "bias": b})
        if op in _MERGES and all(i in self.env for i in node.input):
            if len(node.input) == 1:
                return self.value(node.input[0])
            node_id = self.b.add(_MERGES[op], self.name(node), inputs=[self.value(i) for i in node.input])
            return (node_id, "out")
        if op in ("Add", "Sub", "Mul", "Div") and len(node.input) == 2:
            return self.rescaling(node)
        if op == "Pow" and all(i in self.env for i in node.input):
            node_id = self.b.add("Pow", self.name(node), inputs=[self.value(i) for i in node.input],
                                 ports=["base", "exponent"])
            return (node_id, "out")
        if op == "Pad":
            return self.pad(node, a)
        if op == "Softmin" and node.domain == FUSED:
            return self.layer(node, "Softmin", {"dim": a.get("axis", -1)})
        if op == "GLU" and node.domain == FUSED:
            return self.layer(node, "GLU", {"dim": a["axis"]})
        if op == "Concat":
            node_id = self.b.add("Concatenate", self.name(node), {"dim": a["axis"]},
                                 inputs=[self.value(i) for i in node.input])
            return (node_id, "out")
        if op in ("Softmax", "LogSoftmax"):
            return self.layer(node, op, {"dim": a.get("axis", -1)})
        raise _Refused("no catalog layer")

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
        raise ImportSourceError(f"{path.name} is not an ONNX model: {type(exc).__name__}: {first_line(exc)}") \
            from None
    check_external_data(model, path)
    try:
        load_external_data_for_model(model, str(path.resolve().parent))  # beside the model, never the working folder
        model = converted(model, path.name)
        imported = _OnnxReader(model, path.name).run(path)
    except ModelImportError:
        raise
    except Exception as exc:  # noqa: BLE001 — onnx's own checks of a damaged file, in its words
        raise ImportSourceError(f"{path.name} cannot be read as an ONNX model ({type(exc).__name__}: "
                                f"{first_line(exc)})") from None
    dims = model.graph.input[0].type.tensor_type.shape.dim
    batch = max(1, dims[0].dim_value) if dims and dims[0].HasField("dim_value") else 2
    check_test_run(imported.networks, batch, path.name)
    gen = torch.Generator().manual_seed(0)
    example = tuple(torch.randn(batch, *i.params["shape"], generator=gen)
                    for i in imported.networks.main_graph.inputs())
    return imported, example

