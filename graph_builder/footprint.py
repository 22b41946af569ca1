"""Bytes as a person reads them, and what memory the machine has (torch-free).

A training step's memory is estimated in graph_builder.memory; importers bound their test runs
with `activation_bytes`.
"""

from __future__ import annotations

import math
import os

from graph_builder.shapes import ShapeReport

BYTES = 4  # float32


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


def available_memory() -> int | None:
    """The memory the system could give a new program now (Linux's MemAvailable), where it says."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
