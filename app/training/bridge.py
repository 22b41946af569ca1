"""The GUI side of a training run: owns the child process and its queue (DESIGN.md decision 6).

The child streams plain-dict events over a multiprocessing queue; a QTimer drains it at
~25 Hz on the GUI thread (never blocking: `get_nowait` with a time budget per tick) and turns
each event into a Qt signal. Stop sets a flag, and a child that has not ended after a grace
period is terminated. A child that dies without a final event is reported as a crash.

With `keep_spare()` the bridge holds a spare child, started ahead with torch imported, and
hands it the next run: Train then waits for no import. Each run still has its own process
(Stop, a crash or running out of memory end that run alone); a new spare starts after it.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import signal
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.training.child import run_training_child, run_when_sent
from runtime.events import DIVERGED, TERMINAL

TICK_MS = 40  # 25 Hz
TICK_BUDGET_S = 0.008  # at most this long handling events per tick, so the GUI stays smooth
STOP_GRACE_S = 1.0  # after Stop, how long the child may take to finish its batch


class TrainingBridgeError(RuntimeError):
    """A run cannot be started or controlled (for example one is already running)."""


def make_control(ctx) -> dict:
    """The flags the trainer polls between batches (shared with the child)."""
    return {"stop": ctx.Event(), "pause": ctx.Event()}


class _Spare:
    """A training child started before its run: torch loading, waiting on a pipe for the one job."""

    def __init__(self, ctx) -> None:
        self.queue = ctx.Queue()
        self.control = make_control(ctx)
        jobs, self.jobs = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=run_when_sent, name="netcanvas-training", daemon=True,
                                   args=(jobs, self.queue, self.control))
        self.process.start()
        jobs.close()  # the child holds its end: its death closes the pipe

    def send(self, job: tuple) -> bool:
        """Give the spare its run; False if it has died (the caller starts a fresh child)."""
        try:
            if self.process.is_alive():
                self.jobs.send(job)
                self.jobs.close()
                return True
        except (BrokenPipeError, OSError):
            pass
        self.end()
        return False

    def end(self) -> None:
        """End the spare without a run."""
        self.jobs.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1.0)
        self.queue.close()
        self.queue.cancel_join_thread()


class TrainingBridge(QObject):
    """Starts, pauses and stops one training child at a time and relays its events."""

    event_received = Signal(dict)  # every event from the child, in order
    drained = Signal()  # after each timer tick that handled events (plots refresh on it)
    state_changed = Signal(str)  # idle, starting, running, paused, stopping
    run_ended = Signal(str, str)  # outcome (finished, stopped, failed, diverged, crashed), plain-words message

    def __init__(self, parent: QObject | None = None,
                 target: Callable = run_training_child) -> None:
        super().__init__(parent)
        self._ctx = mp.get_context("spawn")
        self._target = target
        self._process = None
        self._queue = None
        self._control: dict | None = None
        self._terminal: dict | None = None
        self._stop_requested_at: float | None = None
        self._ended_at: float | None = None
        self.state = "idle"
        self.run_dir: str | None = None
        self.events_seen = 0
        self._spare: _Spare | None = None
        self._keeps_spare = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)

    # ----- control
    @property
    def is_active(self) -> bool:
        """True from start until the child has ended and its last events were handled."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def spare_pid(self) -> int | None:
        """The waiting spare child's process id, if one is held."""
        return self._spare.process.pid if self._spare is not None else None

    def keep_spare(self) -> None:
        """Hold a spare child from now on (one now if idle, a new one after each run)."""
        if self._target is not run_training_child:
            return  # a bridge given another child function always starts that
        self._keeps_spare = True
        if self._spare is None and not self.is_active:
            self._spare = _Spare(self._ctx)

    def release_spare(self) -> None:
        """End the spare child and hold none from now on."""
        self._keeps_spare = False
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.end()

    def start(self, project_dict: dict, run_dir: str, project_path: str | None = None) -> None:
        """Train `project_dict` (a snapshot) into `run_dir` in the spare child, or in a new one if none is ready.

        `project_path`, the saved project's file, is where its pretrained weights are found."""
        if self.is_active:
            raise TrainingBridgeError("a training run is already going; stop it before starting another")
        self._terminal = None
        self._stop_requested_at = None
        self._ended_at = None
        self.events_seen = 0
        self.run_dir = str(run_dir)
        spare, self._spare = self._spare, None
        if spare is not None and spare.send((project_dict, str(run_dir), project_path)):
            self._queue, self._control, self._process = spare.queue, spare.control, spare.process
        else:
            self._queue = self._ctx.Queue()
            self._control = make_control(self._ctx)
            self._process = self._ctx.Process(target=self._target, name="netcanvas-training",
                                              args=(project_dict, str(run_dir), self._queue, self._control),
                                              kwargs={"project_path": project_path} if project_path else {},
                                              daemon=True)
            self._process.start()
        self._set_state("starting")
        self._timer.start()

    def pause(self) -> None:
        """Ask the child to pause after its current batch."""
        if self.is_active and self.state == "running":
            self._control["pause"].set()
            self._set_state("paused")

    def resume(self) -> None:
        """Let a paused child continue."""
        if self.is_active and self.state == "paused":
            self._control["pause"].clear()
            self._set_state("running")

    def stop(self) -> None:
        """Ask the child to stop; it is terminated if it has not ended after a grace period."""
        if not self.is_active or self._stop_requested_at is not None:
            return
        self._stop_requested_at = time.monotonic()
        self._control["stop"].set()
        self._control["pause"].clear()  # a paused loop must wake up to see the stop flag
        self._set_state("stopping")

    def kill(self) -> None:
        """End the child (and the spare) at once and close the run (used when the window closes)."""
        self.release_spare()
        process = self._process
        if process is None:
            return
        if process.is_alive():
            process.kill()
            process.join(1.0)
        self._drain(0.05)  # what it sent before it died, so the run's end is reported truly
        self._finish(process.exitcode)

    # ----- draining
    def _on_tick(self) -> None:
        if self._queue is None:
            return
        handled = self._drain(TICK_BUDGET_S)
        if handled:
            self.drained.emit()
        process = self._process
        if process is None:
            return
        if (self._stop_requested_at is not None and process.is_alive()
                and time.monotonic() - self._stop_requested_at > STOP_GRACE_S):
            process.terminate()  # the child ignored the flag (e.g. stuck in a long op)
            process.join(0.5)
            if process.is_alive():
                process.kill()
                process.join(0.5)
        if process.is_alive():
            return
        # The child has ended: take what it sent before exiting (bounded), then close the run.
        if self._ended_at is None:
            self._ended_at = time.monotonic()
        if self._drain(0.05):
            self.drained.emit()
            if self._terminal is None and time.monotonic() - self._ended_at < 0.5:
                return  # the queue's feeder may still be flushing; look again next tick
        self._finish(process.exitcode)

    def _drain(self, budget_s: float) -> int:
        deadline = time.monotonic() + budget_s
        handled = 0
        while time.monotonic() < deadline:
            try:
                event = self._queue.get_nowait()
            except queue_mod.Empty:
                break
            except (EOFError, OSError, ValueError):  # the pipe broke with the child
                break
            if not isinstance(event, dict):
                continue
            handled += 1
            self.events_seen += 1
            kind = event.get("type")
            if self.state == "starting" and kind not in TERMINAL:
                self._set_state("running")
            if kind in TERMINAL:
                self._terminal = event
            self.event_received.emit(event)
        return handled

    def _finish(self, exitcode: int | None) -> None:
        self._timer.stop()
        terminal = self._terminal
        stopped_by_user = self._stop_requested_at is not None
        if terminal is not None and terminal.get("type") == "finished":
            outcome, message = "finished", terminal.get("message") or "Training finished."
        elif terminal is not None and terminal.get("type") == "failed":
            outcome = "diverged" if terminal.get("kind") in DIVERGED else "failed"
            message = terminal.get("message") or "Training failed."
        elif stopped_by_user:
            outcome, message = "stopped", "Training stopped."
        elif terminal is not None:
            outcome, message = "stopped", terminal.get("message") or "Training stopped."
        else:
            outcome, message = "crashed", describe_exit(exitcode)
        if stopped_by_user and outcome != "failed":
            outcome, message = "stopped", "Training stopped."
        for q in (self._queue,):
            try:
                q.close()
                q.cancel_join_thread()
            except Exception:
                pass
        if self._process is not None:
            self._process.join(0.1)
            try:
                self._process.close()
            except ValueError:
                pass
        self._process = None
        self._queue = None
        self._control = None
        self._set_state("idle")
        if self._keeps_spare and self._spare is None:
            self._spare = _Spare(self._ctx)  # ready for the next Train while this run's results are read
        self.run_ended.emit(outcome, message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def describe_exit(exitcode: int | None) -> str:
    """Plain words for a training process that ended without saying why."""
    if exitcode is None:
        return "The training process ended without reporting a result."
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return ("The training process was killed (SIGKILL) before it finished. The system may have "
                    "run out of memory: try a smaller batch size or model. The editor is unaffected; "
                    "you can start a new run.")
        return (f"The training process crashed ({name}) before it finished. The editor is unaffected; "
                "you can start a new run.")
    return (f"The training process ended unexpectedly (exit code {exitcode}) before it finished. "
            "The editor is unaffected; you can start a new run.")
