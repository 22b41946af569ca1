"""The memory estimate against one measured training step of every template (not a test).

For each template: graph_builder.memory's estimate of the step's peak, the peak measured by
runtime.train.step_memory (the trainer's own step, run twice: on the CPU the profiler's allocation
events with profile_memory=True, on CUDA torch.cuda.max_memory_allocated), and, as the peer, the
figure NetCanvas showed before this estimate (weights + gradients + Adam state + twice every
layer's output, torchinfo's way). Each column is printed as a ratio to the measured peak: 1.00 is
exact, the test holds the estimate within 0.75–1.25.

    python bench/bench_memory_estimate.py [--device cpu|cuda] [--batch-size N] [TEMPLATE …]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_builder.footprint import size_text  # noqa: E402
from graph_builder.memory import estimate_project  # noqa: E402
from graph_builder.project import load_project  # noqa: E402
from graph_builder.shapes import infer_shapes  # noqa: E402
from runtime.train import measure_step  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


def previous_figure(project, batch_size: int) -> int:
    """What the Design summary said before graph_builder.memory: 4 copies of the weights, 2 of each output."""
    shapes = infer_shapes(project.graph)
    outputs = sum(math.prod(d for d in s[1:] if isinstance(d, int)) for s in shapes.out.values())
    return 4 * (4 * shapes.total_params + 2 * outputs * batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", nargs="*", help="template names (default: every one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    paths = sorted(p for p in TEMPLATES.glob("*.json") if not args.templates or p.stem in args.templates)
    print(f"{'template':34} {'batch':>5} {'measured':>10} {'estimate':>10} {'est/meas':>8} {'before/meas':>11}")
    worst = 0.0
    for path in paths:
        project = load_project(path)
        measured = measure_step(project, args.batch_size, args.device, project_path=path)
        estimate = estimate_project(project, measured.batch_size)
        before = previous_figure(project, measured.batch_size)
        ratio = estimate.peak / measured.peak
        worst = max(worst, abs(ratio - 1))
        print(f"{path.stem:34} {measured.batch_size:>5} {size_text(measured.peak):>10} {size_text(estimate.peak):>10} "
              f"{ratio:>8.2f} {before / measured.peak:>11.2f}", flush=True)
    print(f"largest error of the estimate: {worst:.0%} (device {args.device})")


if __name__ == "__main__":
    main()
