"""What finding a NaN's origin costs a run that never has one, measured against the same run without it (not a test).

The trainer pays nothing per step for it: the loop checks the loss on the device as before, and the
trainer keeps one copy of the state each epoch starts from (runtime.train.nan_origin.keep), so a NaN can
be replayed from there. This bench trains the same templates through the real loop twice, interleaved:
the peer as the loop runs alone, and with `keep` before every epoch, as the trainer does. A wide MLP
(about 17 M parameters, Adam) shows the copy where it is largest against the steps it is spread over.
Times are medians of several repeats after a warm-up; the target (docs/design.md) is <= 5 % overhead.
"keep/epoch" (one copy's median time over a plain epoch's) is the figure to read on a busy machine, where
two epochs differ by more than the copy costs. The copy grows with the parameters and is spread over an
epoch's steps, so a huge model on a few batches an epoch pays the most (the wide MLP here: ~25 steps).

A run on a shared 2-core CPU (2 epochs x 2 repeats):

    model              epoch s  with keep s  overhead    keep s  keep/epoch
    mlp_digits           3.522        3.311     -6.0%    0.0128       0.36%
    lenet_digits         6.135        4.033    -34.3%    0.0065       0.11%
    wide_mlp (17M)      22.593       23.306      3.2%    0.7751       3.43%

    python bench/bench_nan_origin.py [--epochs 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_builder.project import Project, load_project  # noqa: E402
from runtime.train.loop import Loop  # noqa: E402
from runtime.train.nan_origin import keep  # noqa: E402
from runtime.train.setup import prepare, read_settings  # noqa: E402
from tests.builders import chain  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


def wide_mlp() -> Project:
    g = chain(("Input", {"shape": (1, 8, 8)}), ("Flatten", {}), ("Linear", {"out_features": 4096}), ("ReLU", {}),
              ("Linear", {"out_features": 4096}), ("ReLU", {}), ("Linear", {"out_features": 10}), ("Output", {}))
    return Project(g, {"name": "digits"}, {"batch_size": 64, "optimizer": "adam"})


def loop_of(project: Project, epochs: int) -> Loop:
    settings = read_settings(project, None, {}, {"epochs": epochs, "device": "cpu"})
    ready = prepare(settings)
    s = ready.setup
    return Loop(ready.built, s.data, s.t, s.device, s.amp)


def epoch_times(loop: Loop, epochs: int, kept: bool) -> list[float]:
    """Seconds of each epoch's steps, with `keep` before each epoch (as the trainer) or without."""
    times: list[float] = []
    started = [time.perf_counter()]
    if kept:
        keep(loop)

    def ended(_end) -> None:
        if kept:
            keep(loop)
        now = time.perf_counter()
        times.append(now - started[0])
        started[0] = now

    loop.t["epochs"] = loop.epoch + epochs
    loop.fit(start=loop.epoch, on_epoch=ended)
    return times


def keep_seconds(loop: Loop, repeats: int = 5) -> float:
    """The median time of one `keep` of this loop's state."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        keep(loop)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = {"mlp_digits": load_project(TEMPLATES / "mlp_digits.json"),
             "lenet_digits": load_project(TEMPLATES / "lenet_digits.json"), "wide_mlp (17M)": wide_mlp()}
    print(f"{'model':<16} {'epoch s':>9} {'with keep s':>12} {'overhead':>9} {'keep s':>9} {'keep/epoch':>11}")
    for name, project in cases.items():
        loop = loop_of(project, 1)
        epoch_times(loop, 1, True)  # warm-up
        plain, kept = [], []
        for _ in range(args.repeats):  # interleaved, so the machine's drift hits both alike
            plain += epoch_times(loop, args.epochs, False)
            kept += epoch_times(loop, args.epochs, True)
        a, b = statistics.median(plain), statistics.median(kept)
        k = keep_seconds(loop)
        print(f"{name:<16} {a:>9.3f} {b:>12.3f} {100 * (b / a - 1):>8.1f}% {k:>9.4f} {100 * k / a:>10.2f}%")


if __name__ == "__main__":
    main()
