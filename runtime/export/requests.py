"""What an export is asked to write and what it wrote: the words the export registry and a task's own writers share."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_builder.protocols import ProjectLike


@dataclass(frozen=True)
class Request:
    """One export as asked: of which project (and network), where to, with which weights."""

    project: ProjectLike
    out: Path
    network: str | None = None  # a network of the project; None: what the format exports by default
    weights: str | None = None  # trained weights: a run's best/last, or a loose safetensors file
    run: Path | None = None  # the run folder the weights belong to (its normalisation and classes go along)
    untrained: bool = False  # the weights format may write fresh seeded weights when asked
    class_name: str | None = None
    exporter: str = "auto"  # ONNX: auto, dynamo or torchscript
    seed: int = 0  # of fresh weights
    project_path: str | os.PathLike | None = None  # the project file: imported and pretrained weights beside it
    download: bool = False  # the script may download the project's pretrained starting weights


@dataclass(frozen=True)
class Written:
    """What an export wrote, in one sentence the CLI prints and the app shows."""

    path: Path
    message: str
    ok: bool = True  # False: written, but a check failed (ONNX parity)
    weights_path: Path | None = None
    onnx: Any = None  # runtime.export.formats.OnnxReport



def onnx_words(report, out: Path) -> str:
    """Plain words for an OnnxReport (parity with onnxruntime included)."""
    return (f"Wrote the ONNX model to {out} ({report.size_bytes:,} bytes, opset {report.opset}). "
            f"onnxruntime parity: {'OK' if report.ok else 'FAILED'}: largest difference from torch "
            f"{report.max_abs_diff:.2e} (tolerance {report.tolerance:g}) for batch sizes "
            f"{', '.join(map(str, report.batch_sizes))}.")
