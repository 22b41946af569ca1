"""What leaves the app: one registry of export formats (the generated Python file, the training script, ONNX
(parity-checked), int8 ONNX (measured against the float file), weights, torch.export .pt2), a run's raw-data
wrappers and a GAN's two networks.

The registry (runtime.export.registry) is imported without torch, so `netcanvas export --help` and the
app's Export menu can list the formats at once; everything else here loads torch when first used.
"""

from __future__ import annotations

import importlib

from runtime.export.registry import (FORMATS, ExportFormat, Request, UnknownFormatError, Written, export, formats_for,
                                     register_format, unregister_format)

_LAZY = {
    "formats": ("ExportError", "OnnxExportError", "OnnxParityError", "OnnxReport", "OnnxUnsupportedError",
                "WeightsFileError", "WeightsMismatchError", "example_inputs", "export_onnx", "export_pt2",
                "export_python", "export_weights", "load_weights", "read_weights"),
    "gan": ("GanExportError", "export_gan_network", "export_gan_python", "gan_settings", "run_settings"),
    "preprocess": ("Preprocessing", "PreprocessError", "build_run_module", "export_run_onnx", "export_run_pt2",
                   "export_run_python", "read_preprocessing"),
    "quantize": ("Int8Report", "QuantData", "QuantizeError", "export_onnx_int8"),
    "script": ("ScriptExportError", "export_training_script"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"runtime.export.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'runtime.export' has no attribute {name!r}")


__all__ = ["FORMATS", "ExportFormat", "Request", "UnknownFormatError", "Written", "export", "formats_for",
           "register_format", "unregister_format", *_WHERE]
