"""Run folders after a kill: each epoch logged once, with its checkpoint; damaged folders refused by name."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from graph_builder import files
from runtime.train.runlog import RunLog
from runtime.train.trainer import CHECKPOINT, last_event, train

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"epochs": 5, "lr": 0.01, "batch_size": 32, "schedule": "cosine"}


def iris_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 3))


class Killed(KeyboardInterrupt):
    """Stands for SIGKILL: nothing after it runs, and the trainer does not report it."""


def epochs_logged(run: Path) -> list[int]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [e["epoch"] for e in map(json.loads, lines) if e["type"] == "epoch"]


@pytest.fixture()
def killer(monkeypatch):
    """Kills the run at the n-th write of a file (before it, after it, or half-way through a log line)."""
    state = {"countdown": None, "how": None}
    real_write, real_replace = RunLog.write, files.replace_atomic

    def tick():
        if state["countdown"] is None:
            return None
        state["countdown"] -= 1
        return state["how"] if state["countdown"] == 0 else None

    def write(self, event, default=None):
        how = tick()
        if how == "before":
            raise Killed
        if how == "half":
            line = json.dumps(event, default=default)
            self._f.write(line[: len(line) // 2].encode())  # the log is written as bytes, unbuffered
            self._f.flush()
            raise Killed
        real_write(self, event, default)
        if how == "after":
            raise Killed

    def replace(tmp, path):
        how = tick()
        if how in ("before", "half"):
            files._live.discard(os.path.abspath(tmp))  # its writer is dead: the temporary file is stale
            raise Killed
        out = real_replace(tmp, path)
        if how == "after":
            raise Killed
        return out

    monkeypatch.setattr(RunLog, "write", write)
    monkeypatch.setattr(files, "replace_atomic", replace)
    return state


def run_to_the_end(run: Path, killer, rng: random.Random) -> int:
    kills = 0
    resume = False
    while True:
        killer["countdown"], killer["how"] = rng.randint(1, 30), rng.choice(["before", "after", "half"])
        try:
            final = last_event(train(module=iris_mlp(seed=99), dataset={"name": "iris"}, training=SETTINGS,
                                     run_dir=run, resume=resume, live=False))
        except Killed:
            kills += 1
            resume = (run / CHECKPOINT).exists()
            continue
        killer["countdown"] = None
        assert final["type"] == "finished", final
        return kills


def test_a_run_killed_at_random_points_and_resumed_logs_each_epoch_once_with_the_same_weights(tmp_path, killer):
    straight = tmp_path / "straight"
    assert last_event(train(module=iris_mlp(seed=99), dataset={"name": "iris"}, training=SETTINGS,
                            run_dir=straight, live=False))["type"] == "finished"
    expected = load_file(straight / "last.safetensors")
    rng = random.Random(12)
    total_kills = 0
    for trial in range(6):
        run = tmp_path / f"killed{trial}"
        total_kills += run_to_the_end(run, killer, rng)
        assert epochs_logged(run) == [1, 2, 3, 4, 5]
        for line in (run / "metrics.jsonl").read_text().splitlines():
            json.loads(line)  # no cut line survives
        got = load_file(run / "last.safetensors")
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=0, atol=0)
        assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp") or ".tmp." in p.name]
    assert total_kills >= 6


def test_resume_cuts_a_line_cut_by_a_kill(tmp_path):
    run = tmp_path / "run"
    train_iris = dict(module=iris_mlp(), dataset={"name": "iris"}, run_dir=run, live=False)
    assert last_event(train(**train_iris, training={**SETTINGS, "epochs": 2}))["type"] == "finished"
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"type": "epoch", "epo')
    assert last_event(train(**train_iris, training={**SETTINGS, "epochs": 3}, resume=True))["type"] == "finished"
    assert epochs_logged(run) == [1, 2, 3]


def test_a_checkpoint_of_an_older_version_without_a_log_length_still_drops_later_epochs(tmp_path):
    run = tmp_path / "run"
    common = dict(dataset={"name": "iris"}, run_dir=run, live=False)
    assert last_event(train(module=iris_mlp(), training={**SETTINGS, "epochs": 2}, **common))["type"] == "finished"
    state = torch.load(run / CHECKPOINT, weights_only=True)
    state.pop("log_bytes")
    torch.save(state, run / CHECKPOINT)
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"type": "epoch", "epoch": 3}) + "\n")  # logged, then killed before its checkpoint
    assert last_event(train(module=iris_mlp(), training={**SETTINGS, "epochs": 3}, resume=True,
                            **common))["type"] == "finished"
    assert epochs_logged(run) == [1, 2, 3]


@pytest.fixture()
def finished_run(tmp_path):
    run = tmp_path / "run"
    assert last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training={**SETTINGS, "epochs": 1},
                            run_dir=run, live=False))["type"] == "finished"
    return run


def resume(run):
    return last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training={**SETTINGS, "epochs": 2},
                            run_dir=run, resume=True, live=False))


@pytest.mark.parametrize("damage, words", [
    (lambda s: s["rng"].pop("torch"), "random-number state 'torch' is missing"),
    (lambda s: s.pop("rng"), "no random-number state"),
    (lambda s: s["rng"].update(shuffle=torch.zeros(3)), "random-number state 'shuffle'"),
    (lambda s: s["rng"].update(torch=torch.zeros(3, dtype=torch.uint8)), "cannot be restored"),
    (lambda s: s.update(epoch=-3), "its epoch is -3"),
    (lambda s: s.update(epoch="2"), "its epoch is '2'"),
    (lambda s: s.update(step=-1), "'step' is -1"),
    (lambda s: s.pop("optimizer"), "no optimizer state"),
    (lambda s: s.update(best={"epoch": 7, "value": 0.1}), "best epoch is 7"),
    (lambda s: s["model"].update({"0.weight": "not a tensor"}), "was made for a different model or optimizer"),
    (lambda s: s["model"].update({"0.weight": torch.zeros(2, 2)}), "was made for a different model or optimizer"),
])
def test_a_damaged_checkpoint_gets_one_message_naming_the_file_and_the_fault(finished_run, damage, words):
    state = torch.load(finished_run / CHECKPOINT, weights_only=True)
    damage(state)
    torch.save(state, finished_run / CHECKPOINT)
    final = resume(finished_run)
    assert final["type"] == "failed" and final["kind"] == "checkpoint"
    assert words in final["message"] and str(finished_run / CHECKPOINT) in final["message"]
    assert "KeyError" not in final["message"] and "traceback" not in final


def test_a_truncated_checkpoint_file_is_named(finished_run):
    data = (finished_run / CHECKPOINT).read_bytes()
    (finished_run / CHECKPOINT).write_bytes(data[: len(data) // 2])
    final = resume(finished_run)
    assert final["kind"] == "checkpoint" and str(finished_run / CHECKPOINT) in final["message"]


def test_a_config_that_is_not_json_is_refused_by_name_and_left_alone(finished_run):
    (finished_run / "config.json").write_text('{"format": "netcanvas-run", "proj')
    final = resume(finished_run)
    assert final["kind"] == "checkpoint"
    assert f"{finished_run / 'config.json'} is damaged (not JSON" in final["message"]
    assert (finished_run / "config.json").read_text() == '{"format": "netcanvas-run", "proj'
    assert epochs_logged(finished_run) == [1]


def test_sigkill_after_the_second_epoch_line_then_resume_logs_each_epoch_once(tmp_path):
    from graph_builder.project import load_project, save_project
    from runtime.commands.templates import template_paths

    path = tmp_path / "p.json"
    save_project(load_project(template_paths()["mlp_iris"]), path)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "runtime.cli", "train", str(path), "--json", "--out", str(run), "--epochs", "4",
           "--device", "cpu"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    seen = 0
    for line in child.stdout:
        if json.loads(line)["type"] == "epoch":
            seen += 1
            if seen == 2:
                child.send_signal(signal.SIGKILL)
                break
    child.wait()
    child.stdout.close()
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert epochs_logged(run) == [1, 2, 3, 4]


def test_the_trainers_files_go_through_the_atomic_helper():
    """Every file the trainer writes is written by graph_builder.files (so it is fsynced): by its journal only."""
    import inspect
    import re

    from runtime.train import journal, trainer

    assert not re.search(r"(?<![.\w])open\(|write_bytes|write_text|torch\.save\(", inspect.getsource(trainer))
    source = inspect.getsource(journal)
    assert not re.search(r"(?<![.\w])open\(|write_bytes|write_text", source.replace("RunLog(", ""))
    assert "write_atomic(self.folder.checkpoint" in source
    from graph_builder import run_folder  # the run folder's own writes (config, fold, trial) are atomic too

    folder = inspect.getsource(run_folder)
    assert not re.search(r"(?<![.\w])open\(|write_bytes|write_text", folder) and "write_atomic(self.config" in folder
