"""What a run's model expects of its raw inputs, and the exported form that applies it itself.

A run's configuration records the dataset's normalisation constants (from its training split),
its classes and task (`resolved` in runtime/train/trainer.py). `read_preprocessing` reads them back.
`run_source` writes the network's generated classes unchanged (codegen parity still holds for
the network alone) followed by a `Preprocessed<Net>` wrapper: the mean and std as registered
buffers, `forward` normalising the raw input, then calling the network. Beside it go `CLASSES`,
`TASK` and `load_model()`, which reads the run's weights (safetensors) from beside the file.
`build_run_module` compiles that same text, so ONNX and pt2 exports take raw data too.

Class names are data, not code: they reach the text only through runtime.codetext (`ascii()`
literals, each checked with `ast.literal_eval` to read back as itself).
"""

from __future__ import annotations

import ast
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.codetext import comment_text, text_literal
from runtime.errors import NetCanvasRuntimeError

TOKENIZER_FILE = "tokenizer.json"  # beside every export of a text run


class PreprocessError(NetCanvasRuntimeError):
    """A run whose record of its inputs cannot be read."""


@dataclass(frozen=True)
class Preprocessing:
    """A run's raw-input contract: shape, dtype, normalisation constants, classes and task."""

    task: str
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]  # one sample, without the batch dimension
    dtype: str
    dataset: str | None = None
    image: bool = False
    mean: np.ndarray | None = None  # shaped to broadcast against one sample: (C, 1, 1) or (F,)
    std: np.ndarray | None = None
    loss: str | None = None
    run: str | None = None
    adapter: object | None = None  # graph_builder.input_adapter.InputAdapter of the run's dataset, when active
    raw_image_size: int | None = None  # an image folder's image_size: files were read at this size, then adapted
    text: dict | None = None  # a text run's tokenizer: {"json": tokenizer.json's content, "max_length", ...}
    target_mean: float | None = None  # a series' target was standardised: outputs times std plus mean are raw
    target_std: float | None = None

    def tokenizer(self):
        """The run's `tokenizers.Tokenizer` (padding and truncation to its max_length set); None for non-text runs."""
        if self.text is None:
            return None
        from runtime.data.text import read_tokenizer

        return read_tokenizer(json.dumps(self.text["json"]))

    def tokenizer_json(self) -> str:
        """tokenizer.json's text, as an export writes it beside the model."""
        return json.dumps(self.text["json"], ensure_ascii=False, indent=2)

    def adapt(self, x: np.ndarray) -> np.ndarray:
        """Raw images (N, C, H, W) of the dataset's own size through the run's input adapter (resize, channels).

        The normalisation is not applied here: `normalise` (and the exported model) does it.
        """
        x = np.asarray(x)
        if self.adapter is None or tuple(x.shape[1:]) == tuple(self.input_shape) or x.ndim != 4:
            return x
        from runtime.data.adapter import adapt_images

        return adapt_images(x.astype(np.float32), self.adapter, "the input")

    @property
    def pixel_max(self) -> float:
        """The raw value of a white pixel (255 in an 8-bit image file)."""
        from runtime.data.registry import pixel_max

        return pixel_max(self.dataset)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """(raw - mean) / std as in training (numpy; the exported model does the same in torch)."""
        x = np.asarray(x, dtype=np.float32 if self.dtype == "float32" else np.int64)
        if self.mean is None:
            return x
        return ((x - self.mean) / self.std).astype(np.float32)

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities (N, k) from the model's first output, as the trainer's loss reads it."""
        scores = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
        if scores.shape[1] == 1 and len(self.classes) == 2:  # one logit, binary cross-entropy
            p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1 - p, p], axis=1)
        if self.loss == "nll":  # the network ends in LogSoftmax
            return np.exp(scores)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def describe_input(self, name: str = "input") -> str:
        """`image (N, 1, 8, 8) float32, raw values as in the digits data (0-16) …` for metadata and docs."""
        shape = "(N, " + ", ".join(map(str, self.input_shape)) + ")"
        text = f"{name} {shape} {self.dtype}"
        source = f"the {self.dataset} data" if self.dataset else "the training data"
        if self.text is not None:
            return text + f", token ids of raw text from {TOKENIZER_FILE} (padded with 0 at the end)"
        if self.image:
            text += f", raw pixel values as in {source} (0-{self.pixel_max:g})"
        else:
            text += f", raw values as in {source}"
        if self.adapter is not None:
            text += f"; the data were adapted first ({self.adapter.describe()}): give inputs of this size"
        if self.mean is not None:
            backbone = self.adapter is not None and self.adapter.mean is not None
            text += ("; the model normalises them itself with " +
                     ("the backbone's mean and std" if backbone else "its training split's mean and std"))
        return text

    def metadata(self, input_name: str = "input") -> dict[str, str]:
        """ONNX metadata properties: class names, task, input description, normalisation, version."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            netcanvas = version("netcanvas")
        except PackageNotFoundError:
            netcanvas = "unknown"
        props = {"classes": json.dumps(list(self.classes)), "task": self.task, "input": self.describe_input(input_name),
                 "normalization": json.dumps(None if self.mean is None else {
                     "mean": self.mean.reshape(-1).tolist(), "std": self.std.reshape(-1).tolist(),
                     "shape": list(self.mean.shape), "applied": "inside the model, (x - mean) / std"}),
                 "netcanvas_version": netcanvas}
        if self.adapter is not None:  # resizing and channels happen before the model (runtime.data.adapter)
            props["input_adapter"] = self.adapter.describe()
        if self.text is not None:  # the tokenizer travels inside the file too, not only beside it
            props["tokenizer"] = json.dumps(self.text["json"], ensure_ascii=False)
        if self.dataset:
            props["dataset"] = self.dataset
        if self.run:
            props["run"] = self.run
        return props


