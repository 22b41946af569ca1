"""Runs know what they trained: the fingerprint in config.json, the runs folder beside the project, and
export, resume and the CLI refusing a run of a different network."""

from __future__ import annotations

import json

import pytest

from graph_builder import Project, save_project
from graph_builder.fingerprint import project_fingerprint
from graph_builder.runs import (
    RunMismatchError,
    RunPredatesFingerprintsError,
    RunsFolderExistsError,
    carry_runs,
    check_run_fits,
    read_run_network,
    runs_folder,
    untitled_runs_folder,
)
from runtime.cli import main
from runtime.train.trainer import last_event, train
from tests.builders import chain


def iris(hidden=16, names=None) -> Project:
    graph = chain(("Input", {"shape": (4,)}), ("Linear", {"out_features": hidden}), ("ReLU", {}),
                  ("Linear", {"out_features": 3}), ("Output", {}), names=names)
    return Project(graph, {"name": "iris"}, {"epochs": 2, "device": "cpu"}, {"title": f"iris MLP {hidden}"})


def trained_run(tmp_path, project: Project, name="20261201-081200"):
    run = tmp_path / name
    end = last_event(train(project, run_dir=run, live=False))
    assert end["type"] == "finished", end
    return run


@pytest.fixture(scope="module")
def run16(tmp_path_factory):
    return trained_run(tmp_path_factory.mktemp("runs"), iris(16))


def test_a_runs_config_records_the_fingerprint_parameter_count_and_title(run16):
    config = json.loads((run16 / "config.json").read_text())
    network = config["network"]
    assert network["fingerprint"] == project_fingerprint(iris(16))
    assert network["parameters"] == 4 * 16 + 16 + 16 * 3 + 3 == 131
    assert network["title"] == "iris MLP 16"


def test_the_same_network_renamed_and_moved_fits_its_run(run16):
    renamed = iris(16, names=["x", "hidden", "act", "head", "y"])
    assert check_run_fits(run16, renamed).parameters == 131


def test_a_run_of_a_different_network_is_refused_naming_both(run16):
    with pytest.raises(RunMismatchError) as caught:
        check_run_fits(run16, iris(32))
    text = str(caught.value)
    mine = project_fingerprint(iris(32))[:8]
    theirs = project_fingerprint(iris(16))[:8]
    assert f"run {run16.name} trained a different network (131 parameters, fingerprint {theirs})" in text
    assert f"than the open one (259 parameters, fingerprint {mine})" in text
    assert "open the run's own network as a new project" in text


def test_a_run_from_before_fingerprints_is_checked_through_its_project_snapshot(run16, tmp_path):
    old = tmp_path / "20250101-000000"
    old.mkdir()
    config = json.loads((run16 / "config.json").read_text())
    del config["network"]
    (old / "config.json").write_text(json.dumps(config))
    assert read_run_network(old).fingerprint == project_fingerprint(iris(16))
    check_run_fits(old, iris(16))
    with pytest.raises(RunMismatchError, match="trained a different network"):
        check_run_fits(old, iris(32))


def test_a_run_that_records_nothing_about_its_network_is_refused_as_predating_fingerprints(tmp_path):
    old = tmp_path / "20240101-000000"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"format": "netcanvas-run", "version": 1}))
    with pytest.raises(RunPredatesFingerprintsError, match="predates fingerprints"):
        check_run_fits(old, iris(16))


def test_resuming_a_run_with_a_different_network_is_refused_and_the_run_is_untouched(tmp_path):
    run = trained_run(tmp_path, iris(16))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    end = last_event(train(iris(32), run_dir=run, resume=True, live=False, training={"epochs": 3}))
    assert end["type"] == "failed" and end["kind"] == "checkpoint"
    assert "cannot resume: run" in end["message"] and "trained a different network" in end["message"]
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    ok = last_event(train(iris(16), run_dir=run, resume=True, live=False, training={"epochs": 3}))
    assert ok["type"] == "finished" and ok["epochs_run"] == 3


# ---------------------------------------------------------------- where runs live


def test_the_runs_folder_sits_beside_the_project_file(tmp_path):
    assert runs_folder(tmp_path / "lenet.json") == tmp_path / "lenet.runs"
    assert untitled_runs_folder(tmp_path) != untitled_runs_folder(tmp_path)
    assert untitled_runs_folder(tmp_path).parent == tmp_path / "untitled"


