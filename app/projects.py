"""Where projects live between runs: settings, recent files and the autosave recovery file.

Tests and benchmarks point NETCANVAS_SETTINGS_DIR at a temporary folder, so nothing leaks
into the user's settings.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from graph_builder.errors import GraphBuilderError, ProjectError
from graph_builder.files import write_atomic
from graph_builder.project import Project, dumps_project, loads_project

MAX_RECENT = 10


def settings() -> QSettings:
    """NetCanvas's QSettings (an ini file in NETCANVAS_SETTINGS_DIR when that is set)."""
    folder = os.environ.get("NETCANVAS_SETTINGS_DIR")
    if folder:
        return QSettings(str(Path(folder) / "netcanvas.ini"), QSettings.IniFormat)
    return QSettings("NetCanvas", "NetCanvas")


def data_dir() -> Path:
    """A writable folder for recovery files and the error log."""
    folder = os.environ.get("NETCANVAS_SETTINGS_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.AppDataLocation) or str(Path.home() / ".netcanvas")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


class RecentFiles:
    """The most recently opened or saved project files, newest first."""

    KEY = "recent_files"

    def __init__(self, store: QSettings):
        self._store = store

    def paths(self) -> list[str]:
        value = self._store.value(self.KEY, [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [p for p in (value or []) if isinstance(p, str)]

    def add(self, path: str | os.PathLike) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self._store.setValue(self.KEY, paths[:MAX_RECENT])

    def remove(self, path: str) -> None:
        self._store.setValue(self.KEY, [p for p in self.paths() if p != path])


@dataclass
class RecoveryFile:
    """An autosave left behind by a session that did not close cleanly."""

    path: Path
    source: str | None  # the project file it was a copy of, if it had been saved
    saved_at: float

    def load(self) -> Project:
        """The saved project; raises ProjectError if the file is damaged."""
        data = _read_json(self.path)
        return loads_project(json.dumps(data.get("project")))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        name = Path(self.source).name if self.source else "an unsaved project"
        return f"{name}, autosaved {when}"


class Autosave:
    """This session's recovery file: written while there are unsaved changes, removed on a clean exit."""

    def __init__(self, folder: Path | None = None):
        self.folder = (folder or data_dir()) / "recovery"
        self.path = self.folder / f"autosave-{os.getpid()}-{id(self):x}.json"

    def write(self, project: Project, source: str | None) -> None:
        """Save a copy of `project` (atomic, so a crash mid-write leaves the previous copy)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        document = {"source": source, "saved_at": time.time(),
                    "project": json.loads(dumps_project(project))}
        write_atomic(self.path, json.dumps(document).encode("utf-8"))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def leftovers(self) -> list[RecoveryFile]:
        """Recovery files from sessions that are no longer running, newest first."""
        found = []
        for path in self.folder.glob("autosave-*.json") if self.folder.exists() else ():
            if path == self.path or _owner_alive(path):
                continue
            try:
                data = _read_json(path)
                found.append(RecoveryFile(path, data.get("source"), float(data.get("saved_at", 0))))
            except (ProjectError, GraphBuilderError, TypeError, ValueError):
                continue  # unreadable: not worth offering
        return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"cannot read the recovery file {path.name}: {exc}", "") from None
    if not isinstance(data, dict):
        raise ProjectError(f"the recovery file {path.name} is damaged", "$")
    return data


def _owner_alive(path: Path) -> bool:
    """True when the process that wrote `path` is still running (another open window)."""
    try:
        pid = int(path.stem.split("-")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False  # an earlier window of this process that closed without cleaning up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
