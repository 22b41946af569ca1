"""A run folder as a small journal: the metrics journal's lines are committed together with a checkpoint.

Each checkpoint records how many bytes of the journal it covers (`log_bytes`). A resume cuts
the log back to that length, so an epoch whose line was written but whose checkpoint was not
(a run killed in between) is dropped and logged again by the resumed run: every epoch appears
exactly once, with its checkpoint. The log is fsynced before the checkpoint that covers it is
written. Checkpoints are checked key by key, so a damaged one gets one message naming the file
and what is wrong, never a raw KeyError.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import torch

from graph_builder.files import WriteError
from graph_builder.run_folder import METRICS, RunFolder, RunFolderError

from runtime.train.errors import CheckpointError


class RunLog:
    """The metrics journal, written one event a line; `commit()` makes what is written durable.

    A line is written whole or not at all: when a write fails (a full disk) the file is cut back
    to the end of the last whole line before the error is raised, so no torn line is left.
    """

    def __init__(self, path: Path, *, resume: bool, committed: int | None = None,
                 last_epoch: int | None = None) -> None:
        self.path = Path(path)
        try:
            if resume and self.path.exists():
                cut_log(self.path, committed, last_epoch)
                self._f = open(self.path, "ab", buffering=0)  # noqa: SIM115 — held for the run
            else:
                self._f = open(self.path, "wb", buffering=0)  # noqa: SIM115 — held for the run
            self._size = self._f.seek(0, os.SEEK_END)
        except OSError as exc:
            raise WriteError(self.path, exc) from None

    def write(self, event: dict, default=None) -> None:
        data = (json.dumps(event, allow_nan=False, default=default) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:  # an unbuffered file may take part of it: nothing is held back to be flushed later
                written = self._f.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            self._cut()
            raise WriteError(self.path, exc) from None
        self._size += len(data)

    def _cut(self) -> None:
        """Drop a partly written line: back to the end of the last whole one."""
        try:
            os.ftruncate(self._f.fileno(), self._size)
            self._f.seek(self._size)
        except (OSError, ValueError):
            pass

    def commit(self) -> int:
        """Fsync the log; returns its length in bytes, for the checkpoint to record."""
        try:
            os.fsync(self._f.fileno())
            return self._size
        except OSError as exc:
            raise WriteError(self.path, exc) from None

    def close(self) -> None:
        """Close the log; a failure here is not news (the write that failed was reported)."""
        try:
            self._f.close()
        except OSError:
            pass


def cut_log(path: Path, committed: int | None, last_epoch: int | None) -> None:
    """Cut the metrics journal back to what the checkpoint covers: `committed` bytes when it says so,
    else every whole line up to and including `last_epoch`'s epoch line (older checkpoints)."""
    data = path.read_bytes()
    if committed is not None and 0 <= committed <= len(data):
        keep = committed
    else:
        keep = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # a line cut by a kill
            try:
                event = json.loads(line)
            except ValueError:
                break
            if event.get("type") == "epoch" and last_epoch is not None and event.get("epoch", 0) > last_epoch:
                break
            keep += len(line)
    if keep != len(data):
        with open(path, "r+b") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())


def read_config(run_dir: Path) -> dict:
    """A run's configuration, or one CheckpointError that names the file and what is wrong."""
    try:
        return RunFolder(run_dir).read_config(strict=True)
    except RunFolderError as exc:
        raise _checkpoint_error(str(exc)) from None


_RNG_KEYS = ("torch", "shuffle", "augment")


def check_checkpoint(state: Any, path: Path, fmt: str) -> dict:
    """`state` if it is a whole checkpoint; else one CheckpointError naming `path` and the fault."""

    def bad(what: str) -> Exception:
        return _checkpoint_error(f"{path} is damaged: {what}; start a new run (or resume from a copy of the run)")

    if not isinstance(state, dict) or state.get("format") != fmt:
        raise _checkpoint_error(f"{path} is not a NetCanvas checkpoint; start a new run")
    epoch = state.get("epoch")
    if not _is_count(epoch):
        raise bad(f"its epoch is {epoch!r}, not a whole number ≥ 0")
    for key in ("step", "wait"):
        if not _is_count(state.get(key)):
            raise bad(f"its {key!r} is {state.get(key)!r}, not a whole number ≥ 0")
    for key in ("model", "optimizer"):
        if not isinstance(state.get(key), dict):
            raise bad(f"it has no {key} state" if key not in state else f"its {key} state is not a mapping")
    rng = state.get("rng")
    if not isinstance(rng, dict):
        raise bad("it has no random-number state ('rng')")
    for key in _RNG_KEYS:
        value = rng.get(key)
        if not (isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1):
            raise bad(f"its random-number state {key!r} is missing or not a byte tensor")
    best = state.get("best")
    if not isinstance(best, dict) or "epoch" not in best or "value" not in best:
        raise bad("it has no best-epoch record ('best')")
    if best["epoch"] is not None and not (_is_count(best["epoch"]) and best["epoch"] <= epoch):
        raise bad(f"its best epoch is {best['epoch']!r} but it was saved at epoch {epoch}")
    if best["value"] is not None and not isinstance(best["value"], (int, float)):
        raise bad(f"its best value is {best['value']!r}, not a number")
    log_bytes = state.get("log_bytes")
    if log_bytes is not None and not _is_count(log_bytes):
        raise bad(f"its {METRICS} length is {log_bytes!r}, not a whole number ≥ 0")
    return state


def _checkpoint_error(message: str) -> Exception:

    return CheckpointError(message)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
