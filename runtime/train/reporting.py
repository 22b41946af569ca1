"""The events a run sends: each made from its declaration (runtime/events.py), journalled and mirrored to
TensorBoard, and every failure turned into one failed event in plain words.

    report = Reporter(journal)
    event = report.emit("paused", epoch=3, batch=12)
    event = report.failed(exc, Where(epoch=3, batch=12, batch_size=64, device="cpu", data_loaded=True))
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass

from graph_builder.files import WriteError

from runtime.data import DataError
from runtime.errors import NetCanvasRuntimeError
from runtime.events import LOGGED, make
from runtime.train.devices import is_out_of_memory
from runtime.train.errors import TrainingError, TrainingMemoryError
from runtime.train.journal import Journal
from runtime.train.monitor import TensorBoardSink

EVENT_INTERVAL_S = 0.05  # batch/progress events at most ~20 per second


@dataclass
class Where:
    """Where a run stood when it failed: what the failed event and its message name."""

    epoch: int | None = None
    batch: int | None = None  # 0-based
    batch_size: int | None = None
    device: object = None
    data_loaded: bool = False


class Reporter:
    """Makes, journals and mirrors a run's events."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.tensorboard = TensorBoardSink()  # every run also writes TensorBoard event files
        self._last = -math.inf

    def emit(self, type_: str, **data) -> dict:
        event = make(type_, **data)  # declared in runtime/events.py
        if type_ in LOGGED:
            self.journal.log(event)
        self.tensorboard(event)
        return event

    def due(self) -> bool:
        """Whether a throttled batch/progress event may go now (at most ~20 a second)."""
        now = time.perf_counter()
        if now - self._last < EVENT_INTERVAL_S:
            return False
        self._last = now
        return True

    def close(self) -> None:
        self.tensorboard.close()
        self.journal.close()

    def progress(self, epoch: int, epochs: int, batch: int, batches: int, done: int, total: int, started: float,
                 samples: int) -> dict:
        elapsed = time.perf_counter() - started
        fraction = min(1.0, done / total)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        return self.emit("progress", epoch=epoch, epochs=epochs, batch=batch, batches=batches,
                         fraction=round(fraction, 5), elapsed_s=round(elapsed, 3),
                         eta_s=round(eta, 3) if eta is not None else None,
                         samples_per_s=round(done * samples / batches / elapsed, 1) if elapsed > 0 else None,
                         step=(epoch - 1) * batches + batch)

    def failed(self, exc: BaseException, at: Where) -> dict:
        """The one failed event that ends a run, with what to do."""
        from graph_builder.runs import RunBusyError

        where = {"epoch": at.epoch or None, "batch": at.batch}
        if isinstance(exc, RunBusyError):
            return self.emit("failed", kind="busy", message=str(exc), **where)
        if isinstance(exc, DataError):  # data errors first: a too-large dataset is not a batch-size problem
            return self.emit("failed", kind="data", message=f"The dataset could not be used: {exc}", **where)
        if is_out_of_memory(exc) and not at.data_loaded:
            return self.emit("failed", kind="data", message="The dataset could not be loaded: it does not fit in "
                             "memory; use a smaller dataset (or a smaller image size)", **where)
        if isinstance(exc, TrainingMemoryError):
            return self.emit("failed", kind="oom", message=str(exc), batch_size_to_try=exc.batch_size_to_try, **where)
        if is_out_of_memory(exc):
            bs = at.batch_size or 0
            smaller = max(1, bs // 2)
            spot = f" at epoch {at.epoch}, batch {at.batch + 1}" if at.batch is not None and at.epoch else ""
            message = (f"Ran out of memory on {at.device or 'the device'}{spot} with batch size {bs}. "
                       f"Try batch size {smaller}, or a smaller model.")
            return self.emit("failed", kind="oom", message=message, batch_size_to_try=smaller, **where)
        if isinstance(exc, WriteError):
            return self.emit("failed", kind="disk", message=f"Training stopped: {exc}.", **where)
        if isinstance(exc, TrainingError):
            return self.emit("failed", kind=exc.kind, message=str(exc), **exc.fields(), **where)
        from runtime.download import DownloadError

        if isinstance(exc, DownloadError):  # torchvision's starting weights: the message says where to put them
            return self.emit("failed", kind="weights", message=f"The pretrained weights could not be used: {exc}",
                             **where)
        if isinstance(exc, NetCanvasRuntimeError):
            return self.emit("failed", kind="model", message=f"The model could not be built: {exc}", **where)
        from graph_builder.errors import GraphBuilderError
        from runtime.pretrained import PretrainedError

        if isinstance(exc, PretrainedError):
            return self.emit("failed", kind="weights", message=f"The pretrained weights could not be used: {exc}",
                             **where)
        if isinstance(exc, GraphBuilderError):
            return self.emit("failed", kind="project", message=f"The project is not valid: {exc}", **where)
        spot = f" (epoch {at.epoch}, batch {at.batch + 1})" if at.batch is not None and at.epoch else ""
        return self.emit("failed", kind="error", message=f"Training stopped because of an error{spot}: "
                         f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=8), **where)
