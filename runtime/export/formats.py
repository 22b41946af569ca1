"""Export: the generated Python file, safetensors weights, ONNX (parity-checked) and torch.export .pt2.

Every write is atomic (a temporary file in the target folder, then a rename), so a failed
export leaves nothing behind and never a half-written file.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from graph_builder.graph import Graph
from graph_builder.files import WriteError, not_regular, replace_atomic, temp_beside, write_atomic
from graph_builder.run_folder import WEIGHTS

from runtime.compile.codegen import ModelInterface, generate_source, model_interface
from runtime.compile.compiler import build_module, interface_of
from runtime.errors import NetCanvasRuntimeError
from runtime.compile.lowering import not_exportable_to_onnx

ONNX_TOLERANCE = 1e-4
ONNX_OPSET = 18


class ExportError(NetCanvasRuntimeError):
    """An export that could not be written."""


class WeightsMismatchError(ExportError):
    """A weights file whose tensors do not fit the model."""


class WeightsFileError(ExportError):
    """A weights file that cannot be read."""


class OnnxUnsupportedError(ExportError):
    """The model holds a layer ONNX export cannot handle."""


class OnnxExportError(ExportError):
    """The ONNX exporter or checker failed."""


class OnnxParityError(ExportError):
    """onnxruntime's outputs differ from torch's by more than the tolerance."""


# ---------------------------------------------------------------- helpers


def example_inputs(iface: ModelInterface, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shapes and dtypes (token ids stay inside the vocabulary)."""
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for i in iface.inputs:
        shape = (batch, *i.shape[1:])
        if i.dtype == "int64":
            tensors.append(torch.randint(0, i.vocab or 2, shape, generator=gen))
        else:
            tensors.append(torch.randn(shape, generator=gen))
    return tuple(tensors)


