"""How much memory a network needs, against what the machine has (torch-free, for `validate`).

Training holds each parameter four times in float32 (the weight, its gradient and Adam's two
moments) and keeps every node's output of a sample for the backward pass.
"""

from __future__ import annotations

import math
import os

from graph_builder.shapes import ShapeReport

BYTES = 4  # float32
TRAINING_COPIES = 4  # weight, gradient, Adam's two moments


def machine_memory() -> int | None:
    """The machine's physical memory in bytes, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def size_text(n: float) -> str:
    """Bytes as a person reads them: 512 bytes, 3.4 MiB, 37.3 GiB."""
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        n /= 1024
        if n < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def activation_bytes(shapes: ShapeReport) -> int:
    """The bytes of every node's output for one sample (the batch dimension left out)."""
    total = 0
    for shape in shapes.out.values():
        dims = [d for d in shape[1:] if isinstance(d, int)]
        total += math.prod(dims) * BYTES
    return total


def memory_warnings(shapes: ShapeReport, memory: int | None = None) -> list[str]:
    """Warnings when the parameters, or the activations of a single sample, exceed the machine's memory."""
    memory = machine_memory() if memory is None else memory
    if not memory:
        return []
    warnings = []
    params = shapes.total_params
    if params * BYTES * TRAINING_COPIES > memory:
        warnings.append(f"the network has {params:,} parameters: {size_text(params * BYTES)} of weights and "
                        f"{size_text(params * BYTES * TRAINING_COPIES)} to train them with Adam, more than this "
                        f"machine's {size_text(memory)} of memory; make the layers smaller")
    activations = activation_bytes(shapes)
    if activations > memory:
        warnings.append(f"the outputs of the layers for one sample take {size_text(activations)}, more than this "
                        f"machine's {size_text(memory)} of memory; make the input or the layers smaller")
    return warnings
