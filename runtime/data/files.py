"""Datasets read from the user's files: CSV, .npz, image folders, MNIST-style IDX and CIFAR-10 binary.

Every reader turns a missing, wrong or corrupt file into a DataError naming the file, what was
expected and what to do; nothing here executes content from the file (npz is read without pickle).
"""

from __future__ import annotations

import csv
import gzip
import io
import struct
import zipfile
from pathlib import Path

import numpy as np

from graph_builder.data_description import CLASSES, VALUES

from runtime.data.errors import (DatasetFileNotFoundError, DatasetFormatError, DatasetSettingError,
                                 DatasetTooLargeError)
from runtime.data.limits import (check_file_size, check_regular, check_size, data_limit, npz_headers, open_image,
                                 size_text)
from runtime.data.raw import RawData, label_codes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_DECODED_BYTES = 4 * 2**30  # image folders are decoded into memory (DESIGN decision 7)
MAX_CLASSES_FROM_NUMBERS = 100  # more distinct integer targets than this reads as regression
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_RECORD = 1 + 3 * 32 * 32


def _existing(path: str | Path | None, what: str, folder: bool = False) -> Path:
    if not path:
        raise DatasetSettingError(f"the {what} dataset needs a path; choose the {'folder' if folder else 'file'} "
                                  "in the dataset settings")
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetFileNotFoundError(f"there is no {'folder' if folder else 'file'} {str(p)!r} for the {what} "
                                       "dataset; check the path")
    if folder and not p.is_dir():
        raise DatasetSettingError(f"{str(p)!r} is a file, but the {what} dataset reads a folder; choose its folder")
    if not folder and p.is_dir():
        raise DatasetSettingError(f"{str(p)!r} is a folder, but the {what} dataset reads one file; choose the file")
    if not folder:
        check_regular(p, what)  # before anything opens it: /dev/zero reads for ever, a FIFO blocks
    return p


# ---------------------------------------------------------------- CSV

CSV_PARSE_FACTOR = 12  # a CSV held as Python rows of cells takes about this many times its size


