"""A run folder's layout, known here alone: every reader and writer, GUI and CLI, asks a RunFolder.

    run = RunFolder(path)
    run.write_config(config)            # config.json: the project snapshot, the network's fingerprint, …
    run.read_config()                   # RunConfigMissingError / RunConfigDamagedError naming the file
    run.metrics                         # metrics.jsonl, the journal (runtime.train.runlog writes it)
    run.weights()                       # best, else last (older runs kept them in weights/)
    run.read_events()                   # the journal's whole lines; a line cut by a kill is skipped

A runs folder (a project's `foo.runs/`) keeps an index of its runs' summaries (`RunsIndex`), so
listing a thousand runs reads one file and stats two paths a run instead of parsing every journal.
The index is only a cache: a run whose folder or journal changed since it was indexed is read again
(a file edited in place by hand, other than the journal, shows once something else in the run changes),
so a run written by any process, or one from before the index, lists the same.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from graph_builder.errors import GraphBuilderError

CONFIG = "config.json"
RUN_FORMAT = "netcanvas-run"  # config.json's "format"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
VIEWS = "generative.json"  # the latest per-epoch views, for a past run chosen in Evaluate
CONFUSION = "confusion"  # a folder: one confusion matrix a file
WEIGHTS = {"best": "best.safetensors", "last": "last.safetensors"}
OLD_WEIGHTS = {"best": "weights/best.safetensors", "last": "weights/last.safetensors"}  # runs of older versions
LOCK = ".writer.lock"  # graph_builder.runs.RunLock: one writer per run folder
FOLD = "fold.json"  # in a cross-validation fold's run folder: which fold of how many
TRIAL = "trial.json"  # in a study trial's run folder: which trial, with which values
NAN_ORIGIN = "nan_origin.json"  # a run that failed with a NaN: where it started (runtime/train/nan_origin.py)
CROSSVAL_SUFFIX = ".crossval.json"  # <stamp>.crossval.json in the runs folder: the folds and their mean ± std
INDEX = ".runs-index.json"  # in the runs folder: RunsIndex
INDEX_FORMAT = 1
ENDINGS = ("finished", "failed", "stopped")  # the journal's last event, when the run ended
_SETTLED_NS = 2_000_000_000  # a file changed this long ago is not changing within the same clock tick


class RunsError(GraphBuilderError):
    """Base of the errors about run folders (graph_builder.runs raises the others)."""


class RunFolderError(RunsError):
    """Base of the errors about one run folder's files."""


class RunConfigMissingError(RunFolderError):
    """A folder without config.json: not a run folder."""


