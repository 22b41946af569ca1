"""`netcanvas tune`: an Optuna study in the runs folder, trials as ordinary runs in worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from graph_builder import Graph, Project, save_project  # noqa: E402
from graph_builder.runs import runs_folder  # noqa: E402
from runtime.tune.study import STUDY_FILE, TRIAL_FILE, TuneError, run_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def iris_file(tmp_path, space, epochs=2, **experiment):
    g = Graph()
    nodes = [g.add_node(t, params=p) for t, p in (("Input", {"shape": (4,)}), ("Flatten", {}),
                                                  ("Linear", {"out_features": 16}), ("ReLU", {}),
                                                  ("Linear", {"out_features": 3}), ("Output", {}))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    ids = {"flatten": nodes[1].id, "hidden": nodes[2].id}
    project = Project(g, {"name": "iris"}, {"epochs": epochs, "lr": 0.01})
    project.experiment.apply(_replace({"metric": "val_accuracy", **experiment,
                                       "space": [_dim(d, ids) for d in space]}))
    path = tmp_path / "iris.json"
    save_project(project, path)
    return path


def _replace(data):
    from graph_builder.experiment import ReplaceExperiment

    return ReplaceExperiment(data)


def _dim(d, ids):
    d = dict(d)
    if "node" in d:
        d = {"network": "Net", **d, "node": ids[d["node"]]}
    return d


def trial_folders(path):
    root = runs_folder(path)
    return sorted(p for p in root.iterdir() if (p / TRIAL_FILE).is_file())


def test_a_2_by_3_grid_runs_exactly_6_distinct_trials_as_ordinary_runs(tmp_path):
    path = iris_file(tmp_path, [{"setting": "lr", "choices": [0.003, 0.03]},
                                {"node": "hidden", "param": "out_features", "choices": [4, 8, 16]}],
                     method="grid", trials=50, pruner="none")
    result = run_study(path, jobs=2)
    assert len(result.trials) == 6 and [t.trial for t in result.trials] == list(range(6))
    combos = {(t.params["lr"], t.params["linear.out_features"]) for t in result.trials}
    assert combos == {(lr, w) for lr in (0.003, 0.03) for w in (4, 8, 16)}
    assert all(t.state == "complete" and 0 <= t.value <= 1 for t in result.trials)
    folders = trial_folders(path)
    assert sorted(json.loads((f / TRIAL_FILE).read_text())["trial"] for f in folders) == list(range(6))
    for f in folders:  # each an ordinary run: config, metrics, weights
        assert (f / "config.json").is_file() and (f / "best.safetensors").is_file()
    assert (runs_folder(path) / STUDY_FILE).is_file()
    again = run_study(path, jobs=1)  # a finished study runs nothing more
    assert len(again.trials) == 6 and len(trial_folders(path)) == 6
    # Without a pruner the epochs' values are stored once per trial, and read back from the study
    assert all(t.epochs == 2 and t.duration_s > 0 for t in again.trials)


def test_a_trial_whose_values_break_the_graph_fails_with_the_reason_and_the_study_goes_on(tmp_path):
    path = iris_file(tmp_path, [{"node": "flatten", "param": "start_dim", "choices": [1, 4]}], method="grid")
    result = run_study(path, jobs=1)
    by_dim = {t.params["flatten.start_dim"]: t for t in result.trials}
    assert by_dim[1].state == "complete"
    assert by_dim[4].state == "failed" and "not valid with these values" in by_dim[4].reason
    assert "flatten" in by_dim[4].reason


def test_bad_experiments_and_a_corrupt_study_file_are_refused_with_a_message(tmp_path):
    with pytest.raises(TuneError, match="search space is empty"):
        run_study(iris_file(tmp_path, []))
    path = iris_file(tmp_path, [{"setting": "lr", "low": 1e-3, "high": 1e-1, "log": True}])
    root = runs_folder(path)
    (root / "20260101-000000").mkdir(parents=True)
    (root / "20260101-000000" / "config.json").write_text("{}")
    (root / STUDY_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(TuneError, match=r"study file .*cannot be read.*runs in .* are kept"):
        run_study(path, trials=1)
    assert (root / "20260101-000000" / "config.json").read_text() == "{}"


def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", "tune", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_sigkilled_study_resumes_with_contiguous_trials_none_lost_or_run_twice(tmp_path, qtbot):
    trials = 5
    path = iris_file(tmp_path, [{"setting": "lr", "low": 1e-3, "high": 1e-1, "log": True},
                                {"node": "hidden", "param": "out_features", "low": 4, "high": 32}],
                     epochs=40, method="random", pruner="none", trials=trials)
    proc = cli(path, "--jobs", "1", "--json")
    first = [json.loads(proc.stdout.readline()) for _ in range(2)]  # two trials done, the third is training

    def third_is_training() -> bool:  # its run folder has logged an epoch: killed mid-trial, not between two
        folders = trial_folders(path)
        return len(folders) == 3 and '"epoch"' in ((folders[-1] / "metrics.jsonl").read_text()
                                                   if (folders[-1] / "metrics.jsonl").is_file() else "")

    qtbot.waitUntil(third_is_training, timeout=60000)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert [t["trial"] for t in first] == [0, 1] and all(t["state"] == "complete" for t in first)
    proc = cli(path, "--jobs", "1", "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    rest = [json.loads(line) for line in out.splitlines()]
    printed = [t["trial"] for t in first + rest]
    # None run twice. (On a quick machine the third trial can finish between the last line read and
    # the kill; then it is complete in the study without a line from either process.)
    assert len(printed) == len(set(printed)) and set(printed) <= set(range(trials)), printed
    assert set(range(3, trials)) <= set(printed)  # what was left to run after the kill ran in the second process
    result = run_study(path)  # contiguous and none lost: every trial is complete in the study
    assert [t.trial for t in result.trials] == list(range(trials))
    assert all(t.state == "complete" for t in result.trials)
    folders = trial_folders(path)
    assert len(folders) == trials and len({t.run_dir for t in result.trials}) == trials
    for f in folders:  # every run trained all its epochs (a resumed one continued from its checkpoint; an
        # epoch logged just before the kill but not yet checkpointed is trained again)
        epochs = [json.loads(line)["epoch"] for line in (f / "metrics.jsonl").read_text().splitlines()
                  if json.loads(line)["type"] == "epoch"]
        assert sorted(set(epochs)) == list(range(1, 41)) and len(epochs) <= 41


@pytest.mark.slow
def test_tpe_over_lr_width_and_dropout_reaches_the_mlp_digits_templates_own_accuracy(tmp_path):
    from graph_builder import load_project
    from graph_builder.experiment import ReplaceExperiment
    from runtime.train.trainer import train

    epochs = 4
    project = load_project(ROOT / "resources" / "templates" / "mlp_digits.json")
    own = max(e["val"]["accuracy"] for e in train(project, training={"epochs": epochs}) if e["type"] == "epoch")
    ids = {n.name: n.id for n in project.graph.nodes.values()}
    project.experiment.apply(ReplaceExperiment({
        "metric": "val_accuracy", "method": "tpe", "trials": 16, "space": [
            {"setting": "lr", "low": 1e-4, "high": 3e-2, "log": True},
            {"network": "Net", "node": ids["hidden"], "param": "out_features", "low": 32, "high": 512, "log": True},
            {"network": "Net", "node": ids["dropout"], "param": "p", "low": 0.0, "high": 0.5}]}))
    path = tmp_path / "mlp_digits.json"
    save_project(project, path)
    result = run_study(path, jobs=2, epochs=epochs)
    assert len(result.trials) == 16
    assert result.best.value >= own
