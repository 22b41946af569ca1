"""Where a NaN started: the real trainer replays the failing batch and names the node, its op, its inputs'
range and the likely cause, in the failed event, the run folder's evidence and the CLI's words."""

from __future__ import annotations

import json

import torch

from graph_builder import Project, save_project
from graph_builder.run_folder import RunFolder
from graph_builder.settings import validate_training_section
from runtime.cli import main
from runtime.compile import build_module
from runtime.data import DeviceSplit
from runtime.train.loop import Loop, NonFiniteLoss, assemble_single
from runtime.train.nan_origin import keep, replay
from runtime.train.objectives import Regression
from runtime.train.trainer import last_event, train
from tests.builders import chain


def log_fed_negatives():
    """A Linear's output (with negative values) straight into a Log: NaN on the first batch."""
    return chain(("Input", {"shape": (4,)}), ("Linear", "lin", {"out_features": 8}), ("Log", "log1", {}),
                 ("Linear", "head", {"out_features": 3}), ("Output", {}))


def test_a_log_fed_negatives_is_named_with_its_inputs_range_and_cause(tmp_path):
    g = log_fed_negatives()
    final = last_event(train(Project(g, {"name": "iris"}, {"epochs": 2}), run_dir=tmp_path))
    assert final["type"] == "failed" and final["kind"] == "nan", final
    log1 = g.node_by_name("log1")
    assert final["node"] == "log1" and final["node_id"] == log1.id
    assert (final["epoch"], final["batch"]) == (1, 0)  # the batch the message names, 0-based
    message = final["message"]
    assert message.startswith("The loss became NaN at epoch 1, batch 1: node 'log1' (Log) produced NaN from inputs in [")
    low, high = (float(v) for v in message.split("inputs in [")[1].split("]")[0].split(", "))
    assert low < 0 < high
    assert "log of a non-positive value" in message and "Make its input positive" in message
    evidence = RunFolder(tmp_path).read_nan_origin()
    assert evidence["node"] == "log1" and evidence["cause"] == "log" and evidence["output"]["op"] == "log"
    assert evidence["output"]["nonpositive"] is True and evidence["output"]["input_min"] < 0
    assert evidence["message"] == message
    journal = [json.loads(line) for line in RunFolder(tmp_path).metrics.read_text().splitlines()]
    assert journal[-1]["node"] == "log1"


def exploding_mlp():
    return chain(("Input", {"shape": (4,)}), ("Linear", {"out_features": 16}), ("Linear", {"out_features": 16}),
                 ("Linear", {"out_features": 3}), ("Output", {}))


def test_a_huge_learning_rate_names_exploding_gradients_and_a_node(tmp_path):
    g = exploding_mlp()
    # 10 is the settings' largest rate: with momentum the updates grow the weights geometrically
    training = {"epochs": 5, "lr": 10.0, "optimizer": "sgd", "momentum": 0.9, "batch_size": 4,
                "stop_on_divergence": False}
    final = last_event(train(Project(g, {"name": "iris"}, training), run_dir=tmp_path))
    assert final["kind"] == "nan", final
    node = g.nodes[final["node_id"]]
    assert node.type_id == "Linear" and final["node"] == node.name
    assert f"node {node.name!r} (Linear) produced" in final["message"]
    assert f"at epoch {final['epoch']}, batch {final['batch'] + 1}: node " in final["message"]
    assert "exploding gradients" in final["message"] and "Lower the learning rate (now 10)" in final["message"]
    evidence = RunFolder(tmp_path).read_nan_origin()
    assert evidence["cause"] == "exploding" and evidence["grad_norms"][-1] > 1e3 * evidence["grad_norms"][0]


def loop_over(model, x, y, objective, **training) -> Loop:
    """The real loop over `model` on (x, y), one epoch, nothing held out."""
    t = validate_training_section(training, fill_defaults=True)
    settings = {"frozen": [], "pretrained": [], "monitor": ("train", "loss"), "lower_is_better": True}
    device = torch.device("cpu")
    built = assemble_single(model, objective, settings, t, device, None, steps=4)
    split = DeviceSplit(x, y, device, resident=True)
    empty = DeviceSplit(x[:0], y[:0], device, resident=True)
    return Loop(built, {"train": split, "val": empty, "test": empty}, t, device)


def replayed(loop: Loop):
    """Train until the loss goes non-finite, then replay from the start: the Origin."""
    state = keep(loop)
    try:
        loop.fit()
    except NonFiniteLoss as exc:
        return replay(loop, state, exc.epoch, exc.batch - 1)
    raise AssertionError("the loss should have gone non-finite")


def test_a_gradient_that_goes_infinite_under_a_finite_loss_names_the_node_whose_backward_made_it():
    # sqrt's gradient at 0 is infinite: a Linear that gives exactly 0 feeds it, the loss stays finite, the
    # update makes the weights NaN and the next batch's loss NaN; the replay finds the first batch's gradient
    g = chain(("Input", {"shape": (4,)}), ("Linear", "lin", {"out_features": 8}), ("Sqrt", "root", {}),
              ("Linear", "head", {"out_features": 1}), ("Output", {}))
    model = build_module(g, seed=0)
    with torch.no_grad():
        model.lin.weight.zero_()
        model.lin.bias.zero_()
    x = torch.rand(32, 4)
    origin = replayed(loop_over(model, x, x.sum(1, keepdim=True), Regression("mse"), batch_size=8))
    assert origin.batch == 1 and origin.loss_value == "finite" and origin.output is None
    assert origin.gradient.node_id == g.node_by_name("root").id and origin.gradient.op == "sqrt"
    assert origin.gradient.input_min == 0.0 and origin.cause == "sqrt"
    assert origin.message(g).startswith("A gradient became NaN or infinite at epoch 1, batch 1: node 'root' (Sqrt) "
                                        "made a gradient of inf from inputs in [0, 0]")


def test_a_float16_model_whose_values_pass_65504_names_the_overflow():
    # Rescaling by 1e5 of inputs in [-2, 2] in float16: finite inputs, an infinite output
    g = chain(("Input", {"shape": (4,)}), ("Linear", "lin", {"out_features": 8}),
              ("Rescaling", "big", {"scale": 1e5}), ("Linear", "head", {"out_features": 1}), ("Output", {}))
    model = build_module(g, seed=0).half()
    x = torch.rand(32, 4) * 4 - 2
    origin = replayed(loop_over(model, x.half(), x.sum(1, keepdim=True), Regression("mse"), batch_size=8))
    assert origin is not None and origin.node_id == g.node_by_name("big").id
    assert origin.output.dtype == "float16" and origin.output.value == "inf"
    assert origin.cause == "fp16_overflow"
    assert "float16 overflow (values beyond 65504)" in origin.message(g)
    assert "node 'big' (Rescaling) produced inf" in origin.message(g)


def test_netcanvas_train_prints_the_node_and_where_the_evidence_is(tmp_path, capsys):
    path = tmp_path / "log.json"
    save_project(Project(log_fed_negatives(), {"name": "iris"}, {"epochs": 2}), path)
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "training failed: The loss became NaN at epoch 1, batch 1: node 'log1' (Log) produced NaN" in err
    evidence = RunFolder(tmp_path / "run").nan_origin
    assert f"the NaN started at node 'log1'; the evidence is in {evidence}" in err
    assert json.loads(evidence.read_text())["node"] == "log1"
