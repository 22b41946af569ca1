"""The worker processes of a study: each trains one queued trial after another (torch imported once per
worker), streams the epochs back and ends itself when the tune process is gone."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER_POLL_S = 0.5


@dataclass
class Task:
    """A trial made ready to train: its values set, its run folder made, its snapshot taken."""

    trial: Any
    frozen: Any  # the FrozenTrial of a trial a killed study had running, else None
    run_dir: Path
    resume: bool
    snapshot: dict
    project_path: str | None
    started: float = field(default_factory=time.perf_counter)


class TrialStop:
    """The stop flag of one trial in a worker: set when the parent names this trial (pruned)."""

    def __init__(self, shared, number: int) -> None:
        self.shared, self.number = shared, number

    def is_set(self) -> bool:
        return self.shared.value == self.number

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return self.is_set()


class Worker:
    """A spawned training process that trains one queued trial after another (torch imported once)."""

    def __init__(self, threads: int) -> None:
        ctx = mp.get_context("spawn")
        self.threads = threads
        self.tasks = ctx.Queue()
        self.events = ctx.Queue()
        self.stop_trial = ctx.Value("q", -1, lock=False)
        self.process = ctx.Process(target=worker_main, args=(self.tasks, self.events, self.stop_trial, os.getpid(),
                                                             threads), daemon=True, name="netcanvas-trial")
        self.process.start()

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, number: int) -> None:
        """Stop trial `number` (its run ends with a stopped event); the trials queued after it still run."""
        self.stop_trial.value = number

    def submit(self, task: Task) -> None:
        self.tasks.put((task.trial.number, task.snapshot, str(task.run_dir), task.resume, task.project_path))

    def events_of(self, number: int, stopping: Callable[[], bool]):
        """The events of trial `number`'s run as the trainer yields them; None when `stopping()` turns true."""
        while True:
            if stopping():
                yield None
                return
            try:
                whose, event = self.events.get(timeout=WORKER_POLL_S)
            except queue_module.Empty:
                if not self.alive():
                    yield {"type": "failed", "kind": "error", "message": "the training process died "
                           f"(exit code {self.process.exitcode}); out of memory?"}
                    return
                continue
            if whose != number:
                continue  # cannot happen (one trial at a time, in order); never mistaken for this trial's
            yield event
            if event["type"] in ("finished", "stopped", "failed"):
                return

    def kill(self) -> None:
        self.tasks.cancel_join_thread()  # tasks it never read must not hold this process at its exit
        if self.alive():
            self.process.kill()
            self.process.join(5)

    def close(self) -> None:
        """End the worker. Every trial it was given has ended (or stays running in the study, to be resumed),
        and it sends a trial's end only after the run's files are closed, so nothing is lost by not waiting
        for a clean interpreter exit."""
        self.kill()


def worker_main(tasks, events, stop_trial, parent_pid: int, threads: int) -> None:
    """The worker process: train each task it is given, streaming epoch and terminal events back."""
    watch_parent(parent_pid)
    import torch

    from runtime.train.trainer import train

    torch.set_num_threads(threads)
    while True:
        task = tasks.get()
        if task is None:
            return
        number, snapshot, run_dir, resume, project_path = task
        control = {"stop": TrialStop(stop_trial, number)}
        last = None
        for event in train(snapshot, run_dir=run_dir, resume=resume, control=control, live=False,
                           project_path=project_path):
            if event["type"] == "epoch":
                events.put((number, event))
            elif event["type"] in ("finished", "stopped", "failed"):
                last = event
        # Sent once the trainer has closed the run's files: from here the worker may be ended at any time.
        events.put((number, last or {"type": "failed", "kind": "error", "message": "the trainer ended without a result"}))


def watch_parent(parent_pid: int) -> None:
    """End this process when the tune process is gone (a SIGKILLed study must not leave trials training)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(WORKER_POLL_S)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()

