"""The transfer experiment's three modes (scratch, feature extraction, fine-tuning) run through the real
GUI (Edit ▸ Transfer Learning, then Train, one epoch) and the real CLI (bench/transfer_experiment.py's
`netcanvas freeze` + `netcanvas train`), each reporting its test figures. Only that they run and
report is asserted: what they measure is in the user guide."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]


def experiment():
    spec = importlib.util.spec_from_file_location("transfer_experiment", ROOT / "bench" / "transfer_experiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """The LeNet template trained briefly on digits 0–4, through `netcanvas train`."""
    bench = experiment()
    work = tmp_path_factory.mktemp("transfer")
    final = bench.train(bench.lenet("0-4", work / "source.json", epochs=2), work / "source_run")
    assert final["type"] == "finished"
    return work / "source_run"


@pytest.mark.parametrize("mode", ["scratch", "feature extraction", "fine-tuning"])
def test_each_mode_runs_through_the_cli_and_reports_test_accuracy(mode, source_run, tmp_path):
    bench = experiment()
    accuracy = bench.run_mode(mode, tmp_path, source_run, 0.1, seed=0, epochs=1)
    assert 0.0 <= accuracy <= 1.0
    project = json.loads(next(tmp_path.glob("*.json")).read_text())
    nodes = {n["name"]: n for n in project["networks"][0]["graph"]["nodes"]}
    assert nodes["features"].get("frozen", False) is (mode == "feature extraction")
    assert ("pretrained" in project["meta"]) is (mode != "scratch")


def _last_run_test(window) -> dict:
    lines = (Path(window.training.current_run) / "metrics.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    finished = [e for e in events if e["type"] == "finished"]
    assert finished, [e["type"] for e in events][-3:]
    return finished[-1]["test"]


@pytest.mark.parametrize("mode,action", [("scratch", None), ("feature extraction", "Feature Extraction"),
                                         ("fine-tuning", "Full Fine-tuning")])
def test_each_mode_runs_through_the_gui_menu_and_train_button(mode, action, window, qtbot, source_run, tmp_path):
    bench = experiment()
    path = bench.lenet("5-9", tmp_path / "target.json", epochs=1, fraction=0.1,
                       source_run=None if mode == "scratch" else source_run)
    assert window.open_project(path)
    c = window.training
    if action is not None:
        window.actions_by_text[action].trigger()  # Edit ▸ Transfer Learning ▸ …
        block = window.project.graph.node_by_name("features")
        # feature extraction reads the weights off the GUI thread first, then freezes in one undo step
        job = window.transfer.pretrained_job
        qtbot.waitUntil(lambda: job is None or job.done, timeout=30000)
        assert block.frozen is (mode == "feature extraction"), window.statusBar().currentMessage()
        head = 64 * 5 + 5  # the classifier: all that trains in feature extraction
        qtbot.waitUntil(lambda: window.summary.summary.frozen_params == (
            window.summary.summary.total_params - head if block.frozen else 0))
        assert ("frozen" in window.summary.totals.text()) and (
            f"{head:,}</b> trainable" in window.summary.totals.text()) is block.frozen
    with qtbot.waitSignal(c.run_finished, timeout=120000) as done:
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    outcome, message = done.args
    assert outcome == "finished", message
    test = _last_run_test(window)
    assert 0.0 <= test["accuracy"] <= 1.0
    if mode == "feature extraction":  # the frozen block really was the source run's, untouched
        from safetensors.torch import load_file

        source = load_file(str(source_run / "best.safetensors"))
        trained = load_file(str(Path(c.current_run) / "last.safetensors"))
        frozen = [k for k in source if k.startswith("features.")]
        assert frozen and all((trained[k] == source[k]).all() for k in frozen)
