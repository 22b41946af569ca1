"""A run that the sanity watch stopped reads as diverged in the runs list, not as finished."""

from __future__ import annotations

import json

from app.training.runs_panel import read_run


def test_a_run_stopped_by_its_alarm_is_listed_as_diverged(tmp_path):
    run = tmp_path / "20261201-090000"
    run.mkdir()
    events = [{"type": "alarm", "kind": "diverged", "message": "The training loss is diverging", "epoch": 4},
              {"type": "failed", "kind": "diverged", "message": "Stopped at epoch 4", "epoch": 4, "batch": None}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert read_run(run).outcome == "diverged"
