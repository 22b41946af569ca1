"""Bad data is refused by file, line and column, in the order of its cause."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from runtime.data.errors import DatasetFormatError
from runtime.data.files import load_csv, load_npz
from runtime.train.trainer import train


@pytest.mark.parametrize("text, target_type, words", [
    ("a,b,y\n1,2,x\n1,1e39,y\n", "auto", "t.csv line 3, column 'b': '1e39' is not a finite number"),
    ("a,b,y\n1,2,0.5\n1,3,1e39\n", "values", "t.csv line 3, column 'y': '1e39' is not a finite number"),
    ("a,b,y\n1,2,0.5\n1,3,nan\n", "auto", "t.csv line 3, column 'y': 'nan' is not a finite number"),
    ("a,b,y\n1,2,cat\n1,3,\n2,2,dog\n", "auto", "t.csv line 3, column 'y': the target is empty"),
    ("a,b,y\n1,2,cat\n1,3,cat\n", "auto", "single class ('cat')"),
])
def test_a_csv_value_that_cannot_train_is_refused_by_line_and_column(tmp_path, text, target_type, words):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DatasetFormatError) as info:
        load_csv(tmp_path / "t.csv", target_type=target_type)
    assert words in str(info.value)


def test_an_unreadable_csv_is_named_not_a_raw_oserror(tmp_path, monkeypatch):
    (tmp_path / "t.csv").write_text("a,y\n1,2\n")

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(DatasetFormatError, match=re.escape(f"{tmp_path / 't.csv'} cannot be read (Permission denied)")):
        load_csv(tmp_path / "t.csv")


def test_an_npz_with_one_class_is_refused(tmp_path):
    np.savez(tmp_path / "one.npz", x=np.zeros((6, 2), np.float32), y=np.ones(6, np.int64))
    with pytest.raises(DatasetFormatError, match="y holds a single class"):
        load_npz(tmp_path / "one.npz")


def test_a_dataset_too_large_is_a_data_error_not_out_of_memory_advice(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCANVAS_MAX_DATA_BYTES", "1000")
    np.savez(tmp_path / "d.npz", x=np.zeros((100, 4), np.float32), y=np.arange(100) % 2)
    final = list(train(dataset={"name": "npz", "path": str(tmp_path / "d.npz")}, training={"epochs": 1},
                       module=__import__("torch").nn.Linear(4, 2)))[-1]
    assert final["kind"] == "data" and "needs 4.3 KiB in memory, more than the limit of 1000 bytes" in final["message"]
    assert "batch size" not in final["message"]


def test_the_nan_event_names_the_batch_its_message_names():
    from torch import nn

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    final = list(train(module=model, dataset={"name": "iris"},
                       training={"epochs": 5, "lr": 10.0, "optimizer": "sgd", "momentum": 0.9, "batch_size": 4}))[-1]
    assert final["kind"] == "nan"
    assert f"epoch {final['epoch']}, batch {final['batch'] + 1}." in final["message"]


def test_a_relative_dataset_path_is_read_beside_the_project_file(tmp_path, monkeypatch, capsys):
    from runtime.cli import main

    folder = tmp_path / "project"
    folder.mkdir()
    rows = "\n".join(f"{i % 5},{(i * 7) % 3},{i % 4},{i % 7},{'abc'[i % 3]}" for i in range(60))
    (folder / "data.csv").write_text("a,b,c,d,y\n" + rows + "\n")
    assert main(["new", "--template", "mlp_iris", str(folder / "p.json")]) == 0
    doc = json.loads((folder / "p.json").read_text())
    doc["dataset"] = {"name": "csv", "path": "data.csv"}
    (folder / "p.json").write_text(json.dumps(doc))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    main(["train", str(folder / "p.json"), "--epochs", "1", "--out", str(tmp_path / "run"), "--json"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["type"] == "finished", events[-1]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["project"]["dataset"]["path"] == str(folder / "data.csv")
