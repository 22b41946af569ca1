"""The training device: chosen by name, described in words, and its out-of-memory errors recognised."""

from __future__ import annotations

import platform

import torch

from runtime.train.errors import DeviceUnavailableError


def select_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA, then Apple MPS, then CPU; a named device must exist."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("device cuda was chosen but this machine has no usable CUDA GPU (or this torch "
                                     "build has no CUDA); choose auto or cpu")
    if name == "mps" and not has_mps:
        raise DeviceUnavailableError("device mps was chosen but Apple MPS is not available here; choose auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """A readable name of `device`, e.g. 'NVIDIA H100 (cuda)' or 'CPU, 2 threads'."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    if device.type == "mps":
        return "Apple GPU (mps)"
    threads = torch.get_num_threads()
    return f"CPU {platform.machine()}, {threads} thread{'' if threads == 1 else 's'}"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors and CPU allocator failures."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())) or isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "DefaultCPUAllocator" in text
                                              or "not enough memory" in text)


def dtype_name(dtype: torch.dtype | None) -> str | None:
    """bf16 / fp16 for a mixed-precision dtype, None when off."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype) if dtype is not None else None


def device_memory(name: str = "auto", context: bool = True) -> tuple[int | None, int | None, str]:
    """(free bytes, total bytes, a name for messages) of the training device `name`; None where unknown.

    A GPU's free memory needs a CUDA context (some hundred MB of the GPU); `context=False` (the editor,
    whose child process trains) reads its total only."""
    from graph_builder.footprint import available_memory, machine_memory

    device = select_device(name)
    if device.type == "cuda" and not context:
        index = device.index or 0
        return None, int(torch.cuda.get_device_properties(index).total_memory), \
            f"the GPU {torch.cuda.get_device_name(index)}"
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return int(free), int(total), f"the GPU {torch.cuda.get_device_name(device)}"
    return available_memory(), machine_memory(), "this machine"