def _check_target(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{str(path)!r} is a folder; give a file name to export to")
    if not path.parent.is_dir():
        raise ExportError(f"the folder {str(path.parent)!r} does not exist; create it or choose another place")
    return path


def _resolve(target: Graph | nn.Module) -> tuple[nn.Module, ModelInterface]:
    if isinstance(target, Graph):
        module = build_module(target)
        return module, interface_of(module)
    iface = interface_of(target)
    if iface is None:
        raise ExportError("this module was not built by runtime.compile.compiler.build_module, so its input names "
                          "and shapes are unknown; pass the graph (or a module built from it)")
    return target, iface


# ---------------------------------------------------------------- python


def export_python(graph: Graph, path: str | os.PathLike, class_name: str | None = None) -> Path:
    """Write the generated module as a standalone file (imports only torch) with a runnable demo."""
    path = _check_target(path)
    source = generate_source(graph, class_name, main=True)
    write_atomic(path, source.encode("utf-8"))
    return path


# ---------------------------------------------------------------- weights


def export_weights(module: nn.Module, path: str | os.PathLike) -> Path:
    """Write the module's state dict as safetensors."""
    from safetensors.torch import save

    path = _check_target(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    iface = interface_of(module)
    metadata = {"format": "netcanvas"}
    if iface is not None:
        metadata["class"] = iface.class_name
    write_atomic(path, save(tensors, metadata=metadata))
    return path


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; raises WeightsFileError when it cannot be read."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    from graph_builder import limits

    path = Path(path)
    problem = not_regular(path)
    if problem:  # /dev/zero would read until memory runs out, a FIFO block for ever
        raise WeightsFileError(f"{problem}; weights are read from a .safetensors file")
    try:
        data = limits.read_bounded(path, limits.MODEL, "a weights file", WeightsFileError)
    except FileNotFoundError:
        raise WeightsFileError(f"there is no weights file {str(path)!r}") from None
    except OSError as exc:
        raise WeightsFileError(f"cannot read the weights file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return load(data)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise WeightsFileError(
            f"{path.name} is not a safetensors weights file ({exc}); use the {WEIGHTS['best']} or "
            f"{WEIGHTS['last']} of a training run"
        ) from None


def load_weights(module: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a safetensors file into `module`; raises WeightsMismatchError naming what does not fit."""
    tensors = read_weights(path)
    expected = module.state_dict()
    problems = []
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing:
        problems.append("missing " + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))
    if extra:
        problems.append("unexpected " + ", ".join(extra[:5]) + (" …" if len(extra) > 5 else ""))
    for key, value in tensors.items():
        if key in expected and tuple(value.shape) != tuple(expected[key].shape):
            problems.append(f"{key} has shape {tuple(value.shape)} in the file but {tuple(expected[key].shape)} "
                            "in the model")
    if problems:
        raise WeightsMismatchError(
            f"{Path(path).name} does not fit this model: " + "; ".join(problems[:6])
            + ". Use weights trained from this same graph, or retrain after changing it."
        )
    module.load_state_dict(tensors, strict=True)
    return module


# ---------------------------------------------------------------- ONNX


@dataclass
class OnnxReport:
    """What export_onnx wrote and how closely onnxruntime reproduced torch."""

    path: Path
    exporter: str
    opset: int
    input_names: list[str]
    output_names: list[str]
    batch_sizes: tuple[int, ...]
    max_abs_diff: float
    tolerance: float
    seconds: float
    size_bytes: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def summary(self) -> str:
        return (f"wrote {self.path} ({self.size_bytes:,} bytes, {self.exporter} exporter, opset {self.opset}); "
                f"onnxruntime matches torch within {self.max_abs_diff:.2e} (tolerance {self.tolerance:g}) "
                f"for batch sizes {', '.join(map(str, self.batch_sizes))}")


def largest_difference(want, have) -> float:
    """The largest |want - have| (arrays or tensors); equal infinities and NaN in both places agree, NaN in one is inf."""
    import numpy as np

    want, have = (np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
                  for x in (want, have))
    if want.size == 0:
        return 0.0
    agree = (want == have) | (np.isnan(want) & np.isnan(have))
    gaps = np.where(agree, 0.0, np.abs(want - have))
    return float(np.nan_to_num(gaps, nan=np.inf).max())


def _unsupported(graph: Graph | None) -> None:
    if graph is None:
        return
    refused = not_exportable_to_onnx()
    for node in graph.nodes.values():
        if node.type_id in refused:
            raise OnnxUnsupportedError(
                f"{node.name} ({node.type_id}) cannot be exported to ONNX: {refused[node.type_id]}; "
                "export Python or pt2 instead"
            )


def _export_torchscript(module, args, tmp: Path, iface: ModelInterface, opset: int) -> None:
    input_names = [i.export_name for i in iface.inputs]
    output_names = [o.name for o in iface.outputs]
    axes = {name: {0: "batch"} for name in input_names + output_names}
    # torch's deprecation warning for this exporter is left to show: it is the fallback now
    torch.onnx.export(module, args, str(tmp), dynamo=False, input_names=input_names,
                      output_names=output_names, dynamic_axes=axes, opset_version=opset,
                      do_constant_folding=True)


def _export_dynamo(module, args, tmp: Path, iface: ModelInterface, opset: int) -> None:
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    shapes = tuple({0: batch} for _ in args)
    program = torch.onnx.export(module, args, dynamo=True, input_names=[i.export_name for i in iface.inputs],
                                output_names=[o.name for o in iface.outputs], dynamic_shapes=shapes,
                                opset_version=opset, verbose=False, optimize=True)
    program.save(str(tmp), external_data=False)


EXPORTERS = {"torchscript": _export_torchscript, "dynamo": _export_dynamo}


def export_onnx(target: Graph | nn.Module, path: str | os.PathLike, *, graph: Graph | None = None,
                exporter: str = "auto", opset: int = ONNX_OPSET, tolerance: float = ONNX_TOLERANCE,
                seed: int = 0, metadata: dict[str, str] | None = None) -> OnnxReport:
    """Export to ONNX with a dynamic batch dimension, check it, and prove onnxruntime matches torch.

    `target` is a graph (exported with fresh weights) or a module from build_module (e.g. after
    training; pass its `graph` too so unsupported layers are named). A mismatch above
    `tolerance` raises OnnxParityError and writes nothing. `metadata` becomes the file's
    metadata properties (runtime.export.preprocess: class names, input, normalisation, version).
    """
    import onnx
    import onnxruntime as ort

    if exporter not in ("auto", *EXPORTERS):
        raise ExportError(f"unknown ONNX exporter {exporter!r}; use auto, {', '.join(EXPORTERS)}")
    path = _check_target(path)
    _unsupported(target if isinstance(target, Graph) else graph)
    module, iface = _resolve(target)
    started = time.perf_counter()
    was_training = module.training
    module.eval()
    tmp = temp_beside(path)
    try:
        args = example_inputs(iface, batch=2, seed=seed)
        notes: list[str] = []
        # auto: torch's own default, the dynamo (torch.export) exporter, first; the deprecated
        # TorchScript exporter only when it fails, with the reason kept in the report's notes.
        chosen = ("dynamo", "torchscript") if exporter == "auto" else (exporter,)
        for attempt, name in enumerate(chosen):
            try:
                EXPORTERS[name](module, args, tmp, iface, opset)
                if metadata:
                    proto = onnx.load(str(tmp))
                    onnx.helper.set_model_props(proto, {str(k): str(v) for k, v in metadata.items()})
                    onnx.save(proto, str(tmp))
                onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
                exporter = name
                break
            except OSError as exc:  # a full disk or read-only folder: no other exporter will do better
                raise WriteError(path, exc) from None
            except Exception as exc:  # noqa: BLE001 — the exporters raise many kinds; name the cause
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                message = f"{name} exporter failed: {type(exc).__name__}: {first_line[:400]}"
                if attempt + 1 < len(chosen):
                    notes.append(message)
                    continue
                raise OnnxExportError(f"ONNX export failed; {'; '.join(notes + [message])}") from exc
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        wanted = ([i.export_name for i in iface.inputs], [o.name for o in iface.outputs])
        if (names, [o.name for o in session.get_outputs()]) != wanted:
            raise OnnxExportError(f"the ONNX file names its inputs/outputs {names} / "
                                  f"{[o.name for o in session.get_outputs()]} instead of {wanted[0]} / {wanted[1]}")
        worst = 0.0
        batches = (3, 1)  # other than the export batch: proves the batch dimension is dynamic
        for b in batches:
            inputs = example_inputs(iface, batch=b, seed=seed + b)
            with torch.no_grad():
                expected = module(*inputs)
            expected = expected if isinstance(expected, tuple) else (expected,)
            got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
            for o, want, have in zip(iface.outputs, expected, got):
                want = want.detach().cpu().numpy()
                if want.shape != have.shape:
                    raise OnnxParityError(f"ONNX output {o.name} has shape {have.shape} but torch gives "
                                          f"{want.shape} for batch {b}")
                diff = largest_difference(want, have)
                worst = max(worst, diff)
                if not diff <= tolerance:
                    raise OnnxParityError(
                        f"onnxruntime differs from torch by {diff:.3g} on output {o.name} (batch {b}); "
                        f"the tolerance is {tolerance:g}. The ONNX file was not written."
                    )
        replace_atomic(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        module.train(was_training)
    return OnnxReport(path, exporter, opset, names, [o.name for o in iface.outputs], batches, worst, tolerance,
                      time.perf_counter() - started, path.stat().st_size, notes)


# ---------------------------------------------------------------- torch.export


def export_pt2(module: nn.Module, example: tuple[torch.Tensor, ...] | None, path: str | os.PathLike,
               extra_files: dict[str, str] | None = None) -> Path:
    """Save a torch.export ExportedProgram (.pt2) with a dynamic batch dimension (and `extra_files` in it)."""
    path = _check_target(path)
    if example is None:
        iface = interface_of(module)
        if iface is None:
            raise ExportError("pass example inputs, or a module built by build_module")
        example = example_inputs(iface)
    was_training = module.training
    module.eval()
    try:
        batch = torch.export.Dim("batch", min=1, max=1 << 20)
        try:
            with warnings.catch_warnings():
                # RNN/LSTM/GRU re-assign their flat weight list when traced; harmless here
                warnings.filterwarnings("ignore", message=".*_flat_weights.*")
                program = torch.export.export(module, tuple(example),
                                              dynamic_shapes=tuple({0: batch} for _ in example))
        except Exception as exc:  # noqa: BLE001 — name the cause for the user
            raise ExportError(f"torch.export failed: {type(exc).__name__}: {str(exc).strip()[:500]}") from exc
        buffer = io.BytesIO()  # serialised first: a full disk is then one OSError naming the file, not torch's
        torch.export.save(program, buffer, extra_files=extra_files)
        write_atomic(path, buffer.getvalue())
    finally:
        module.train(was_training)
    return path


__all__ = [
    "ExportError", "OnnxExportError", "OnnxParityError", "OnnxReport", "OnnxUnsupportedError",
    "WeightsFileError", "WeightsMismatchError", "example_inputs", "export_onnx", "export_pt2",
    "export_python", "export_weights", "load_weights", "model_interface", "read_weights",
]
