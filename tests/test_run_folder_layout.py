"""A run folder's layout is known in one module: graph_builder.run_folder. Everyone else asks a RunFolder."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import time
import tokenize
from pathlib import Path

import pytest

from graph_builder import run_folder
from graph_builder.run_folder import (CONFIG, METRICS, RunConfigDamagedError, RunConfigMissingError, RunFolder,
                                      RunsError, RunsIndex, list_runs)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "runtime", "graph_builder")
OWNER = ROOT / "graph_builder" / "run_folder.py"
# Every file name of the layout (the "confusion" folder is left out: it is also an event's type).
LAYOUT_NAMES = (run_folder.CONFIG, run_folder.METRICS, run_folder.CHECKPOINT, run_folder.VIEWS, run_folder.LOCK,
                run_folder.FOLD, run_folder.TRIAL, run_folder.CROSSVAL_SUFFIX, run_folder.INDEX,
                *run_folder.WEIGHTS.values(), *run_folder.OLD_WEIGHTS.values())

SPELLED = r"(?<![\w]){}(?![\w])"  # a name on its own: "model_config.json" is not config.json


def layout_strings(source: str) -> list[tuple[int, str]]:
    """(line, name) of each string constant (f-string parts and docstrings too) and each comment that spells a
    run-folder file name: prose that names a file is a copy of the layout as well, and drifts as one."""
    texts = [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    texts += [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
              if tok.type == tokenize.COMMENT]
    return [(line, name) for line, text in texts for name in LAYOUT_NAMES
            if re.search(SPELLED.format(re.escape(name)), text)]


def test_no_module_but_the_run_folder_spells_a_run_folders_file_names():
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != OWNER:
                hits = layout_strings(path.read_text(encoding="utf-8"))
                if hits:
                    found[str(path.relative_to(ROOT))] = hits
    assert not found, f"run-folder file names spelled outside graph_builder/run_folder.py: {found}"


def test_the_scan_sees_a_name_in_a_message_a_docstring_or_a_comment_but_not_inside_another_name():
    source = '''
def f(run):
    """Reads config.json."""
    return run / "config.json", f"no metrics.jsonl in {run}", "model_config.json"  # not checkpoint.pt
'''
    assert sorted(layout_strings(source)) == [(3, "config.json"), (4, "checkpoint.pt"), (4, "config.json"),
                                              (4, "metrics.jsonl")]


# ---------------------------------------------------------------- RunFolder


def a_run(folder: Path, epochs=(0.9, 0.7), end: dict | None = None, **config) -> RunFolder:
    run = RunFolder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run.write_config({"format": "netcanvas-run", "project": {"networks": {}, "dataset": {"name": "iris"}}, **config})
    lines = [{"type": "epoch", "epoch": i + 1, "val": {"loss": loss, "accuracy": 0.5 + i / 10, "per_class": [1]}}
             for i, loss in enumerate(epochs)]
    lines += [end] if end else []
    run.metrics.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return run


def test_a_run_reads_back_its_config_and_its_journal(tmp_path):
    run = a_run(tmp_path / "r", end={"type": "finished", "message": "done", "test": {"accuracy": 0.9}})
    assert run.read_config(strict=True)["project"]["dataset"] == {"name": "iris"}
    assert [e["epoch"] for e in run.read_events("epoch")] == [1, 2]
    summary = run.summary()
    assert (summary.epochs, summary.last_val, summary.ended, summary.dataset) == (
        2, {"loss": 0.7, "accuracy": 0.6}, "finished", "iris")
    assert summary.final["test"] == {"accuracy": 0.9}


def test_a_missing_config_says_the_folder_is_not_a_run(tmp_path):
    with pytest.raises(RunConfigMissingError, match=f"is not a run folder \\(it has no {CONFIG}\\)"):
        RunFolder(tmp_path).read_config()
    assert RunFolder(tmp_path).read_config_or_empty() == {}


@pytest.mark.parametrize("text, words", [("{not json", "is damaged (not JSON"), ("[1, 2]", "holds list"),
                                         ('{"project": {}}', 'no "format": "netcanvas-run"')])
def test_a_damaged_config_is_refused_naming_the_file(tmp_path, text, words):
    (tmp_path / CONFIG).write_text(text, encoding="utf-8")
    with pytest.raises(RunConfigDamagedError) as caught:
        RunFolder(tmp_path).read_config(strict=True)
    assert str(tmp_path / CONFIG) in str(caught.value) and words in str(caught.value)
    assert isinstance(caught.value, RunsError)  # what graph_builder.runs' callers catch


def test_an_older_run_folder_opens_weights_in_its_weights_folder_and_no_format(tmp_path):
    old = tmp_path / "20240101-120000"
    (old / "weights").mkdir(parents=True)
    (old / "weights" / "best.safetensors").write_bytes(b"w")
    (old / CONFIG).write_text(json.dumps({"graph": {"nodes": []}}), encoding="utf-8")  # format 1: the project itself
    run = RunFolder(old)
    assert run.read_config() == {"graph": {"nodes": []}}
    assert run.weights() == old / "weights" / "best.safetensors"
    assert RunFolder.holding(old / "weights" / "best.safetensors") == run
    summary = run.summary()
    assert summary.has_project and summary.weights == "weights/best.safetensors" and summary.epochs == 0


def test_a_torn_journal_line_is_skipped(tmp_path):
    run = a_run(tmp_path / "r")
    with open(run.metrics, "a", encoding="utf-8") as f:
        f.write('{"type": "epo')
    assert len(run.read_events()) == 2


# ---------------------------------------------------------------- the runs index


def settle(folder: Path) -> None:
    """Date a run's files back, as a run that ended a while ago (a just-written run is never trusted to the index)."""
    old = time.time() - 60
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (old, old))


