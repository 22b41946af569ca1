"""Training sanity: warnings for settings that cannot train well, and alarms for runs going nowhere."""

from __future__ import annotations

import math

import torch
from torch import nn

from runtime.train.sanity import SanityWatch, settings_warnings
from runtime.train.trainer import train


class Blind(nn.Module):
    """Scores every sample alike, whatever it shows: its accuracy is the share of one class."""

    def __init__(self) -> None:
        super().__init__()
        self.scores = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return self.scores.expand(len(x), 10)


def test_a_batch_larger_than_the_training_split_is_warned_about():
    [warning] = settings_warnings({"batch_size": 1_000_000, "optimizer": "adam", "lr": 0.001}, 1078)
    assert "1,000,000" in warning and "1,078" in warning


def test_a_learning_rate_far_outside_the_optimizers_range_is_warned_about_and_a_usual_one_is_not():
    assert settings_warnings({"batch_size": 32, "optimizer": "adam", "lr": 0.001}, 1000) == []
    assert settings_warnings({"batch_size": 32, "optimizer": "sgd", "lr": 0.5}, 1000) == []
    [high] = settings_warnings({"batch_size": 32, "optimizer": "adam", "lr": 10}, 1000)
    assert "10" in high and "diverge" in high
    [low] = settings_warnings({"batch_size": 32, "optimizer": "sgd", "lr": 1e-7}, 1000)
    assert "not move" in low


def test_a_loss_that_keeps_rising_is_flagged_as_diverging_once():
    watch = SanityWatch(classes=10, lr=10.0)
    alarms = [watch.observe({"loss": loss, "accuracy": 0.5}) for loss in (2.0, 1.0, 5.0, 9.0, 40.0, 80.0)]
    assert [a.kind for a in alarms if a] == ["diverged"]
    assert alarms.index(next(a for a in alarms if a)) == 4  # three epochs above 3× the lowest loss
    assert "10" in next(a for a in alarms if a).message  # names the learning rate to lower


def test_a_converged_loss_that_wobbles_tenfold_is_not_diverging():
    # LeNet on digits near the end of a long run: 0.0008 -> 0.0095 is ten times its best, but far below its start
    watch = SanityWatch(classes=10)
    losses = [1.9, 0.4, 0.05, 0.004, 0.0008] + [0.0095, 0.006, 0.008, 0.0091, 0.007]
    assert not any(watch.observe({"loss": loss, "accuracy": 0.99}) for loss in losses)


def test_a_non_finite_loss_is_diverging_at_once():
    assert SanityWatch(classes=2).observe({"loss": math.inf}).kind == "diverged"


def test_accuracy_stuck_at_chance_is_flagged_and_a_learning_run_is_not():
    stuck = SanityWatch(classes=10)
    kinds = [stuck.observe({"loss": 2.3}, {"accuracy": acc}) for acc in (0.09, 0.1, 0.11)]
    assert kinds[-1].kind == "stuck" and not any(kinds[:2])
    learning = SanityWatch(classes=10)
    assert not any(learning.observe({"loss": 2.3 / e}, {"accuracy": 0.1 * e}) for e in range(1, 8))


def test_a_hopeless_run_is_warned_about_then_stopped_as_diverged_not_finished():
    module = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    events = list(train(module=module, dataset={"name": "digits"}, live=False,
                        training={"epochs": 12, "batch_size": 1_000_000, "optimizer": "adam", "lr": 10.0}))
    alarms = [e for e in events if e["type"] == "alarm"]
    assert [a["kind"] for a in alarms[:2]] == ["settings", "settings"]  # batch size and learning rate
    assert events[-1]["type"] == "failed" and events[-1]["kind"] in ("diverged", "stuck", "nan")
    assert sum(e["type"] == "epoch" for e in events) < 12


def test_the_stop_can_be_turned_off_and_the_run_then_finishes_with_its_alarm():
    events = list(train(module=Blind(), dataset={"name": "digits"}, live=False,
                        training={"epochs": 5, "batch_size": 64, "optimizer": "sgd", "lr": 1e-8,
                                  "stop_on_divergence": False}))
    assert any(e["type"] == "alarm" and e["kind"] == "stuck" for e in events)
    assert events[-1]["type"] == "finished"

