"""The Design workspace's memory figures: each node's in its tooltip, the step's in the summary, too much as a problem."""

from graph_builder.footprint import size_text
from graph_builder.memory import estimate_project
from graph_builder.project import Project

from tests.builders import chain


def mlp(shape, width):
    graph = chain(("Input", "x", {"shape": shape}), ("Linear", "fc", {"out_features": width}), ("ReLU", "relu", {}),
                  ("Output", "y", {}))
    return Project(graph, {"name": "iris"}, {"batch_size": 16, "device": "cpu"})


def test_a_nodes_tooltip_and_the_summary_show_its_training_memory(window):
    project = mlp([4], 32)
    window.set_project(project, None)
    estimate = estimate_project(window.project)
    fc = window.scene.nodes["n2"]
    row = estimate.of_network(window.project.networks.main)["n2"]
    assert f"training memory at batch 16: {size_text(row.total)} (weights 640 bytes, gradients 640 bytes, " \
           f"adam state 1.2 KiB" in fc.toolTip()
    assert "saved activations" in window.scene.nodes["n3"].toolTip()  # ReLU keeps its output
    assert window.summary.summary.memory_bytes == estimate.peak
    assert f"Training memory ≈ <b>{size_text(estimate.peak)}</b> at its peak with adam" in window.summary.totals.text()
    assert window.summary.model.rows[1][5] == size_text(row.total)  # the table's Memory column
    window.summary.batch.setValue(256)
    assert window.summary.summary.memory_bytes == estimate_project(window.project, 256).peak > estimate.peak


def test_a_network_too_large_for_the_machine_is_a_problem_on_its_largest_node(window):
    window.set_project(mlp([100000, 100000], 1000000), None)
    memory = [i for i in window.validation.issues if i.code == "memory"]
    largest = max(estimate_project(window.project).rows, key=lambda r: r.total)
    assert largest.name == "relu"  # it keeps its output of 16 × 100000 × 1000000 values for the backward pass
    assert len(memory) == 1 and memory[0].severity == "error" and memory[0].node_ids == ("n3",)
    assert window.problems.tree.topLevelItemCount() >= 1
    assert any(window.problems.tree.topLevelItem(i).text(0).startswith("training needs about")
               for i in range(window.problems.tree.topLevelItemCount()))
    assert window.scene.nodes["n3"].badge == "error"
    assert "⛔ training needs about" in window.scene.nodes["n3"].toolTip()
    assert window.problem_label.text().startswith("⛔")
