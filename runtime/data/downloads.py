"""MNIST, Fashion-MNIST and CIFAR-10, downloaded when the user asks, into a cache folder.

    folder = download_dataset("mnist", progress=TextProgress("mnist"))   # the Data panel's button, or
    netcanvas data download mnist                                         # the command line

The files are the datasets' official ones, with torchvision's lists of names, md5 checksums and
mirrors, fetched by the one downloader (runtime.download: resume, checksum, mirrors in order,
offline advice). CIFAR-10 is its binary version: the Python version is pickled, and unpickling
a download would run whatever it holds. Its archive is unpacked member by member, regular files
of the expected names only.

A dataset setting without a `path` reads the cache folder (`dataset_folder`): NETCANVAS_DATA_DIR,
or the user's cache folder (platformdirs) under `datasets/<name>`.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.data.errors import DataError, DatasetFileNotFoundError
from runtime.download import DownloadCancelled, DownloadError, Progress, download_first


@dataclass(frozen=True)
class DownloadSet:
    """The files of one dataset, each with its md5, and the mirrors that serve them (tried in order)."""

    name: str
    title: str
    files: tuple[tuple[str, str], ...]  # (file name, md5)
    mirrors: tuple[str, ...]  # base URLs ending in "/"
    extract: str | None = None  # an archive unpacked into this sub-folder of the dataset's folder
    members: tuple[str, ...] = ()  # the archive members kept (all regular files, of these names)

    def urls(self, file: str) -> list[str]:
        return [mirror + file for mirror in self.mirrors]


_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")

SETS: dict[str, DownloadSet] = {s.name: s for s in (
    DownloadSet("mnist", "MNIST", tuple(zip(_IDX, (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432", "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c"))),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")),
    DownloadSet("fashion_mnist", "Fashion-MNIST", tuple(zip(_IDX, (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79",
        "bb300cfdad3c16e7a12a480ee83cd310"))),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")),
    DownloadSet("cifar10", "CIFAR-10", (("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),),
                ("https://www.cs.toronto.edu/~kriz/",),
                extract="cifar-10-batches-bin",
                members=(*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin", "batches.meta.txt")),
)}


class DatasetDownloadError(DataError):
    """A dataset could not be downloaded or unpacked; the message says what to do."""


def cache_root() -> Path:
    """Where downloaded datasets live: NETCANVAS_DATA_DIR, or the user's cache folder."""
    override = os.environ.get("NETCANVAS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("netcanvas")) / "datasets"


def dataset_folder(name: str) -> Path:
    """The folder a downloaded dataset `name` is read from."""
    s = SETS[name]
    return cache_root() / name / (s.extract or "")


def is_downloaded(name: str) -> bool:
    """Whether every file of dataset `name` is in its cache folder (by name; the loader checks their contents)."""
    s = SETS[name]
    folder = dataset_folder(name)
    wanted = s.members if s.extract else tuple(f for f, _ in s.files)
    return all((folder / f).is_file() for f in wanted if f != "batches.meta.txt")


def not_downloaded(name: str) -> DatasetFileNotFoundError:
    """The refusal for a dataset setting without a path whose files have not been downloaded yet."""
    s = SETS[name]
    return DatasetFileNotFoundError(
        f"{s.title} is not downloaded yet: press Download in the Data workspace or run `netcanvas data download "
        f"{name}` (it goes to {cache_root() / name}), or set the dataset's path to a folder that holds its files")


def missing_download(dataset) -> str | None:
    """What a dataset section needs that this machine has not downloaded (a downloadable set without a path), or None."""
    name = dataset.get("name")
    if name in SETS and not dataset.get("path") and not is_downloaded(name):
        return f"needs {SETS[name].title}, which this machine has not downloaded (netcanvas data download {name})"
    return None


def download_dataset(name: str, progress: Callable[[str, int, int | None], None] | None = None,
                     cancelled: Callable[[], bool] | None = None, timeout: float = 30.0) -> Path:
    """Download dataset `name`'s files (those not yet in the cache) and return the folder the loader reads.

    `progress(file, done, total)` is called as bytes arrive. DatasetDownloadError names what failed and,
    offline, each file and where to put it by hand; DownloadCancelled when `cancelled()` turns True.
    """
    if name not in SETS:
        raise DatasetDownloadError(f"there is no download for dataset {name!r}; the downloadable ones are "
                                   f"{', '.join(SETS)}")
    s = SETS[name]
    root = cache_root() / name
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetDownloadError(f"cannot create the dataset folder {root} ({exc.strerror or exc}); set "
                                   "NETCANVAS_DATA_DIR to a folder you can write") from None
    for file, md5 in s.files:
        report: Progress | None = (lambda done, total, file=file: progress(file, done, total)) if progress else None
        try:
            path = download_first(s.urls(file), root, file, md5=md5, progress=report, cancelled=cancelled,
                                  timeout=timeout)
        except DownloadCancelled:
            raise
        except DownloadError as exc:
            missing = [f for f, _ in s.files if not (root / f).is_file()]
            raise DatasetDownloadError(f"{s.title} could not be downloaded: {exc}. The files it needs are "
                                       f"{', '.join(missing)}, in {root}") from None
        if s.extract:
            _unpack(path, root / s.extract, s.members)
    return dataset_folder(name)


def _unpack(archive: Path, folder: Path, members: tuple[str, ...]) -> None:
    """The `members` of a tar.gz (regular files, matched by their base name) into `folder`, nothing else."""
    if all((folder / m).is_file() for m in members):
        return
    folder.mkdir(parents=True, exist_ok=True)
    found = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if base not in members or not member.isreg():
                    continue  # folders, links, devices and unexpected names stay in the archive
                source = tar.extractfile(member)
                if source is None:
                    continue
                part = folder / (base + ".part")
                with source, open(part, "wb") as out:
                    while block := source.read(1 << 20):
                        out.write(block)
                os.replace(part, folder / base)
                found.add(base)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetDownloadError(f"{archive.name} cannot be unpacked ({exc}); remove it and download again") from None
    missing = [m for m in members if m not in found and not (folder / m).is_file() and m != "batches.meta.txt"]
    if missing:
        raise DatasetDownloadError(f"{archive.name} lacks {', '.join(missing)}; remove it and download again")
