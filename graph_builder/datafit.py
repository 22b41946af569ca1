"""Does the model fit the data? One check, from a plain description of the dataset.

The Problems panel, the Data panel and the trainer all call `check_fit`, so they say the same
words (DESIGN.md decision 11). A built-in dataset's description is known from its settings
alone (`describe_builtin`, no loading, no torch); a file dataset's comes from its last load
(`runtime.data.describe_data` builds the same dataclass from loaded arrays).

    description = describe_builtin(project.dataset)
    issues = check_fit(project.graph, infer_shapes(project.graph), description, project.training)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from graph_builder.graph import Graph, SetParam
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport
from graph_builder.validation import ERROR, Fix, Issue

CLASSIFICATION, REGRESSION, RECONSTRUCTION = "classification", "regression", "reconstruction"


@dataclass(frozen=True)
class DataDescription:
    """What one sample of a dataset looks like to a model (the batch dimension left out)."""

    label: str  # a noun phrase for messages: "the digits data", "the data in table.csv"
    input_shape: tuple[int, ...]
    dtype: str = "float32"  # float32 or int64 (token ids)
    task: str = CLASSIFICATION  # classification or regression; reconstruction when trained so
    classes: tuple[str, ...] = ()
    target_shape: tuple[int, ...] = ()  # per-sample regression target; () for class labels
    image: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def for_task(self, task: str | None) -> "DataDescription":
        """This data as trained with the training section's `task` ("auto" keeps the data's own)."""
        if task == RECONSTRUCTION:
            return replace(self, task=RECONSTRUCTION, classes=(), target_shape=self.input_shape)
        return self


# ---------------------------------------------------------------- built-in datasets, without loading

DIGITS = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
WAVEFORM_KINDS = ("sine", "square", "sawtooth", "pulse")


def _fixed(description: DataDescription) -> Callable[[Mapping], DataDescription]:
    return lambda dataset: description


# One row per dataset whose shapes follow from its settings (a test checks each against runtime.data).
# csv, npz and image_folder are left out: their shapes are known only once the files are read.
BUILTIN: dict[str, Callable[[Mapping], DataDescription]] = {
    "digits": _fixed(DataDescription("the digits data", (1, 8, 8), classes=DIGITS, image=True)),
    "iris": _fixed(DataDescription("the iris data", (4,), classes=("setosa", "versicolor", "virginica"))),
    "wine": _fixed(DataDescription("the wine data", (13,), classes=("class_0", "class_1", "class_2"))),
    "breast_cancer": _fixed(DataDescription("the breast-cancer data", (30,), classes=("malignant", "benign"))),
    "moons": _fixed(DataDescription("the two-moons data", (2,), classes=("upper", "lower"))),
    "spirals": _fixed(DataDescription("the spirals data", (2,), classes=("arm 0", "arm 1", "arm 2"))),
    "sine": lambda d: DataDescription("the sine-wave data", (d.get("seq_len", 32), 1), task=REGRESSION,
                                      target_shape=(d.get("horizon", 1),)),
    "waveforms": lambda d: DataDescription("the waveforms data", (d.get("seq_len", 32), 1),
                                           classes=WAVEFORM_KINDS),
    "mnist": _fixed(DataDescription("the MNIST data", (1, 28, 28), classes=DIGITS, image=True)),
    "fashion_mnist": _fixed(DataDescription("the Fashion-MNIST data", (1, 28, 28), classes=FASHION_CLASSES,
                                            image=True)),
    "cifar10": _fixed(DataDescription("the CIFAR-10 data", (3, 32, 32), classes=CIFAR10_CLASSES, image=True)),
}


def describe_builtin(dataset: Mapping | None) -> DataDescription | None:
    """The description of the dataset section's data from its settings alone (after the input adapter);
    None when files decide it. AdapterError when the adapter cannot apply to these samples."""
    dataset = dataset or {}
    row = BUILTIN.get(dataset.get("name", "digits"))
    return adapted(row(dataset), dataset) if row is not None else None


def adapted(description: DataDescription, dataset: Mapping | None) -> DataDescription:
    """`description` with the input adapter's sample shape (graph_builder.input_adapter)."""
    from graph_builder.input_adapter import InputAdapter

    adapter = InputAdapter.from_dataset(dataset)
    if not adapter.active:
        return description
    return replace(description, input_shape=adapter.shape(description.input_shape, description.label))


