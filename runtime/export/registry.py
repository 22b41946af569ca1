"""One registry of export formats: what each writes, its file suffix, its options and what it needs of a run.

`netcanvas export --format KEY` offers the registry's keys, the app's Export menu its entries the
project's task allows, and both write through `export(key, request)`, so a format added here (or by a
test) is in both. A task's runtime may write a format its own way (a GAN's Python holds both
networks; its ONNX is one of them) or not offer it: runtime.tasks, TaskRuntime.exporters.

    written = export("onnx", Request(project, Path("model.onnx"), run=Path("runs/3")))
    print(written.message)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import NetCanvasRuntimeError
from runtime.export.requests import Request, Written, onnx_words


Writer = Callable[[Request], Written]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its key, how the menu and the file dialog name it, and how it is written."""

    key: str
    menu_text: str  # "&ONNX…"
    file_filter: str  # "ONNX models (*.onnx)"
    suffix: str
    help: str  # for `netcanvas export --help`
    write: Writer
    needs_weights: bool = False  # without trained weights it writes fresh seeded ones (and says so)
    takes_run: bool = True  # a chosen run's weights (and its normalisation, classes) go with it
    options: tuple[str, ...] = field(default=())  # which Request options it reads: exporter, seed, class_name


FORMATS: dict[str, ExportFormat] = {}


def register_format(fmt: ExportFormat) -> ExportFormat:
    """Add a format (the built-in ones register below; a test or a plug-in may add its own)."""
    if fmt.key in FORMATS:
        raise ValueError(f"export format {fmt.key!r} is registered twice")
    FORMATS[fmt.key] = fmt
    return fmt


def unregister_format(key: str) -> None:
    FORMATS.pop(key, None)


class UnknownFormatError(NetCanvasRuntimeError, ValueError):
    """An export format nobody registered, or one the project's task does not have."""


def task_of(request: Request):
    """The task whose export this is: the run's (when a run's weights go along), else the project's."""
    from graph_builder.tasks import project_task, run_task

    if request.run is not None:
        from runtime.train.runlog import read_config

        try:
            return run_task(read_config(request.run))
        except Exception:  # noqa: BLE001 — an unreadable run is refused by the run checks, in their words
            pass
    return project_task(request.project)


def formats_for(spec) -> list[ExportFormat]:
    """The registered formats a task's runtime offers, in registry order (the Export menu's rows)."""
    from runtime.tasks import task_runtime

    runtime = task_runtime(spec)
    return [f for f in FORMATS.values() if runtime.offers_export(f.key)]


def export(key: str, request: Request) -> Written:
    """Write export `key` of `request`: the task's own writer for it when it has one, else the format's."""
    from runtime.tasks import task_runtime

    fmt = FORMATS.get(key)
    if fmt is None:
        raise UnknownFormatError(f"unknown export format {key!r}; known: {', '.join(FORMATS)}")
    spec = task_of(request)
    runtime = task_runtime(spec)
    if not runtime.offers_export(key):
        raise UnknownFormatError(f"a {spec.title.lower()} project has no {key} export; its exports are "
                                 f"{', '.join(f.key for f in formats_for(spec))}")
    writer = runtime.exporters().get(key)
    written = writer(request) if writer is not None else None
    return written if written is not None else fmt.write(request)


# ---------------------------------------------------------------- the built-in formats (one network)

def _about(run: Path, prep) -> str:
    """What a run's export is, after the sentence that says what was written."""
    raw = " It takes raw inputs: the model normalises them itself." if prep.mean is not None else ""
    if prep.text is not None:
        raw = (" It takes token ids: tokenizer.json, written beside it, turns raw text into them (the Python "
               "file's tokenize() reads it).")
    return f" It is run {run.name}'s model.{raw}"


def _module(request: Request):
    """The network with the request's weights: given ones, the imported ones, or fresh seeded ones; and a note."""
    from runtime.compile import build_module
    from runtime.export.formats import load_weights

    project = request.project
    graph = project.network(request.network)
    module = build_module(graph, seed=request.seed, class_name=request.class_name)
    if request.weights:
        load_weights(module, request.weights)
        return module.eval(), ""
    imported = isinstance(project.meta.get("weights"), dict) and request.network is None and not request.untrained
    if imported and request.project_path is not None:  # an imported project: its own weights, from meta.weights
        from runtime.importers import load_project_weights

        used = load_project_weights(project, request.project_path, module)
        return module.eval(), f", using the imported weights {used.name}"
    return module.eval(), f" (untrained weights, seed {request.seed})"


def write_python(request: Request) -> Written:
    from runtime.export.formats import export_python
    from runtime.export.preprocess import export_run_python, read_preprocessing

    graph = request.project.network(request.network)
    if request.run is not None and request.weights:
        prep = read_preprocessing(request.run)
        code, weights = export_run_python(graph, prep, request.weights, request.out, class_name=request.class_name)
        return Written(code, f"Wrote the model's Python code to {code} and its weights to {weights.name} beside it; "
                             f"load_model() reads them.{_about(request.run, prep)}", weights_path=weights)
    path = export_python(graph, request.out, class_name=request.class_name)
    return Written(path, f"Wrote the model's Python code to {path}.")


