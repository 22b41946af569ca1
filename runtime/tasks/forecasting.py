"""Forecasting at run time: regression's training, and at the end the test forecast beside the naive one.

The view is in the series' own units: the windows were standardised on the training part
(runtime/data/series.py), and the recorded target mean and std undo it.
"""

from __future__ import annotations

import numpy as np
import torch

from graph_builder.tasks import FORECASTING
from runtime.tasks.base import Setup, Views
from runtime.tasks.regression import RegressionRuntime
from runtime.train.errors import TrainingSettingError
from runtime.train.loop import Built
from runtime.train.objectives import EVAL_BATCH
from runtime.train.optim import forward


def forecast_view(model: torch.nn.Module, split, series: dict, split_name: str,
                  amp: torch.dtype | None = None) -> dict | None:
    """The `forecast` event's data for a DeviceSplit of windows: truth, forecast and naive forecast, in raw units."""
    from runtime.data.series import naive_forecast

    if len(split) == 0:
        return None
    was = model.training
    model.eval()
    with torch.no_grad():
        out = torch.cat([forward(model, xb, amp).float().reshape(len(xb), -1).cpu()
                         for xb, _ in split.batches(EVAL_BATCH)])
    model.train(was)
    y = split.y.float().cpu().numpy().reshape(len(split), -1)
    x = split.x.float().cpu().numpy()
    mean, std = series["target_mean"], series["target_std"]
    truth = y * std + mean
    forecast = out.numpy().reshape(y.shape) * std + mean
    naive = naive_forecast(x, series["target_index"], y.shape[1]) * std + mean
    return {"split": split_name, "target": series["target"], "times": list(series["times"][split_name]),
            "truth": truth[:, 0].tolist(), "forecast": forecast[:, 0].tolist(), "naive": naive[:, 0].tolist(),
            "horizon": int(y.shape[1]), "mae": float(np.abs(forecast - truth).mean()),
            "naive_mae": float(np.abs(naive - truth).mean())}


class ForecastViews(Views):
    """At the end of a run: the test (else validation) forecast, against the truth and the naive forecast."""

    def __init__(self, built: Built, setup: Setup) -> None:
        self.built, self.setup = built, setup

    def final(self, epoch: int, test_meter) -> list[tuple[str, dict]]:
        data = self.setup.data
        split = "test" if len(data["test"]) else "val"
        view = forecast_view(self.built.model, data[split], self.setup.splits.info["series"], split, self.setup.amp)
        return [("forecast", view)] if view is not None else []


class ForecastingRuntime(RegressionRuntime):
    spec = FORECASTING

    def settings(self, setup: Setup, models: dict, pretrained: list[str]) -> dict:
        if not setup.splits.info.get("series"):
            raise TrainingSettingError(f"the task is forecasting but {setup.description.label} is not a time series; "
                                       "choose the sunspots or series_csv dataset, or set the task to regression")
        return super().settings(setup, models, pretrained)

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        return ForecastViews(built, setup)
