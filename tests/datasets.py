"""Small datasets in the real download formats (gzipped IDX, CIFAR-10's binary tar.gz), for tests that serve
them from 127.0.0.1 or place them where a download would have put them."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile

import numpy as np


def idx(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, gzipped, as MNIST ships them."""
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(head + array.astype(np.uint8).tobytes(), mtime=0)


def mnist_files(train: int = 120, test: int = 40, seed: int = 0) -> dict[str, bytes]:
    """A small MNIST-format set: digit k is a bright bar in row 2k..2k+3 (learnable), in 28x28 noise."""
    rng = np.random.default_rng(seed)

    def images(n):
        labels = np.arange(n) % 10
        x = rng.integers(0, 40, (n, 28, 28))
        for i, k in enumerate(labels):
            x[i, 2 * k + 2:2 * k + 6, 4:24] = 250
        return x, labels

    (x, y), (xt, yt) = images(train), images(test)
    return {"train-images-idx3-ubyte.gz": idx(x), "train-labels-idx1-ubyte.gz": idx(y),
            "t10k-images-idx3-ubyte.gz": idx(xt), "t10k-labels-idx1-ubyte.gz": idx(yt)}


def cifar_archive(per_batch: int = 20, evil: bool = False) -> bytes:
    """CIFAR-10's binary version: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, batches.meta.txt."""
    rng = np.random.default_rng(1)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            labels = np.arange(per_batch) % 10
            pixels = rng.integers(0, 256, (per_batch, 3 * 32 * 32))
            records = np.concatenate([labels[:, None], pixels], axis=1).astype(np.uint8)
            add(f"cifar-10-batches-bin/{name}", records.tobytes())
        add("cifar-10-batches-bin/batches.meta.txt", "\n".join(
            ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]).encode())
        if evil:  # what a hostile archive might add: a path out of the folder and a link
            add("../../escaped.bin", b"x" * 10)
            link = tarfile.TarInfo("cifar-10-batches-bin/link.bin")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
    return out.getvalue()


def place_downloaded(name: str) -> None:
    """Put a small copy of dataset `name` where its download lands (NETCANVAS_DATA_DIR, set by tests/conftest.py),
    as if `netcanvas data download NAME` had run."""
    from runtime.data.downloads import SETS, _unpack, cache_root

    root = cache_root() / name
    root.mkdir(parents=True, exist_ok=True)
    if name == "cifar10":
        archive = root / "cifar-10-binary.tar.gz"
        archive.write_bytes(cifar_archive())
        _unpack(archive, root / SETS[name].extract, SETS[name].members)
    else:
        for file, data in mnist_files().items():
            (root / file).write_bytes(data)


GOOD = ("great", "wonderful", "excellent", "loved", "superb", "delightful", "brilliant", "enjoyable")
BAD = ("terrible", "awful", "boring", "hated", "dreadful", "dull", "poor", "disappointing")
NEUTRAL = ("the", "film", "movie", "plot", "acting", "story", "was", "and", "it", "a", "really", "quite", "with",
           "cast", "ending", "scenes", "music")


def review(r, positive: bool) -> str:
    """A made-up review: neutral words, one to three of its side's words, and one of the other's 20 % of the time."""
    words = [r.choice(NEUTRAL) for _ in range(r.randint(3, 12))]
    for _ in range(r.randint(1, 3)):
        words.insert(r.randrange(len(words) + 1), r.choice(GOOD if positive else BAD))
    if r.random() < 0.2:
        words.insert(r.randrange(len(words) + 1), r.choice(BAD if positive else GOOD))
    return " ".join(words)


def review_rows(rows: int = 600, positive_share: float = 0.6, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) pairs: positive with probability `positive_share`, so the majority class is positive."""
    import random

    r = random.Random(seed)
    out = []
    for _ in range(rows):
        positive = r.random() < positive_share
        out.append((review(r, positive), "positive" if positive else "negative"))
    return out
