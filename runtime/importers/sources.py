"""Where an import starts: a torchvision model by name, a Python file and class, a .pt2 or an ONNX file.

Only a Python file runs code from disk (the user chose it, and the dialog and the CLI say so);
ONNX and .pt2 files are read as data. torchvision models are built with random weights
(`weights=None`) unless `pretrained` names torchvision's weights (`DEFAULT`, `IMAGENET1K_V1`):
those are downloaded into torch's hub cache (runtime.pretrained.torchvision_hub) and go
through the same mapping into the project's safetensors.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import torch

from runtime.importers.model import DEFAULT_IMAGE_SHAPE, ImportedModel, ImportSourceError


def torchvision_names() -> list[str]:
    """The classification models torchvision can build by name."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def source_kind(source: str) -> str:
    """torchvision | python | pt2 | onnx, from the source's suffix (a bare word is a torchvision name)."""
    text = str(source)
    if ".py:" in text:  # FILE.py:Class
        return "python"
    suffix = Path(text).suffix.lower()
    if suffix == ".py":
        return "python"
    if suffix == ".pt2":
        return "pt2"
    if suffix == ".onnx":
        return "onnx"
    if os.sep in text or "/" in text or suffix:
        raise ImportSourceError(f"cannot import {text!r}: give a torchvision model name (e.g. resnet18), a Python "
                                "file with a class (model.py:Net), a .pt2 file or an .onnx file")
    return "torchvision"


def torchvision_model(name: str, pretrained: str | None = None, progress=None, cancelled=None) -> torch.nn.Module:
    """torchvision's model `name`: random weights (no download), or its pretrained weights `pretrained`."""
    import torchvision

    names = torchvision_names()
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ImportSourceError(f"torchvision has no classification model {name!r}{hint}")
    if pretrained:
        from runtime.pretrained.torchvision_hub import pretrained_model

        return pretrained_model(name, pretrained, progress, cancelled).eval()
    return torchvision.models.get_model(name, weights=None).eval()


def python_model(path: str | os.PathLike, class_name: str) -> torch.nn.Module:
    """Run the Python file `path` (the user's choice) and build `class_name()` from it."""
    path = Path(path)
    if not path.is_file():
        raise ImportSourceError(f"there is no Python file {str(path)!r}")
    name = f"netcanvas_import_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)  # the one place an import runs code: the file the user chose
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ImportSourceError(f"running {path.name} failed: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        found = sorted(k for k, v in vars(module).items()
                       if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == name)
        raise ImportSourceError(f"{path.name} has no nn.Module class {class_name!r}"
                                + (f"; it defines {', '.join(found)}" if found else ""))
    try:
        return cls().eval()
    except Exception as exc:
        raise ImportSourceError(f"{class_name}() failed: {type(exc).__name__}: {exc}; the class must build "
                                "without arguments") from exc


def read_source(source: str, class_name: str | None = None, input_shape: tuple[int, ...] | None = None,
                pretrained: str | None = None, progress=None,
                cancelled=None) -> tuple[ImportedModel, tuple[torch.Tensor, ...]]:
    """The ImportedModel of `source` and the example input it was checked on (`pretrained`: torchvision only)."""
    kind = source_kind(source)
    if pretrained and kind != "torchvision":
        raise ImportSourceError("pretrained weights come with torchvision models; a file brings its own weights")
    if kind in ("torchvision", "python"):
        from runtime.importers.fx_module import import_module

        if kind == "torchvision":
            module, label = torchvision_model(source, pretrained, progress, cancelled), f"torchvision {source}"
            shape = tuple(input_shape or DEFAULT_IMAGE_SHAPE)
        else:
            file, _, cls = str(source).rpartition(".py:") if ".py:" in str(source) else (str(source), "", "")
            file = file + ".py" if cls else file
            cls = cls or class_name
            if not cls:
                raise ImportSourceError("a Python file needs the class to import: FILE.py:ClassName or --class")
            if not input_shape:
                raise ImportSourceError("give the input shape of the Python model without the batch "
                                        "(--input-shape 3,32,32)")
            module, label = python_model(file, cls), f"{Path(file).name}:{cls}"
            shape = tuple(input_shape)
        imported = import_module(module, shape, label)
        if kind == "torchvision" and pretrained:
            from runtime.pretrained.torchvision_hub import describe

            imported.weights_from = f"torchvision {describe(source, pretrained)}"
        example = (torch.randn(2, *shape, generator=torch.Generator().manual_seed(0)),)
        return imported, example
    if kind == "pt2":
        from runtime.importers.pt2_file import import_pt2

        return import_pt2(source)
    from runtime.importers.onnx_file import import_onnx

    return import_onnx(source)


def import_model(source: str, out: str | os.PathLike, class_name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, pretrained: str | None = None, progress=None,
                 cancelled=None):
    """Import `source` into the project file `out` (with its weights beside it); returns an ImportReport.

    `pretrained` (torchvision only) downloads torchvision's weights of that name first,
    reporting `progress(done, total)` and stopping when `cancelled()` says so.
    """
    from runtime.importers.project_files import write_imported_project

    imported, example = read_source(source, class_name, input_shape, pretrained, progress, cancelled)
    return write_imported_project(imported, out, example)