def read_preprocessing(run: str | os.PathLike) -> Preprocessing:
    """The raw-input contract a run recorded in its configuration; raises PreprocessError."""
    from graph_builder.run_folder import CONFIG, RunConfigMissingError, RunFolder, RunFolderError

    run = Path(run)
    try:
        config = RunFolder(run).read_config()
        resolved = config["resolved"]
        shape = tuple(int(d) for d in resolved["input_shape"])
    except RunConfigMissingError as exc:
        raise PreprocessError(str(exc)) from None
    except RunFolderError as exc:
        raise PreprocessError(f"the {CONFIG} of run {run.name} cannot be read ({exc}); train the network "
                              "again") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PreprocessError(f"the {CONFIG} of run {run.name} does not say what its inputs are ({exc}); "
                              "train the network again") from None
    dataset = resolved.get("dataset") or (config.get("project") or {}).get("dataset", {}).get("name")
    image = bool(resolved.get("image", len(shape) == 3))
    norm = resolved.get("normalization")
    mean = std = None
    if norm:
        # runs from before the shape was recorded: per channel for images, else per last axis
        broadcast = norm.get("shape") or ([-1, 1, 1] if image else [1] * (len(shape) - 1) + [-1])
        mean = np.asarray(norm["mean"], dtype=np.float32).reshape(broadcast)
        std = np.asarray(norm["std"], dtype=np.float32).reshape(broadcast)
    dtype = resolved.get("dtype") or "float32"
    adapter = raw_size = None
    section = (config.get("project") or {}).get("dataset")
    if isinstance(section, dict):
        if section.get("name") == "image_folder":
            size = section.get("image_size", 32)
            raw_size = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None
        from graph_builder.input_adapter import AdapterError, InputAdapter

        try:
            adapter = InputAdapter.from_dataset(section)
        except AdapterError:
            adapter = None  # the run trained, so its settings were valid then; a later format reads as none
        adapter = adapter if adapter is not None and adapter.active else None
    from graph_builder.tasks import run_task

    target = resolved.get("target_normalization") or {}
    try:
        target_mean, target_std = (float(target["mean"]), float(target["std"])) if target else (None, None)
        if target and not (math.isfinite(target_mean) and math.isfinite(target_std)):
            raise ValueError("not finite")
    except (KeyError, TypeError, ValueError):
        raise PreprocessError(f"the {CONFIG} of run {run.name} records its target's scale unreadably; train the "
                              "network again") from None
    return Preprocessing(run_task(config).id, tuple(str(c) for c in resolved.get("classes", ())),
                         shape, dtype, dataset, image, mean, std, resolved.get("loss"), run.name, adapter,
                         raw_size if adapter is not None else None, _text_record(resolved.get("text"), run),
                         target_mean, target_std)


def _text_record(record, run: Path) -> dict | None:
    if record is None:
        return None
    from graph_builder.run_folder import CONFIG

    if not isinstance(record, dict) or not isinstance(record.get("json"), dict):
        raise PreprocessError(f"the {CONFIG} of run {run.name} has a damaged tokenizer record; train the "
                              "network again")
    return record


# ---------------------------------------------------------------- the exported source


def _floats(a: np.ndarray) -> str:
    from runtime.compile.lowering import literal

    return literal(tuple(float(v) for v in a.reshape(-1)))


@dataclass(frozen=True)
class RunSource:
    """The text of a run's export and the names in it."""

    text: str
    class_name: str  # the class to instantiate: the wrapper, or the network when nothing is normalised
    network_class: str
    interface: object  # runtime.compile.codegen.ModelInterface of the class to instantiate


