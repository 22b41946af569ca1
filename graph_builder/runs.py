"""Where a project's runs live and what each run trained (DESIGN.md decision 13).

The runs of `foo.json` live beside it in `foo.runs/`, one folder per run named by its start
time. An untitled project gets a folder of its own (`untitled/<unique>` under the app's data
folder) that its first Save carries to `<name>.runs/`. The app and the CLI use these rules,
so `netcanvas train foo.json` and the Train button put runs in the same place.

A run's configuration (graph_builder.run_folder) records the fingerprint of the network it trained. Anything that uses a
run's weights asks `check_run_fits` first, which refuses a run of another network, naming both.

One process writes a run folder at a time: the trainer (the CLI's, a resume, the app's child)
holds its `RunLock` for the run's whole life, and a second writer is refused, naming the first.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from graph_builder.errors import GraphBuilderError
from graph_builder.fingerprint import project_fingerprint, short
from graph_builder.protocols import ProjectLike
from graph_builder.run_folder import FOLD, LOCK, RunFolder, RunsError, RunsIndex, holds_anything

SUFFIX = ".runs"
FOLD_FILE = FOLD  # the names older callers import
LOCK_FILE = LOCK


class RunsFolderExistsError(RunsError):
    """A runs folder that cannot be carried along because the target already exists."""


class RunBusyError(RunsError):
    """A run folder another live process is writing (training or resuming it)."""


class RunMismatchError(RunsError):
    """A run whose weights belong to a different network than the one open."""


class RunPredatesFingerprintsError(RunMismatchError):
    """A run made before runs recorded what they trained: it cannot be checked."""


def runs_folder(project_path: str | os.PathLike) -> Path:
    """The runs folder of a project file: `foo.json` -> `foo.runs` beside it."""
    path = Path(project_path).absolute()
    return path.with_name(path.stem + SUFFIX)


def untitled_runs_folder(base: str | os.PathLike) -> Path:
    """A new, unique runs folder for an untitled project under `base` (created when first used)."""
    unique = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    return Path(base) / "untitled" / unique


def new_run_dir(root: str | os.PathLike) -> Path:
    """A fresh, sortable run folder under `root`, named by the time it starts (created)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = root / (stem if n == 0 else f"{stem}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise OSError(f"could not create a run folder under {root}; remove old runs and try again")


def carry_runs(source: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Move an untitled project's runs folder to its saved place; False when there was nothing to move.

    A target that already holds something is left alone, and so is the source: raises
    RunsFolderExistsError naming both.
    """
    source, target = Path(source), Path(target)
    if not source.is_dir() or not holds_anything(source):
        return False
    if target.exists() and not (target.is_dir() and not holds_anything(target)):
        raise RunsFolderExistsError(
            f"the runs of the untitled project were not moved: {target} already exists. They stay in {source}; "
            f"move them into {target} by hand if they belong there")
    if target.is_dir():
        RunsIndex(target).forget()
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(source, target)  # another disk: copy, then remove the original
        shutil.rmtree(source)
    return True


# ---------------------------------------------------------------- one writer per run folder

class RunLock:
    """The right to write one run folder, held from `acquire()` to `release()` (or the end of a `with`).

    The lock file names its holder (process id, host, start time) for the message a second
    writer gets. The lock itself is the operating system's (flock) on that file, not the file's
    existence: it goes with the process however the process ends, so a lock left by a killed
    run is simply taken over, and a reused process id can never keep a folder locked. The file
    is removed on release.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = RunFolder(self.folder).lock
        self._fd: int | None = None

    def acquire(self, doing: str = "training") -> Self:
        """Take the lock (making the folder); RunBusyError naming the live holder when another has it."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # the holder may remove the file between our open and our lock: look again
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise RunBusyError(self._busy_message()) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # we locked a file its holder had just removed
                os.close(fd)
                continue
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "doing": doing,
                      "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            self._fd = fd
            try:
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(holder).encode())
            except OSError:
                self.release()  # a full disk: nothing is left behind, and nothing stays open
                raise
            return self
        raise RunBusyError(f"the run folder {self.folder} keeps changing hands; try again")

    def release(self) -> None:
        """Give the folder up (the file removed first, while still locked, so no one locks a removed file)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> Self:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc) -> None:
        self.release()

    def _busy_message(self) -> str:
        try:
            with open(self.path, "rb") as f:
                holder = json.loads(f.read(4096).decode("utf-8"))
        except (OSError, ValueError):
            holder = {}
        holder = holder if isinstance(holder, dict) else {}
        who = f"process {holder['pid']}" if isinstance(holder.get("pid"), int) else "another process"
        host = holder.get("host")
        if isinstance(host, str) and host != socket.gethostname():
            who += f" on {host[:60]}"
        doing = holder.get("doing")
        doing = doing if isinstance(doing, str) else "training"
        since = f" (started {holder['started']})" if isinstance(holder.get("started"), str) else ""
        return (f"the run folder {self.folder} is being written by {who}{since}, {doing[:40]} it; wait for it to "
                "end (or stop it), or train into another folder")


# ---------------------------------------------------------------- what a run trained


@dataclass(frozen=True)
class RunNetwork:
    """What a run says about the network it trained (from its run configuration)."""

    run: Path
    fingerprint: str | None
    parameters: int | None
    title: str | None
    project: dict | None  # the project snapshot the run trained, when it stored one

    @property
    def name(self) -> str:
        return self.run.name

    def describe(self) -> str:
        return _describe(self.parameters, self.fingerprint)


def network_record(project: ProjectLike, parameters: int | None) -> dict:
    """The `network` section a run's configuration holds: fingerprint, parameter count, title."""
    return {"fingerprint": project_fingerprint(project), "parameters": parameters,
            "title": network_title(project)}


def network_title(project: ProjectLike) -> str:
    """A readable name for the project's network: its title, else its layers in brief."""
    title = (project.meta or {}).get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    return f"an untitled network of {len(project.graph.nodes)} nodes"


def read_run_network(run: str | os.PathLike) -> RunNetwork:
    """What `run` trained; a run without a recorded fingerprint is fingerprinted from its snapshot."""
    run = Path(run)
    config = RunFolder(run).read_config()
    snapshot = config.get("project")
    snapshot = snapshot if isinstance(snapshot, dict) else None
    record = config.get("network")
    record = record if isinstance(record, dict) else {}
    fingerprint = record.get("fingerprint") if isinstance(record.get("fingerprint"), str) else None
    parameters = record.get("parameters") if isinstance(record.get("parameters"), int) else None
    title = record.get("title") if isinstance(record.get("title"), str) else None
    has_networks = snapshot is not None and ("networks" in snapshot or "graph" in snapshot)  # format 2 or 1
    if fingerprint is None and snapshot is not None and has_networks:
        project = _project_of(snapshot)
        if project is not None:  # a run from before fingerprints, but it kept its project
            fingerprint, title = project_fingerprint(project), title or network_title(project)
            parameters = parameters if parameters is not None else _parameters(project)
    return RunNetwork(run, fingerprint, parameters, title, snapshot if has_networks else None)


def check_run_fits(run: str | os.PathLike, project: ProjectLike) -> RunNetwork:
    """The run's record when it trained `project`'s network; raises RunMismatchError otherwise."""
    trained = read_run_network(run)
    if trained.fingerprint is None:
        raise RunPredatesFingerprintsError(
            f"run {trained.name} predates fingerprints: it does not record which network it trained, so its "
            "weights cannot be checked against the open network; train this network again to get weights that "
            "are known to fit")
    mine = project_fingerprint(project)
    if trained.fingerprint != mine:
        raise RunMismatchError(
            f"run {trained.name} trained a different network ({trained.describe()}) than the open one "
            f"({_describe(_parameters(project), mine)}); choose a run of this network, train this network, "
            "or open the run's own network as a new project")
    return trained


def _describe(parameters: int | None, fingerprint: str | None) -> str:
    count = f"{parameters:,} parameters" if isinstance(parameters, int) else "parameter count unknown"
    return f"{count}, fingerprint {short(fingerprint)}"


def _parameters(project: ProjectLike) -> int | None:
    from graph_builder.shapes import infer_shapes

    try:
        return infer_shapes(project.graph).total_params
    except GraphBuilderError:
        return None


def _project_of(snapshot: dict):
    from graph_builder.graph_file import read_graph
    from graph_builder.project import project_from_dict

    try:
        return project_from_dict(snapshot)
    except GraphBuilderError:
        pass
    try:  # settings an older version accepted: the networks are what matters here
        from graph_builder.project import Project

        data = {**snapshot, "dataset": {}, "training": {}}
        return project_from_dict(data) if "networks" in data else Project(graph=read_graph(data["graph"], "$.graph"))
    except (GraphBuilderError, KeyError):
        return None


def nan_problem(run: str | os.PathLike | None, project: ProjectLike):
    """The NaN `run` failed with, as a warning on the node where it started, while the open network is the one
    it trained (an edit that changes the network, or another run chosen, and it is gone); else None."""
    from graph_builder.validation import WARNING, Issue

    if run is None:
        return None
    record = RunFolder(run).read_nan_origin()
    if record is None or not isinstance(record.get("node_id"), str) or record["node_id"] not in project.graph.nodes:
        return None
    node_id = record["node_id"]
    try:
        check_run_fits(run, project)
    except GraphBuilderError:  # another network's run, or a network that cannot be fingerprinted mid-edit
        return None
    return Issue(WARNING, "nan_origin", str(record.get("message")), (node_id,))
