"""The training engine: a generator of small plain-dict events (docs/events.md).

    for event in train(project, run_dir="runs/1"):
        print(event["type"])

The same generator runs in-process (the CLI) and in a spawned child process (the app, through
`run_in_child`, events over a multiprocessing queue). A run is made of parts with one job each:

- runtime.train.setup: the settings read, the data on the device, the task resolved once and its
  model, objective, step, optimizers and schedule built (runtime.tasks);
- runtime.train.loop: the epochs and batches, plain torch, the very code the exported script embeds;
- runtime.train.journal: the run folder: config, metrics journal, weights, checkpoint, kept views; it is
  written by one process at a time: the run holds its lock (graph_builder.runs.RunLock) from before it reads
  a checkpoint until its last event, and a second writer ends with one failed event of kind "busy";
- runtime.train.reporting: events made from their declarations, throttled, journalled, and every
  failure as one failed event;
- this module: pause and stop before every batch, the sanity watch, and the order of it all.

The data is held on the device and batched by index (DESIGN.md decision 7); batch and progress events
are throttled to ~20 per second and the loss is checked for NaN/inf on the device, so the loop never
waits for the host between those points. `resume=True` continues a run from its checkpoint.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from runtime.data import Splits
from runtime.train.devices import device_name, dtype_name, is_out_of_memory, select_device
from runtime.train.errors import (CheckpointError, DeviceUnavailableError, ModelDataMismatchError, NonFiniteLossError,
                                  TrainingError, TrainingMemoryError, TrainingSettingError)
from runtime.train.journal import CHECKPOINT, Journal, checkpoint_of, restore
from runtime.train.loop import Epoch, Loop, NonFiniteLoss
from runtime.train.nan_origin import Origin, keep, replay
from runtime.train.optim import amp_dtype
from runtime.train.reporting import Reporter, Where
from runtime.train.sanity import SanityWatch, settings_warnings
from runtime.train.setup import Ready, Settings, prepare, read_settings

if TYPE_CHECKING:  # the trainer imports the document where it uses it
    from graph_builder.project import Project

__all__ = ["CHECKPOINT", "CheckpointError", "Control", "DeviceUnavailableError", "ModelDataMismatchError",
           "NonFiniteLossError", "TrainingError", "TrainingMemoryError", "TrainingSettingError", "amp_dtype",
           "device_name", "is_out_of_memory", "last_event", "run_in_child", "select_device", "train"]


@dataclass
class Control:
    """Flags the loop checks before each batch; members may be threading or multiprocessing Events."""

    stop: Any = field(default_factory=threading.Event)
    pause: Any = field(default_factory=threading.Event)

    @classmethod
    def of(cls, control: Any) -> Control:
        """A Control from None, a Control, or a dict {"stop": Event, "pause": Event} (the app's form)."""
        if control is None:
            return cls()
        if isinstance(control, Control):
            return control
        if isinstance(control, dict):
            return cls(control.get("stop") or threading.Event(), control.get("pause") or threading.Event())
        return cls(control.stop, control.pause)


# ---------------------------------------------------------------- public entry points

def train(project: Project | dict | None = None, *, module: nn.Module | None = None, dataset: dict | None = None,
          training: dict | None = None, run_dir: str | os.PathLike | None = None, control: Any = None,
          resume: bool = False, live: bool = True, splits: Splits | None = None,
          project_path: str | os.PathLike | None = None) -> Iterator[dict]:
    """Train and yield events; ends with exactly one finished, stopped or failed event.

    `project` (a Project or its dict) gives the graph and both settings sections; `module`
    replaces the graph's model, and `dataset`/`training` override single settings. With
    `resume`, `run_dir`'s checkpoint is continued. `live=False` leaves out batch/progress events.
    `splits` replaces the dataset's own split (a cross-validation fold, runtime.train.crossval).
    `project_path` is the project's file: its imported weights and weight sources are read from
    beside it (runtime.pretrained), and training starts from them.
    """
    return _Run(project, module, dataset, training, run_dir, Control.of(control), resume, live, splits,
                project_path).events()


def run_in_child(project_dict: dict, run_dir: str, queue, control, resume: bool = False,
                 project_path: str | None = None) -> None:
    """Entry point of the spawned training process: events go to `queue`, one dict at a time.

    Only JSON and paths cross the process boundary: the task is resolved here, in the child."""
    for event in train(project_dict, run_dir=run_dir, control=control, resume=resume, project_path=project_path):
        queue.put(event)


def last_event(events: Iterator[dict]) -> dict:
    """Drain an event generator and return its final event."""
    event: dict = {}
    for event in events:  # noqa: B007 — only the last one is wanted
        pass
    return event


# ---------------------------------------------------------------- the run

class _Stopped(Exception):
    pass


class _Run:
    def __init__(self, project, module, dataset, training, run_dir, control: Control, resume: bool, live: bool,
                 splits: Splits | None = None, project_path: str | os.PathLike | None = None):
        self.project_in, self.module_in = project, module
        self.dataset_over, self.training_over = dataset or {}, training or {}
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.control, self.resume, self.live = control, resume, live
        self.splits_in, self.project_path = splits, project_path
        self.journal = Journal(self.run_dir, resume)
        self.report = Reporter(self.journal)
        self.where = Where()
        self.settings: Settings | None = None
        self.ready: Ready | None = None
        self.loop: Loop | None = None
        self.last_good: dict | None = None  # the state the current epoch started from (runtime.train.nan_origin)
        self._lock = None  # the run folder's RunLock, held for the run's whole life
        self._t0 = time.perf_counter()

    # ----- what tests and callers look at
    @property
    def model(self) -> nn.Module:
        return self.ready.built.model

    @property
    def optimizer(self):
        return self.ready.built.optimizer

    @property
    def t(self) -> dict:
        return self.settings.t

    # ----- setup
    def _settings(self) -> None:
        self.settings = read_settings(self.project_in, self.module_in, self.dataset_over, self.training_over,
                                      self.resume, self.run_dir)
        self.where.batch_size = self.settings.t["batch_size"]

    def _setup(self) -> None:
        def loaded(_splits) -> None:
            self.where.data_loaded = True

        self.ready = ready = prepare(self.settings, self.module_in, self.splits_in, self.project_path, loaded)
        self.where.device = ready.setup.device
        s = ready.setup
        self.loop = Loop(ready.built, s.data, s.t, s.device, s.amp, _augmentation(self.settings.d), s.splits.image)

    def events(self) -> Iterator[dict]:
        try:
            yield from self._events()
        except _Stopped:
            pass
        except GeneratorExit:
            raise
        except BaseException as exc:  # every failure ends the stream with one failed event
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            yield self.report.failed(self._nonfinite(exc) if isinstance(exc, NonFiniteLoss) else exc, self._where())
        finally:
            self.report.close()
            if self._lock is not None:
                self._lock.release()  # after the files are closed: the next writer finds them whole
                self._lock = None

    def _where(self) -> Where:
        if self.loop is not None:
            self.where.epoch, self.where.batch = self.loop.epoch, self.loop.batch
        return self.where

    def _nonfinite(self, exc: NonFiniteLoss) -> NonFiniteLossError:
        role = exc.network
        # a graph's model only: its generated lines name the nodes (a module given in code has none)
        graph = self.settings.project.graph if self.settings.project is not None and self.module_in is None else None
        if role is None and self.last_good is not None and graph is not None:
            origin = self._origin(exc)
            if origin is not None:
                self.loop.batch = origin.batch - 1  # the failed event names the batch the message names
                self.journal.save_nan_origin(origin.to_dict(graph))
                node = graph.nodes[origin.node_id] if graph is not None and origin.node_id in graph.nodes else None
                return NonFiniteLossError(origin.message(graph), node.name if node else None,
                                          node.id if node else None)
        whose = f"The {role} network {self.t[role]!r}'s loss" if role else "The loss"
        return NonFiniteLossError(
            f"{whose} became NaN or infinite at epoch {exc.epoch}, batch {exc.batch}. Lower the learning rate "
            f"(now {self.t['lr']:g}), turn on gradient clipping, or check the data for extreme values.")

    def _origin(self, exc: NonFiniteLoss) -> Origin | None:
        """Where the NaN started, from a replay of its epoch; None when the replay cannot say."""
        try:
            return replay(self.loop, self.last_good, exc.epoch, exc.batch - 1)
        except Exception:  # noqa: BLE001 — the replay explains a failure; it never becomes a second one
            return None

    # ----- the run
    def _hold_folder(self) -> None:
        """Take the run folder's lock before anything in it is read or written (a resume cuts its log)."""
        if self.run_dir is None:
            return
        from graph_builder.files import WriteError
        from graph_builder.runs import RunLock

        lock = RunLock(self.run_dir)
        try:
            self._lock = lock.acquire("resuming" if self.resume else "training")
        except OSError as exc:
            raise WriteError(lock.path if self.run_dir.is_dir() else self.run_dir, exc) from None

    def _events(self) -> Iterator[dict]:
        self._settings()
        self._hold_folder()
        self._setup()
        t, loop, ready = self.t, self.loop, self.ready
        start = self._resume() if self.resume else 0
        self.journal.start(self._config())
        epochs = t["epochs"]
        yield self._started(start)
        views = ready.runtime.views(ready.built, ready.setup, ready.s)
        total = max(1, (epochs - start) * loop.batches)
        done = 0
        began = time.perf_counter()
        sanity = SanityWatch(len(ready.s["classes"]), t["lr"])
        for warning in settings_warnings(t, loop.samples):
            yield self.report.emit("alarm", kind="settings", message=warning, epoch=0)
        self.last_good = keep(loop)
        for point in loop.run(start):
            if point[0] == "before":
                yield from self._obey_control(loop.epoch, point[1])
            elif point[0] == "after":
                done += 1
                if self.live and self.report.due():
                    loop.check_finite()
                    b = point[1]
                    yield self.report.emit("batch", epoch=loop.epoch, batch=b, batches=loop.batches,
                                           step=loop.state.step, loss=float(point[2]), lr=loop.lr())
                    yield self.report.progress(loop.epoch, epochs, b + 1, loop.batches, done, total, began,
                                               loop.samples)
            else:
                end: Epoch = point[1]
                yield from self._epoch_end(end, views)
                if (alarm := sanity.observe(end.train, end.val)) is not None:
                    yield self.report.emit("alarm", kind=alarm.kind, message=alarm.message, epoch=end.epoch)
                    if t["stop_on_divergence"]:
                        yield self.report.emit("failed", kind=alarm.kind, epoch=end.epoch, batch=None,
                                               message=f"Stopped at epoch {end.epoch}: {alarm.message}")
                        return
                if self.live:
                    yield self.report.progress(end.epoch, epochs, loop.batches, loop.batches, done, total, began,
                                               loop.samples)
        yield from self._finish(views)

    def _epoch_end(self, end: Epoch, views) -> Iterator[dict]:
        loop, t = self.loop, self.t
        if end.improved:
            self.journal.save_weights("best", loop.best_state, end.epoch)
        st = loop.state
        yield self.report.emit("epoch", epoch=end.epoch, epochs=t["epochs"], train=end.train, val=end.val, lr=end.lr,
                               next_lr=end.next_lr, time_s=round(end.seconds, 4),
                               samples_per_s=round(end.samples / end.seconds, 1) if end.seconds > 0 else None,
                               monitor=t["monitor"], monitor_value=end.monitored, improved=end.improved,
                               best_epoch=st.best_epoch, best_value=st.best_value)
        shown = [self.report.emit(type_, **data) for type_, data in views.epoch(end)]
        self.journal.save_weights("last", loop.built.model.state_dict(), end.epoch)
        self.journal.keep(shown)
        yield from shown
        self.journal.save_checkpoint(checkpoint_of(loop, end.epoch))
        self.last_good = keep(loop)  # once an epoch: a NaN in the next one is replayed from here

    def _started(self, start: int) -> dict:
        t, ready, s = self.t, self.ready, self.ready.setup
        return self.report.emit(
            "started", run_dir=str(self.run_dir) if self.run_dir else None, epochs=t["epochs"], start_epoch=start + 1,
            resumed=self.resume, batches_per_epoch=self.loop.batches, batch_size=t["batch_size"],
            train_size=self.loop.samples, val_size=len(s.data["val"]), test_size=len(s.data["test"]),
            classes=list(ready.s["classes"]), task=ready.spec.id, metric=ready.spec.headline,
            loss=ready.s.get("loss") or ready.spec.id, optimizer=t["optimizer"], monitor=t["monitor"],
            device=str(s.device), device_name=device_name(s.device), amp=dtype_name(s.amp), dataset=s.splits.name,
            input_shape=list(s.splits.input_shape), params=sum(p.numel() for p in ready.built.params))

    def _obey_control(self, epoch: int, b: int) -> Iterator[dict]:
        """Pause and stop, checked before every batch."""
        stop, pause = self.control.stop, self.control.pause
        if pause.is_set() and not stop.is_set():
            yield self.report.emit("paused", epoch=epoch, batch=b)
            while pause.is_set() and not stop.is_set():
                stop.wait(0.05)
            if not stop.is_set():
                yield self.report.emit("resumed", epoch=epoch, batch=b)
        if stop.is_set():
            self.journal.save_weights("last", self.model.state_dict(), epoch)
            yield self.report.emit("stopped", message=f"Training stopped at epoch {epoch}, batch {b + 1} of "
                                   f"{self.loop.batches}.", epoch=epoch, batch=b, best_epoch=self.loop.state.best_epoch)
            raise _Stopped

    def _finish(self, views) -> Iterator[dict]:
        t, loop, spec = self.t, self.loop, self.ready.spec
        epoch = loop.epoch if loop.stopped_early else t["epochs"]
        loop.epoch = epoch
        restored, test, test_meter = loop.finish()
        shown = [self.report.emit(type_, **data) for type_, data in views.final(epoch, test_meter)]
        self.journal.keep(shown)
        yield from shown
        summary = spec.summary(test)
        st = loop.state
        why = (f"stopped early after epoch {epoch}: {t['monitor']} did not improve for {t['patience']} epochs"
               if loop.stopped_early else f"finished {epoch} epochs")
        yield self.report.emit("finished", message=f"Training {why}{'; ' + summary if summary else ''}.",
                               epochs_run=epoch, stopped_early=loop.stopped_early, best_epoch=st.best_epoch,
                               best_value=st.best_value, restored_best=restored, test=test,
                               elapsed_s=round(time.perf_counter() - self._t0, 3),
                               run_dir=str(self.run_dir) if self.run_dir else None)

    # ----- the run folder
    def _config(self) -> dict:
        ready, s = self.ready, self.ready.setup
        splits = s.splits
        network = self._network_record()
        self.journal.fingerprint = network["fingerprint"] if network is not None else None
        return {
            "format": "netcanvas-run", "version": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "project": self.settings.snapshot,
            "network": network,
            "resolved": {
                "task": ready.spec.id, "loss": ready.s.get("loss") or ready.spec.id, "device": str(s.device),
                "amp": dtype_name(s.amp), "classes": list(ready.s["classes"]),
                "input_shape": list(splits.input_shape), "target_shape": list(splits.target_shape),
                "normalization": None if splits.mean is None else {
                    "mean": splits.mean.reshape(-1).tolist(), "std": splits.std.reshape(-1).tolist(),
                    "shape": list(splits.mean.shape)},  # broadcasts against one sample (runtime.export.preprocess)
                "dataset": splits.name, "image": splits.image, "dtype": splits.dtype,
                # a text dataset's tokenizer (learnt on this run's training split): predict and every export use it
                **({"text": splits.info["tokenizer"]} if "tokenizer" in splits.info else {}),
                "target_normalization": _target_normalization(splits),  # a series' target, standardised
            },
        }

    def _network_record(self) -> dict | None:
        """The fingerprint, parameter count and title of the network trained (None for a given module)."""
        project = self.settings.project
        if project is None or self.module_in is not None:
            return None
        from graph_builder.runs import network_record

        return network_record(project, sum(p.numel() for p in self.model.parameters()))

    def _resume(self) -> int:
        """The checkpoint's epoch, its states put back (the run must be of this project's network)."""
        state = self.journal.load_checkpoint()
        project = self.settings.project
        if project is not None and self.module_in is None:
            from graph_builder.runs import RunsError, check_run_fits

            try:
                check_run_fits(self.run_dir, project)
            except RunsError as exc:
                raise CheckpointError(f"cannot resume: {exc}") from None
        restore(self.loop, self.ready.built, state, self.journal.folder.checkpoint)
        if self.loop.state.best_epoch is not None:
            self.loop.best_state = self.journal.best_weights(self.ready.setup.device)
        return state["epoch"]


def _augmentation(d: dict):
    from runtime.data import Augmentation

    return Augmentation.from_config(d)


def _target_normalization(splits) -> dict | None:
    """The mean and std a standardised series' target was divided by (exports multiply them back), or None."""
    series = splits.info.get("series")
    if not series or splits.mean is None:
        return None
    return {"mean": series["target_mean"], "std": series["target_std"]}
