"""What a run leaves in its folder, written in one place: config, the metrics journal, weights, checkpoint, views.

    journal = Journal(run_dir, resume=False)
    journal.start(config)                      # the folder, its configuration, the metrics journal
    journal.log(event)                         # one journal line
    journal.save_weights("last", state, epoch)
    journal.save_checkpoint(checkpoint_of(loop, run_state, rng))
    journal.keep(events)                       # confusion matrices, the latest generative views

A Journal without a folder (`run_dir` None) writes nothing: the trainer runs the same either way.
Checkpoints are plain tensors and dicts, read back with `torch.load(weights_only=True)` and checked key by
key (runtime.train.runlog); the metrics journal is cut back to what the checkpoint covers on resume.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from graph_builder.files import WriteError, write_atomic
from graph_builder.run_folder import CHECKPOINT, RunFolder

from runtime.train.errors import CheckpointError
from runtime.train.loop import Built, Loop
from runtime.train.objectives import CHECKPOINT_FORMAT, RunState
from runtime.train.runlog import RunLog, check_checkpoint, read_config


def jsonable(value: Any) -> Any:
    """What json.dumps cannot write itself: tensors and arrays as lists, paths as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Journal:
    """One run folder, as the trainer writes it (nothing when `run_dir` is None)."""

    def __init__(self, run_dir: Path | None, resume: bool = False) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.folder = RunFolder(self.run_dir) if run_dir is not None else None
        self.resume = resume
        self._log: RunLog | None = None
        self.fingerprint: str | None = None  # what the weights' metadata says they fit
        self.log_bytes: int | None = None  # how much of the journal the resumed checkpoint covers
        self.resumed_epoch: int | None = None

    # ------------------------------------------------------------ the folder and its journal

    def start(self, config: dict) -> None:
        """Make the folder, write its configuration (a resumed run keeps its own) and open the metrics journal."""
        if self.folder is None:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.folder.confusion_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise WriteError(self.run_dir, exc) from None
        if not (self.resume and self.folder.config.exists()):
            self.folder.write_config(config, default=jsonable)
        self._log = RunLog(self.folder.metrics, resume=self.resume, committed=self.log_bytes,
                           last_epoch=self.resumed_epoch)

    def log(self, event: dict) -> None:
        """Append `event` to the journal; a failed write of a failed event closes it instead of raising."""
        if self._log is None:
            return
        try:
            self._log.write(event, default=jsonable)
        except WriteError:
            if event["type"] != "failed":
                raise
            self.close()  # the failure is reported as an event, not a second traceback

    def close(self) -> None:
        if self._log is not None:
            self._log.close()  # never raises: a failed write was already reported
            self._log = None

    def config(self) -> dict:
        """The run's configuration (a damaged one refused by name)."""
        return read_config(self.run_dir)

    # ------------------------------------------------------------ weights and views

    def save_weights(self, which: str, state: dict, epoch: int) -> None:
        """best or last weights as safetensors, saying which network they fit and after which epoch."""
        if self.run_dir is None:
            return
        from safetensors.torch import save

        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        metadata = {"format": "netcanvas", "epoch": str(epoch)}
        if self.fingerprint is not None:  # weights copied out of the run still say what they fit
            metadata["fingerprint"] = self.fingerprint
        write_atomic(self.folder.weights_file(which), save(tensors, metadata=metadata))

    def best_weights(self, device: torch.device) -> dict | None:
        """The best weights a resumed run had kept, on `device` (None when it has none)."""
        best = self.folder.weights_file("best")
        if not best.is_file():
            return None
        from safetensors.torch import load_file

        from graph_builder import limits

        limits.check_file(best, limits.MODEL, "the best weights", CheckpointError, "start a new run")
        try:
            return {k: v.to(device) for k, v in load_file(str(best)).items()}
        except Exception as exc:  # noqa: BLE001 — a damaged file, in safetensors' words
            raise CheckpointError(f"{best} is damaged ({exc}); start a new run") from None

    def keep(self, events: list[dict]) -> None:
        """Keep what a past run's Evaluate shows of an epoch's (or the end's) views: each confusion matrix as
        its own file, the other views as the latest ones."""
        if self.run_dir is None:
            return
        latest = []
        for event in events:
            if event["type"] == "confusion":
                write_atomic(self.folder.confusion(event["split"], event["epoch"]),
                             json.dumps({k: event[k] for k in ("epoch", "split", "classes", "matrix")}).encode())
            elif event["type"] != "anomaly":  # the anomaly ranking is in the journal itself
                latest.append(event)
        if latest:
            write_atomic(self.folder.views, json.dumps(latest).encode())

    def save_nan_origin(self, record: dict) -> None:
        """The evidence of where a NaN started (runtime.train.nan_origin)."""
        if self.folder is not None:
            self.folder.write_nan_origin(record)

    # ------------------------------------------------------------ checkpoints

    def save_checkpoint(self, state: dict) -> None:
        """The checkpoint, recording how much of the journal it covers (committed first)."""
        if self.run_dir is None:
            return
        state["log_bytes"] = self._log.commit() if self._log is not None else None
        buffer = io.BytesIO()  # serialised first, so a full disk is an OSError from one write, not torch's
        torch.save(state, buffer)
        write_atomic(self.folder.checkpoint, buffer.getvalue())

    def load_checkpoint(self) -> dict:
        """The checkpoint to resume from, read safely and checked; CheckpointError naming what is wrong."""
        path = self.folder.checkpoint if self.folder else None
        if path is None or not path.is_file():
            raise CheckpointError(f"there is no {CHECKPOINT} in {str(self.run_dir)!r} to resume from; a run writes it "
                                  "after its first epoch")
        if self.folder.config.exists():
            read_config(self.run_dir)  # a damaged configuration is refused here, by name
        from graph_builder import limits

        limits.check_file(path, limits.MODEL, "a checkpoint", CheckpointError, "start a new run")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling refused or a damaged file
            raise CheckpointError(f"{path} cannot be read safely ({type(exc).__name__}: {exc}); start a new run") \
                from None
        state = check_checkpoint(state, path, CHECKPOINT_FORMAT)
        self.log_bytes = state.get("log_bytes")
        self.resumed_epoch = state["epoch"]
        return state


