"""The ONNX project's own backend test models as an import benchmark (issue 29).

The `onnx` package ships `backend/test/data/pytorch-converted` (PyTorch layers exported to ONNX)
and `pytorch-operator` (operator cases), each a model.onnx with reference inputs and outputs in
test_data_set_0. `check_model` imports one, compiles it, and compares its outputs on the
reference inputs with the reference outputs. bench/onnx_coverage.py reports the share, and
tests/runtime/test_onnx_suite.py keeps the covered ones covered.
"""

from __future__ import annotations

from pathlib import Path

SUITES = ("pytorch-converted", "pytorch-operator")
TOLERANCE = 1e-4


def suite_models() -> list[Path]:
    """Every model folder of the two suites, in name order."""
    import onnx

    root = Path(onnx.__file__).parent / "backend" / "test" / "data"
    return sorted(p for suite in SUITES for p in (root / suite).iterdir() if (p / "model.onnx").is_file())


def reference_data(folder: Path):
    """The suite's reference inputs and outputs of one model, as torch tensors."""
    import onnx
    import torch
    from onnx import numpy_helper

    data = folder / "test_data_set_0"

    def read(prefix):
        tensors = []
        for f in sorted(data.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1])):
            t = onnx.TensorProto()
            t.ParseFromString(f.read_bytes())
            x = torch.from_numpy(numpy_helper.to_array(t).copy())
            tensors.append(x.float() if x.is_floating_point() else x)  # NetCanvas computes in float32
        return tensors
    return read("input"), read("output")


def check_model(folder: Path, reexport: bool = False) -> tuple[bool, str]:
    """(True, the largest difference) when the model imports and matches its reference outputs, else (False, why).

    With `reexport` the imported project is exported to ONNX again (torchscript exporter, the
    quicker one) and onnxruntime's outputs of that file are checked against the reference too.
    """
    import tempfile

    import torch

    from runtime.errors import NetCanvasRuntimeError
    from runtime.importers.model import UnsupportedModelError
    from runtime.importers.onnx_file import import_onnx
    from runtime.importers.project_files import check_imported

    try:
        imported, _ = import_onnx(folder / "model.onnx")
        inputs, expected = reference_data(folder)
        module, _ = check_imported(imported, tuple(inputs))
        with torch.no_grad():
            got = module(*inputs)
        outputs = {"the imported graph": got if isinstance(got, tuple) else (got,)}
        if reexport:
            with tempfile.TemporaryDirectory() as tmp:
                outputs["its ONNX export"] = _exported_outputs(module, imported, Path(tmp) / "m.onnx", inputs)
    except UnsupportedModelError as exc:
        return False, "; ".join(str(p) for p in exc.problems)
    except NetCanvasRuntimeError as exc:
        return False, " ".join(str(exc).split())
    worst = 0.0
    for what, got in outputs.items():
        problem, diff = _compare(got, expected)
        if problem:
            return False, f"{what}: {problem}"
        worst = max(worst, diff)
    return True, f"{worst:.1e}"


def _exported_outputs(module, imported, path: Path, inputs: list) -> tuple:
    import onnxruntime as ort
    import torch

    from runtime.export.formats import export_onnx

    export_onnx(module, path, graph=imported.networks.main_graph, exporter="torchscript")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return tuple(torch.from_numpy(o) for o in session.run(None, {n: x.numpy() for n, x in zip(names, inputs)}))


def _compare(got: tuple, expected: list) -> tuple[str | None, float]:
    """(what is wrong or None, the largest difference) of outputs against the reference outputs."""
    import torch

    from runtime.export.formats import largest_difference

    if len(got) != len(expected):
        return f"returns {len(got)} outputs, the reference {len(expected)}", 0.0
    worst = 0.0
    for g, e in zip(got, expected):
        if tuple(g.shape) != tuple(e.shape):
            return f"output shape {tuple(g.shape)}, the reference {tuple(e.shape)}", 0.0
        diff = largest_difference(g, e)
        scale = max(1.0, float(torch.nan_to_num(e.double(), 0, 0, 0).abs().max())) if e.numel() else 1.0
        if not diff <= TOLERANCE * scale:
            return f"outputs differ from the reference by {diff:.3g}", diff
        worst = max(worst, diff)
    return None, worst
