"""`netcanvas predict FILE --run RUN_DIR INPUT… [--json]`: a run's predictions for raw inputs.

Inputs are image files (for image data), CSV files of one sample per row (for tables) or
.npz/.npy arrays of one sample or a batch. They are read as raw data, as the dataset was
loaded, and go through the run's exported model, which normalises them as training did
(runtime.export.formats.preprocess). A run of another network is refused (graph_builder.runs.check_run_fits).

Exit codes: 0 predicted, 1 the run belongs to another network or the project has errors,
2 the project, the run or an input could not be read or does not fit the model.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graph_builder.errors import GraphBuilderError
from graph_builder.files import not_regular

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_project
from runtime.errors import NetCanvasRuntimeError

TOP = 3  # classes listed per sample in the text output


class PredictInputError(NetCanvasRuntimeError):
    """An input that cannot be read, or does not fit the run's model."""


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict raw inputs (images, CSV rows, .npz arrays) with a run's model")
    p.add_argument("file", help="the .json project file the run trained")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a run folder of this project's network")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, CSV files (one sample per row) or .npz/.npy arrays, as raw as the dataset")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from graph_builder.runs import RunsError, check_run_fits

    project = read_project(args.file)
    if project is None:
        return EXIT_UNREADABLE
    run_dir = Path(args.run)
    try:
        check_run_fits(run_dir, project)
    except RunsError as exc:
        print(f"cannot predict with run {run_dir.name}: {exc}", file=sys.stderr)
        return EXIT_INVALID if (run_dir / "config.json").is_file() else EXIT_UNREADABLE
    weights = next((run_dir / n for n in ("best.safetensors", "last.safetensors") if (run_dir / n).is_file()), None)
    if weights is None:
        print(f"run {run_dir.name} has no weights yet (best.safetensors); let it finish an epoch", file=sys.stderr)
        return EXIT_UNREADABLE

    from runtime.export import build_run_module, read_preprocessing

    try:
        prep = read_preprocessing(run_dir)
        inputs = [read_inputs(Path(path), prep) for path in args.inputs]
        _check_total(inputs)
    except NetCanvasRuntimeError as exc:
        print(f"cannot predict: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    import torch

    try:
        module = build_run_module(project.graph, prep, weights)
    except GraphBuilderError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except NetCanvasRuntimeError as exc:
        print(f"cannot predict with run {run_dir.name}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    outputs = []
    try:
        with torch.no_grad():
            for samples in inputs:  # a batch at a time: the layers' outputs stay small however many samples
                outputs.append(np.concatenate([_first(module(torch.from_numpy(samples.x[i:i + CHUNK])))
                                               for i in range(0, len(samples.x), CHUNK)]))
    except RuntimeError as exc:
        print(f"cannot predict with run {run_dir.name}: the model failed on {samples.name} "
              f"({str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__})",
              file=sys.stderr)
        return EXIT_INVALID
    rows = _JsonRows() if args.json else None
    for samples, out in zip(inputs, outputs):
        for start in range(0, len(out), CHUNK):  # rows are made and printed a batch at a time, never all at once
            labels = [samples.label(i) for i in range(start, min(start + CHUNK, len(out)))]
            for row in describe(prep, labels, out[start:start + CHUNK]):
                if rows:
                    rows.write(row)
                else:
                    print(_line(row))
    if rows:
        rows.close()
    return EXIT_OK


CHUNK = 1024  # samples through the model, and rows described, at a time


def _first(out) -> np.ndarray:
    return (out[0] if isinstance(out, tuple) else out).float().numpy()


class _JsonRows:
    """The rows as one JSON list on stdout, written a row at a time (the text json.dumps(rows, indent=2) gives)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, row: dict) -> None:
        text = "\n".join("  " + line for line in json.dumps(row, indent=2).splitlines())
        sys.stdout.write(("[\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def close(self) -> None:
        sys.stdout.write("\n]\n" if self.count else "[]\n")
        sys.stdout.flush()


def describe(prep, labels: list[str], out: np.ndarray) -> list[dict]:
    """One dict per sample, as the run's task reads its output: a class and its probability, or values."""
    from runtime.tasks import task_runtime

    return task_runtime(prep.task).predictions(prep, labels, out)


def _line(row: dict) -> str:
    if "values" in row:
        return f"{row['input']}: " + ", ".join(f"{v:.6g}" for v in row["values"])
    top = sorted(row["probabilities"].items(), key=lambda kv: -kv[1])[:TOP]
    rest = ", ".join(f"{name} {p:.1%}" for name, p in top[1:])
    return f"{row['input']}: {row['class']} ({row['probability']:.1%})" + (f"; then {rest}" if rest else "")


# ---------------------------------------------------------------- reading raw inputs


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
    """
    problem = not_regular(path)
    if problem:  # a FIFO would block and /dev/zero read for ever
        raise PredictInputError(f"{problem}; give image files, CSV files or .npz/.npy arrays"
                                if not path.is_dir() else f"{str(path)!r} is a folder; give the files in it")
    if not path.is_file():
        raise PredictInputError(f"there is no file {str(path)!r}")
    from runtime.data import IMAGE_SUFFIXES  # runtime.data imports torch: only once predicting

    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return Samples(path.name, read_image(path, prep)[None], image=True)
    if suffix == ".csv":
        return read_csv_rows(path, prep)
    if suffix in (".npz", ".npy"):
        return read_array(path, prep)
    raise PredictInputError(f"{path.name}: unknown kind of input ({suffix or 'no suffix'}); give image files "
                            f"({', '.join(IMAGE_SUFFIXES)}), .csv rows or .npz/.npy arrays")


def _check_total(inputs: list[Samples]) -> None:
    """All the inputs together within the data limit (each was checked alone as it was read)."""
    from runtime.data import check_size

    if len(inputs) > 1:
        check_size(sum(s.x.nbytes for s in inputs), f"the {len(inputs)} inputs together", PredictInputError,
                   "predict fewer inputs at once")


def _sample_words(prep) -> str:
    return f"samples of shape ({', '.join(map(str, prep.input_shape))}) {prep.dtype}"


def read_image(path: Path, prep) -> np.ndarray:
    """An image file as one raw sample: the model's channels and size, pixels scaled as the dataset's."""
    from PIL import Image, UnidentifiedImageError

    from runtime.data import open_image

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


def read_csv_rows(path: Path, prep) -> Samples:
    """One raw sample per row (a header row of names is skipped); every row has one value per feature."""
    from runtime.data import CSV_PARSE_FACTOR
    from runtime.data import check_size

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
    from runtime.data import npy_header, npz_headers

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
    from runtime.data import array_bytes, check_size

    if dtype.hasobject:
        raise PredictInputError(f"{path.name} holds Python objects (it needs pickle, which is never used); save "
                                "plain numbers with np.save or np.savez")
    count = array_bytes(shape, dtype) // max(1, dtype.itemsize)
    check_size(count * (dtype.itemsize + out_size), f"{path.name} (an array of shape {shape} {dtype})",
               PredictInputError, "predict fewer samples at once")
