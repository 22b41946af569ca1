"""Forecasting: regression on a time series' windows, shown against the truth and the naive last-value forecast.

It trains as regression does (MSE, L1 or Huber on the future values); what it adds is its view, the
test forecast in the series' own units beside the naive forecast it has to beat. It is chosen by
name (`task: forecasting`): with task auto the same data trains as plain regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph_builder.data_description import VALUES
from graph_builder.graph import Graph
from graph_builder.tasks.base import LOSS, SupervisedTask
from graph_builder.tasks.regression import MAE, MSE, R2, VALUE_LOSSES


@dataclass(frozen=True)
class ForecastTask(SupervisedTask):
    """Named only: the data's kind (values) alone leaves a run regression."""

    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Graph | None) -> bool:
        return (training.get("task") or "auto") in self.names


FORECASTING = ForecastTask(
    id="forecasting",
    title="Forecasting",
    priority=1,
    target="values",
    metrics=(LOSS, MSE, MAE, R2),
    headline="mae",
    views=("curves", "forecast"),
    setting_tags=frozenset({"loss", "optimizer"}),
    losses=VALUE_LOSSES,
    summary_keys=("mse", "mae", "r2"),
    data_kind=VALUES,
    names=("forecasting",),
    wrong_data="the task is forecasting but {label} is for classification; choose a time series (sunspots or "
               "series_csv) or set the task to auto",
)
