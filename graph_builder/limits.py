"""Every size limit on what NetCanvas reads from outside, in one place (docs/design.md: every reader is bounded).

A reader checks what a file declares (its byte size, a zip member's size, an array header's
shape, an image's dimensions, a model's tensor shapes) against one of these limits before it
allocates anything, and refuses with one line naming the file, the size it needs and the limit.
Each limit has an environment variable that sets another value, in bytes (or pixels) with an
optional unit: `NETCANVAS_MAX_DATA_BYTES=16GiB`, `NETCANVAS_MAX_IMAGE_PIXELS=200e6`.

    check(need, "digits.npz (x (100000, 64) float32)", DATA)   # raises LimitError when too large
    text = read_bounded(path, PROJECT)                          # at most the limit, regular files only

Stdlib only: the editor checks project files without importing numpy or torch.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from graph_builder.errors import GraphBuilderError
from graph_builder.files import not_regular
from graph_builder.footprint import machine_memory, size_text

GiB = 2**30
MiB = 2**20


class LimitError(GraphBuilderError):
    """Something from outside declares more than a limit allows; the message names it, the size and the limit."""


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable, what it bounds, and its default."""

    env: str
    what: str
    default: int
    share_of_memory: float | None = None  # the default is at most this share of the machine's memory
    unit: str = "bytes"

    def value(self) -> int:
        """The limit now: the environment's value when it parses, else the default."""
        override = parse_size(os.environ.get(self.env, ""))
        if override is not None:
            return override
        memory = machine_memory() if self.share_of_memory else None
        if not memory or not self.share_of_memory:
            return self.default
        return min(self.default, int(memory * self.share_of_memory))

    def text(self, n: int | None = None) -> str:
        n = self.value() if n is None else n
        return f"{n:,} pixels" if self.unit == "pixels" else size_text(n)


PROJECT = Limit("NETCANVAS_MAX_PROJECT_BYTES", "a project file or a run's JSON file", 64 * MiB)
DATA = Limit("NETCANVAS_MAX_DATA_BYTES", "a dataset or predict input, decoded in memory", 4 * GiB, 0.5)
IMAGE_PIXELS = Limit("NETCANVAS_MAX_IMAGE_PIXELS", "one image, decoded at full size", 64_000_000, unit="pixels")
MODEL = Limit("NETCANVAS_MAX_MODEL_BYTES", "the tensors of a weights file, checkpoint or imported model", 4 * GiB,
              0.5)
CHECK = Limit("NETCANVAS_MAX_CHECK_BYTES", "the test input and layer outputs an import checks the model with",
              1 * GiB, 0.25)

LIMITS = (PROJECT, DATA, IMAGE_PIXELS, MODEL, CHECK)

_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?(?:e\d+)?)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """`"2GiB"`, `"500M"`, `"1e9"`, `"4096"` as a whole number ≥ 1; None when it is not one."""
    match = _SIZE.fullmatch(text or "")
    if not match:
        return None
    try:
        value = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    except (ValueError, OverflowError):
        return None
    return max(1, int(value)) if math.isfinite(value) else None


def refusal(need: int, what: str, limit: Limit, hint: str = "use a smaller file") -> str | None:
    """The one-line refusal when `what` needs more than `limit` allows, else None."""
    allowed = limit.value()
    if need <= allowed:
        return None
    memory = " in memory" if limit.unit == "bytes" else ""
    return (f"{what} needs {limit.text(need)}{memory}, more than the limit of {limit.text(allowed)}; {hint} "
            f"(or set {limit.env} to raise the limit)")


def check(need: int, what: str, limit: Limit, error: type[Exception] = LimitError,
          hint: str = "use a smaller file") -> None:
    """Raise `error` with the refusal when `what` needs more than `limit` allows."""
    message = refusal(need, what, limit, hint)
    if message:
        raise error(message)


def read_bounded(path: str | os.PathLike, limit: Limit, what: str | None = None,
                 error: type[Exception] = LimitError) -> bytes:
    """The bytes of a regular file of at most `limit`; `error` for a device, FIFO, folder or a file too large.

    The size is checked before the file is read, and no more than the limit is read even if the
    file grows meanwhile. A missing or unreadable file raises the OSError, for the caller's words.
    """
    path = Path(path)
    problem = not_regular(path)
    if problem:
        raise error(f"{problem}; {what or 'it'} is read from a regular file")
    allowed = limit.value()
    label = f"{path.name} ({what})" if what else path.name
    size = path.stat().st_size
    check(size, label, limit, error)
    with open(path, "rb") as f:
        data = f.read(size)  # read(n) sets n bytes aside first: n is what the file holds, never the limit
        more = f.read(1)
        if more:  # it grew since the stat: read on, a chunk at a time, to just past the limit
            grown = bytearray(data + more)
            while len(grown) <= allowed and (chunk := f.read(min(MiB, allowed + 1 - len(grown)))):
                grown += chunk
            data = bytes(grown)
    check(len(data), label, limit, error)
    return data


def check_file(path: str | os.PathLike, limit: Limit, what: str, error: type[Exception] = LimitError,
               hint: str = "use a smaller file") -> int:
    """The size of a regular file within `limit`; `error` for a device, FIFO or folder, or a file too large.

    A zip archive (a torch checkpoint, a .pt2, an .npz) is also checked by the sizes its members
    declare unpacked, which is what a reader allocates. A missing file raises the OSError."""
    path = Path(path)
    problem = not_regular(path)
    if problem:
        raise error(f"{problem}; {what} is read from a regular file")
    size = path.stat().st_size
    check(size, f"{path.name} ({what})", limit, error, hint)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return size  # its reader says what is wrong, in its words
        check(unpacked, f"{path.name} ({what}, unpacked)", limit, error, hint)
    return size
