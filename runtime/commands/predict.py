"""`netcanvas predict FILE --run RUN_DIR INPUT… [--json]`: a run's predictions for raw inputs.

Inputs are image files (for image data), CSV files of one sample per row (for tables) or
.npz/.npy arrays of one sample or a batch. They are read as raw data, as the dataset was
loaded, and go through the run's exported model, which normalises them as training did
(runtime.export.preprocess). A run of another network is refused (graph_builder.runs.check_run_fits).

Exit codes: 0 predicted, 1 the run belongs to another network or the project has errors,
2 the project, the run or an input could not be read or does not fit the model.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from graph_builder.errors import GraphBuilderError

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
        samples = [s for path in args.inputs for s in read_inputs(Path(path), prep)]
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
    x = np.stack([s for _, s in samples])
    with torch.no_grad():
        out = module(torch.from_numpy(x))
    out = (out[0] if isinstance(out, tuple) else out).float().numpy()
    rows = describe(prep, [label for label, _ in samples], out)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(_line(row))
    return EXIT_OK


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


def read_inputs(path: Path, prep) -> list[tuple[str, np.ndarray]]:
    """(label, raw sample) pairs from one input file; raises PredictInputError saying what to give."""
    if not path.is_file():
        raise PredictInputError(f"there is no file {str(path)!r}" if not path.exists()
                                else f"{str(path)!r} is a folder; give the files in it")
    from runtime.data import IMAGE_SUFFIXES  # runtime.data imports torch: only once predicting

    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [(path.name, read_image(path, prep))]
    if suffix == ".csv":
        return read_csv_rows(path, prep)
    if suffix in (".npz", ".npy"):
        return read_array(path, prep)
    raise PredictInputError(f"{path.name}: unknown kind of input ({suffix or 'no suffix'}); give image files "
                            f"({', '.join(IMAGE_SUFFIXES)}), .csv rows or .npz/.npy arrays")


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
    try:
        with Image.open(path) as im:
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


def read_csv_rows(path: Path, prep) -> list[tuple[str, np.ndarray]]:
    """One raw sample per row (a header row of names is skipped); every row has one value per feature."""
    if len(prep.input_shape) != 1:
        raise PredictInputError(f"{path.name} holds table rows but run {prep.run}'s model takes "
                                f"{_sample_words(prep)}; give " + ("image files or " if prep.image else "")
                                + ".npz arrays")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise PredictInputError(f"{path.name} cannot be read as a UTF-8 CSV file ({exc})") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text), dialect)) if any(c.strip() for c in r)]
    if rows and any(_number(c) is None for c in rows[0][1]):
        rows = rows[1:]  # a header
    if not rows:
        raise PredictInputError(f"{path.name} has no data rows")
    features = prep.input_shape[0]
    samples = []
    for line, row in rows:
        if len(row) != features:
            raise PredictInputError(f"{path.name} line {line} has {len(row)} values but the model takes {features} "
                                    "per sample (one per feature column, without the target); fix that row")
        values = [_number(c) for c in row]
        if any(v is None for v in values):
            bad = next(c for c, v in zip(row, values) if v is None)
            raise PredictInputError(f"{path.name} line {line}: {bad!r} is not a finite number; every value must be")
        samples.append((f"{path.name} line {line}", np.asarray(values, dtype=np.float32)))
    return samples


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def read_array(path: Path, prep) -> list[tuple[str, np.ndarray]]:
    """A .npy array, or the array `x` (or only array) of a .npz: one sample, or a batch of them."""
    try:
        if path.suffix.lower() == ".npz":
            if not zipfile.is_zipfile(path):
                raise ValueError("it is not a zip archive")
            with np.load(path, allow_pickle=False) as archive:
                names = archive.files
                if "x" not in names and len(names) != 1:
                    raise PredictInputError(f"{path.name} holds {', '.join(names) or 'nothing'}; name the inputs x "
                                            "(np.savez(path, x=inputs))")
                x = archive["x" if "x" in names else names[0]]
        else:
            x = np.load(path, allow_pickle=False)
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
    x = x.astype(np.float32 if prep.dtype == "float32" else np.int64)
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise PredictInputError(f"{path.name} contains NaN or infinite values")
    return [(f"{path.name}[{i}]", s) for i, s in enumerate(x)]
