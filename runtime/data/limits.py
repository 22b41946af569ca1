"""Size limits checked before any dataset or predict input is read or allocated (graph_builder.limits).

Only regular files are opened as data or weights (a device such as /dev/zero reads for ever, a
FIFO blocks for ever). Array headers (npz, npy, IDX) and image dimensions are read first, and
what they promise is checked against the limit, with the needed size in the message, before the
data are decoded. The limit is the smaller of 4 GiB and half the machine's memory;
NETCANVAS_MAX_DATA_BYTES sets another, NETCANVAS_MAX_IMAGE_PIXELS the largest image.
"""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import numpy as np

from graph_builder import limits
from graph_builder.files import not_regular
from graph_builder.footprint import size_text
from runtime.data.errors import (
    DatasetFormatError,
    DatasetSettingError,
    DatasetTooLargeError,
)


def data_limit() -> int:
    """How many bytes the decoded dataset may take in memory."""
    return limits.DATA.value()


def max_image_pixels() -> int:
    """The most pixels one image may have when it is decoded at full size (before it is reduced)."""
    return limits.IMAGE_PIXELS.value()


def check_regular(path: str | os.PathLike, what: str) -> None:
    """Refuse a path that is not a regular file before anything opens it."""
    problem = not_regular(path)
    if problem:
        raise DatasetSettingError(f"{problem}; the {what} dataset reads a regular file")


def check_size(need: int, what: str, error: type[Exception] = DatasetTooLargeError,
               hint: str = "use a smaller dataset") -> None:
    """Refuse data that would take more than the limit once decoded, saying how much it needs."""
    limits.check(need, what, limits.DATA, error, hint)


def check_image_size(width: int, height: int, what: str, error: type[Exception] = DatasetTooLargeError) -> None:
    """Refuse an image whose header promises more pixels than one image may have, before it is decoded."""
    allowed = max_image_pixels()
    if width * height > allowed:
        raise error(f"{what} is {width}x{height} pixels; decoding it needs {size_text(width * height * 4)}, and "
                    f"images larger than {allowed:,} pixels are refused; scale it down or remove it (or set "
                    f"{limits.IMAGE_PIXELS.env} to raise the limit)")


def check_file_size(path: Path, what: str, factor: float = 1.0) -> None:
    """Refuse a file whose bytes, times `factor` once decoded, exceed the limit."""
    check_size(int(path.stat().st_size * factor), f"{path.name} ({what})")


def npz_headers(path: Path, error: type[Exception] = DatasetFormatError) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of each array in an .npz archive, read from the headers only."""
    headers = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as f:
                headers[info.filename[:-4]] = _npy_header(f, f"{path.name}: the array {info.filename[:-4]!r}",
                                                          "np.savez", error)
    return headers


def npy_header(path: Path, error: type[Exception] = DatasetFormatError) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of an .npy file, read from its header only."""
    with open(path, "rb") as f:
        return _npy_header(f, path.name, "np.save", error)


def _npy_header(f, what: str, writer: str, error: type[Exception]) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except Exception as exc:  # noqa: BLE001 - numpy parses the header as Python literal text: anything is damage
        raise error(f"{what} has a damaged header ({str(exc).strip()[:120] or type(exc).__name__}); write the "
                    f"file again with {writer}") from None
    return tuple(int(d) for d in shape), dtype


def array_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The bytes an array of `shape` and `dtype` takes (exact, however large the shape claims to be)."""
    count = 1
    for d in shape:
        count *= int(d)
    return count * max(1, dtype.itemsize)


def open_image(path: Path, what: str, too_large: type[Exception] = DatasetTooLargeError,
               unreadable: type[Exception] = DatasetFormatError, hint: str = "remove or replace it",
               words: str = "is not a readable image"):
    """An image file opened lazily (header only), refused when it declares more pixels than one image may have.

    The pixel limit here (NETCANVAS_MAX_IMAGE_PIXELS) replaces Pillow's own decompression-bomb
    check, so a user who raises it can read larger images, and Pillow's warning is never printed.
    Close it (or use it in a `with`) once decoded.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with _PILLOW_CHECK:  # Pillow reads its limit when it opens a file: ours is checked just below
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise unreadable(f"{what} {words} ({type(exc).__name__}: {exc}); {hint}") from None
    try:
        width, height = im.size
        check_image_size(width, height, what, too_large)
    except BaseException:
        im.close()
        raise
    return im


_PILLOW_CHECK = threading.Lock()
