"""Does the model fit the data? One check, from a plain description of the dataset.

The Problems panel, the Data panel and the trainer all call `check_fit`, so they say the same
words (DESIGN.md decision 11). A built-in dataset's description is known from its settings
alone (`describe_builtin`, no loading, no torch); a file dataset's comes from its last load
(`runtime.data.describe_data` builds the same dataclass from loaded arrays).

    description = describe_builtin(project.dataset)
    issues = check_fit(project.graph, infer_shapes(project.graph), description, project.training)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from graph_builder.data_description import CLASSES, VALUES, DataDescription
from graph_builder.graph import Graph
from graph_builder.protocols import ProjectLike
from graph_builder.shapes import ShapeReport
from graph_builder.tasks import resolve
from graph_builder.validation import Issue


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
    "sine": lambda d: DataDescription("the sine-wave data", (d.get("seq_len", 32), 1), kind=VALUES,
                                      target_shape=(d.get("horizon", 1),)),
    "sunspots": lambda d: DataDescription("the sunspots data", (d.get("seq_len", 32), 1), kind=VALUES,
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
    """`description` with the input adapter's sample shape and value range (graph_builder.input_adapter)."""
    from graph_builder.input_adapter import InputAdapter

    adapter = InputAdapter.from_dataset(dataset)
    if not adapter.active:
        return description
    return replace(description, input_shape=adapter.shape(description.input_shape, description.label),
                   value_range=adapter.value_range() if description.image else None)


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
    if not text or description.kind != CLASSES:
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


def check_project_fit(project: ProjectLike, shapes: ShapeReport, loaded: LoadedData | None = None) -> list[Issue]:
    """check_fit for a project's main network, its dataset and training sections."""
    from graph_builder.input_adapter import AdapterError
    from graph_builder.validation import ERROR

    try:
        description = project_description(project.dataset, loaded)
    except AdapterError as exc:
        return [Issue(ERROR, "fit-adapter", exc.message)]
    return check_fit(project.graph, shapes, description, project.training, project)


# ---------------------------------------------------------------- the check

def fit_issues(issues: list[Issue]) -> list[Issue]:
    """The issues among `issues` that come from check_fit (the Data panel shows these)."""
    return [i for i in issues if i.code.startswith("fit-")]


def check_fit(graph: Graph, shapes: ShapeReport, description: DataDescription | None,
              training: Mapping | None = None, project: ProjectLike | None = None) -> list[Issue]:
    """Every way `graph` does not fit the described data (issues tied to the nodes); [] when unknown.

    Once it fits, a generative task warns where its samples can leave or cannot fill the data's range.

    The task the training section makes of it decides what fits (graph_builder.tasks: a
    reconstruction trains on the input, bce_with_logits lets two classes use one output, a GAN
    checks its two networks of `project` against each other and the data).
    """
    if description is None:
        return []
    training = training or {}
    spec = resolve(training, description.kind, graph)
    issues = spec.fit_problems(graph, shapes, description, training, project)
    if issues:
        return issues
    return spec.range_problems(graph, description, project)
