"""`netcanvas memory FILE [--batch-size N] [--time] [--json]`: what one training step needs, per node and in all.

Parameters, gradients, optimiser state and saved activations for the project's batch size and
optimiser (graph_builder.memory), the step's peak, and the training device's free memory; with
--time, what one epoch takes from a dry run of three real steps (runtime.train.time_epoch). Exit 0
when it fits, 1 when the project has errors or the peak exceeds the free memory, 2 unreadable.
"""

from __future__ import annotations

import json
import sys

from graph_builder.footprint import size_text
from graph_builder.memory import estimate_project, memory_issues
from graph_builder.validation import check

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project


def register(sub) -> None:
    p = sub.add_parser("memory", help="estimate the memory of one training step, per node and in all")
    p.add_argument("file", help="a .json project file")
    p.add_argument("--batch-size", help="the batch size to estimate for (default: the project's)")
    p.add_argument("--time", action="store_true",
                   help="also time three real training steps on the training device and estimate one epoch")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def batch_size_of(text: str | None) -> int | None:
    """The --batch-size value as a whole number ≥ 1 (None: the project's); ValueError with the words to print."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or value > 10_000_000:
        raise ValueError(f"--batch-size must be a whole number from 1 to 10,000,000, not {text!r}")
    return value


def run(args) -> int:
    try:
        batch = batch_size_of(args.batch_size)
    except ValueError as exc:
        print(f"netcanvas memory: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    project = read_project(args.file)
    if project is None:
        return EXIT_UNREADABLE
    result = check(project.graph)
    if not result.ok:
        first = result.errors[0].message
        print(f"netcanvas memory: {args.file} has {len(result.errors)} error(s), so its shapes are not all known; "
              f"first: {first} (netcanvas validate lists them)", file=sys.stderr)
        return EXIT_INVALID
    from runtime.train import DeviceUnavailableError, device_memory

    estimate = estimate_project(project, batch)
    try:
        free, total, device = device_memory(str(project.training.get("device", "auto")))
    except DeviceUnavailableError as exc:
        print(f"netcanvas memory: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    issues = memory_issues(estimate, free, total, device)
    timing = None
    if args.time and not issues:  # a step that does not fit is not run
        timing = dry_run(project, batch, args.file)
        if timing is None:
            return EXIT_UNREADABLE
    if args.json:
        print(json.dumps({**estimate.to_dict(), "device": device, "free": free, "total": total,
                          "fits": not issues, "issues": [i.to_dict() for i in issues],
                          **({"time": timing.to_dict()} if timing else {})}, indent=2))
        return EXIT_INVALID if issues else EXIT_OK
    print(table(estimate))
    where = f"; {size_text(free)} free on {device}" if free else ""
    print(f"peak of one training step ≈ {size_text(estimate.peak)} at batch size {estimate.batch_size} "
          f"with {estimate.optimizer}{where}")
    if timing is not None:
        print(timing.text())
    for issue in issues:
        print(f"{issue.severity}: {issue.message}")
    return EXIT_INVALID if issues else EXIT_OK


def dry_run(project, batch: int | None, path: str):
    """The dry run's EpochTime, or None after printing why it could not run (a data or setting problem)."""
    from runtime.errors import NetCanvasRuntimeError
    from runtime.train import time_epoch

    try:
        return time_epoch(project, batch, str(project.training.get("device", "auto")), path)
    except NetCanvasRuntimeError as exc:
        print(f"netcanvas memory: the dry run could not start: {exc}", file=sys.stderr)
        return None



def table(estimate) -> str:
    """The per-node rows and the totals as aligned text."""
    head = ("node", "type", "params", "grads", "optim. state", "saved act.", "total")
    rows = [(r.path, r.type_id, *(size_text(v) for v in (r.params, r.grads, r.state, r.saved, r.total)))
            for r in estimate.rows]
    rows.append(("total", "", *(size_text(v) for v in (estimate.params, estimate.grads, estimate.state,
                                                        estimate.saved, estimate.params + estimate.grads
                                                        + estimate.state + estimate.saved))))
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [head, *rows]]
    return "\n".join(lines)
