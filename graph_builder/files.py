"""The one way NetCanvas writes a file: atomically, with the user's normal permissions.

A temporary file is made in the target's own folder (so the rename cannot cross file
systems), filled, fsynced and renamed over the target, and the folder is fsynced so the
rename survives a crash. A new file gets 0o666 minus the umask, as `open()` would give it
(mkstemp alone makes 0600); an existing file keeps its permission bits. A symlinked path is
written through to its target, so the link stays a link. On any failure the temporary file
is removed and the old file is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Replace `path` with `data` atomically; returns the path written (a symlink's target)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
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
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    return Path(name)


def replace_atomic(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Give the written `tmp` its permissions, fsync it, rename it over `path`, fsync the folder.

    On failure `tmp` is removed and `path` is left as it was. Returns the file written.
    """
    target = _target(Path(path))
    try:
        os.chmod(tmp, _mode_for(target))  # after the writer: some recreate the file rather than reuse it
        _fsync_file(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        _remove(Path(tmp))
        raise
    _fsync_folder(target.parent)
    return target


def _remove(tmp: Path) -> None:
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
