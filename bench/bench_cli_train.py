"""`netcanvas train` of the MLP template, one epoch, against a plain PyTorch script doing the same (not a test).

Both run as fresh processes, timed from spawn to exit, interleaved so machine load falls on both:

  * netcanvas:  `python -m netcanvas train mlp_digits.json --epochs 1 --device cpu` (a run folder, TensorBoard
    events, the test summary);
  * plain:      the script below: digits read with numpy from scikit-learn's bundled file, a seeded split,
    standardised, the same network (64-128-10, dropout 0.2), AdamW, batch 32, one epoch, validation, the
    test accuracy and the weights saved.

Importing torch (and torch._dynamo, which every torch.optim optimiser imports) is in both. The figure is
netcanvas / plain (lower is better); the goal (issue 27) is <= 1.3x. `--before PATH` times another
checkout too (e.g. `git archive <commit> | tar -x -C PATH`), in the same run, for before/after figures.

    python bench/bench_cli_train.py [--repeats 5] [--before PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.3

PLAIN = r'''
import gzip, importlib.util, sys
from pathlib import Path
import numpy as np
import torch
from torch import nn

folder = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "data"
with gzip.open(folder / "digits.csv.gz", "rt") as f:
    table = np.loadtxt(f, delimiter=",")
x, y = table[:, :-1].reshape(-1, 1, 8, 8).astype(np.float32), table[:, -1].astype(np.int64)
order = np.random.RandomState(0).permutation(len(x))
test, val, train = np.split(order, [int(0.2 * len(x)), int(0.3 * len(x))])
mean, std = x[train].mean(), x[train].std()
x = (x - mean) / std
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
opt = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=1e-4)
loss_fn = nn.CrossEntropyLoss()
xt, yt = torch.from_numpy(x), torch.from_numpy(y)


def evaluate(rows):
    model.eval()
    with torch.no_grad():
        out = model(xt[rows])
        return loss_fn(out, yt[rows]).item(), (out.argmax(1) == yt[rows]).float().mean().item()


model.train()
total = 0.0
for batch in torch.from_numpy(train)[torch.randperm(len(train))].split(32):
    opt.zero_grad()
    loss = loss_fn(model(xt[batch]), yt[batch])
    loss.backward()
    opt.step()
    total += loss.item() * len(batch)
val_loss, val_acc = evaluate(torch.from_numpy(val))
print(f"epoch 1/1  train loss {total / len(train):.4f}  val loss {val_loss:.4f} accuracy {val_acc:.4f}")
test_loss, test_acc = evaluate(torch.from_numpy(test))
print(f"test: loss {test_loss:.4f}, accuracy {test_acc:.3f}")
torch.save(model.state_dict(), Path(sys.argv[1]) / "model.pt")
'''


def timed(argv: list[str], root: Path, cwd: Path) -> float:
    """Seconds from spawning `argv` (with `root` first on the import path) to its exit."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another NetCanvas checkout to time in the same run")
    args = parser.parse_args()
    roots = {"netcanvas": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        project, script = tmp / "mlp.json", tmp / "plain.py"
        subprocess.run([sys.executable, "-m", "netcanvas", "new", "--template", "mlp_digits", str(project)],
                       cwd=ROOT, check=True, capture_output=True)
        script.write_text(PLAIN)
        runs: dict[str, list[float]] = {"plain": [], **{name: [] for name in roots}}
        for i in range(args.repeats + 1):  # the first round warms the file cache and is not counted
            rounds = {"plain": timed([sys.executable, str(script), str(tmp)], ROOT, tmp)}
            for name, root in roots.items():
                out = tmp / f"{name}-{i}"
                rounds[name] = timed([sys.executable, "-m", "netcanvas", "train", str(project), "--epochs", "1",
                                      "--out", str(out), "--device", "cpu"], root, tmp)
            if i:
                for name, seconds in rounds.items():
                    runs[name].append(seconds)
    plain = statistics.median(runs["plain"])
    print(f"netcanvas train, MLP template, 1 epoch, CPU: median of {args.repeats} fresh processes each")
    print(f"  plain PyTorch script          {plain:6.2f} s")
    for name in roots:
        seconds = statistics.median(runs[name])
        label = "netcanvas train" + (" (before)" if name == "before" else "")
        print(f"  {label:<29} {seconds:6.2f} s   {seconds / plain:4.2f}x the plain script   (goal <= {GOAL}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
