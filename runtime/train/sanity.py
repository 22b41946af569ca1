"""Training sanity: settings that cannot train well, and runs that are going nowhere.

Plain Python, no torch: the app asks `settings_warnings` before it starts a run, and the
trainer feeds a `SanityWatch` each epoch's metrics (one call after each epoch) and stops the
run when it raises an alarm and the training settings say to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Learning rates people use with each optimizer; a rate 10× outside is almost always a typo.
USUAL_LR = {"sgd": (1e-4, 1.0), "adam": (1e-5, 1e-2), "adamw": (1e-5, 1e-2), "rmsprop": (1e-5, 1e-2)}
FAR = 10.0


def settings_warnings(training: dict, train_size: int | None) -> list[str]:
    """Plain-words warnings for `training` settings against a training split of `train_size` samples."""
    out = []
    batch = training.get("batch_size")
    if train_size and batch and batch > train_size:
        out.append(f"The batch size ({batch:,}) is larger than the training split ({train_size:,} samples): "
                   f"every epoch is one step on the whole split. Use a batch size of at most {train_size:,} "
                   f"(32–256 is usual).")
    optimizer, lr = training.get("optimizer"), training.get("lr")
    if optimizer in USUAL_LR and lr:
        low, high = USUAL_LR[optimizer]
        if lr > high * FAR or lr < low / FAR:
            out.append(f"The learning rate {lr:g} is far outside the usual range for {optimizer} "
                       f"({low:g} to {high:g}); training will likely {'diverge' if lr > high else 'not move'}.")
    return out


@dataclass(frozen=True)
class Alarm:
    """A run going nowhere: `kind` is "diverged" or "stuck"; `message` says what to change."""

    kind: str
    message: str


class SanityWatch:
    """Fed each epoch's train and validation metrics; raises an Alarm once, when a run diverges or is stuck.

    Diverging: the training loss is not finite, or has stayed above `rise` × its lowest value, and
    above its first epoch's value, for `patience` epochs. (A converged run whose loss wobbles from
    0.0008 to 0.009 has risen tenfold but is still far better than where it started: not diverging.) Stuck at chance: a classifier's accuracy has stayed within a small margin
    of 1/classes for `patience` epochs.
    """

    def __init__(self, classes: int = 0, lr: float | None = None, patience: int = 3, rise: float = 3.0) -> None:
        self.classes = classes
        self.lr = lr
        self.patience = patience
        self.rise = rise
        self.best_loss = math.inf
        self.first_loss: float | None = None
        self._high = 0
        self._chance = 0
        self.alarm: Alarm | None = None

    def observe(self, train: dict, val: dict | None = None) -> Alarm | None:
        """Take one epoch's metrics; return an Alarm the first time the run looks hopeless."""
        if self.alarm is not None:
            return None
        fix = f"lower the learning rate (now {self.lr:g})" if self.lr else "lower the learning rate"
        loss = train.get("loss")
        if loss is not None:
            if not math.isfinite(loss):
                self._high = self.patience
            else:
                if self.first_loss is None:
                    self.first_loss = loss
                worse = loss > self.rise * self.best_loss and loss > self.first_loss
                self._high = self._high + 1 if worse else 0
                self.best_loss = min(self.best_loss, loss)
            if self._high >= self.patience:
                self.alarm = Alarm("diverged", f"The training loss is diverging ({loss:.4g}, lowest "
                                               f"{self.best_loss:.4g}); {fix} or turn on gradient clipping.")
                return self.alarm
        accuracy = (val or {}).get("accuracy", train.get("accuracy"))
        if self.classes >= 2 and accuracy is not None:
            chance = 1.0 / self.classes
            self._chance = self._chance + 1 if accuracy <= chance + 0.05 * (1 - chance) else 0
            if self._chance >= self.patience:
                self.alarm = Alarm("stuck", f"Accuracy has stayed at chance ({accuracy:.1%}, chance {chance:.1%}) "
                                            f"for {self._chance} epochs; {fix}, check the batch size and the "
                                            f"labels.")
                return self.alarm
        return None