def write_onnx(request: Request) -> Written:
    from runtime.export.formats import export_onnx
    from runtime.export.preprocess import export_run_onnx, read_preprocessing

    graph = request.project.network(request.network)
    if request.run is not None and request.weights:
        prep = read_preprocessing(request.run)
        report = export_run_onnx(graph, prep, request.weights, request.out, exporter=request.exporter,
                                 seed=request.seed)
        return Written(request.out, onnx_words(report, request.out) + _about(request.run, prep), ok=bool(report.ok),
                       onnx=report)
    module, note = _module(request)
    report = export_onnx(module, request.out, graph=graph, exporter=request.exporter, seed=request.seed)
    return Written(request.out, onnx_words(report, request.out).rstrip(".") + f"{note}.", ok=bool(report.ok),
                   onnx=report)


def write_onnx_int8(request: Request) -> Written:
    from runtime.export.preprocess import build_run_module, read_preprocessing
    from runtime.export.quantize import QuantData, export_onnx_int8

    graph = request.project.network(request.network)
    if request.run is not None and request.weights:
        prep = read_preprocessing(request.run)
        module = build_run_module(graph, prep, request.weights)
        metadata, after = prep.metadata(module.netcanvas_interface.inputs[0].export_name), _about(request.run, prep)
        data = QuantData.of(request.project.dataset, raw=prep.mean is not None)  # it normalises inside
    else:
        (module, note), metadata = _module(request), None
        after = f" Weights: {note.strip(' ,()').removeprefix('using ')}." if note else ""
        data = QuantData.of(request.project.dataset)
    report = export_onnx_int8(module, request.out, graph=graph, data=data, metadata=metadata,
                              exporter=request.exporter, seed=request.seed)
    return Written(request.out, report.summary() + after, ok=report.ok)


def write_pt2(request: Request) -> Written:
    from runtime.export.formats import export_pt2
    from runtime.export.preprocess import export_run_pt2, read_preprocessing

    graph = request.project.network(request.network)
    _refuse_packed(graph)
    if request.run is not None and request.weights:
        prep = read_preprocessing(request.run)
        path = export_run_pt2(graph, prep, request.weights, request.out)
        return Written(path, f"Wrote a torch.export program to {path}.{_about(request.run, prep)}")
    module, note = _module(request)
    path = export_pt2(module, None, request.out)
    return Written(path, f"Wrote a torch.export program to {path}{note}.")


def _refuse_packed(graph) -> None:
    """torch.export cannot trace a packed sequence (its lengths are data): say so before it tries."""
    from runtime.export.formats import ExportError

    for node in graph.nodes.values():
        output = node.params.get("output")
        if isinstance(output, str) and output.endswith("_unpadded"):
            raise ExportError(f"{node.name} packs its padded sequences (output {output}), which torch.export cannot "
                              "trace; export as Python or ONNX, or set its output to "
                              f"{output.removesuffix('_unpadded')}")


def write_weights(request: Request) -> Written:
    from runtime.export.formats import export_weights

    module, note = _module(request)
    path = export_weights(module, request.out)
    if request.run is not None:  # a text run's weights mean nothing without its vocabulary
        from runtime.export.preprocess import read_preprocessing, write_tokenizer

        if write_tokenizer(read_preprocessing(request.run), path) is not None:
            note += " and the run's tokenizer.json beside them"
    return Written(path, f"Wrote the weights to {path}{note}.")


def write_script(request: Request) -> Written:
    from runtime.export.script import export_training_script

    path = export_training_script(request.project, request.out, request.project_path, request.download)
    return Written(path, f"Wrote a standalone training script to {path}; it trains as the app does "
                         f"(python {path.name}, or torchrun --nproc_per_node=N {path.name}).")


for _fmt in (
    ExportFormat("python", "&Python code…", "Python files (*.py)", ".py",
                 "the model as a Python module (with --run: its weights beside it, taking raw data)", write_python,
                 options=("class_name",)),
    ExportFormat("script", "Python &training script…", "Python files (*.py)", ".py",
                 "a standalone training script (torch, numpy, scikit-learn) that trains as the app does",
                 write_script, takes_run=False),
    ExportFormat("onnx", "&ONNX…", "ONNX models (*.onnx)", ".onnx", "ONNX, parity-checked with onnxruntime",
                 write_onnx, needs_weights=True, options=("exporter", "seed", "class_name")),
    ExportFormat("onnx-int8", "ONNX &int8 (for devices)…", "ONNX models (*.onnx)", ".onnx",
                 "int8 ONNX (onnxruntime quantisation: static, calibrated on the training split, for CNNs; dynamic "
                 "otherwise), with its size and test accuracy against the float file", write_onnx_int8,
                 needs_weights=True, options=("exporter", "seed")),
    ExportFormat("weights", "&Weights (safetensors)…", "safetensors files (*.safetensors)", ".safetensors",
                 "the weights as safetensors", write_weights, needs_weights=True, options=("seed",)),
    ExportFormat("pt2", "torch.e&xport program…", "torch.export programs (*.pt2)", ".pt2", "a torch.export program",
                 write_pt2, needs_weights=True, options=("seed", "class_name")),
):
    register_format(_fmt)