class RunConfigDamagedError(RunFolderError):
    """A config.json that cannot be read, is not JSON, or is not a NetCanvas run's."""


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: where each of its files lies, and how each is read."""

    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @classmethod
    def holding(cls, file: str | os.PathLike) -> RunFolder | None:
        """The run folder `file` (a weights file) lies in, also in an older run's weights/; None when none."""
        path = Path(file)
        for folder in (path.parent, path.parent.parent):
            if (folder / CONFIG).is_file():
                return cls(folder)
        return None

    @property
    def name(self) -> str:
        return self.path.name

    # ------------------------------------------------------------ where each file lies

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def views(self) -> Path:
        return self.path / VIEWS

    @property
    def confusion_dir(self) -> Path:
        return self.path / CONFUSION

    @property
    def lock(self) -> Path:
        return self.path / LOCK

    @property
    def fold(self) -> Path:
        return self.path / FOLD

    @property
    def trial(self) -> Path:
        return self.path / TRIAL

    @property
    def nan_origin(self) -> Path:
        return self.path / NAN_ORIGIN

    def confusion(self, split: str, epoch: int) -> Path:
        """Where the confusion matrix of `split` after `epoch` is kept (the test split's once)."""
        name = f"{split}_epoch{epoch:04d}.json" if split == "validation" else "test.json"
        return self.confusion_dir / name

    def weights_file(self, which: str) -> Path:
        """Where the trainer writes its `which` ("best" or "last") weights."""
        return self.path / WEIGHTS[which]

    def weights(self, order: tuple[str, ...] = ("best", "last")) -> Path | None:
        """The first of the run's weights in `order` that exists (an older run's weights/ too); None when none."""
        for which in order:
            for name in (WEIGHTS[which], OLD_WEIGHTS[which]):
                if (self.path / name).is_file():
                    return self.path / name
        return None

    def is_run(self) -> bool:
        """Whether the folder holds a run's config.json."""
        return self.config.is_file()

    # ------------------------------------------------------------ config.json

    def read_config(self, strict: bool = False) -> dict:
        """config.json as a dict, bounded in size; `strict` also asks for its "format" (what a resume trusts)."""
        from graph_builder import limits

        path = self.config
        try:
            raw = limits.read_bounded(path, limits.PROJECT, "a run's configuration", RunConfigDamagedError)
        except FileNotFoundError:
            raise RunConfigMissingError(f"{self.path} is not a run folder (it has no {CONFIG})") from None
        except OSError as exc:
            raise RunConfigDamagedError(f"{path} cannot be read ({exc.strerror or exc})") from None
        try:
            config = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise RunConfigDamagedError(f"{path} is damaged (not JSON: {exc}); restore the file, or start a new "
                                        "run") from None
        if not isinstance(config, dict):
            raise RunConfigDamagedError(f"{path} is damaged (it holds {type(config).__name__}, not a run's "
                                        "settings); restore the file, or start a new run")
        if strict and config.get("format") != RUN_FORMAT:
            raise RunConfigDamagedError(f"{path} is not a NetCanvas run configuration (no \"format\": "
                                        f"\"{RUN_FORMAT}\"); start a new run")
        return config

    def read_config_or_empty(self) -> dict:
        """config.json, or {} when it is missing or unreadable (for views that show what there is)."""
        try:
            return self.read_config()
        except RunFolderError:
            return {}

    def write_config(self, config: dict, default=None) -> None:
        """Write config.json atomically (`default` as json.dumps takes it, for tensors and paths)."""
        from graph_builder.files import write_atomic

        write_atomic(self.config, json.dumps(config, indent=2, default=default).encode())

    # ------------------------------------------------------------ the journal and the small files

    def read_events(self, only: str | None = None) -> list[dict]:
        """The journal's events (of type `only` when given); a missing journal is empty, a torn line skipped."""
        try:
            lines = self.metrics.read_bytes().splitlines()
        except OSError:
            return []
        wanted = f'"{only}"'.encode() if only else None
        out = []
        for line in lines:
            if wanted is not None and wanted not in line:
                continue  # cheap: most lines are not the one looked for
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed run
            if isinstance(event, dict) and (only is None or event.get("type") == only):
                out.append(event)
        return out

    def read_views(self) -> list[dict]:
        """The latest generative views the run kept ([] when none)."""
        views = _read_json(self.views)
        return [v for v in views if isinstance(v, dict)] if isinstance(views, list) else []

    def write_fold(self, group: str, fold: int, folds: int) -> None:
        from graph_builder.files import write_atomic

        write_atomic(self.fold, json.dumps({"group": group, "fold": fold, "folds": folds}).encode())

    def write_trial(self, record: dict) -> None:
        from graph_builder.files import write_atomic

        write_atomic(self.trial, json.dumps(record, indent=2).encode())

    def write_nan_origin(self, record: dict) -> None:
        from graph_builder.files import write_atomic

        write_atomic(self.nan_origin, json.dumps(record, indent=2).encode())

    def read_nan_origin(self) -> dict | None:
        """Where a run's NaN started, as its replay found it (None when the run kept none)."""
        record = _read_json(self.nan_origin)
        return record if isinstance(record, dict) else None

    def part(self) -> str:
        """' (trial 3)' for a study's trial, ' (fold 2/5)' for a cross-validation fold, else ''."""
        for path, words in ((self.trial, lambda d: f"trial {d['trial']}"),
                            (self.fold, lambda d: f"fold {d['fold']}/{d['folds']}")):
            try:
                return f" ({words(json.loads(path.read_text(encoding='utf-8')))})"
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return ""

    # ------------------------------------------------------------ the summary a listing shows

    def stamp(self) -> list:
        """What changes when the run's files change: the folder's time (a file made, replaced or removed: every
        file but the journal is written whole, through a rename) and the journal's time and size (appended)."""
        return _stamp(os.fspath(self.path))

    def summary(self) -> RunSummary:
        """What a list of runs shows of this one, read from its files (tolerant: a killed run lists what it has)."""
        stamp = self.stamp()
        if any(t is not None and time.time_ns() - t < _SETTLED_NS for t in stamp[::2]):
            stamp = []  # changed a moment ago: a change in the same clock tick would not show; read it again next time
        config = self.read_config_or_empty()
        project = config.get("project", config)
        has_project = isinstance(project, dict) and bool({"networks", "graph"} & set(project))  # format 2 or 1
        dataset = (project.get("dataset") or {}) if has_project else {}
        epochs, last_val, final = 0, {}, {}
        for event in self.read_events():
            kind = event.get("type")
            if kind == "epoch":
                epochs += 1
                last_val = _numbers(event.get("val"))
            elif kind in ENDINGS:
                final = {"type": kind, "kind": event.get("kind"), "message": event.get("message"),
                         "test": _numbers(event.get("test"))}
        weights = self.weights()
        return RunSummary(os.fspath(self.path), self.name + self.part(), epochs, last_val, final,
                          dataset.get("name") if isinstance(dataset, dict) else None, has_project,
                          weights.relative_to(self.path).as_posix() if weights else None, stamp)


