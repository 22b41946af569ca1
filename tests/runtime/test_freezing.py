"""Transfer-learning mechanics, trained for real on tiny digits runs: frozen weights and BatchNorm
statistics stay bit for bit, only trainable parameters reach the optimizer, the pretrained part
learns at its own rate, and a run's weights that do not fit are refused naming both networks."""

import json

import pytest
import torch

from graph_builder import Graph, Project
from graph_builder.freezing import (FEATURE_EXTRACTION, FULL, LAST_BLOCKS, FreezingError, parameter_split,
                                    preset_command)
from graph_builder.networks import Networks
from graph_builder.project import dumps_project, load_project, loads_project, save_project
from runtime.compile.compiler import build_module
from runtime.train.freezing import frozen_modules, pretrained_nodes
from runtime.pretrained import PretrainedError, load_initial_weights
from runtime.train.trainer import _Run, Control, last_event, train

QUIET = {"epochs": 2, "batch_size": 32, "stop_on_divergence": False, "device": "cpu", "lr": 0.01}


def features(channels: int = 4) -> Graph:
    g = Graph()
    x = g.add_node("Input", "x", {"shape": (1, 8, 8)})
    conv = g.add_node("Conv2d", "conv", {"out_channels": channels, "kernel_size": 3, "padding": 1})
    bn = g.add_node("BatchNorm2d", "bn")
    relu = g.add_node("ReLU", "relu")
    pool = g.add_node("MaxPool2d", "pool", {"kernel_size": 2})
    y = g.add_node("Output", "y")
    for a, b in [(x, conv), (conv, bn), (bn, relu), (relu, pool), (pool, y)]:
        g.connect(a.id, b.id)
    return g


def project(classes: str = "0-4", channels: int = 4, meta: dict | None = None) -> Project:
    networks = Networks({"Net": Graph(), "Features": features(channels)})
    g = networks["Net"]
    x = g.add_node("Input", "image", {"shape": (1, 8, 8)})
    body = g.add_node("Block", "features", {"network": "Features"})
    flat = g.add_node("Flatten", "flatten")
    head = g.add_node("Linear", "head", {"out_features": 5})
    out = g.add_node("Output", "logits")
    for a, b in [(x, body), (body, flat), (flat, head), (head, out)]:
        g.connect(a.id, b.id)
    return Project(networks=networks, dataset={"name": "digits", "classes": classes}, training=dict(QUIET),
                   meta=meta or {"title": f"digits {classes}"})


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """A run on digits 0–4 whose best weights later projects start from."""
    root = tmp_path_factory.mktemp("source")
    src = project("0-4")
    save_project(src, root / "source.json")
    final = last_event(train(src, run_dir=root / "run", project_path=root / "source.json"))
    assert final["type"] == "finished", final
    return root / "run"


def transfer_project(tmp_path, source_run, **kw) -> tuple[Project, str]:
    p = project("5-9", **kw)
    p.meta["pretrained"] = [{"target": "features", "source": {"kind": "run", "run": str(source_run)}}]
    path = tmp_path / "target.json"
    save_project(p, path)
    return load_project(path), str(path)


def run_of(p: Project, path: str, tmp_path, **training) -> _Run:
    """A finished run whose model and optimizer can be inspected."""
    run = _Run(p, None, None, {**QUIET, **training}, tmp_path / "run", Control.of(None), False, False, None, path)
    events = list(run.events())
    assert events[-1]["type"] == "finished", events[-1]
    return run


def test_a_run_source_fills_the_block_with_the_runs_block_weights(tmp_path, source_run):
    p, path = transfer_project(tmp_path, source_run)
    module = build_module(p.graph)
    keys = load_initial_weights(p, path, module)
    from safetensors.torch import load_file

    best = load_file(str(source_run / "best.safetensors"))
    assert sorted(keys) == sorted(k for k in best if k.startswith("features."))
    for k in keys:
        assert torch.equal(module.state_dict()[k], best[k])
    assert pretrained_nodes(p, path) == {p.graph.node_by_name("features").id}


def test_feature_extraction_keeps_the_backbone_and_its_batchnorm_statistics_bit_for_bit(tmp_path, source_run):
    p, path = transfer_project(tmp_path, source_run)
    p.graph.apply(preset_command(p.graph, FEATURE_EXTRACTION, pretrained_nodes(p, path)))
    assert p.graph.node_by_name("features").frozen and not p.graph.node_by_name("head").frozen
    from safetensors.torch import load_file

    before = {k: v for k, v in load_file(str(source_run / "best.safetensors")).items() if k.startswith("features.")}
    assert "features.bn.running_mean" in before and "features.bn.num_batches_tracked" in before
    run = run_of(p, path, tmp_path)
    after = {k: v.cpu() for k, v in run.model.state_dict().items()}
    for k, v in before.items():
        assert torch.equal(after[k], v), f"{k} changed while frozen"
    head = build_module(p.graph, seed=QUIET.get("seed", 0)).state_dict()["head.weight"]
    assert not torch.equal(after["head.weight"], head)  # the head did train
    in_optimizer = {id(p) for g in run.optimizer.param_groups for p in g["params"]}
    named = dict(run.model.named_parameters())
    assert in_optimizer == {id(named["head.weight"]), id(named["head.bias"])}
    assert all(not named[k].requires_grad for k in named if k.startswith("features."))


