"""The events the trainer sends, declared once (DESIGN.md decision 12; docs/events.md tells them).

The trainer builds every event with `make`, so an event cannot carry a key that is not declared
here or lack one that is; the GUI reads only declared keys (a test scans app/training for reads).
Plain Python, no torch: the GUI and the spawned training child import it.

    make("paused", epoch=3, batch=12)  ->  {"type": "paused", "epoch": 3, "batch": 12}
"""

from __future__ import annotations

from dataclasses import dataclass

from graph_builder.tasks import CLASSIFICATION, GAN, REGRESSION, TASKS, VAE, TaskSpec
from runtime.errors import NetCanvasRuntimeError


class EventError(NetCanvasRuntimeError, ValueError):
    """An event of an undeclared type, or with a key its declaration does not have or lacks."""


@dataclass(frozen=True)
class EventSpec:
    """One event type: the keys it always has, and those it has only in some cases."""

    type: str
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()
    logged: bool = True  # also appended to the run's metrics journal

    @property
    def all_keys(self) -> frozenset[str]:
        return frozenset(("type", *self.keys, *self.optional))


SPECS = (
    EventSpec("started", ("run_dir", "epochs", "start_epoch", "resumed", "batches_per_epoch", "batch_size",
                          "train_size", "val_size", "test_size", "classes", "task", "metric", "loss", "optimizer",
                          "monitor", "device", "device_name", "amp", "dataset", "input_shape", "params")),
    EventSpec("batch", ("epoch", "batch", "batches", "step", "loss", "lr"), logged=False),
    EventSpec("progress", ("epoch", "epochs", "batch", "batches", "fraction", "elapsed_s", "eta_s", "samples_per_s",
                           "step"), logged=False),
    EventSpec("epoch", ("epoch", "epochs", "train", "val", "lr", "next_lr", "time_s", "samples_per_s", "monitor",
                        "monitor_value", "improved", "best_epoch", "best_value")),
    EventSpec("confusion", ("epoch", "split", "matrix", "classes")),
    # runtime/train/sanity.py: the run is diverging or stuck at chance (kind "diverged" or "stuck"); when
    # training.stop_on_divergence is on, a failed event of the same kind follows and ends the run.
    EventSpec("alarm", ("kind", "message", "epoch")),  # kind "settings" (epoch 0): a warning before the first epoch
    # runtime/generate/generative.py, after each epoch of a reconstruction, VAE or GAN run (images as uint8 lists
    # (N, H, W) or (N, H, W, 3) of `shape` [C, H, W]; not logged: the next epoch replaces them).
    EventSpec("reconstructions", ("epoch", "shape", "indices", "labels", "originals", "reconstructions", "value_range"),
              optional=("latents",), logged=False),  # latents: the VAE's latent means of the originals
    EventSpec("samples", ("epoch", "kind", "shape", "images", "diversity", "threshold", "collapsed"),
              logged=False),  # kind "prior" (VAE) or "generator" (GAN); collapsed: GAN diversity < threshold
    EventSpec("latent", ("epoch", "points", "labels", "method", "dims"), logged=False),
    # reconstruction runs, once at the end: the worst-reconstructed samples of the test (else validation) split
    EventSpec("anomaly", ("split", "count", "indices", "scores", "labels", "shape", "thumbnails", "mean")),
    # forecasting runs, once at the end, in the series' own units: the test (else validation) windows' first
    # forecast step against the truth and the naive last-value forecast, with both mean absolute errors
    EventSpec("forecast", ("split", "target", "times", "truth", "forecast", "naive", "horizon", "mae", "naive_mae")),
    EventSpec("paused", ("epoch", "batch")),
    EventSpec("resumed", ("epoch", "batch")),
    EventSpec("finished", ("message", "epochs_run", "stopped_early", "best_epoch", "best_value", "restored_best",
                           "test", "elapsed_s", "run_dir")),
    EventSpec("stopped", ("message", "epoch", "batch", "best_epoch")),
    # node, node_id: kind "nan", the node where the NaN started (runtime/train/nan_origin.py), when a replay found one
    EventSpec("failed", ("kind", "message", "epoch", "batch"),
              optional=("batch_size_to_try", "traceback", "node", "node_id")),
    # runtime/train/crossval.py in the app's child, around each fold's own events: a fold starting (state "running")
    # or ending (its best epoch's validation metrics), then the mean ± std of all folds.
    EventSpec("fold", ("fold", "folds", "state", "run_dir", "val", "message"), logged=False),
    EventSpec("crossval", ("folds", "done", "mean", "std", "summary", "message"), logged=False),
)
EVENTS = {spec.type: spec for spec in SPECS}
TERMINAL = ("finished", "stopped", "failed")  # a run ends with exactly one of these
DIVERGED = ("diverged", "stuck", "nan")  # kinds of a failed event that mean the run diverged (listed as such)
LOGGED = tuple(spec.type for spec in SPECS if spec.logged)
ALL_KEYS = frozenset().union(*(spec.all_keys for spec in SPECS))



def metric_keys(spec: TaskSpec) -> tuple[str, ...]:
    """Keys of a task's metric dicts in epoch (train, val) and finished (test) events: its declared metrics."""
    return (*(m.key for m in spec.metrics), *spec.per_class)


METRIC_KEYS = {task_id: metric_keys(spec) for task_id, spec in TASKS.items()}
CLASSIFICATION_METRICS = metric_keys(CLASSIFICATION)
REGRESSION_METRICS = metric_keys(REGRESSION)
VAE_METRICS = metric_keys(VAE)  # loss = reconstruction + β·KL
GAN_METRICS = metric_keys(GAN)  # diversity: validation only


def problem(event: dict) -> str | None:
    """What is wrong with `event` against its declaration, or None when it matches."""
    spec = EVENTS.get(event.get("type"))
    if spec is None:
        return f"event type {event.get('type')!r} is not declared; declared: {', '.join(EVENTS)}"
    extra = sorted(set(event) - spec.all_keys)
    missing = [k for k in spec.keys if k not in event]
    if extra or missing:
        return (f"a {spec.type} event " + (f"has undeclared keys {extra}" if extra else "")
                + (" and " if extra and missing else "") + (f"lacks {missing}" if missing else "")
                + "; declare them in runtime/events.py or send the declared ones")
    return None


def make(type_: str, **data) -> dict:
    """The event dict of `type_` with `data`; raises EventError when it does not match its declaration."""
    event = {"type": type_, **data}
    wrong = problem(event)
    if wrong:
        raise EventError(wrong)
    return event
