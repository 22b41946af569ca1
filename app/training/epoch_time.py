"""Train ▸ Estimate Epoch Time: a dry run of three real training steps, its answer under the Summary.

The steps run in a spawned process, as training does: the editor's process never makes a CUDA context
(the child that trains needs the memory) and a slow step cannot stall the window. The answer is for
the project as it was when the dry run began; if the project changed meanwhile it is not shown.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

from app.training.background import run_in_background
from app.training.child import time_epoch_child


def dry_run_in_child(project_dict: dict, project_path: str | None) -> tuple[str, object]:
    """time_epoch_child in a fresh spawned process (called on a worker thread)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(time_epoch_child, project_dict, project_path).result()


class EpochTimer:
    """The action's behaviour for a training controller (its snapshot, window and Summary panel)."""

    def __init__(self, controller) -> None:
        self.controller = controller
        self.job = None  # the dry run under way

    def start(self) -> None:
        window = self.controller.window
        if self.job is not None and not self.job.done:
            window.status_message("An epoch's time is being estimated already")
            return
        if window.validation is not None and window.validation.errors:
            window.status_message("Fix the problems first: a network with errors cannot take a step", 8000)
            return
        snapshot = self.controller.snapshot()
        window.summary.show_epoch_time("Timing three training steps…")
        self.job = run_in_background(dry_run_in_child, snapshot, self.controller.project_path(),
                                     on_done=lambda answer: self._done(snapshot, answer),
                                     on_error=self._failed, parent=self.controller)

    def _done(self, snapshot: dict, answer: tuple[str, object]) -> None:
        summary = self.controller.window.summary
        if snapshot != self.controller.snapshot():
            summary.show_epoch_time("")
            self.controller.window.status_message("The project changed while its steps were timed: estimate again")
            return
        kind, value = answer
        text = value.text() if kind == "ok" else f"The dry run could not start: {value}"
        summary.show_epoch_time(text[:1].upper() + text[1:])
        self.controller.window.status_message(text, 12000)

    def _failed(self, exc: BaseException) -> None:
        self.controller.window.summary.show_epoch_time("")
        self.controller.window.status_message(f"The dry run stopped: {type(exc).__name__}: {exc}", 12000)