def test_listing_keeps_an_index_and_reads_again_only_the_runs_that_changed(tmp_path, monkeypatch):
    for name in ("20260101-120000", "20260101-120000-1", "20260102-080000"):
        a_run(tmp_path / name)
        settle(tmp_path / name)
    assert [s.name for s in list_runs(tmp_path)] == ["20260102-080000", "20260101-120000-1", "20260101-120000"]
    assert (tmp_path / run_folder.INDEX).is_file()

    read = []
    real = RunFolder.summary
    monkeypatch.setattr(RunFolder, "summary", lambda self: read.append(self.name) or real(self))
    assert len(list_runs(tmp_path)) == 3 and read == []  # a fresh index: nothing parsed
    with open(tmp_path / "20260101-120000" / METRICS, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "stopped", "message": "stopped"}) + "\n")
    runs = {s.name: s for s in RunsIndex(tmp_path).runs()}
    assert read == ["20260101-120000"] and runs["20260101-120000"].ended == "stopped"


def test_a_damaged_index_is_rebuilt_and_a_removed_run_leaves_it(tmp_path):
    for name in ("a", "b"):
        a_run(tmp_path / name)
    (tmp_path / run_folder.INDEX).write_text("{torn", encoding="utf-8")
    assert sorted(s.name for s in list_runs(tmp_path)) == ["a", "b"]
    (tmp_path / "b" / CONFIG).unlink()
    (tmp_path / "b" / METRICS).unlink()
    (tmp_path / "b").rmdir()
    assert [s.name for s in list_runs(tmp_path)] == ["a"]
    assert set(json.loads((tmp_path / run_folder.INDEX).read_text())["runs"]) == {"a"}


def test_a_moved_runs_folder_lists_its_runs_where_they_are_now(tmp_path):
    a_run(tmp_path / "old" / "r").weights_file("best").write_bytes(b"w")
    settle(tmp_path / "old" / "r")
    list_runs(tmp_path / "old")
    (tmp_path / "old").rename(tmp_path / "new")
    (summary,) = list_runs(tmp_path / "new")
    assert summary.path == tmp_path / "new" / "r" and summary.weights == "best.safetensors"


def test_an_index_entry_of_another_shape_is_read_again(tmp_path):
    a_run(tmp_path / "r")
    settle(tmp_path / "r")
    list_runs(tmp_path)
    index = json.loads((tmp_path / run_folder.INDEX).read_text())
    index["runs"]["r"]["last_val"] = "not a mapping"
    (tmp_path / run_folder.INDEX).write_text(json.dumps(index))
    (summary,) = list_runs(tmp_path)
    assert summary.last_val == {"loss": 0.7, "accuracy": 0.6}