def test_fine_tuning_trains_the_pretrained_part_at_its_own_lower_rate(tmp_path, source_run):
    p, path = transfer_project(tmp_path, source_run)
    run = run_of(p, path, tmp_path, pretrained_lr_factor=0.25, lr=0.004)
    groups = run.optimizer.param_groups
    assert [g["lr"] for g in groups] == [0.004, 0.001]
    named = dict(run.model.named_parameters())
    pretrained = {id(v) for k, v in named.items() if k.startswith("features.")}
    assert {id(q) for q in groups[1]["params"]} == pretrained
    assert {id(q) for q in groups[0]["params"]} == {id(named["head.weight"]), id(named["head.bias"])}
    from safetensors.torch import load_file

    best = load_file(str(source_run / "best.safetensors"))
    assert not torch.equal(run.model.state_dict()["features.conv.weight"].cpu(), best["features.conv.weight"])


def test_frozen_layers_inside_a_block_network_are_frozen_in_every_use(tmp_path, source_run):
    p, path = transfer_project(tmp_path, source_run)
    inner = p.networks["Features"]
    inner.set_frozen([inner.node_by_name("conv").id])
    assert frozen_modules(p.graph) == ["features.conv"]
    run = run_of(p, path, tmp_path)
    named = dict(run.model.named_parameters())
    assert not named["features.conv.weight"].requires_grad and named["features.bn.weight"].requires_grad
    in_optimizer = {id(q) for g in run.optimizer.param_groups for q in g["params"]}
    assert id(named["features.conv.weight"]) not in in_optimizer


def test_a_run_of_another_network_is_refused_naming_both(tmp_path, source_run):
    p, path = transfer_project(tmp_path, source_run, channels=6)  # its Features block is wider than the run's
    with pytest.raises(PretrainedError) as err:
        load_initial_weights(p, path, build_module(p.graph))
    text = str(err.value)
    assert "'Features'" in text and source_run.name in text and "digits 0-4" in text
    assert "do not fit" in text
    final = last_event(train(p, run_dir=tmp_path / "run", project_path=path))
    assert final["type"] == "failed" and final["kind"] == "weights" and "'Features'" in final["message"]


def test_training_an_imported_project_starts_from_its_imported_weights(tmp_path, source_run):
    """meta["weights"] (what Import writes) is the starting point of the CLI's and the GUI child's runs."""
    import hashlib

    from runtime.export.formats import export_weights

    p = project("5-9")
    module = build_module(p.graph, seed=123)
    p.training.update({"epochs": 1, "lr": 1e-8})
    path = tmp_path / "imported.json"
    export_weights(module, tmp_path / "imported.safetensors")  # what Import writes beside the project
    p.meta["weights"] = {"file": "imported.safetensors",
                         "sha256": hashlib.sha256((tmp_path / "imported.safetensors").read_bytes()).hexdigest()}
    save_project(p, path)
    final = last_event(train(load_project(path), run_dir=tmp_path / "run", project_path=path))
    assert final["type"] == "finished"
    from safetensors.torch import load_file

    trained = load_file(str(tmp_path / "run" / "last.safetensors"))
    # one epoch at lr 1e-8 barely moves anything: the weights are the imported ones, not a fresh seed
    assert torch.allclose(trained["features.conv.weight"], module.state_dict()["features.conv.weight"], atol=1e-5)


def test_presets_are_single_undoable_edits_and_survive_save_and_load(tmp_path):
    p = project()
    g = p.graph
    before = g.to_dict()
    inverse = g.apply(preset_command(g, LAST_BLOCKS, k=1))
    assert {n.name for n in g.nodes.values() if n.frozen} == {"image"}  # everything from the block on trains
    g.apply(preset_command(g, FEATURE_EXTRACTION, {g.node_by_name("features").id}))
    assert {n.name for n in g.nodes.values() if n.frozen} == {"features"}
    again = loads_project(dumps_project(p))
    assert again.graph.node_by_name("features").frozen and not again.graph.node_by_name("head").frozen
    assert json.loads(dumps_project(p))["networks"][0]["graph"]["nodes"][1]["frozen"] is True
    trainable, frozen = parameter_split(again.graph)
    assert frozen == 4 * 9 + 4 + 2 * 4 and trainable == 64 * 5 + 5
    g.apply(preset_command(g, FULL))
    assert not any(n.frozen for n in g.nodes.values())
    g.apply(inverse)  # the first preset's undo puts back what was there before it
    g.apply(preset_command(g, FULL))
    assert g.to_dict() == before
    with pytest.raises(FreezingError, match="fewer than the 2"):
        preset_command(g, LAST_BLOCKS, k=2)
    with pytest.raises(FreezingError, match="no node of this network has pretrained weights"):
        preset_command(g, FEATURE_EXTRACTION, set())


