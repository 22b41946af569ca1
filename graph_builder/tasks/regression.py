"""Regression: the model predicts values; MSE (or L1, Huber) against the target."""

from graph_builder.data_description import VALUES
from graph_builder.tasks.base import LOSS, Metric, SupervisedTask

MSE = Metric("mse", "MSE", "Mean squared error", lower_is_better=True)
MAE = Metric("mae", "MAE", "Mean absolute error", lower_is_better=True)
R2 = Metric("r2", "R²", "R²", lower_is_better=False, fmt=".3f")
VALUE_LOSSES = ("mse", "l1", "huber")

REGRESSION = SupervisedTask(
    id="regression",
    title="Regression",
    priority=0,
    target="values",
    metrics=(LOSS, MSE, MAE, R2),
    headline="mae",
    views=("curves",),
    setting_tags=frozenset({"loss", "optimizer"}),
    losses=VALUE_LOSSES,
    summary_keys=("mse", "mae", "r2"),
    data_kind=VALUES,
    names=("regression",),
    wrong_data="the task is regression but {label} is for classification; set the task to auto or classification "
               "(or reconstruction for an autoencoder)",
)
