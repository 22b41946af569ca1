"""The one way NetCanvas writes a file: atomically, with the user's normal permissions.

A temporary file is made in the target's own folder (so the rename cannot cross file
systems), filled, fsynced and renamed over the target, and the folder is fsynced so the
rename survives a crash. A new file gets 0o666 minus the umask, as `open()` would give it
(mkstemp alone makes 0600); an existing file keeps its permission bits. A symlinked path is
written through to its target, so the link stays a link. On any failure the temporary file
is removed and the old file is left as it was, and the failure is a `WriteError` that names
the file. Temporary files carry their writer's process id, so those left by a writer that was
killed are removed the next time a file in that folder is written.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteError(OSError):
    """A file could not be written (full disk, read-only folder, permission); the old one is intact."""

    def __init__(self, path: str | os.PathLike, cause: BaseException) -> None:
        code = getattr(cause, "errno", None) or errno.EIO
        reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
        super().__init__(code, reason, str(path))
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}; the file was left as it was"


def not_regular(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as a data or weights file (a device, FIFO, socket, folder), or None."""
    try:
        mode = os.stat(path).st_mode  # stat does not open: a FIFO cannot block here
    except OSError:
        return None  # missing or unreadable: the reader says so in its own words
    if stat.S_ISREG(mode):
        return None
    kind = ("a folder" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file")
    return f"{str(path)!r} is {kind}, not a regular file"


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Replace `path` with `data` atomically; returns the path written (a symlink's target)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return _target(Path(path))


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name (torch.save, numpy).

    When the block ends without an exception the temporary file replaces `path`; when it
    raises, the temporary file is removed and `path` is untouched.
    """
    tmp = temp_beside(path)
    try:
        yield tmp
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, WriteError):
            raise
        raise WriteError(_target(Path(path)), exc) from None
    except BaseException:
        _remove(tmp)
        raise
    replace_atomic(tmp, path)


def temp_beside(path: str | os.PathLike) -> Path:
    """A new empty temporary file in the folder `path` is written to, named after it.

    The name ends with `path`'s suffix, for writers that append one (numpy's savez). Hand it
    to `replace_atomic` when it is written, and remove it if writing fails.
    """
    target = _target(Path(path))
    remove_stale_temps(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=f".tmp{target.suffix}",
                                    dir=target.parent)
    except OSError as exc:
        raise WriteError(target, exc) from None
    os.close(fd)
    _live.add(os.path.abspath(name))
    return Path(name)


_live: set[str] = set()  # this process's temporary files still being written


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files in `path`'s folder left by writers that died; returns those removed.

    Only names of this module's own pattern are touched: `.<name>.<pid>.<random>.tmp[<suffix>]`
    of any file in the folder whose writer process is gone, and the older pid-less
    `.<name>.<random>.tmp[<suffix>]` of `path` itself.
    """
    target = Path(path)
    older = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp(?:{re.escape(target.suffix)})?")
    removed: list[Path] = []
    folder = target.parent if str(target.parent) else Path(".")
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(".") or ".tmp" not in name:
            continue
        match = _TEMP.fullmatch(name)
        if match and (match.group("suffix") or "") == Path(match.group("name")).suffix:
            pid = int(match.group("pid"))
            stale = folder / name
            if pid == os.getpid() and os.path.abspath(stale) in _live or pid != os.getpid() and _alive(pid):
                continue
        elif older.fullmatch(name):
            stale = folder / name
        else:
            continue
        try:
            if stale.is_file() and not stale.is_symlink():
                os.unlink(stale)
                removed.append(stale)
        except OSError:
            pass
    return removed


_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp(?P<suffix>\.[^.]+)?")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def replace_atomic(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Give the written `tmp` its permissions, fsync it, rename it over `path`, fsync the folder.

    On failure `tmp` is removed and `path` is left as it was. Returns the file written.
    """
    target = _target(Path(path))
    try:
        os.chmod(tmp, _mode_for(target))  # after the writer: some recreate the file rather than reuse it
        _fsync_file(Path(tmp))
        os.replace(tmp, target)
        _live.discard(os.path.abspath(tmp))
    except OSError as exc:
        _remove(Path(tmp))
        raise WriteError(target, exc) from None
    except BaseException:
        _remove(Path(tmp))
        raise
    _fsync_folder(target.parent)
    return target


def _remove(tmp: Path) -> None:
    _live.discard(os.path.abspath(tmp))
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _target(path: Path) -> Path:
    """The file a write to `path` lands in: a symlink's (final) target, else `path` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path if str(path.parent) else Path(".") / path


def _mode_for(target: Path) -> int:
    """The permission bits the written file gets: the existing file's, else 0o666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it, then put it back
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some systems (Windows) cannot open a folder; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
