"""Size limits checked before anything large is read or allocated.

Only regular files are opened as data or weights (a device such as /dev/zero reads for ever, a
FIFO blocks for ever). Array headers (npz, IDX) and image dimensions are read first, and what
they promise is checked against the limit, with the needed size in the message, before the data
are decoded. The limit is the smaller of 4 GiB and half the machine's memory;
NETCANVAS_MAX_DATA_BYTES sets another.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from graph_builder.files import not_regular
from graph_builder.footprint import machine_memory, size_text
from runtime.data.errors import (
    DatasetFormatError,
    DatasetSettingError,
    DatasetTooLargeError,
)

DEFAULT_MAX_BYTES = 4 * 2**30
MAX_IMAGE_PIXELS = 64_000_000  # one image decoded at full size (8000 x 8000) before it is reduced


def data_limit() -> int:
    """How many bytes the decoded dataset may take in memory."""
    override = os.environ.get("NETCANVAS_MAX_DATA_BYTES")
    if override:
        try:
            return max(1, int(float(override)))
        except ValueError:
            pass
    memory = machine_memory()
    return min(DEFAULT_MAX_BYTES, memory // 2) if memory else DEFAULT_MAX_BYTES


def check_regular(path: str | os.PathLike, what: str) -> None:
    """Refuse a path that is not a regular file before anything opens it."""
    problem = not_regular(path)
    if problem:
        raise DatasetSettingError(f"{problem}; the {what} dataset reads a regular file")


def check_size(need: int, what: str, limit: int | None = None) -> None:
    """Refuse data that would take more than the limit once decoded, saying how much it needs."""
    limit = data_limit() if limit is None else limit
    if need > limit:
        raise DatasetTooLargeError(f"{what} needs {size_text(need)} in memory, more than the limit of "
                                   f"{size_text(limit)}; use a smaller dataset (or set NETCANVAS_MAX_DATA_BYTES)")


def check_file_size(path: Path, what: str, factor: float = 1.0) -> None:
    """Refuse a file whose bytes, times `factor` once decoded, exceed the limit."""
    check_size(int(path.stat().st_size * factor), f"{path.name} ({what})")


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of each array in an .npz archive, read from the headers only."""
    headers = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as f:
                try:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                except ValueError as exc:
                    raise DatasetFormatError(f"{path.name}: the array {info.filename[:-4]!r} has a damaged "
                                             f"header ({exc}); write the file again with np.savez") from None
            headers[info.filename[:-4]] = (tuple(shape), dtype)
    return headers
