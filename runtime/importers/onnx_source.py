"""An ONNX file's source side: its opset (an older one converted to the one NetCanvas exports), its tensors'
declared sizes and external data checked before anything is read, and onnxruntime's session as the
reference an import must match (runtime.importers.onnx_file reads the graph)."""

from __future__ import annotations

from pathlib import Path

import torch

from graph_builder import limits
from graph_builder.files import not_regular

from runtime.importers.model import ImportSourceError, ModelImportError


def opset(model) -> int:
    """The default-domain opset `model` declares."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def converted(model, source: str):
    """`model` at the opset NetCanvas reads and exports (runtime.export.formats.ONNX_OPSET), when it is older."""
    from onnx import version_converter

    from runtime.export.formats import ONNX_OPSET

    found = opset(model)
    if found >= ONNX_OPSET:
        return model
    if found < 7:
        _channel_slopes(model)
    try:
        return version_converter.convert_version(model, ONNX_OPSET)
    except Exception as exc:  # noqa: BLE001 — the converter raises many kinds; its words name the op
        raise ImportSourceError(f"{source} uses ONNX opset {found}, which NetCanvas reads by converting it to opset "
                                f"{ONNX_OPSET}, and the conversion failed ({first_line(exc)}); re-export the "
                                f"model at opset {ONNX_OPSET}") from None


def _channel_slopes(model) -> None:
    """Before opset 7 a PRelu slope of shape (C,) meant one per channel; give it the shape that says so."""
    from onnx import numpy_helper, shape_inference

    ranks = {v.name: len(v.type.tensor_type.shape.dim)
             for v in [*shape_inference.infer_shapes(model).graph.value_info, *model.graph.input]}
    stored = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        slope = stored.get(node.input[1]) if node.op_type == "PRelu" and len(node.input) > 1 else None
        if slope is not None and len(slope.dims) == 1 and slope.dims[0] > 1 and ranks.get(node.input[0], 0) > 2:
            rank = ranks[node.input[0]]
            value = numpy_helper.to_array(slope).reshape(slope.dims[0], *[1] * (rank - 2))
            slope.CopyFrom(numpy_helper.from_array(value, slope.name))
            for i in model.graph.input:
                if i.name == slope.name:
                    del i.type.tensor_type.shape.dim[1:]
                    for _ in range(rank - 2):
                        i.type.tensor_type.shape.dim.add().dim_value = 1


def onnxruntime_reference(model, path: Path):
    """onnxruntime's session of the model as read (its external data loaded), as the reference to match."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # its warnings about old opsets are not the user's to act on
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime refuses what it cannot run, in its own words
        raise ImportSourceError(f"onnxruntime cannot load {path.name} to check the import against it "
                                f"({first_line(exc)})") from None
    names = [i.name for i in session.get_inputs()]
    wide = {i.name for i in session.get_inputs() if i.type == "tensor(double)"}

    def run(*xs):
        try:
            outs = session.run(None, {n: (x.double() if n in wide else x).numpy() for n, x in zip(names, xs)})
        except Exception as exc:  # noqa: BLE001
            raise ModelImportError(f"onnxruntime could not run {path.name} on a test input ({first_line(exc)}); "
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

def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, short enough for a one-line message."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
