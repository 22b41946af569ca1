"""Bring models in: torchvision by name, a Python file, a .pt2 or an ONNX file as an editable project.

    from runtime.importers import import_model
    report = import_model("resnet18", "resnet18.json", input_shape=(3, 224, 224))
"""

from runtime.importers.model import (
    ImportedModel, ImportSourceError, ModelImportError, Unsupported, UnsupportedModelError,
)
from runtime.importers.project_files import (
    ImportReport, ProjectWeightsError, RoundTripError, load_project_weights, project_weights_path,
)
from runtime.importers.sources import import_model, read_source, source_kind, torchvision_names

__all__ = [
    "ImportReport", "ImportSourceError", "ImportedModel", "ModelImportError", "ProjectWeightsError",
    "RoundTripError", "Unsupported", "UnsupportedModelError", "import_model", "load_project_weights",
    "project_weights_path", "read_source", "source_kind", "torchvision_names",
]