def test_an_old_file_without_frozen_reads_unchanged():
    p = project()
    text = dumps_project(p)
    assert '"frozen"' not in text
    assert dumps_project(loads_project(text)) == text
    data = json.loads(text)
    data["networks"][0]["graph"]["nodes"][1]["frozen"] = "yes"
    from graph_builder.errors import ProjectError

    with pytest.raises(ProjectError, match="frozen must be true or false"):
        loads_project(json.dumps(data))


def test_the_exported_training_script_keeps_frozen_layers_and_their_statistics(tmp_path):
    import subprocess
    import sys

    from runtime.export.script import ScriptExportError, export_training_script

    p = project()
    p.dataset.replace({"name": "digits"})  # the script trains on the whole dataset: all ten digits
    g = p.graph
    g.set_param(g.node_by_name("head").id, "out_features", 10)
    g.set_frozen([g.node_by_name("features").id])
    script = export_training_script(p, tmp_path / "train.py")
    assert "'frozen': ['features']" in script.read_text()
    done = subprocess.run([sys.executable, script.name, "--epochs", "2", "--out", "w.pt"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    trained = torch.load(tmp_path / "w.pt", weights_only=True)
    start = build_module(g, seed=p.training.value("seed")).state_dict()
    kept = [k for k in start if k.startswith("features.")]
    assert "features.bn.running_var" in kept
    assert all(torch.equal(trained[k], start[k]) for k in kept)
    assert not torch.equal(trained["head.weight"], start["head.weight"])
    p.dataset.update({"classes": "0-4"})  # the script trains on the class subset the app trains on
    with pytest.raises(ScriptExportError, match="has 5 classes"):
        export_training_script(p, tmp_path / "again.py")  # the head gives 10 scores: refused as the trainer would
    g.set_param(g.node_by_name("head").id, "out_features", 5)
    assert "PICKED = ('0', '1', '2', '3', '4')" in export_training_script(p, tmp_path / "again.py").read_text()


def test_the_freeze_command_applies_presets_and_validate_counts_frozen_parameters(tmp_path, source_run, capsys):
    from runtime.cli import main

    p, path = transfer_project(tmp_path, source_run)
    assert main(["freeze", path, "--preset", "feature-extraction"]) == 0
    assert "frozen: features;" in capsys.readouterr().out
    assert load_project(path).graph.node_by_name("features").frozen
    assert main(["validate", path]) == 0
    assert "(325 trainable, 48 frozen)" in capsys.readouterr().out
    assert main(["validate", path, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["trainable_params"], report["frozen_params"]) == (325, 48)
    out = tmp_path / "full.json"
    assert main(["freeze", path, "--preset", "full", "--out", str(out)]) == 0
    assert not any(n.frozen for n in load_project(out).graph.nodes.values())
    assert load_project(path).graph.node_by_name("features").frozen  # --out leaves FILE alone
    assert main(["freeze", path, "--preset", "last-blocks", "--blocks", "3"]) == 1
    assert "1 block, fewer than the 3" in capsys.readouterr().err
    assert main(["freeze", str(out), "--freeze", "head", "--unfreeze", "features"]) == 0
    assert "frozen: head;" in capsys.readouterr().out


def test_an_imported_model_with_a_new_head_keeps_what_fits_and_feature_extraction_trains_the_head(tmp_path):
    """Import, then replace the classifier: the weights that still fit are the pretrained part."""
    import hashlib

    from runtime.export.formats import export_weights

    p = project("5-9")
    imported = build_module(p.graph, seed=7).state_dict()
    export_weights(build_module(p.graph, seed=7), tmp_path / "imported.safetensors")
    p.meta["weights"] = {"file": "imported.safetensors",
                         "sha256": hashlib.sha256((tmp_path / "imported.safetensors").read_bytes()).hexdigest()}
    g = p.graph
    g.set_param(g.node_by_name("head").id, "out_features", 3)  # a new head for three classes
    p.dataset.update({"classes": "5-7"})
    path = tmp_path / "imported.json"
    save_project(p, path)
    p = load_project(path)
    module = build_module(p.graph)
    keys = load_initial_weights(p, path, module)
    assert sorted(keys) == sorted(k for k in imported if k.startswith("features."))
    assert pretrained_nodes(p, path) == {p.graph.node_by_name("features").id}
    p.graph.apply(preset_command(p.graph, FEATURE_EXTRACTION, pretrained_nodes(p, path)))
    run = run_of(p, str(path), tmp_path)
    after = run.model.state_dict()
    assert all(torch.equal(after[k].cpu(), imported[k]) for k in keys)
    assert after["head.weight"].shape == (3, 64)
