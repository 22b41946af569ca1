"""A model's raw inputs read from files: images, CSV rows, .npz/.npy arrays, in bounded memory.

`netcanvas predict` and the app's inference read here. Every size a file declares (its bytes, an
array header's shape, an image's dimensions) is checked against the limits (graph_builder.limits)
before anything is decoded, and a file's samples are read into one array.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graph_builder.files import not_regular

from runtime.data.files import CSV_PARSE_FACTOR, IMAGE_SUFFIXES
from runtime.data.limits import array_bytes, check_size, npy_header, npz_headers, open_image
from runtime.errors import NetCanvasRuntimeError


class PredictInputError(NetCanvasRuntimeError):
    """An input that cannot be read, or does not fit the run's model."""


@dataclass
class Samples:
    """The raw samples of one input file, as one array (N, *input shape), and how each is named."""

    name: str
    x: np.ndarray
    lines: np.ndarray | None = None  # a CSV file's line of each sample
    image: bool = False  # one image file: its sample is named by the file alone

    def label(self, i: int) -> str:
        if self.lines is not None:
            return f"{self.name} line {int(self.lines[i])}"
        return self.name if self.image else f"{self.name}[{i}]"


def read_inputs(path: Path, prep) -> Samples:
    """The raw samples of one input file; raises PredictInputError saying what to give.

    Every size the file declares (its bytes, an array header's shape, an image's dimensions) is
    checked against the limits before anything is decoded (graph_builder.limits).
    A text run reads raw text instead: one sample per non-empty line of a file, or of stdin for "-".
    """
    if getattr(prep, "text", None) is not None:
        return read_text_lines(path, prep)
    problem = not_regular(path)
    if problem:  # a FIFO would block and /dev/zero read for ever
        raise PredictInputError(f"{problem}; give image files, CSV files or .npz/.npy arrays"
                                if not path.is_dir() else f"{str(path)!r} is a folder; give the files in it")
    if not path.is_file():
        raise PredictInputError(f"there is no file {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return Samples(path.name, read_image(path, prep)[None], image=True)
    if suffix == ".csv":
        return read_csv_rows(path, prep)
    if suffix in (".npz", ".npy"):
        return read_array(path, prep)
    raise PredictInputError(f"{path.name}: unknown kind of input ({suffix or 'no suffix'}); give image files "
                            f"({', '.join(IMAGE_SUFFIXES)}), .csv rows or .npz/.npy arrays")


def check_inputs_total(inputs: list[Samples]) -> None:
    """All the inputs together within the data limit (each was checked alone as it was read)."""

    if len(inputs) > 1:
        check_size(sum(s.x.nbytes for s in inputs), f"the {len(inputs)} inputs together", PredictInputError,
                   "predict fewer inputs at once")


def _sample_words(prep) -> str:
    return f"samples of shape ({', '.join(map(str, prep.input_shape))}) {prep.dtype}"


def read_image(path: Path, prep) -> np.ndarray:
    """An image file as one raw sample: the model's channels and size, pixels scaled as the dataset's."""
    from PIL import Image, UnidentifiedImageError


    if not prep.image:
        raise PredictInputError(f"{path.name} is an image but run {prep.run}'s model takes {_sample_words(prep)}; "
                                "give CSV rows or .npz arrays")
    channels, height, width = prep.input_shape
    if channels not in (1, 3):
        raise PredictInputError(f"the model takes {channels}-channel images; an image file gives 1 (grey) or 3 "
                                "(RGB); give a .npz array")
    adapter = prep.adapter
    try:  # the header first: its width and height against the pixel limit, before anything is decoded
        with open_image(path, path.name, PredictInputError, PredictInputError, "give a PNG, JPEG or BMP file",
                        "is not an image that can be read") as im:
            im.load()
            grey = im.mode in ("1", "L", "LA", "I", "I;16", "F")
            if adapter is not None and (adapter.size is not None or adapter.gray_to_rgb):
                # as training read it: at the dataset's own size and channels, then through the input adapter
                mode = "L" if channels == 1 or (grey and adapter.gray_to_rgb) else "RGB"
                im = im.convert(mode)
                if prep.raw_image_size:
                    size = (prep.raw_image_size, prep.raw_image_size)
                    im = im.resize(size, Image.BILINEAR, reducing_gap=2.0) if im.size != size else im
                a = np.asarray(im, dtype=np.float32) / 255.0 * prep.pixel_max
                return prep.adapt((a[None] if mode == "L" else a.transpose(2, 0, 1))[None])[0]
            im = im.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PredictInputError(f"{path.name} is not an image that can be read ({type(exc).__name__}: {exc}); "
                                "give a PNG, JPEG or BMP file") from None
    if im.size != (width, height):  # as image-folder datasets are loaded
        im = im.resize((width, height), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0 * prep.pixel_max
    return a[None] if channels == 1 else a.transpose(2, 0, 1)


TEXT_LINE_FACTOR = 2 * 8  # each line's characters as a string, then its max_length token ids per ~8 characters


def read_text_lines(path: Path, prep) -> Samples:
    """Raw text for a text run: every non-empty line is one sample, tokenised by the run's own tokenizer."""
    import sys

    if str(path) == "-":
        name, text = "stdin", sys.stdin.read()
    else:
        problem = not_regular(path)
        if problem or not path.is_file():
            raise PredictInputError(problem or f"there is no file {str(path)!r}; give text files (one text per "
                                    "line) or - to read the lines from stdin")
        check_size(path.stat().st_size * TEXT_LINE_FACTOR, f"{path.name} (text lines)", PredictInputError,
                   "predict fewer lines at once")
        name = path.name
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PredictInputError(f"{path.name} is not UTF-8 text (at byte {exc.start}); run {prep.run}'s model "
                                    "reads text lines: save them as UTF-8") from None
        except OSError as exc:
            raise PredictInputError(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not numbered:
        raise PredictInputError(f"{name} has no lines of text; run {prep.run}'s model classifies one text per line")
    from runtime.data.text import encode

    x = encode(prep.tokenizer(), [line for _, line in numbered])
    return Samples(name, x, lines=np.asarray([i for i, _ in numbered]))


def read_csv_rows(path: Path, prep) -> Samples:
    """One raw sample per row (a header row of names is skipped); every row has one value per feature."""

    if len(prep.input_shape) != 1:
        raise PredictInputError(f"{path.name} holds table rows but run {prep.run}'s model takes "
                                f"{_sample_words(prep)}; give " + ("image files or " if prep.image else "")
                                + ".npz arrays")
    check_size(path.stat().st_size * CSV_PARSE_FACTOR, f"{path.name} (CSV, parsed into rows of cells)",
               PredictInputError, "predict fewer rows at once")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise PredictInputError(f"{path.name} cannot be read as a UTF-8 CSV file ({exc})") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text), dialect)) if any(c.strip() for c in r)]
    del text
    if rows and any(_number(c) is None for c in rows[0][1]):
        rows = rows[1:]  # a header
    if not rows:
        raise PredictInputError(f"{path.name} has no data rows")
    features = prep.input_shape[0]
    x = np.empty((len(rows), features), dtype=np.float32)  # one array, filled row by row: no copy per row
    lines = np.empty(len(rows), dtype=np.int64)
    for i, (line, row) in enumerate(rows):
        if len(row) != features:
            raise PredictInputError(f"{path.name} line {line} has {len(row)} values but the model takes {features} "
                                    "per sample (one per feature column, without the target); fix that row")
        for j, cell in enumerate(row):
            value = _number(cell)
            if value is None:
                raise PredictInputError(f"{path.name} line {line}: {cell!r} is not a finite number; every value "
                                        "must be")
            x[i, j] = value
        lines[i] = line
    if prep.dtype != "float32":
        x = x.astype(np.int64)
    return Samples(path.name, x, lines)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def read_array(path: Path, prep) -> Samples:
    """A .npy array, or the array `x` (or only array) of a .npz: one sample, or a batch of them.

    The array's header is read first and what it promises (shape × dtype, and its copy in the
    model's dtype) checked against the data limit before the data are read.
    """

    out_size = 4 if prep.dtype == "float32" else 8
    try:
        if path.suffix.lower() == ".npz":
            if not zipfile.is_zipfile(path):
                raise ValueError("it is not a zip archive")
            headers = npz_headers(path, PredictInputError)
            names = list(headers)
            if "x" not in names and len(names) != 1:
                raise PredictInputError(f"{path.name} holds {', '.join(names) or 'nothing'}; name the inputs x "
                                        "(np.savez(path, x=inputs))")
            key = "x" if "x" in names else names[0]
            _check_array(path, *headers[key], out_size)
            with np.load(path, allow_pickle=False) as archive:
                x = archive[key]
        else:
            shape, dtype = npy_header(path, PredictInputError)
            _check_array(path, shape, dtype, out_size)
            x = np.load(path, allow_pickle=False, mmap_mode="r")  # read once, into the model's dtype below
    except PredictInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise PredictInputError(f"{path.name} is not a readable NumPy file ({exc}); write it with np.save or "
                                "np.savez, numbers only") from None
    if x.dtype.kind not in "biuf":
        raise PredictInputError(f"{path.name} holds {x.dtype} values; the model takes {prep.dtype} numbers")
    shape = tuple(prep.input_shape)
    if prep.adapter is not None and x.ndim in (3, 4) and tuple(x.shape[-3:]) != shape:
        x = prep.adapt(x[None] if x.ndim == 3 else x)  # raw images as the dataset holds them: adapt them
    if tuple(x.shape) == shape:
        x = x[None]
    elif tuple(x.shape[1:]) != shape:
        raise PredictInputError(f"{path.name} holds an array of shape {tuple(x.shape)} but the model takes "
                                f"{_sample_words(prep)}: one of shape {shape} or a batch (N, "
                                f"{', '.join(map(str, shape))})")
    x = np.ascontiguousarray(x, dtype=np.float32 if prep.dtype == "float32" else np.int64)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise PredictInputError(f"{path.name} contains NaN or infinite values")
    return Samples(path.name, x)


def _check_array(path: Path, shape: tuple[int, ...], dtype: np.dtype, out_size: int) -> None:
    """Refuse an array whose header promises more than the data limit: as stored, and in the model's dtype."""

    if dtype.hasobject:
        raise PredictInputError(f"{path.name} holds Python objects (it needs pickle, which is never used); save "
                                "plain numbers with np.save or np.savez")
    count = array_bytes(shape, dtype) // max(1, dtype.itemsize)
    check_size(count * (dtype.itemsize + out_size), f"{path.name} (an array of shape {shape} {dtype})",
               PredictInputError, "predict fewer samples at once")