def run_source(graph, prep: Preprocessing, weights_name: str = "model.safetensors",
               class_name: str | None = None) -> RunSource:
    """The network's module, then CLASSES, TASK, the Preprocessed wrapper, load_model() and a demo."""
    from runtime.compile.codegen import CodegenError, ModelInterface, Namespace, lower, render, reserved_names
    from runtime.tasks import task_runtime

    model = lower(graph, class_name)
    iface = model.interface
    if len(iface.inputs) != 1:
        raise PreprocessError(f"the network has {len(iface.inputs)} inputs but a run's data feeds one; "
                              "export it without a run")
    inp = iface.inputs[0]
    if prep.mean is not None and inp.dtype != "float32":
        raise PreprocessError(f"input {inp.name} is {inp.dtype} but the run normalised float inputs")
    text = render(model, main=False).text
    taken = {d.interface.class_name for d in model.dependencies} | {iface.class_name}
    outer = iface.class_name
    lines = [text.rstrip("\n"), "", ""]
    lines.append(f"CLASSES = [{', '.join(text_literal(c) for c in prep.classes)}]  # the outputs' order")
    lines.append(f"TASK = {text_literal(prep.task)}")
    lines.append(f"WEIGHTS = {text_literal(weights_name)}  # the run's weights (safetensors), beside this file")
    if prep.text is not None:
        lines += [f"TOKENIZER = {text_literal(TOKENIZER_FILE)}  # the run's vocabulary (HuggingFace tokenizers), "
                  "beside this file", "", "",
                  "def tokenize(texts) -> torch.Tensor:",
                  f'    """Token ids (N, {int(prep.text["max_length"])}) int64 of raw texts, cut or padded with 0 at '
                  'the end, as in training."""',
                  "    from pathlib import Path",
                  "",
                  "    from tokenizers import Tokenizer",
                  "",
                  "    tokenizer = Tokenizer.from_file(str(Path(__file__).with_name(TOKENIZER)))",
                  "    return torch.tensor([e.ids for e in tokenizer.encode_batch(list(texts))], dtype=torch.int64)"]
    if prep.adapter is not None:  # resizing and channels happen before the model: say so where it is used
        lines.append(f"# Inputs: {comment_text(prep.describe_input(inp.name))}")
    if prep.mean is not None:
        outer = Namespace(reserved_names() | taken).create("Preprocessed" + iface.class_name, "Preprocessed")
        broadcast = literal_shape(prep.mean.shape)
        how = "per channel" if prep.image else "per feature"
        from runtime.data.registry import DATASETS

        source = f"the {prep.dataset}" if prep.dataset in DATASETS else "the"  # a registry name, never file text
        lines += ["", "",
                  f"class {outer}(nn.Module):",
                  f'    """{iface.class_name} on raw inputs: normalises {inp.name} as in training, then runs it."""',
                  "",
                  "    def __init__(self) -> None:",
                  "        super().__init__()",
                  f"        # mean and std of {source} training split, {how}",
                  f'        self.register_buffer("mean", torch.tensor({_floats(prep.mean)}).reshape{broadcast})',
                  f'        self.register_buffer("std", torch.tensor({_floats(prep.std)}).reshape{broadcast})',
                  f"        self.net = {iface.class_name}()",
                  "",
                  f"    def forward(self, {inp.name}: torch.Tensor):"]
        if task_runtime(prep.task).raw_output(prep) and len(iface.outputs) == 1:  # it learnt the normalised input
            lines += [f"        restored = self.net(({inp.name} - self.mean) / self.std)",
                      "        return restored * self.std + self.mean  # in raw values, like its input"]
        elif prep.target_mean is not None and len(iface.outputs) == 1:  # it learnt a standardised series' target
            lines += [f"        scaled = self.net(({inp.name} - self.mean) / self.std)",
                      f"        return scaled * {prep.target_std!r} + {prep.target_mean!r}  # the training part's "
                      "std and mean: the series' own units"]
        else:
            lines.append(f"        return self.net(({inp.name} - self.mean) / self.std)")
    target = "model.net" if prep.mean is not None else "model"
    lines += ["", "",
              f"def load_model(weights=None) -> {outer}:",
              '    """The model with the run\'s weights: WEIGHTS beside this file, or the safetensors file given."""',
              "    from pathlib import Path",
              "",
              "    from safetensors.torch import load_file",
              "",
              f"    model = {outer}()",
              f"    {target}.load_state_dict(load_file(weights or Path(__file__).with_name(WEIGHTS)))",
              "    return model.eval()"]
    out_values = int(np.prod([d for d in iface.outputs[0].shape[1:]]))
    lines += _demo(prep, inp, len(iface.outputs), out_values)
    text = "\n".join(lines) + "\n"
    try:
        ast.parse(text)
    except SyntaxError as exc:  # a bug here, never user input: say where
        raise CodegenError(f"generated code does not parse at line {exc.lineno}: {exc.msg}") from exc
    return RunSource(text, outer, iface.class_name, ModelInterface(outer, iface.inputs, iface.outputs))