def test_carrying_runs_moves_them_and_refuses_to_merge_into_an_existing_folder(tmp_path):
    source = tmp_path / "untitled" / "a"
    (source / "20261201-081200").mkdir(parents=True)
    (source / "20261201-081200" / "config.json").write_text("{}")
    target = tmp_path / "net.runs"
    assert carry_runs(source, target) is True
    assert (target / "20261201-081200" / "config.json").read_text() == "{}" and not source.exists()
    assert carry_runs(tmp_path / "untitled" / "never-trained", tmp_path / "other.runs") is False
    again = tmp_path / "untitled" / "b"
    (again / "20261202-000000").mkdir(parents=True)
    with pytest.raises(RunsFolderExistsError, match="already exists"):
        carry_runs(again, target)
    assert (again / "20261202-000000").is_dir() and (target / "20261201-081200").is_dir()


def test_cli_train_puts_its_run_in_the_projects_runs_folder(tmp_path, capsys, monkeypatch):
    path = tmp_path / "flowers.json"
    save_project(iris(16), path)
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(path), "--epochs", "1"]) == 0
    (run,) = list((tmp_path / "flowers.runs").iterdir())
    assert json.loads((run / "config.json").read_text())["network"]["fingerprint"] == project_fingerprint(iris(16))
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- the CLI refuses a wrong run


def test_cli_export_refuses_weights_of_a_run_of_a_different_network(run16, tmp_path, capsys):
    path = tmp_path / "wider.json"
    save_project(iris(32), path)
    out = tmp_path / "w.safetensors"
    code = main(["export", str(path), "--format", "weights", "--out", str(out),
                 "--weights", str(run16 / "best.safetensors")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"run {run16.name} trained a different network (131 parameters" in err and "259 parameters" in err
    assert not out.exists()
    assert main(["export", str(path), "--format", "onnx", "--out", str(tmp_path / "m.onnx"),
                 "--weights", str(run16 / "best.safetensors")]) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_cli_export_takes_weights_of_a_run_of_the_same_network(run16, tmp_path, capsys):
    from safetensors.torch import load_file

    path = tmp_path / "same.json"
    save_project(iris(16), path)
    out = tmp_path / "w.safetensors"
    assert main(["export", str(path), "--format", "weights", "--out", str(out),
                 "--weights", str(run16 / "best.safetensors")]) == 0
    assert "untrained" not in capsys.readouterr().out
    want, got = load_file(run16 / "best.safetensors"), load_file(out)
    assert set(want) == set(got) and all((want[k] == got[k]).all() for k in want)


def test_cli_export_weights_without_weights_refuses_unless_untrained_is_asked_for(tmp_path, capsys):
    path = tmp_path / "p.json"
    save_project(iris(16), path)
    out = tmp_path / "w.safetensors"
    assert main(["export", str(path), "--format", "weights", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "pass --weights RUN/best.safetensors" in err and "--untrained" in err
    assert not out.exists()
    assert main(["export", str(path), "--format", "weights", "--out", str(out), "--untrained"]) == 0
    assert "untrained weights" in capsys.readouterr().out and out.stat().st_size > 0


def test_weights_copied_out_of_their_run_still_name_the_network_they_fit(run16, tmp_path, capsys):
    import shutil

    loose = tmp_path / "copied.safetensors"
    shutil.copy(run16 / "best.safetensors", loose)
    path = tmp_path / "wider.json"
    save_project(iris(32), path)
    out = tmp_path / "w.safetensors"
    assert main(["export", str(path), "--format", "weights", "--out", str(out), "--weights", str(loose)]) == 1
    err = capsys.readouterr().err
    assert "copied.safetensors was trained for a different network" in err and not out.exists()
    same = tmp_path / "same.json"
    save_project(iris(16), same)
    assert main(["export", str(same), "--format", "weights", "--out", str(out), "--weights", str(loose)]) == 0


def test_cli_resume_refuses_a_run_of_a_different_network(run16, tmp_path, capsys):
    path = tmp_path / "wider.json"
    save_project(iris(32), path)
    before = (run16 / "checkpoint.pt").read_bytes()
    assert main(["train", str(path), "--out", str(run16), "--resume", "--epochs", "3"]) == 1
    err = capsys.readouterr().err
    assert f"cannot resume: run {run16.name} trained a different network (131 parameters" in err
    assert (run16 / "checkpoint.pt").read_bytes() == before
