"""Every run also writes TensorBoard event files, and they hold exactly what metrics.jsonl holds."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing import event_accumulator  # noqa: E402

from graph_builder import Graph, Project  # noqa: E402
from runtime.train.monitor import confusion_image  # noqa: E402
from runtime.train.trainer import last_event, train  # noqa: E402


def iris_project(epochs=3):
    g = Graph()
    nodes = [g.add_node(t, params=p) for t, p in (("Input", {"shape": (4,)}), ("Linear", {"out_features": 16}),
                                                  ("ReLU", {}), ("Linear", {"out_features": 3}), ("Output", {}))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    return Project(g, {"name": "iris"}, {"epochs": epochs, "lr": 0.01})


def read_events(run_dir):
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_event_files_read_back_equal_the_metrics_log(tmp_path):
    assert last_event(train(iris_project(), run_dir=tmp_path))["type"] == "finished"
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    epochs = [e for e in logged if e["type"] == "epoch"]
    finished = next(e for e in logged if e["type"] == "finished")
    acc = read_events(tmp_path)
    scalars = {tag: {s.step: s.value for s in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}
    expected = {}
    for e in epochs:
        for split in ("train", "val"):
            for name in ("loss", "accuracy", "f1_macro"):
                expected.setdefault(f"{name}/{split}", {})[e["epoch"]] = e[split][name]
        expected.setdefault("lr", {})[e["epoch"]] = e["lr"]
    for name in ("loss", "accuracy"):
        expected[f"{name}/test"] = {finished["epochs_run"]: finished["test"][name]}
    for tag, values in expected.items():
        assert scalars[tag] == pytest.approx(values, rel=1e-6), tag  # event files hold float32
    assert set(scalars["accuracy/val"]) == {1, 2, 3}
    assert scalars["hparam/test_accuracy"] == pytest.approx({3: finished["test"]["accuracy"]}, rel=1e-6)


def test_confusion_matrices_are_images_and_hyperparameters_are_recorded(tmp_path):
    last_event(train(iris_project(epochs=2), run_dir=tmp_path))
    acc = read_events(tmp_path)
    assert set(acc.Tags()["images"]) == {"confusion/validation", "confusion/test"}
    assert [i.step for i in acc.Images("confusion/validation")] == [1, 2]
    image = acc.Images("confusion/test")[0]
    assert (image.width, image.height) == (3 * 16, 3 * 16)
    from tensorboard.plugins.hparams import plugin_data_pb2

    # hparams are plugin summaries: the session start holds the run's settings
    content = acc.PluginTagToContent("hparams")
    assert set(content) >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    data = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert data.session_start_info.hparams["lr"].number_value == pytest.approx(0.01)
    assert data.session_start_info.hparams["epochs"].number_value == 2


def test_confusion_image_shades_each_true_class_by_its_share():
    image = confusion_image([[3, 1], [0, 0]])
    assert image.shape == (32, 32, 3)
    assert image[0, 0, 0] < image[0, 16, 0]  # 3 of 4 is darker than 1 of 4
    assert tuple(image[16, 0]) == (255, 255, 255)  # a class with no samples stays white