@dataclass(frozen=True)
class LoadedData:
    """The description of a file dataset as last loaded, with the dataset settings it was loaded with."""

    dataset: Mapping
    description: DataDescription

    def matches(self, dataset: Mapping) -> bool:
        """True while `dataset` still names the same data (same dataset, file and target)."""
        from graph_builder.input_adapter import FIELDS

        return all(self.dataset.get(k) == dataset.get(k) for k in ("name", "path", "target", "classes", "image_size", *FIELDS))


def project_description(dataset: Mapping | None, loaded: LoadedData | None = None) -> DataDescription | None:
    """A built-in dataset's description from its settings, else the last load's if it is of the same data."""
    dataset = dataset or {}
    builtin = describe_builtin(dataset)
    if builtin is not None:
        return with_class_subset(builtin, dataset)
    return with_class_subset(loaded.description, dataset) if loaded is not None and loaded.matches(dataset) else None


def with_class_subset(description: DataDescription, dataset: Mapping) -> DataDescription:
    """The description with only the classes the dataset's `classes` setting picks (as runtime.data keeps them)."""
    text = dataset.get("classes")
    if not text or description.task != CLASSIFICATION:
        return description
    from graph_builder.settings import class_selection

    try:
        picked = class_selection(text)
    except ValueError:
        return description  # the settings check reports it
    if not set(picked) <= set(description.classes) or set(picked) == set(description.classes) and \
            picked == description.classes:
        return description  # an unknown class is runtime.data's to report, with the names it has
    return replace(description, classes=picked)


def check_project_fit(project, shapes: ShapeReport, loaded: LoadedData | None = None) -> list[Issue]:
    """check_fit for a project's main network, its dataset and training sections."""
    from graph_builder.input_adapter import AdapterError

    try:
        description = project_description(project.dataset, loaded)
    except AdapterError as exc:
        return [Issue(ERROR, "fit-adapter", exc.message)]
    return check_fit(project.graph, shapes, description, project.training)


# ---------------------------------------------------------------- the check

def task_problem(description: DataDescription, task: str | None) -> str | None:
    """Why the training section's `task` cannot be trained on this data, or None."""
    if task == CLASSIFICATION and description.task != CLASSIFICATION:
        return (f"the task is classification but {description.label} has no classes (it is "
                f"{description.task}); set the task to auto or regression")
    if task == REGRESSION and description.task != REGRESSION:
        return (f"the task is regression but {description.label} is for classification; set the task to auto "
                "or classification (or reconstruction for an autoencoder)")
    return None


def fit_issues(issues: list[Issue]) -> list[Issue]:
    """The issues among `issues` that come from check_fit (the Data panel shows these)."""
    return [i for i in issues if i.code.startswith("fit-")]


def check_fit(graph: Graph, shapes: ShapeReport, description: DataDescription | None,
              training: Mapping | None = None) -> list[Issue]:
    """Every way `graph` does not fit the described data (ERROR issues tied to the nodes); [] when unknown.

    `training` is the project's training section: its task (reconstruction trains on the input) and
    loss (bce_with_logits lets two classes use one output) change what fits.
    """
    if description is None:
        return []
    training = training or {}
    if training.get("generator") or training.get("discriminator"):
        return []  # a GAN: runtime.train.gan checks its two networks against each other and the data
    task = training.get("task") or "auto"
    problem = task_problem(description, task)
    if problem:
        return [Issue(ERROR, "fit-task", problem)]
    data = description.for_task(task)
    issues = _input_issues(graph, data)
    issues += _output_issues(graph, shapes, data, training.get("loss") or "auto")
    return issues