@dataclass
class RunSummary:
    """What a list of runs shows of one run; the journal and the snapshot are read when asked for."""

    folder: str  # the run folder as text: its Path is made when asked for (a thousand cost what the rest does)
    name: str  # with the trial or fold it is part of
    epochs: int = 0
    last_val: dict = field(default_factory=dict)  # the last epoch's validation measures (numbers)
    final: dict = field(default_factory=dict)  # the ending event: type, kind, message, test (numbers)
    dataset: str | None = None
    has_project: bool = False
    weights: str | None = None  # the weights' name in the run folder (best, else last)
    stamp: list = field(default_factory=list)

    @cached_property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def ended(self) -> str | None:
        """finished, failed or stopped; None for a run that has not ended (or was killed)."""
        return self.final.get("type")

    def to_dict(self) -> dict:
        return {"name": self.name, "epochs": self.epochs, "last_val": self.last_val, "final": self.final,
                "dataset": self.dataset, "has_project": self.has_project, "weights": self.weights, "stamp": self.stamp}

    @classmethod
    def from_dict(cls, folder: str, data: dict) -> RunSummary:
        """The summary an index entry holds; TypeError for an entry of another shape (that run is read again)."""
        try:
            s = cls(folder, data["name"], data["epochs"], data["last_val"], data["final"], data["dataset"],
                    data["has_project"], data["weights"], data["stamp"])
        except (KeyError, TypeError):
            raise TypeError(f"an index entry of another shape: {data!r:.200}") from None
        if not (type(s.name) is str and type(s.epochs) is int and type(s.last_val) is dict  # noqa: E721 — exact
                and type(s.final) is dict and type(s.has_project) is bool and type(s.stamp) is list
                and (s.dataset is None or type(s.dataset) is str) and (s.weights is None or type(s.weights) is str)):
            raise TypeError(f"an index entry of another shape: {data!r:.200}")
        return s


