"""graph_builder's table of built-in dataset descriptions agrees with what runtime.data loads."""

import gzip
import struct

import numpy as np
import pytest

from graph_builder.datafit import BUILTIN, describe_builtin
from runtime import data
from runtime.data import files

SETTINGS = [{"name": name} for name in sorted(BUILTIN)] + [
    {"name": "sine", "seq_len": 12, "horizon": 4},
    {"name": "waveforms", "seq_len": 50},
]


def write_mnist(root):
    """A tiny MNIST folder: IDX files (magic, dims, bytes), as runtime.data.files reads them."""
    root.mkdir(parents=True, exist_ok=True)
    for name, shape in (("train-images-idx3-ubyte", (20, 28, 28)), ("train-labels-idx1-ubyte", (20,)),
                        ("t10k-images-idx3-ubyte", (5, 28, 28)), ("t10k-labels-idx1-ubyte", (5,))):
        body = (np.arange(int(np.prod(shape))) % 10).astype(np.uint8).tobytes()
        header = bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
        (root / f"{name}.gz").write_bytes(gzip.compress(header + body))
    return root


def write_cifar(root):
    """A tiny CIFAR-10 binary folder: records of one label byte and 3×32×32 pixels."""
    root.mkdir(parents=True, exist_ok=True)
    records = np.zeros((10, files.CIFAR_RECORD), np.uint8)
    records[:, 0] = np.arange(10)
    (root / "data_batch_1.bin").write_bytes(records.tobytes())
    (root / "test_batch.bin").write_bytes(records[:4].tobytes())
    return root


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(f"{v}" for v in s.values()))
def test_each_built_in_description_equals_the_loaded_data(settings, tmp_path):
    config = dict(settings)
    if config["name"] in ("mnist", "fashion_mnist"):
        config["path"] = str(write_mnist(tmp_path / "mnist"))
    elif config["name"] == "cifar10":
        config["path"] = str(write_cifar(tmp_path / "cifar"))
    assert describe_builtin(config) == data.describe_data(config)


def test_a_file_dataset_is_described_from_its_load(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,c,label\n" + "".join(f"{i},{i * 2},{i % 3},{'xy'[i % 2]}\n" for i in range(20)))
    description = data.describe_data({"name": "csv", "path": str(path)})
    assert description.label == "the data in table.csv"
    assert (description.input_shape, description.dtype, description.kind, description.classes) == \
        ((3,), "float32", "classes", ("x", "y"))


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_the_trainer_refuses_a_mismatched_input_with_the_checks_own_message(name, tmp_path):
    from graph_builder import Graph
    from graph_builder.datafit import check_fit
    from graph_builder.project import Project
    from graph_builder.shapes import infer_shapes
    from runtime.train.trainer import last_event, train

    dataset = {"name": name}
    if name in ("mnist", "fashion_mnist"):
        dataset["path"] = str(write_mnist(tmp_path / "mnist"))
    elif name == "cifar10":
        dataset["path"] = str(write_cifar(tmp_path / "cifar"))
    g = Graph()
    x = g.add_node("Input", name="features", params={"shape": (7, 3)})  # fits none of them
    flat = g.add_node("Flatten")
    head = g.add_node("Linear", params={"out_features": 4})
    y = g.add_node("Output", name="scores")
    for a, b in ((x, flat), (flat, head), (head, y)):
        g.connect(a.id, b.id)
    issues = check_fit(g, infer_shapes(g), describe_builtin(dataset))
    assert issues and issues[0].code == "fit-input-shape" and issues[0].message.startswith("features expects")
    final = last_event(train(Project(g, dataset, {"epochs": 1})))
    assert final["type"] == "failed" and final["kind"] == "model"
    assert final["message"] == issues[0].message
