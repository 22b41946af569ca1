"""Every training option does what it says: optimizers, losses, penalties, schedules, early stopping,
clipping, seeds and devices."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from runtime.train.trainer import amp_dtype, last_event, select_device, DeviceUnavailableError, train


def iris_mlp(seed=0, out=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, out))


def run(module, dataset=None, **training):
    # These runs test one option each, some with rates too small to learn on purpose; the sanity
    # watch's stop (tests/runtime/test_sanity.py) would end them before the option shows.
    training = {"stop_on_divergence": False, **training}
    events = list(train(module=module, dataset=dataset or {"name": "iris"}, training=training))
    assert events[-1]["type"] in ("finished", "stopped"), events[-1]
    return events


def epochs_of(events):
    return [e for e in events if e["type"] == "epoch"]


@pytest.mark.parametrize("optimizer, extra", [
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.1, "momentum": 0.0}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.01}),
    ("rmsprop", {"lr": 0.003, "momentum": 0.5}),
])
def test_each_optimizer_lowers_the_loss(optimizer, extra):
    ep = epochs_of(run(iris_mlp(), optimizer=optimizer, epochs=8, batch_size=16, **extra))
    assert ep[-1]["train"]["loss"] < 0.7 * ep[0]["train"]["loss"]


def test_the_chosen_optimizer_class_is_used():
    from runtime.train.trainer import _Run, Control

    for name, cls in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                      ("rmsprop", torch.optim.RMSprop)):
        r = _Run(None, iris_mlp(), {"name": "iris"}, {"optimizer": name, "nesterov": name == "sgd"}, None,
                 Control(), False, True)
        r._settings()
        r._setup()
        assert type(r.optimizer) is cls
        if name == "sgd":
            assert r.optimizer.param_groups[0]["nesterov"] is True and r.optimizer.param_groups[0]["momentum"] == 0.9


def mean_abs_weight(module):
    return float(torch.cat([p.detach().abs().reshape(-1) for p in module.parameters() if p.dim() > 1]).mean())


def test_l1_penalty_shrinks_weights_and_zeroes_many():
    plain, sparse = iris_mlp(), iris_mlp()
    run(plain, epochs=30, lr=0.01)
    run(sparse, epochs=30, lr=0.01, l1=0.01)
    assert mean_abs_weight(sparse) < 0.5 * mean_abs_weight(plain)
    tiny = lambda m: float((torch.cat([p.detach().reshape(-1) for p in m.parameters() if p.dim() > 1]).abs()  # noqa
                            < 1e-2).float().mean())
    assert tiny(sparse) > 0.25 > 0.05 > tiny(plain)


def test_weight_decay_shrinks_weights():
    plain, decayed = iris_mlp(), iris_mlp()
    run(plain, optimizer="sgd", epochs=15, lr=0.05)
    run(decayed, optimizer="sgd", epochs=15, lr=0.05, weight_decay=0.1)
    assert mean_abs_weight(decayed) < 0.8 * mean_abs_weight(plain)


@pytest.mark.parametrize("loss, dataset, module, task", [
    ("cross_entropy", "iris", lambda: iris_mlp(), "classification"),
    ("nll", "iris", lambda: nn.Sequential(iris_mlp(), nn.LogSoftmax(dim=1)), "classification"),
    ("bce_with_logits", "moons", lambda: nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1)),
     "classification"),
    ("bce_with_logits", "moons", lambda: nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)),
     "classification"),
    ("mse", "sine", lambda: nn.Sequential(nn.Flatten(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)), "regression"),
    ("l1", "sine", lambda: nn.Sequential(nn.Flatten(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)), "regression"),
    ("huber", "sine", lambda: nn.Sequential(nn.Flatten(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)),
     "regression"),
])
def test_each_loss_trains(loss, dataset, module, task):
    torch.manual_seed(0)
    events = run(module(), {"name": dataset}, loss=loss, epochs=6, lr=0.01)
    assert events[0]["loss"] == loss and events[0]["task"] == task
    ep = epochs_of(events)
    assert ep[-1]["val"]["loss"] < 0.7 * ep[0]["val"]["loss"]
    if task == "classification":
        assert events[-1]["test"]["accuracy"] > 0.8


def lrs(events):
    return [e["lr"] for e in epochs_of(events)]


def test_step_schedule_multiplies_the_rate_every_step_size_epochs():
    got = lrs(run(iris_mlp(), epochs=6, lr=0.1, optimizer="sgd", schedule="step", step_size=2, gamma=0.5))
    assert got == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_cosine_schedule_falls_smoothly_towards_zero():
    events = run(iris_mlp(), epochs=8, lr=0.1, optimizer="sgd", schedule="cosine")
    got = lrs(events)
    assert got[0] == pytest.approx(0.1) and all(a > b for a, b in zip(got, got[1:]))
    assert epochs_of(events)[-1]["next_lr"] == pytest.approx(0.0, abs=1e-9)


def test_plateau_schedule_lowers_the_rate_when_the_monitor_stops_improving():
    # A rate this small cannot improve the validation loss by the plateau threshold.
    got = lrs(run(iris_mlp(), epochs=6, lr=1e-7, optimizer="sgd", schedule="plateau", schedule_patience=1,
                  gamma=0.5))
    assert got[0] == pytest.approx(1e-7) and got[-1] < 0.5e-7


def test_one_cycle_warms_up_then_anneals_within_the_run():
    events = run(iris_mlp(), epochs=10, lr=0.05, schedule="one_cycle", batch_size=8)
    got = lrs(events)
    peak = got.index(max(got))
    assert 0 < peak < len(got) - 1
    # Rates are read at the end of each epoch: still warming up after the first, near zero after the last.
    assert got[0] < 0.5 * max(got) and got[-1] < 1e-3 * max(got) and 0.045 < max(got) <= 0.05


def test_early_stopping_stops_after_patience_epochs_and_restores_the_best_weights(tmp_path):
    torch.manual_seed(0)
    module = iris_mlp()
    events = list(train(module=module, dataset={"name": "iris"}, run_dir=tmp_path,
                        training={"epochs": 50, "lr": 1e-8, "early_stopping": True, "patience": 3,
                                  "stop_on_divergence": False,
                                  "monitor": "val_loss", "min_delta": 0.01}))
    final = events[-1]
    assert final["type"] == "finished", final
    assert final["stopped_early"] and final["epochs_run"] == 4
    assert len(epochs_of(events)) == 4 and final["best_epoch"] == 1 and "stopped early" in final["message"]
    from safetensors.torch import load_file

    best = load_file(str(tmp_path / "best.safetensors"))
    assert all(torch.equal(best[k], v) for k, v in module.state_dict().items())


def test_monitoring_accuracy_picks_the_epoch_with_the_highest_validation_accuracy():
    events = run(iris_mlp(), epochs=6, lr=0.01, monitor="val_accuracy")
    ep = epochs_of(events)
    best = max(range(len(ep)), key=lambda i: (ep[i]["val"]["accuracy"], -i))
    assert events[-1]["best_epoch"] == best + 1


def test_gradient_clipping_bounds_each_step():
    def change(clip):
        module = iris_mlp()
        before = torch.cat([p.detach().reshape(-1).clone() for p in module.parameters()])
        run(module, epochs=1, lr=1.0, optimizer="sgd", momentum=0.0, batch_size=90, grad_clip=clip)
        return float((torch.cat([p.detach().reshape(-1) for p in module.parameters()]) - before).norm())

    assert change(1e-3) == pytest.approx(1e-3, rel=1e-3)  # one batch, one step of length lr * clip
    assert change(None) > 0.01


def test_the_same_seed_gives_the_same_weights_and_another_seed_does_not():
    def weights(seed):
        module = iris_mlp()
        run(module, epochs=3, seed=seed, dataset=None)
        return torch.cat([p.detach().reshape(-1) for p in module.parameters()])

    a, b, c = weights(1), weights(1), weights(2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_device_auto_and_cpu_work_and_missing_devices_are_named():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else select_device("auto").type)
    for name, available in (("cuda", torch.cuda.is_available()),
                            ("mps", bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()))):
        final = last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training={"device": name, "epochs": 1}))
        if available:
            assert final["type"] == "finished"
        else:
            assert final["type"] == "failed" and final["kind"] == "device" and "choose auto or cpu" in final["message"]
            with pytest.raises(DeviceUnavailableError):
                select_device(name)


def test_mixed_precision_is_bf16_or_fp16_on_cuda_and_off_elsewhere():
    assert amp_dtype(torch.device("cpu"), True) is None
    assert amp_dtype(torch.device("cuda"), False) is None
    if torch.cuda.is_available():
        expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        assert amp_dtype(torch.device("cuda"), True) == expected
    started = next(train(module=iris_mlp(), dataset={"name": "iris"}, training={"epochs": 1, "device": "cpu"}))
    assert started["amp"] is None


def test_augmentation_is_applied_to_training_batches_only():
    torch.manual_seed(0)
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

        def forward(self, x):
            seen.append((self.training, x.detach().clone()))
            return self.net(x)

    run(Spy(), {"name": "digits", "augment_noise": 1.0}, epochs=1, batch_size=2000)
    train_batches = [x for training, x in seen if training]
    eval_batches = [x for training, x in seen if not training]
    from runtime.data import load_splits

    clean = torch.from_numpy(load_splits({"name": "digits"})["val"][0].copy())
    assert torch.equal(eval_batches[1], clean)  # validation data is untouched
    assert float(train_batches[0].std()) > 1.3  # unit-variance data plus unit noise
