"""Dataset files: CSV, .npz, image folders, MNIST IDX (gzipped or not), CIFAR-10 binary; corrupt files too."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from runtime import data
from runtime.data import files


# ---------------------------------------------------------------- CSV

def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_header_maps_text_labels_and_picks_the_target_by_name(tmp_path):
    rows = ["height,species,weight"] + [f"{i},{'cat' if i % 2 else 'dog'},{i * 2.5}" for i in range(40)]
    p = write(tmp_path / "pets.csv", "\n".join(rows) + "\n")
    raw = files.load_csv(p, target="species")
    assert raw.kind == "classes" and raw.classes == ("cat", "dog")
    assert raw.x.shape == (40, 2) and raw.x[3].tolist() == [3.0, 7.5]
    assert raw.y[:4].tolist() == [1, 0, 1, 0]
    desc = data.describe_dataset({"name": "csv", "path": str(p), "target": "species"})
    assert desc["classes"] == ["cat", "dog"] and desc["input_shape"] == [2]


def test_csv_numeric_targets_become_regression_or_classes(tmp_path):
    p = write(tmp_path / "r.csv", "\n".join(f"{i};{i * 0.37}" for i in range(30)))  # no header, semicolons
    raw = files.load_csv(p)
    assert raw.kind == "values" and raw.y.shape == (30, 1)
    assert raw.y[2, 0] == pytest.approx(0.74)
    p2 = write(tmp_path / "c.csv", "a,b,label\n" + "\n".join(f"{i},{-i},{i % 3}" for i in range(30)))
    raw2 = files.load_csv(p2, target=2)
    assert raw2.kind == "classes" and raw2.classes == ("0", "1", "2")
    raw3 = files.load_csv(p2, target="label", target_type="values")
    assert raw3.kind == "values"


@pytest.mark.parametrize("text, target, error, match", [
    ("", None, data.DatasetFormatError, "empty"),
    ("a,b,c\n1,2,3\n4,5\n", None, data.DatasetFormatError, "line 3 has 2 values but the header has 3"),
    ("a,b,c\n1,x,0\n2,3,1\n", None, data.DatasetFormatError, "column 'b': 'x' is not a finite number"),
    ("a,b,c\n1,2,0\n2,3,1\n", "d", data.DatasetSettingError, "no column 'd'; its columns are 'a', 'b', 'c'"),
    ("a,b,c\n1,2,0\n2,3,0\n", None, data.DatasetFormatError, "single class"),
    ("a,b\n", None, data.DatasetFormatError, "no data rows"),
])
def test_bad_csv_files_are_refused_with_the_reason(tmp_path, text, target, error, match):
    p = write(tmp_path / "bad.csv", text)
    with pytest.raises(error, match=match):
        files.load_csv(p, target=target)


def test_missing_file_and_wrong_kind_of_path(tmp_path):
    with pytest.raises(data.DatasetFileNotFoundError, match="no file"):
        data.load_splits({"name": "csv", "path": str(tmp_path / "nope.csv")})
    with pytest.raises(data.DatasetSettingError, match="is a folder"):
        files.load_csv(tmp_path)
    with pytest.raises(data.DatasetFormatError, match="not a UTF-8 text file"):
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 10)
        files.load_csv(tmp_path / "bin.csv")


# ---------------------------------------------------------------- npz

def test_npz_classification_regression_and_images(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "c.npz", x=rng.normal(size=(50, 5)), y=rng.integers(3, 6, 50))
    raw = files.load_npz(tmp_path / "c.npz")
    assert raw.kind == "classes" and raw.classes == ("3", "4", "5") and set(raw.y) == {0, 1, 2}
    assert raw.x.dtype == np.float32
    np.savez(tmp_path / "r.npz", x=rng.normal(size=(50, 5)), y=rng.normal(size=50))
    assert files.load_npz(tmp_path / "r.npz").y.shape == (50, 1)
    np.savez(tmp_path / "i.npz", x=rng.integers(0, 255, (50, 6, 6), dtype=np.uint8), y=np.arange(50) % 2)
    img = files.load_npz(tmp_path / "i.npz")
    assert img.image and img.x.shape == (50, 1, 6, 6) and img.x.max() <= 1.0
    np.savez(tmp_path / "t.npz", x=rng.integers(0, 100, (50, 7)), y=np.arange(50) % 2)
    assert files.load_npz(tmp_path / "t.npz").dtype == "int64"  # token ids for an Embedding
    desc = data.describe_dataset({"name": "npz", "path": str(tmp_path / "c.npz")})
    assert desc["input_shape"] == [5] and desc["num_classes"] == 3


def test_bad_npz_files_are_refused(tmp_path):
    np.savez(tmp_path / "k.npz", inputs=np.zeros((4, 2)), y=np.zeros(4))
    with pytest.raises(data.DatasetFormatError, match="no array 'x'.*np.savez"):
        files.load_npz(tmp_path / "k.npz")
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4))
    with pytest.raises(data.DatasetFormatError, match="cannot be read safely"):
        files.load_npz(tmp_path / "o.npz")
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(data.DatasetFormatError, match="not a readable .npz"):
        files.load_npz(tmp_path / "z.npz")
    np.savez(tmp_path / "m.npz", x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(data.DatasetFormatError, match="x has 4 samples but y has 3"):
        files.load_npz(tmp_path / "m.npz")
    np.savez(tmp_path / "n.npz", x=np.full((4, 2), np.nan), y=np.zeros(4, dtype=np.int64))
    with pytest.raises(data.DatasetFormatError, match="NaN"):
        files.load_npz(tmp_path / "n.npz")


# ---------------------------------------------------------------- image folders

def make_image_folder(root, classes=("cats", "dogs"), per_class=6, size=(10, 14), mode="RGB"):
    from PIL import Image

    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            value = 40 + 150 * c
            img = Image.new(mode, size, (value, value, value) if mode == "RGB" else value)
            img.save(root / name / f"{i}.png")
    return root


def test_image_folder_reads_one_class_per_folder_resized(tmp_path):
    root = make_image_folder(tmp_path / "pets")
    raw = files.load_image_folder(root, image_size=8)
    assert raw.classes == ("cats", "dogs") and raw.image
    assert raw.x.shape == (12, 3, 8, 8) and raw.y.tolist() == [0] * 6 + [1] * 6
    assert raw.x[0].max() == pytest.approx(40 / 255) and raw.x[-1].min() == pytest.approx(190 / 255)
    grey = files.load_image_folder(make_image_folder(tmp_path / "grey", mode="L"), image_size=5)
    assert grey.x.shape == (12, 1, 5, 5)
    desc = data.describe_dataset({"name": "image_folder", "path": str(root), "image_size": 16})
    assert desc["input_shape"] == [3, 16, 16] and desc["classes"] == ["cats", "dogs"]


def test_bad_image_folders_are_refused(tmp_path):
    make_image_folder(tmp_path / "one", classes=("only",))
    with pytest.raises(data.DatasetFormatError, match="1 class folder"):
        files.load_image_folder(tmp_path / "one")
    root = make_image_folder(tmp_path / "empty")
    (root / "birds").mkdir()
    with pytest.raises(data.DatasetFormatError, match="'birds' holds no images"):
        files.load_image_folder(root)
    root = make_image_folder(tmp_path / "corrupt")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(data.DatasetFormatError, match="broken.png is not a readable image"):
        files.load_image_folder(root)


def test_an_image_folder_too_large_for_memory_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_DECODED_BYTES", 1000)
    with pytest.raises(data.DatasetTooLargeError, match="smaller image size"):
        files.load_image_folder(make_image_folder(tmp_path / "big"), image_size=32)


# ---------------------------------------------------------------- MNIST IDX

def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def make_mnist(root, n_train=30, n_test=10, gz=True, dotted=False):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, arr in parts.items():
        if dotted:
            name = name.replace("-idx", ".idx")
        body = idx_bytes(arr)
        if gz:
            (root / f"{name}.gz").write_bytes(gzip.compress(body))
        else:
            (root / name).write_bytes(body)
    return root, parts


@pytest.mark.parametrize("gz, dotted", [(True, False), (False, False), (False, True)])
def test_mnist_idx_files_gzipped_or_not_keep_the_official_test_split(tmp_path, gz, dotted):
    root, parts = make_mnist(tmp_path / "mnist", gz=gz, dotted=dotted)
    raw = files.load_idx_folder(root)
    assert raw.x.shape == (30, 1, 28, 28) and raw.x_test.shape == (10, 1, 28, 28)
    np.testing.assert_allclose(raw.x[5, 0] * 255, parts["train-images-idx3-ubyte"][5], atol=1e-3)
    s = data.load_splits({"name": "mnist", "path": str(root), "val_fraction": 0.2})
    assert s.counts == {"train": 24, "val": 6, "test": 10}
    fashion = data.describe_dataset({"name": "fashion_mnist", "path": str(root)})
    assert fashion["classes"][0] == "T-shirt/top" and fashion["input_shape"] == [1, 28, 28]


def test_corrupt_mnist_files_are_refused(tmp_path):
    root, parts = make_mnist(tmp_path / "a", gz=False)
    (root / "train-images-idx3-ubyte").write_bytes(idx_bytes(parts["train-images-idx3-ubyte"])[:-100])
    with pytest.raises(data.DatasetFormatError, match="truncated"):
        files.load_idx_folder(root)
    root, _ = make_mnist(tmp_path / "b", gz=False)
    (root / "t10k-labels-idx1-ubyte").write_bytes(b"\x12\x34\x56\x78" + b"\x00" * 20)
    with pytest.raises(data.DatasetFormatError, match="not an IDX file"):
        files.load_idx_folder(root)
    root, _ = make_mnist(tmp_path / "c", gz=True)
    (root / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.arange(30) % 10))[:-8])
    with pytest.raises(data.DatasetFormatError, match="not a readable gzip file"):
        files.load_idx_folder(root)
    root, _ = make_mnist(tmp_path / "d", gz=False)
    (root / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(29) % 10))
    with pytest.raises(data.DatasetFormatError, match="do not match"):
        files.load_idx_folder(root)
    root, _ = make_mnist(tmp_path / "e", gz=False)
    (root / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(data.DatasetFileNotFoundError, match="no t10k-images-idx3-ubyte"):
        files.load_idx_folder(root)


# ---------------------------------------------------------------- CIFAR-10 binary

def make_cifar(root, per_batch=5, batches=2):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)

    def batch(n, offset):
        rec = np.zeros((n, files.CIFAR_RECORD), np.uint8)
        rec[:, 0] = (np.arange(n) + offset) % 10
        rec[:, 1:] = rng.integers(0, 256, (n, 3072))
        return rec

    for b in range(batches):
        (folder / f"data_batch_{b + 1}.bin").write_bytes(batch(per_batch, b).tobytes())
    test = batch(4, 0)
    (folder / "test_batch.bin").write_bytes(test.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(files.CIFAR10_CLASSES) + "\n\n")
    return root, test


def test_cifar10_binary_folder_reads_records_as_rgb_images(tmp_path):
    root, test = make_cifar(tmp_path)
    raw = files.load_cifar10(root)
    assert raw.x.shape == (10, 3, 32, 32) and raw.x_test.shape == (4, 3, 32, 32)
    assert raw.y.tolist() == [0, 1, 2, 3, 4, 1, 2, 3, 4, 5] and raw.classes[0] == "airplane"
    np.testing.assert_allclose(raw.x_test[2, 1] * 255, test[2, 1 + 1024:1 + 2048].reshape(32, 32), atol=1e-3)
    assert data.describe_dataset({"name": "cifar10", "path": str(root)})["input_shape"] == [3, 32, 32]


def test_bad_cifar10_folders_are_refused(tmp_path):
    root, _ = make_cifar(tmp_path / "a")
    with open(root / "cifar-10-batches-bin" / "data_batch_1.bin", "ab") as f:
        f.write(b"\x00" * 17)
    with pytest.raises(data.DatasetFormatError, match="not a whole number of 3073-byte"):
        files.load_cifar10(root)
    root, _ = make_cifar(tmp_path / "b")
    rec = np.zeros((2, files.CIFAR_RECORD), np.uint8)
    rec[:, 0] = 42
    (root / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(rec.tobytes())
    with pytest.raises(data.DatasetFormatError, match="label 42.*CIFAR-100"):
        files.load_cifar10(root)
    (tmp_path / "c").mkdir()
    with pytest.raises(data.DatasetFileNotFoundError, match="data_batch"):
        files.load_cifar10(tmp_path / "c")


def test_pickle_files_are_never_loaded(tmp_path):
    p = tmp_path / "evil.npz"
    p.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(data.DatasetFormatError):
        files.load_npz(p)
