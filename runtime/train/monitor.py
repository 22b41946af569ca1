"""TensorBoard event files for every run, written from the trainer's declared events (DESIGN.md decision 14).

    sink = TensorBoardSink()
    for event in train(project, run_dir=run):
        sink(event)                     # the trainer does this itself, once, where it emits events

The sink opens a writer in the run folder on `started`, writes per-epoch losses and metrics of
each split (`loss/train`, `accuracy/val`, …), the learning rate, each confusion matrix as an
image, and on `finished` the test metrics and the hyperparameters with the final metrics (the
HParams tab). `tensorboard --logdir <name>.runs` shows every run of a project. When the
tensorboard package is missing the sink does nothing: monitoring must never stop training, so a
write that fails (a full disk) ends the monitoring of that run quietly, and the trainer's own
files report the disk in its words; TensorBoard's writer thread does not print a traceback.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from runtime.events import TERMINAL

CELL_PX = 16  # side of one confusion-matrix cell in the image


def tensorboard_available() -> bool:
    """Whether the tensorboard package (its event-file writer) is installed."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardSink:
    """Writes one run's events to TensorBoard event files in its run folder; call it with each event."""

    def __init__(self) -> None:
        self.writer = None
        self.run_dir: Path | None = None

    def __call__(self, event: dict) -> None:
        handler = getattr(self, f"_on_{event['type']}", None)
        try:
            if handler is not None and (self.writer is not None or event["type"] == "started"):
                handler(event)
        except OSError:  # the disk is full or gone: monitoring ends, training goes on (and says so if it cannot)
            self.close()
        if event["type"] in TERMINAL:
            self.close()

    def close(self) -> None:
        """Flush and close the event file (later events are ignored until the next `started`)."""
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass

    # ------------------------------------------------------------ events

    def _on_started(self, e: dict) -> None:
        if not e["run_dir"] or not tensorboard_available():
            return
        from torch.utils.tensorboard import SummaryWriter

        _quiet_writer_threads()
        self.run_dir = Path(e["run_dir"])
        self.writer = SummaryWriter(log_dir=str(self.run_dir), flush_secs=10)

    def _on_epoch(self, e: dict) -> None:
        step = e["epoch"]
        for split in ("train", "val"):
            self._scalars(e[split] or {}, split, step)
        self.writer.add_scalar("lr", e["lr"], step)
        self.writer.flush()  # an epoch is a unit a killed run should not lose

    def _on_confusion(self, e: dict) -> None:
        image = confusion_image(e["matrix"])
        if image is not None:
            self.writer.add_image(f"confusion/{e['split']}", image, e["epoch"], dataformats="HWC")

    def _on_finished(self, e: dict) -> None:
        test = e["test"] or {}
        self._scalars(test, "test", e["epochs_run"])
        from torch.utils.tensorboard.summary import hparams

        final = {f"hparam/test_{k}": v for k, v in test.items() if _is_number(v)}
        if e["best_value"] is not None:
            final["hparam/best_value"] = e["best_value"]
        exp, ssi, sei = hparams(self._hyperparameters(), final)
        for summary in (exp, ssi, sei):
            self.writer.file_writer.add_summary(summary)
        for tag, value in final.items():  # the HParams tab reads its metrics as scalars of the same run
            self.writer.add_scalar(tag, value, e["epochs_run"])

    # ------------------------------------------------------------ helpers

    def _scalars(self, metrics: dict, split: str, step: int) -> None:
        for name, value in metrics.items():
            if _is_number(value):  # per-class lists and missing values (None) are not scalars
                self.writer.add_scalar(f"{name}/{split}", value, step)

    def _hyperparameters(self) -> dict:
        """The training settings the run used (from its configuration), as TensorBoard's HParams take them."""
        from graph_builder.run_folder import RunFolder, RunFolderError

        try:
            config = RunFolder(self.run_dir).read_config()
            settings = {**config["project"]["training"], **{f"data.{k}": v for k, v in
                                                            config["project"]["dataset"].items()}}
        except (RunFolderError, KeyError, TypeError):
            return {}
        return {k: v for k, v in settings.items() if isinstance(v, (bool, int, float, str))}


def _quiet_writer_threads() -> None:
    """TensorBoard's background writer re-raises a failed write in its thread, and Python prints that
    thread's traceback; for an OSError the next write from the sink raises it again and ends monitoring,
    so the thread's own report is left out (once per process; other threads' errors print as before)."""
    global _quiet
    with _QUIET_LOCK:
        if _quiet:
            return
        previous = threading.excepthook

        def hook(args) -> None:
            if issubclass(args.exc_type, OSError) and type(args.thread).__name__ == "_AsyncWriterThread":
                return
            previous(args)

        threading.excepthook = hook
        _quiet = True


_quiet = False
_QUIET_LOCK = threading.Lock()


def confusion_image(matrix: list) -> np.ndarray | None:
    """The confusion matrix as an RGB image (H, W, 3 uint8): rows true, columns predicted; darker is more."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        return None
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)  # each true class's share
    shade = (255 * (1 - rows)).astype(np.uint8)
    image = np.stack([shade, shade, np.full_like(shade, 255)], axis=-1)  # white to blue
    return np.kron(image, np.ones((CELL_PX, CELL_PX, 1), dtype=np.uint8))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------- the TensorBoard server

INSTALL_HINT = "TensorBoard is not installed; install it with `pip install tensorboard` and try again"


class TensorBoardServer:
    """A `tensorboard --logdir` child process on the loopback address, on a free port."""

    def __init__(self, logdir: str | Path) -> None:
        import socket
        import subprocess
        import sys

        if not tensorboard_available():
            raise RuntimeError(INSTALL_HINT)
        with socket.socket() as s:  # a free port now; TensorBoard binds it a moment later
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.logdir = Path(logdir)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(self.logdir), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """End the server (and wait for it)."""
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(5)
            except Exception:
                self.process.kill()