def _number(text: str) -> float | None:
    """The value of a cell as a finite float32, or None (text, NaN, or beyond float32's range)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) and abs(value) <= FLOAT32_MAX else None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


FLOAT32_MAX = float(np.finfo(np.float32).max)  # 1e39 would become inf in the float32 tensors


def read_table(path: str | Path, what: str = "CSV") -> tuple[Path, list[str], list[list[str]], bool]:
    """(the file, its header, its data rows, whether the file has a header) of a CSV table of at least two
    columns whose rows all have one cell per column; DataError naming the file and line otherwise."""
    p = _existing(path, what)
    check_file_size(p, "CSV, parsed into rows of cells", factor=CSV_PARSE_FACTOR)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetFormatError(f"{p.name} is not a UTF-8 text file; is it really a CSV file?") from None
    except OSError as exc:
        raise DatasetFormatError(f"{p} cannot be read ({exc.strerror or exc}); check the file's permissions") \
            from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in r)]
    if not rows:
        raise DatasetFormatError(f"{p.name} is empty; a CSV dataset needs a header or data rows")
    has_header = any(_number(cell) is None for cell in rows[0])
    header = [c.strip() for c in rows[0]] if has_header else [f"column {i}" for i in range(len(rows[0]))]
    body = rows[1:] if has_header else rows
    width = len(header)
    if width < 2:
        raise DatasetFormatError(f"{p.name} has {width} column; a CSV dataset needs features and a target column "
                                 "(is the separator a comma, semicolon or tab?)")
    if not body:
        raise DatasetFormatError(f"{p.name} has a header but no data rows")
    for i, row in enumerate(body):
        if len(row) != width:
            line = i + 1 + has_header
            raise DatasetFormatError(f"{p.name} line {line} has {len(row)} values but the header has {width}; "
                                     "every row needs one value per column")
    return p, header, body, has_header


def load_csv(path: str | Path, target: str | int | None = None, target_type: str = "auto") -> RawData:
    """A CSV table: numeric feature columns and one target column (by header name or 0-based index)."""
    p, header, body, has_header = read_table(path)
    width = len(header)
    col = _target_column(target, header, p.name)
    features = [j for j in range(width) if j != col]
    x = np.empty((len(body), len(features)), dtype=np.float32)
    for i, row in enumerate(body):
        for k, j in enumerate(features):
            value = _number(row[j])
            if value is None:
                line = i + 1 + has_header
                raise DatasetFormatError(
                    f"{p.name} line {line}, column {header[j]!r}: {row[j]!r} is not a finite number; feature "
                    "columns must be numeric (remove the column, make it the target, or fill the value)")
            x[i, k] = value
    raw_target = [row[col].strip() for row in body]
    for i, value in enumerate(raw_target):
        line = i + 1 + has_header
        if not value:
            raise DatasetFormatError(f"{p.name} line {line}, column {header[col]!r}: the target is empty; every "
                                     "row needs a target (fill it or remove the row)")
        if _number(value) is None and _is_float(value):
            raise DatasetFormatError(f"{p.name} line {line}, column {header[col]!r}: {value!r} is not a finite "
                                     "number (too large for 32-bit floats, or NaN); fix the value or remove the row")
    numbers = [_number(v) for v in raw_target]
    numeric = all(v is not None for v in numbers)
    if target_type == "auto":
        integral = numeric and all(float(v).is_integer() for v in numbers)
        target_type = "classes" if (not numeric or (integral and len(set(numbers)) <= MAX_CLASSES_FROM_NUMBERS)) \
            else "values"
    if target_type == "values":
        if not numeric:
            bad = next(v for v, n in zip(raw_target, numbers) if n is None)
            raise DatasetFormatError(f"{p.name}: target column {header[col]!r} holds {bad!r}, which is not a number; "
                                     "regression needs numeric targets (or set the target type to classes)")
        return RawData(x, np.asarray(numbers, dtype=np.float32).reshape(-1, 1), VALUES)
    labels = np.asarray(numbers, dtype=np.float64) if numeric else np.asarray(raw_target)
    y, classes = label_codes(labels)
    if len(classes) < 2:
        raise DatasetFormatError(f"{p.name}: target column {header[col]!r} has a single class ({classes[0]!r}); "
                                 "classification needs at least two")
    return RawData(x, y, CLASSES, classes)


def _target_column(target, header: list[str], name: str) -> int:
    if target is None or target == "":
        return len(header) - 1
    return column_index(target, header, name, "target")


def column_index(column, header: list[str], name: str, setting: str) -> int:
    """The 0-based index of `column` (a header name or an index) in file `name`; DatasetSettingError naming the
    dataset `setting` that gave it when the file has no such column."""
    if isinstance(column, str) and column.strip() in header:
        return header.index(column.strip())
    try:
        index = int(column)
    except (TypeError, ValueError):
        raise DatasetSettingError(f"dataset setting {setting}: {name} has no column {column!r}; its columns are "
                                  f"{', '.join(repr(h) for h in header)}") from None
    if not -len(header) <= index < len(header):
        raise DatasetSettingError(f"dataset setting {setting}: {name} has {len(header)} columns, so column "
                                  f"{index} does not exist; use 0..{len(header) - 1} or a column name")
    return index % len(header)


# ---------------------------------------------------------------- NumPy .npz

def load_npz(path: str | Path) -> RawData:
    """A NumPy .npz archive with arrays `x` (inputs) and `y` (class labels or regression targets)."""
    p = _existing(path, "NumPy")
    if not zipfile.is_zipfile(p):  # else numpy reads it as a pickle and suggests allow_pickle, which we refuse
        raise DatasetFormatError(f"{p.name} is not a readable .npz archive (it is not a zip file); "
                                 "write it with np.savez(path, x=inputs, y=targets)")
    try:
        _check_npz_headers(p)
        with np.load(p, allow_pickle=False) as archive:
            keys = set(archive.files)
            missing = [k for k in ("x", "y") if k not in keys]
            if missing:
                raise DatasetFormatError(f"{p.name} has no array {' or '.join(repr(m) for m in missing)} (it holds "
                                         f"{', '.join(sorted(keys)) or 'nothing'}); save it with "
                                         "np.savez(path, x=inputs, y=targets)")
            x, y = archive["x"], archive["y"]
    except (DatasetFormatError, DatasetTooLargeError):
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetFormatError(f"{p.name} is not a readable .npz archive ({exc}); write it with np.savez") from None
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DatasetFormatError(f"{p.name} cannot be read safely ({exc}); save plain numeric arrays") from None
    if len(x) != len(y):
        raise DatasetFormatError(f"{p.name}: x has {len(x)} samples but y has {len(y)}; they must match")
    if len(x) < 2:
        raise DatasetFormatError(f"{p.name} holds {len(x)} sample(s); a dataset needs at least a few")
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DatasetFormatError(f"{p.name}: x is {x.dtype} and y is {y.dtype}; both must be numeric arrays")
    image = False
    if x.dtype == np.uint8:  # 8-bit pixels
        x = x.astype(np.float32) / 255.0
        if x.ndim == 3:
            x = x[:, None]
        image = x.ndim == 4
    elif x.dtype.kind in "iu":
        x = x.astype(np.int64)  # token ids for an Embedding
    else:
        x = x.astype(np.float32)
        image = x.ndim == 4
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise DatasetFormatError(f"{p.name}: x contains NaN or infinite values; clean the data first")
    if y.dtype.kind in "biu":
        codes, classes = label_codes(y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y)
        if y.ndim > 1 and y.shape[1:] != (1,):
            raise DatasetFormatError(f"{p.name}: integer y has shape {y.shape}; class labels are one per sample, "
                                     "shape (N,); store regression targets as floats")
        if len(classes) < 2:
            raise DatasetFormatError(f"{p.name}: y holds a single class ({classes[0]!r}); classification needs at "
                                     "least two (or store regression targets as floats)")
        return RawData(x, codes, CLASSES, classes, image=image)
    y = y.astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise DatasetFormatError(f"{p.name}: y contains NaN or infinite values; clean the data first")
    return RawData(x, y.reshape(len(y), -1) if y.ndim == 1 else y, VALUES, image=image)


def _check_npz_headers(p: Path) -> None:
    """Shapes from the headers: a 0-d array or one too large for memory is refused before it is read."""
    headers = npz_headers(p)
    need = 0
    for key in ("x", "y"):
        if key not in headers:
            continue  # reported with the archive's contents below
        shape, dtype = headers[key]
        if shape == ():
            raise DatasetFormatError(f"{p.name}: {key} is a single number (a 0-d array), not one entry per sample; "
                                     f"save {key} with the samples along its first axis")
        count = int(np.prod(shape, dtype=object))
        need += count * (dtype.itemsize + 4)  # the array as stored, and as float32 tensors
    shapes = ", ".join(f"{k} {headers[k][0]} {headers[k][1]}" for k in ("x", "y") if k in headers)
    check_size(need, f"{p.name} ({shapes})")


# ---------------------------------------------------------------- image folders

def load_image_folder(path: str | Path, image_size: int = 32, grayscale: bool | None = None) -> RawData:
    """One sub-folder per class, images resized to image_size x image_size, pixels in 0..1."""
    root = _existing(path, "image folder", folder=True)
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow is a dependency
        raise DatasetSettingError("reading image folders needs Pillow; install it with pip install pillow") from None
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        raise DatasetFormatError(f"{str(root)!r} has {len(class_dirs)} class folder(s); an image-folder dataset "
                                 "needs one sub-folder per class, at least two (e.g. cats/ and dogs/)")
    files: list[tuple[Path, int]] = []
    for label, d in enumerate(class_dirs):
        found = sorted(f for f in d.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if not found:
            raise DatasetFormatError(f"class folder {d.name!r} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                                     "add images or remove the folder")
        files += [(f, label) for f in found]
    modes = set()
    for f, _ in files:  # headers only: mode and size, nothing decoded yet
        with open_image(f, str(f.relative_to(root))) as im:
            modes.add(im.mode)
    if grayscale is None:
        grayscale = modes <= {"1", "L", "LA", "I", "I;16", "F"}
    channels = 1 if grayscale else 3
    need = len(files) * channels * image_size * image_size * 4
    limit = min(MAX_DECODED_BYTES, data_limit())
    if need > limit:
        raise DatasetTooLargeError(f"{len(files)} images of {image_size}x{image_size} need {size_text(need)} "
                                   f"in memory, more than the limit of {size_text(limit)}; choose a smaller image "
                                   "size or fewer images")
    x = np.empty((len(files), channels, image_size, image_size), dtype=np.float32)
    mode = "L" if grayscale else "RGB"
    for i, (f, _) in enumerate(files):  # one image at a time, reduced while it is decoded
        try:
            with open_image(f, str(f.relative_to(root))) as im:
                im.draft(mode, (image_size, image_size))  # JPEG decodes at 1/2, 1/4 or 1/8 scale
                im = im.convert(mode).resize((image_size, image_size), Image.BILINEAR, reducing_gap=2.0)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DatasetFormatError(f"{f.relative_to(root)} is not a readable image ({exc}); remove or replace "
                                     "it") from None
        arr = np.asarray(im, dtype=np.float32) / 255.0
        x[i] = arr[None] if grayscale else arr.transpose(2, 0, 1)
    y = np.asarray([label for _, label in files], dtype=np.int64)
    return RawData(x, y, CLASSES, tuple(d.name for d in class_dirs), image=True)


# ---------------------------------------------------------------- MNIST-style IDX

IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _find_idx(root: Path, key: str) -> Path:
    for stem in IDX_NAMES[key]:
        for name in (stem, stem + ".gz"):
            if (root / name).is_file():
                return root / name
    raise DatasetFileNotFoundError(f"{str(root)!r} has no {IDX_NAMES[key][0]} file (gzipped or not); an MNIST-style "
                                   "folder holds train-images, train-labels, t10k-images and t10k-labels")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the MNIST format, optionally gzipped) as a uint8 array.

    The header is read first and the size it promises checked against the limit (as float32, the
    form training uses), so a small gzip that inflates to gigabytes is refused before it inflates.
    """
    check_regular(path, "MNIST")
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] != 0x08:
                raise DatasetFormatError(f"{path.name} is not an IDX file of bytes (its header is "
                                         f"{head.hex() or 'empty'}, expected 0000 08 0n); is it really an MNIST file?")
            ndim = head[3]
            dims_bytes = f.read(4 * ndim) if ndim in (1, 3) else b""
            if ndim not in (1, 3) or len(dims_bytes) < 4 * ndim:
                raise DatasetFormatError(f"{path.name} declares {ndim} dimensions; MNIST files have 1 (labels) or "
                                         "3 (images)")
            dims = struct.unpack(f">{ndim}I", dims_bytes)
            expected = int(np.prod(dims, dtype=object))
            check_size(expected * 5, f"{path.name} (shape {dims})")  # the bytes, then as float32
            body = f.read(expected + 1)  # one more: a padded file is reported, not silently cut
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetFormatError(f"{path.name} is not a readable gzip file ({exc}); download it again") from None
    if len(body) != expected:
        holds = "more" if len(body) > expected else f"{len(body):,}"
        raise DatasetFormatError(f"{path.name} is truncated or padded: its header promises {expected:,} bytes of "
                                 f"data for shape {dims} but it holds {holds}; download it again")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load_idx_folder(path: str | Path, fashion: bool = False) -> RawData:
    """MNIST or Fashion-MNIST from a folder of IDX files; keeps the official test split."""
    root = _existing(path, "Fashion-MNIST" if fashion else "MNIST", folder=True)
    arrays = {key: read_idx(_find_idx(root, key)) for key in IDX_NAMES}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetFormatError(f"the {split} images {images.shape} and labels {labels.shape} do not match; "
                                     "each image needs one label")
        if labels.size and labels.max() > 9:
            raise DatasetFormatError(f"the {split} labels go up to {labels.max()}; MNIST labels are 0..9")
    x = arrays["train_images"][:, None].astype(np.float32) / 255.0
    xt = arrays["test_images"][:, None].astype(np.float32) / 255.0
    classes = FASHION_CLASSES if fashion else tuple(str(i) for i in range(10))
    return RawData(x, arrays["train_labels"].astype(np.int64), CLASSES, classes, image=True,
                   x_test=xt, y_test=arrays["test_labels"].astype(np.int64))