def checkpoint_of(loop: Loop, epoch: int) -> dict:
    """The checkpoint of `loop` after `epoch`: its state, the modules', optimizers', schedules' and RNGs'."""
    built, device = loop.built, loop.device
    loop.state.epoch = epoch
    return loop.state.to_checkpoint(
        model={k: v.detach().cpu() for k, v in built.model.state_dict().items()},
        optimizer=built.optimizer.state_dict(),
        scheduler=built.scheduler.state_dict() if built.scheduler is not None else None,
        scaler=built.scaler.state_dict() if built.scaler is not None else None,
        rng={"torch": torch.get_rng_state(), "shuffle": loop.shuffle.get_state(), "augment": loop.noise.get_state().cpu(),
             "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None})


def restore(loop: Loop, built: Built, state: dict, path: Path) -> None:
    """Put a checkpoint's states back into the loop and what it drives; CheckpointError when they do not fit."""
    try:
        built.model.load_state_dict(state["model"])
        built.optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{path} was made for a different model or optimizer, or is damaged "
                              f"({exc}); resume with the same project or start a new run") from None
    if built.scheduler is not None and state.get("scheduler"):
        built.scheduler.load_state_dict(state["scheduler"])
    if built.scaler is not None and state.get("scaler"):
        built.scaler.load_state_dict(state["scaler"])
    rng = state["rng"]
    try:
        torch.set_rng_state(rng["torch"])
        loop.shuffle.set_state(rng["shuffle"])
        loop.noise.set_state(rng["augment"].to(loop.noise.device) if loop.device.type != "cpu" else rng["augment"])
        if rng.get("cuda") is not None and loop.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], loop.device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} is damaged: its random-number state cannot be restored ({exc}); "
                              "start a new run") from None
    loop.state = RunState.from_checkpoint(state)
