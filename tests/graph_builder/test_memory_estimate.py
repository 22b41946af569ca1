"""graph_builder.memory: a training step's bytes per node, by batch size, optimiser and frozen layers."""

from graph_builder.footprint import size_text
from graph_builder.memory import estimate_project, memory_issues
from graph_builder.project import Project
from graph_builder.validation import ERROR, WARNING

from tests.builders import chain


def mlp_project(training=None, frozen_first=False):
    graph = chain(("Input", "x", {"shape": [10]}), ("Linear", "hidden", {"out_features": 20}), ("ReLU", "relu", {}),
                  ("Linear", "head", {"out_features": 3}), ("Output", "y", {}))
    if frozen_first:
        hidden = next(n for n in graph.nodes.values() if n.name == "hidden")
        hidden.frozen = True
    return Project(graph, {"name": "iris"}, {"batch_size": 8, **(training or {})})


def by_name(estimate):
    return {r.name: r for r in estimate.rows}


def test_adam_keeps_two_moments_per_trainable_weight_and_sgd_one_or_none():
    hidden = 10 * 20 + 20
    for training, state in (({}, 2), ({"optimizer": "sgd", "momentum": 0.9}, 1), ({"optimizer": "sgd", "momentum": 0.0}, 0),
                            ({"optimizer": "rmsprop", "momentum": 0.9}, 2)):
        row = by_name(estimate_project(mlp_project(training)))["hidden"]
        assert (row.params, row.grads, row.state) == (4 * hidden, 4 * hidden, 4 * hidden * state)


def test_saved_activations_grow_with_the_batch_size():
    small, large = estimate_project(mlp_project(), 8), estimate_project(mlp_project(), 64)
    assert by_name(small)["relu"].saved == 8 * 20 * 4  # ReLU keeps its output for its backward pass
    assert large.saved == 8 * small.saved
    assert large.peak > small.peak and large.params == small.params


def test_a_frozen_first_layer_has_no_gradient_and_its_input_is_not_kept():
    rows = by_name(estimate_project(mlp_project(frozen_first=True)))
    assert rows["hidden"].grads == rows["hidden"].state == 0 and rows["hidden"].params > 0
    assert rows["x"].saved == 0  # nothing before the frozen layer needs a gradient
    assert by_name(estimate_project(mlp_project()))["x"].saved == 8 * 10 * 4


def test_a_peak_beyond_the_device_is_an_error_on_the_largest_node_and_beyond_free_memory_a_warning():
    estimate = estimate_project(mlp_project())
    [error] = memory_issues(estimate, free=1000, total=2000, device="the GPU X")
    assert error.severity == ERROR and error.code == "memory"
    assert error.message.startswith(f"training needs about {size_text(estimate.peak)} at batch size 8")
    assert "more than the GPU X's 2.0 KiB of memory" in error.message and "lower the batch size" in error.message
    assert error.node_ids == (max(estimate.rows, key=lambda r: r.total).node_id,)
    [warning] = memory_issues(estimate, free=1000, total=2**30)
    assert warning.severity == WARNING and "free on this machine now" in warning.message
    assert memory_issues(estimate, free=2**30, total=2**31) == []
