"""A full disk: `new`, `export` and `train` each give one message naming the file, and the old
files stay as they were with no temporary file left behind."""

from __future__ import annotations

import errno
import os

import pytest

from runtime.cli import main
from runtime.train.runlog import RunLog
from runtime.train.trainer import train


@pytest.fixture()
def disk(small_disk):
    assert main(["new", "--template", "mlp_iris", str(small_disk.folder / "p.json")]) == 0
    return small_disk


def one_clear_line(err: str, path) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and str(path) in lines[0] and "No space left on device" in lines[0], err
    return lines[0]


def test_new_onto_a_full_disk_names_the_file_and_keeps_the_old_one(disk, capsys):
    path = disk.folder / "p.json"
    before = path.read_bytes()
    disk.fill()
    capsys.readouterr()
    assert main(["new", "--template", "lenet_digits", str(path), "--force"]) == 1
    one_clear_line(capsys.readouterr().err, path)
    assert path.read_bytes() == before and disk.leftovers() == []


@pytest.mark.parametrize("fmt, name, extra", [("python", "model.py", []),
                                              ("weights", "model.safetensors", ["--untrained"]),
                                              ("onnx", "model.onnx", []), ("pt2", "model.pt2", [])])
def test_export_onto_a_full_disk_names_the_file_and_keeps_the_old_one(disk, capsys, fmt, name, extra):
    out = disk.folder / name
    out.write_bytes(b"old export")
    disk.fill()
    capsys.readouterr()
    assert main(["export", str(disk.folder / "p.json"), "--format", fmt, "--out", str(out), *extra]) == 1
    one_clear_line(capsys.readouterr().err, out)
    assert out.read_bytes() == b"old export" and disk.leftovers() == []


def test_train_onto_a_full_disk_names_the_file_in_one_line(disk, capsys):
    disk.fill()
    capsys.readouterr()
    run = disk.folder / "run"
    assert main(["train", str(disk.folder / "p.json"), "--out", str(run), "--epochs", "1", "--device", "cpu"]) == 1
    line = one_clear_line(capsys.readouterr().err, run)  # its first file: the lock (or config.json)
    assert line.startswith("training failed:")
    assert disk.leftovers() == []


def test_a_metrics_log_that_cannot_be_written_ends_the_run_with_one_failed_event(tmp_path, monkeypatch):
    real_open = open

    class FullFile:
        def __init__(self, f):
            self._f = f

        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self._f, name)

    monkeypatch.setattr("runtime.train.runlog.open", lambda *a, **k: FullFile(real_open(*a, **k)), raising=False)
    events = list(train(dataset={"name": "iris"}, training={"epochs": 2}, run_dir=tmp_path / "run",
                        module=__import__("torch").nn.Linear(4, 3)))
    assert [e["type"] for e in events] == ["failed"]
    failed = events[0]
    assert failed["kind"] == "disk" and "traceback" not in failed
    assert f"cannot write {tmp_path / 'run' / 'metrics.jsonl'}: No space left on device" in failed["message"]


def test_a_log_that_cannot_be_opened_is_named(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").mkdir()  # a folder where the log should be
    with pytest.raises(OSError) as info:
        RunLog(tmp_path / "run" / "metrics.jsonl", resume=False)
    assert str(tmp_path / "run" / "metrics.jsonl") in str(info.value)


def test_training_that_fills_the_disk_midway_stops_with_one_message_and_no_temp_files(small_disk):
    import torch

    d = small_disk
    assert d.real or os.geteuid() != 0  # as root the disk is a real tmpfs
    run = d.folder / "run"
    events = []
    for event in train(module=torch.nn.Linear(4, 3), dataset={"name": "iris"}, training={"epochs": 50},
                       run_dir=run, live=False):
        events.append(event)
        if event["type"] == "started":
            d.fill()
    assert events[-1]["type"] == "failed" and events[-1]["kind"] == "disk", events[-1]
    assert "No space left on device" in events[-1]["message"] and str(run) in events[-1]["message"]
    assert [e["type"] for e in events].count("failed") == 1
    assert d.leftovers() == []


def test_a_run_folder_that_cannot_be_made_is_named_in_one_failed_event(tmp_path):
    import torch

    (tmp_path / "taken").write_text("a file where the runs folder should be")
    events = list(train(module=torch.nn.Linear(4, 3), dataset={"name": "iris"}, training={"epochs": 1},
                        run_dir=tmp_path / "taken" / "run", live=False))
    assert [e["type"] for e in events] == ["failed"]
    assert events[0]["kind"] == "disk" and f"cannot write {tmp_path / 'taken' / 'run'}: " in events[0]["message"]
    assert "traceback" not in events[0]
