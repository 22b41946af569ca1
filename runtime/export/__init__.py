"""What leaves the app: the generated Python file, weights, ONNX (parity-checked), torch.export .pt2,
a run's raw-data wrappers, a GAN's two networks and the standalone training script."""

from runtime.export.formats import (
    ExportError, OnnxExportError, OnnxParityError, OnnxReport, OnnxUnsupportedError, WeightsFileError,
    WeightsMismatchError, example_inputs, export_onnx, export_pt2, export_python, export_weights, load_weights,
    read_weights,
)
from runtime.export.gan import GanExportError, export_gan_network, export_gan_python, gan_settings, run_settings
from runtime.export.preprocess import (
    Preprocessing, PreprocessError, build_run_module, export_run_onnx, export_run_pt2, export_run_python,
    read_preprocessing,
)
from runtime.export.script import ScriptExportError, export_training_script

__all__ = [
    "ExportError", "GanExportError", "OnnxExportError", "OnnxParityError", "OnnxReport", "OnnxUnsupportedError",
    "PreprocessError", "Preprocessing", "ScriptExportError", "WeightsFileError", "WeightsMismatchError",
    "build_run_module", "example_inputs", "export_gan_network", "export_gan_python", "export_onnx", "export_pt2",
    "export_python", "export_run_onnx", "export_run_pt2", "export_run_python", "export_training_script",
    "export_weights", "gan_settings", "load_weights", "read_preprocessing", "read_weights", "run_settings",
]