class RunsIndex:
    """The summaries of a runs folder's runs, kept in its index file and brought up to date when listed."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / INDEX
        self._entries: dict[str, RunSummary] | None = None

    def runs(self) -> list[RunSummary]:
        """Every run folder's summary, newest first; the runs changed since the index was written are re-read."""
        if not self.root.is_dir():
            return []
        if self._entries is None:
            self._entries = self._load()
        entries, changed = {}, False
        with os.scandir(self.root) as it:
            folders = [e.name for e in it if e.is_dir()]
        root = os.fspath(self.root)
        for name in folders:  # strings, not Paths: a thousand runs are two thousand stats and little else
            known = self._entries.get(name)
            if known is None or known.stamp != _stamp(os.path.join(root, name)):
                known, changed = RunFolder(self.root / name).summary(), True
            entries[name] = known
        changed = changed or len(entries) != len(self._entries)
        self._entries = entries
        if not entries:
            self.forget()  # an index of nothing would make an empty runs folder look used
        elif changed:
            self._save()
        return [entries[n] for n in sorted(entries, key=start_order, reverse=True)]

    def forget(self) -> None:
        """Remove the index file (it is rebuilt when next listed)."""
        try:
            self.path.unlink()
        except OSError:
            pass

    def _load(self) -> dict[str, RunSummary]:
        from graph_builder import limits

        try:
            data = json.loads(limits.read_bounded(self.path, limits.PROJECT))
        except (OSError, ValueError, RecursionError, limits.LimitError):
            return {}  # no index yet, or a damaged one: every run is read again
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or not isinstance(data.get("runs"), dict):
            return {}
        out, root = {}, os.fspath(self.root)
        for name, entry in data["runs"].items():
            try:
                out[name] = RunSummary.from_dict(os.path.join(root, name), entry)
            except TypeError:
                continue  # an entry of another shape: read that run again
        return out

    def _save(self) -> None:
        from graph_builder.files import write_atomic

        data = {"format": INDEX_FORMAT, "runs": {n: s.to_dict() for n, s in (self._entries or {}).items()}}
        try:
            write_atomic(self.path, json.dumps(data, separators=(",", ":")).encode())
        except OSError:
            pass  # a read-only runs folder lists as well, only slower


def holds_anything(root: str | os.PathLike) -> bool:
    """Whether a runs folder holds anything but its index."""
    with os.scandir(os.fspath(root)) as it:
        return any(e.name != INDEX for e in it)


def list_runs(root: str | os.PathLike) -> list[RunSummary]:
    """The summaries of the runs under `root`, newest first (through its index)."""
    return RunsIndex(root).runs()


def crossval_summaries(root: str | os.PathLike) -> list[tuple[Path, dict]]:
    """The cross-validation summaries in the runs folder `root` (runtime.train.crossval writes them), newest first."""
    root = Path(root)
    try:
        with os.scandir(root) as it:  # not glob: a thousand run folders are listed beside the few summaries
            names = sorted((e.name for e in it if e.name.endswith(CROSSVAL_SUFFIX)), reverse=True)
    except OSError:
        return []
    out = []
    for path in (root / name for name in names):
        data = _read_json(path)
        if isinstance(data, dict) and isinstance(data.get("folds"), list):
            out.append((path, data))
    return out


def crossval_summary_path(root: str | os.PathLike, stamp: str) -> Path:
    return Path(root) / f"{stamp}{CROSSVAL_SUFFIX}"


def start_order(name: str) -> tuple[str, int]:
    """A run folder's name as a sort key: "20260101-120000-12" is the thirteenth run started that second."""
    parts = name.split("-")
    n = parts[2] if len(parts) == 3 else ""
    return ("-".join(parts[:2]), int(n)) if n.isdigit() else (name, 0)


def _numbers(section: Any) -> dict:
    if not isinstance(section, dict):
        return {}
    return {k: v for k, v in section.items() if isinstance(v, (int, float)) or v is None}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None


def _stamp(folder: str) -> list:
    out: list = []
    for path in (folder, os.path.join(folder, METRICS)):
        try:
            st = os.stat(path)
            out += (st.st_mtime_ns, st.st_size)
        except OSError:
            out += (None, None)
    return out
