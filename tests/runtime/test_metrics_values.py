"""Metrics computed on the device agree with scikit-learn's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from runtime.train import metrics


def test_confusion_precision_recall_f1_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 4, 300))
    cm = metrics.confusion_matrix(torch.from_numpy(p), torch.from_numpy(y), 4)
    np.testing.assert_array_equal(cm.numpy(), skm.confusion_matrix(y, p, labels=range(4)))
    scores = metrics.per_class_scores(cm)
    np.testing.assert_allclose(scores["precision"].numpy(), skm.precision_score(y, p, average=None))
    np.testing.assert_allclose(scores["recall"].numpy(), skm.recall_score(y, p, average=None))
    np.testing.assert_allclose(scores["f1"].numpy(), skm.f1_score(y, p, average=None))


def test_meter_accumulates_batches_into_the_same_numbers_as_one_pass():
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=(100, 2)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 2, 100))
    meter = metrics.ClassificationMeter(2, torch.device("cpu"), keep_scores=True)
    for i in range(0, 100, 32):
        lb, yb = logits[i:i + 32], y[i:i + 32]
        loss = torch.nn.functional.cross_entropy(lb, yb)
        meter.update(lb.argmax(1), yb, loss * len(yb), torch.softmax(lb, 1)[:, 1])
    out = meter.compute()
    pred = logits.argmax(1).numpy()
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["precision_macro"] == pytest.approx(skm.precision_score(y, pred, average="macro", zero_division=0))
    assert out["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, torch.softmax(logits, 1)[:, 1]))
    assert out["support"] == np.bincount(y.numpy()).tolist()


def test_roc_auc_handles_ties_and_a_single_class():
    scores = torch.tensor([0.1, 0.4, 0.4, 0.4, 0.8, 0.8, 0.2])
    target = torch.tensor([0, 0, 1, 1, 1, 0, 0])
    assert metrics.roc_auc_binary(scores, target) == pytest.approx(skm.roc_auc_score(target, scores))
    assert metrics.roc_auc_binary(scores, torch.ones(7)) is None


def test_regression_scores_match_scikit_learn():
    rng = np.random.default_rng(2)
    t = rng.normal(size=(80, 3))
    p = t + rng.normal(scale=0.3, size=(80, 3))
    out = metrics.regression_scores(torch.from_numpy(p), torch.from_numpy(t))
    assert out["mse"] == pytest.approx(skm.mean_squared_error(t, p))
    assert out["mae"] == pytest.approx(skm.mean_absolute_error(t, p))
    assert out["r2"] == pytest.approx(skm.r2_score(t.reshape(-1), p.reshape(-1)))


def test_better_follows_the_direction_the_task_declares_for_the_metric():
    from graph_builder.tasks import CLASSIFICATION, REGRESSION

    loss, accuracy, r2 = (s.metric(k).lower_is_better for s, k in ((CLASSIFICATION, "loss"),
                                                                     (CLASSIFICATION, "accuracy"), (REGRESSION, "r2")))
    assert metrics.better(0.5, 0.6, loss) and not metrics.better(0.6, 0.5, loss)
    assert metrics.better(0.9, 0.8, accuracy) and not metrics.better(0.85, 0.8, accuracy, min_delta=0.1)
    assert metrics.better(0.1, None, r2) and not metrics.better(0.1, 0.2, r2)
