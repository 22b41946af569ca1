"""What a study reports: its error, one trial's record and the study's result (runtime.tune.study fills them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from runtime.errors import NetCanvasRuntimeError


class TuneError(NetCanvasRuntimeError):
    """A search that cannot start: a bad experiment, an unreadable study file, a busy runs folder."""


@dataclass
class TrialRecord:
    """One finished trial as the CLI and the Experiments view show it."""

    trial: int
    state: str  # complete | pruned | failed, or running (a trial still training: its epochs and best so far)
    value: float | None
    params: dict  # label -> value
    run_dir: str | None
    duration_s: float | None
    epochs: int = 0
    reason: str | None = None
    values: dict = field(default_factory=dict)  # Dimension.key -> value (what ApplyTrial sets)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StudyResult:
    """Every trial of the study (finished ones, in trial order) and the best."""

    study: str
    storage: Path
    metric: str
    direction: str
    trials: list[TrialRecord] = field(default_factory=list)
    resumed: int = 0  # trials a killed study had running, continued here
    stopped: bool = False  # ended by the stop flag: the trials in flight resume on the next run

    @property
    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        return pick(done, key=lambda t: t.value)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, short enough for a one-line message."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
