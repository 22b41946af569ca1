"""A forecasting run's exported model takes raw windows of the series and gives its forecast in the series' own
units: the training part's statistics, recorded in the run, are applied going in and undone coming out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graph_builder import load_project
from runtime.export import build_run_module, read_preprocessing
from runtime.train.trainer import train

TEMPLATE = Path(__file__).resolve().parents[2] / "resources" / "templates" / "sunspots_forecaster.json"
CSV = TEMPLATE.parents[1] / "datasets" / "sunspots.csv"


def test_the_exported_forecaster_reads_raw_sunspot_years_and_answers_in_sunspots(tmp_path):
    project = load_project(TEMPLATE)
    run = tmp_path / "run"
    events = list(train(project, training={"epochs": 3}, run_dir=run, live=False))
    assert events[-1]["type"] == "finished", events[-1]
    (view,) = [e for e in events if e["type"] == "forecast"]
    config = json.loads((run / "config.json").read_text())
    target = config["resolved"]["target_normalization"]
    years = np.loadtxt(CSV, delimiter=",", skiprows=1)
    assert target["mean"] == pytest.approx(years[:185, 1].mean())  # the 185 training years only
    assert target["std"] == pytest.approx(years[:185, 1].std())
    prep = read_preprocessing(run)
    assert prep.target_mean == target["mean"] and prep.target_std == target["std"]
    module = build_run_module(project.graph, prep, run / "best.safetensors")
    # the test windows in raw sunspot numbers: years 247 + i … 258 + i forecast year 259 + i
    raw = np.stack([years[247 + i:259 + i, 1] for i in range(50)])[:, :, None].astype(np.float32)
    with torch.no_grad():
        out = module(torch.from_numpy(raw)).numpy()[:, 0]
    np.testing.assert_allclose(out, view["forecast"], rtol=1e-4, atol=1e-3)  # the dashboard's forecast, same units
    np.testing.assert_allclose(view["truth"], years[259:, 1], rtol=1e-5, atol=1e-3)
    assert "the series' own units" in module.netcanvas_source