# ---------------------------------------------------------------- CIFAR-10 (binary version)

def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = path.read_bytes()
    if not data or len(data) % CIFAR_RECORD:
        raise DatasetFormatError(f"{path.name} holds {len(data):,} bytes, which is not a whole number of "
                                 f"{CIFAR_RECORD}-byte CIFAR-10 records; download the binary version again")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetFormatError(f"{path.name} has label {labels.max()}; CIFAR-10 labels are 0..9 (is this the "
                                 "CIFAR-100 file?)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def load_cifar10(path: str | Path) -> RawData:
    """CIFAR-10's binary version (data_batch_1..5.bin, test_batch.bin) from a local folder."""
    root = _existing(path, "CIFAR-10", folder=True)
    if (root / "cifar-10-batches-bin").is_dir():
        root = root / "cifar-10-batches-bin"
    train_files = sorted(root.glob("data_batch_*.bin"))
    test_file = root / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise DatasetFileNotFoundError(f"{str(root)!r} has no data_batch_*.bin and test_batch.bin; point to the "
                                       "extracted folder of CIFAR-10's binary version (cifar-10-batches-bin)")
    for f in [*train_files, test_file]:
        check_regular(f, "CIFAR-10")
    check_size(sum(f.stat().st_size for f in [*train_files, test_file]) * 5, f"the CIFAR-10 files in {root}")
    parts = [_read_cifar_batch(f) for f in train_files]
    xt, yt = _read_cifar_batch(test_file)
    x = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y = np.concatenate([p[1] for p in parts])
    classes = CIFAR10_CLASSES
    meta = root / "batches.meta.txt"
    if meta.is_file():
        names = [n.strip() for n in meta.read_text(encoding="utf-8", errors="replace").splitlines() if n.strip()]
        if len(names) == 10:
            classes = tuple(names)
    return RawData(x, y, CLASSES, classes, image=True, x_test=xt.astype(np.float32) / 255.0, y_test=yt)