def literal_shape(shape) -> str:
    from runtime.compile.lowering import literal

    return literal(tuple(int(d) for d in shape))


def _demo(prep: Preprocessing, inp, n_outputs: int, out_values: int) -> list[str]:
    """`if __name__ == "__main__":` predicting one raw sample (a real one for scikit-learn's datasets)."""
    from runtime.compile.lowering import literal
    from runtime.data.registry import DATASETS
    from runtime.tasks import task_runtime

    entry = DATASETS.get(prep.dataset or "")
    lines = ["", "", 'if __name__ == "__main__":', "    model = load_model()"]
    real = entry is not None and entry.sklearn is not None
    if prep.text is not None:
        lines.append(f'    {inp.name} = tokenize(["What a wonderful film."])  # raw text, one string per sample')
    elif real:
        field = "images[:1, None]" if prep.image else "data[:1]"
        lines += [f"    from sklearn.datasets import {entry.sklearn}", "",
                  f"    data = {entry.sklearn}()",
                  f"    {inp.name} = torch.tensor(data.{field}, dtype=torch.float32)  # sample 0, raw values"]
    elif inp.dtype == "int64":
        lines.append(f"    {inp.name} = torch.randint(0, {literal(inp.vocab or 2)}, {literal((1, *inp.shape[1:]))})"
                     "  # a random input")
    else:
        lines.append(f"    {inp.name} = torch.randn{literal((1, *inp.shape[1:]))}  # a random input")
    lines += ["    with torch.no_grad():", f"        output = model({inp.name})"]
    if n_outputs > 1:
        lines.append("    output = output[0]")
    return lines + task_runtime(prep.task).demo_lines(prep, out_values, real)


def build_run_module(graph, prep: Preprocessing, weights: str | os.PathLike | None = None,
                     class_name: str | None = None):
    """The exported model as a live module (compiled from run_source's text), with the run's weights."""
    from runtime.compile.compiler import compile_source, source_filename
    from runtime.export.formats import load_weights

    source = run_source(graph, prep, class_name=class_name)
    namespace = compile_source(source.text, source_filename(source.text, source.class_name))
    module = namespace[source.class_name]()
    if weights is not None:
        load_weights(module.net if prep.mean is not None else module, weights)
    module.netcanvas_interface = source.interface
    module.netcanvas_source = source.text
    return module.eval()


def export_run_python(graph, prep: Preprocessing, weights: str | os.PathLike, path: str | os.PathLike,
                      class_name: str | None = None) -> tuple[Path, Path]:
    """Write a run's model as Python (taking raw data) and its weights beside it as `<stem>.safetensors`."""
    from graph_builder.files import write_atomic

    from runtime.export.formats import _check_target, export_weights

    path = _check_target(path)
    weights_path = path.with_suffix(".safetensors")
    module = build_run_module(graph, prep, weights, class_name)  # proves the weights fit before writing
    source = run_source(graph, prep, weights_path.name, class_name)
    export_weights(module.net if prep.mean is not None else module, weights_path)
    write_tokenizer(prep, path)
    write_atomic(path, source.text.encode("utf-8"))
    return path, weights_path


def write_tokenizer(prep: Preprocessing, beside: Path) -> Path | None:
    """A text run's tokenizer.json written beside the export at `beside` (nothing for other runs)."""
    if prep.text is None:
        return None
    from graph_builder.files import write_atomic

    target = Path(beside).with_name(TOKENIZER_FILE)
    write_atomic(target, prep.tokenizer_json().encode("utf-8"))
    return target


def export_run_onnx(graph, prep: Preprocessing, weights, path, **options):
    """ONNX of a run's model on raw inputs, its metadata properties saying what it expects; an OnnxReport."""
    from runtime.export.formats import export_onnx

    module = build_run_module(graph, prep, weights)
    name = module.netcanvas_interface.inputs[0].export_name
    report = export_onnx(module, path, graph=graph, metadata=prep.metadata(name), **options)
    write_tokenizer(prep, Path(path))
    return report


def export_run_pt2(graph, prep: Preprocessing, weights, path) -> Path:
    """A torch.export program of a run's model on raw inputs; `netcanvas.json` in it holds the metadata."""
    from runtime.export.formats import export_pt2

    module = build_run_module(graph, prep, weights)
    extra = {"netcanvas.json": json.dumps(prep.metadata(module.netcanvas_interface.inputs[0].name))}
    if prep.text is not None:
        extra[TOKENIZER_FILE] = prep.tokenizer_json()
    written = export_pt2(module, None, path, extra_files=extra)
    write_tokenizer(prep, Path(path))
    return written
