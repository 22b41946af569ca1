"""The editor's view of the training device's memory, without importing torch before the window paints.

The Design workspace checks the step's memory estimate (graph_builder.memory) against the device
the project trains on. The CPU's figures come from the system; a GPU's total from torch, once
something else has loaded it (the editor shows its window before torch is imported, and reading a
GPU's free memory would make a CUDA context in the editor's process, which the child that trains
needs more).
"""

from __future__ import annotations

import os
import sys

from graph_builder.footprint import available_memory, machine_memory


def editor_device_memory(device: str) -> tuple[int | None, int | None, str]:
    """(free bytes or None, total bytes or None, the device's name for messages) for the device setting."""
    gpu_possible = os.path.exists("/dev/nvidiactl") or sys.platform == "darwin"
    if device == "cpu" or device == "auto" and not gpu_possible:
        return available_memory(), machine_memory(), "this machine"
    if "torch" not in sys.modules:
        return None, None, "the training device"  # unknown until torch is loaded: no check yet
    from runtime.train import DeviceUnavailableError, device_memory

    try:
        return device_memory(device, context=False)
    except DeviceUnavailableError:
        return None, None, "the training device"