def _input_issues(graph: Graph, data: DataDescription) -> list[Issue]:
    inputs = graph.inputs()
    if len(inputs) != 1:
        if not inputs:
            return []  # validation already asks for an Input
        names = ", ".join(n.name for n in inputs)
        return [Issue(ERROR, "fit-inputs", f"the model has {len(inputs)} inputs ({names}) but {data.label} feeds "
                      "one; keep a single Input node", tuple(n.id for n in inputs))]
    node = inputs[0]
    want = tuple(node.params.get("shape") or ())
    have = tuple(data.input_shape)
    issues = []
    if want != have:
        message = (f"{node.name} expects {format_shape((None, *want))} but {data.label} gives "
                   f"{format_shape((None, *have))} per batch; set the shape of {node.name} to {_dims(have)}")
        if math.prod(want) == math.prod(have) and want:
            message += f" and insert an Unflatten to {format_shape((None, *want))} after it"
        issues.append(Issue(ERROR, "fit-input-shape", message, (node.id,),
                            Fix(f"Set the shape of {node.name} to {_dims(have)}",
                                SetParam(node.id, "shape", have))))
    dtype = node.params.get("dtype", "float32")
    if dtype != data.dtype:
        what = "integer token ids" if data.dtype == "int64" else "float values"
        issues.append(Issue(ERROR, "fit-input-dtype", f"{node.name} is {dtype} but {data.label} gives {what} "
                            f"({data.dtype}); set the dtype of {node.name} to {data.dtype}", (node.id,),
                            Fix(f"Set the dtype of {node.name} to {data.dtype}", SetParam(node.id, "dtype", data.dtype))))
    return issues


def _output_issues(graph: Graph, shapes: ShapeReport, data: DataDescription, loss: str) -> list[Issue]:
    outputs = graph.outputs()
    if not outputs:
        return []  # validation already asks for an Output
    node = outputs[0]  # several Outputs: the first one is trained
    out = shapes.out.get(node.id)
    if out is None:
        return []  # a problem upstream; validation names it
    shape = tuple(out[1:])
    feeder = _feeder(graph, node.id)
    if data.task == CLASSIFICATION:
        k = data.num_classes
        if loss == "bce_with_logits" and k == 2 and math.prod(shape) == 1:
            return []  # one logit for two classes
        if shape == (k,):
            return []
        if len(shape) == 1 and feeder is not None and feeder.type_id == "Linear":
            fix = f"set out_features of {feeder.name} to {k}"
        elif len(shape) == 1:
            fix = f"end with a Linear(out_features={k}) before {node.name}"
        else:
            fix = f"insert a Flatten and a Linear(out_features={k}) before {node.name}"
        return [Issue(ERROR, "fit-classes", f"{node.name} gives {format_shape(out)} but {data.label} has {k} "
                      f"classes, so it must give (N, {k}) (one score per class); {fix}",
                      (node.id,))]
    target = tuple(data.target_shape)
    if math.prod(shape) == math.prod(target):
        return []
    what = "reconstruction target (the input)" if data.task == RECONSTRUCTION else "regression target"
    size = math.prod(target)
    fix = (f"set out_features of {feeder.name} to {size}" if feeder is not None and feeder.type_id == "Linear"
           and len(shape) == 1 else f"make the last layer produce {size} value{'s' * (size != 1)} per sample")
    return [Issue(ERROR, "fit-target", f"{node.name} gives {format_shape(out)} but the {what} of {data.label} is "
                  f"{format_shape((None, *target))}; {fix}",
                  (node.id,))]


def _feeder(graph: Graph, node_id: str):
    """The node wired into `node_id` (the last layer before an Output), if there is exactly one."""
    sources = [e.src for e in graph.edges if e.dst == node_id]
    return graph.nodes.get(sources[0]) if len(sources) == 1 else None


def _dims(shape: tuple[int, ...]) -> str:
    """(64,) reads as 64, (1, 8, 8) as (1, 8, 8): how the Inspector's shape field shows it."""
    return str(shape[0]) if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
