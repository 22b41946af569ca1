"""Run slow work (torch imports, exports, dataset loading) off the GUI thread.

The result comes back as a queued Qt signal, so callbacks always run on the GUI thread.
Errors come back as the exception object; callers turn them into plain words.
"""

from __future__ import annotations

from collections.abc import Callable
import threading

from PySide6.QtCore import QObject, Signal


class _Relay(QObject):
    done = Signal(object, object)  # result, exception


class Job(QObject):
    """One background call; `finished(result)` or `failed(exception)` fire on the GUI thread."""

    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable, *args, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.done = False
        self.result = None
        self.error: BaseException | None = None
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        relay = self._relay

        def call():
            try:
                value = fn(*args)
            except Exception as exc:  # handed to the GUI thread as a value
                relay.done.emit(None, exc)
            else:
                relay.done.emit(value, None)

        # One short-lived thread per job: jobs are rare (exports, previews) and nothing lingers.
        self._thread = threading.Thread(target=call, name="netcanvas-job", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the worker thread has ended (tests and shutdown)."""
        self._thread.join(timeout)

    def _on_done(self, result, error) -> None:
        self.done = True
        self.result, self.error = result, error
        if error is not None:
            self.failed.emit(error)
        else:
            self.finished.emit(result)


def run_in_background(fn: Callable, *args, on_done: Callable | None = None,
                      on_error: Callable | None = None, parent: QObject | None = None) -> Job:
    """Call `fn(*args)` on the worker thread; callbacks run on the GUI thread."""
    job = Job(fn, *args, parent=parent)
    if on_done is not None:
        job.finished.connect(on_done)
    if on_error is not None:
        job.failed.connect(on_error)
    return job
