"""MNIST, Fashion-MNIST and CIFAR-10 downloads against real HTTP servers on 127.0.0.1 serving files in the real
formats (gzipped IDX, CIFAR-10's binary tar.gz), their checksums passed in: resume, a corrupt file, a dead mirror,
no network; then the textbook templates build with their exact parameter counts and train on what was served."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from runtime.data import DOWNLOAD_SETS, DatasetDownloadError, dataset_folder, download_dataset, load_splits
from runtime.data.downloads import DownloadSet
from tests.datasets import cifar_archive, mnist_files

ROOT = Path(__file__).resolve().parents[2]


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Server:
    """Serves `files` by name; honours Range; the first `cuts` responses stop half-way (a dropped connection)."""

    def __init__(self, files: dict[str, bytes], cuts: int = 0):
        self.files, self.cuts = files, cuts
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                rng = self.headers.get("Range")
                owner.requests.append((name, rng))
                data = owner.files.get(name)
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if owner.cuts > 0:
                    owner.cuts -= 1
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_mirror() -> str:
    """A base URL nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/gone/"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def serve_as(monkeypatch, name: str, files: dict[str, bytes], *mirrors: str) -> None:
    """Dataset `name`'s entry with the served files' checksums and these mirrors (the real names kept)."""
    real = DOWNLOAD_SETS[name]
    assert [f for f, _ in real.files] == list(files), "the served files must carry the official names"
    monkeypatch.setitem(DOWNLOAD_SETS, name, DownloadSet(real.name, real.title, tuple((f, md5(d)) for f, d in
                                                                                     files.items()),
                                                         mirrors, real.extract, real.members))


# ---------------------------------------------------------------- the tests

def test_the_official_lists_name_the_real_files_with_md5s_and_mirrors():
    mnist = DOWNLOAD_SETS["mnist"]
    assert [f for f, _ in mnist.files] == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert len(mnist.mirrors) == 2 and all(len(m) == 32 for _, m in mnist.files)
    assert DOWNLOAD_SETS["cifar10"].files == (("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),)


def test_mnist_downloads_with_progress_and_loads_without_a_path(cache, monkeypatch):
    files = mnist_files()
    seen = []
    with Server(files) as server:
        serve_as(monkeypatch, "mnist", files, server.base)
        with pytest.raises(Exception, match="not downloaded yet.*netcanvas data download mnist"):
            load_splits({"name": "mnist"})
        folder = download_dataset("mnist", progress=lambda f, d, t: seen.append((f, d, t)))
    assert folder == dataset_folder("mnist") == cache / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)  # no .part left
    assert {f for f, _, _ in seen} == set(files) and seen[-1][1] == seen[-1][2]
    splits = load_splits({"name": "mnist", "val_fraction": 0.25})
    x, y = splits["test"]
    assert x.shape == (40, 1, 28, 28) and sorted(set(y.tolist())) == list(range(10))  # the official test split
    assert len(splits["train"][0]) + len(splits["val"][0]) == 120


def test_a_cut_connection_is_resumed_with_a_range_request(cache, monkeypatch):
    files = mnist_files()
    with Server(files, cuts=1) as server:
        serve_as(monkeypatch, "mnist", files, server.base)
        download_dataset("mnist")
    first = [r for r in server.requests if r[0] == "train-images-idx3-ubyte.gz"]
    assert first[0][1] is None and first[1][1].startswith("bytes=")  # the second request asks for the rest
    assert (cache / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == files["train-images-idx3-ubyte.gz"]


def test_a_corrupt_file_is_removed_and_the_next_mirror_gives_the_good_one(cache, monkeypatch):
    files = mnist_files()
    damaged = dict(files, **{"train-labels-idx1-ubyte.gz": files["train-labels-idx1-ubyte.gz"][:-8] + b"\0" * 8})
    with Server(damaged) as bad, Server(files) as good:
        serve_as(monkeypatch, "mnist", files, bad.base, good.base)
        download_dataset("mnist")
    assert (cache / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes() == files["train-labels-idx1-ubyte.gz"]
    assert ("train-labels-idx1-ubyte.gz", None) in good.requests
    assert not list((cache / "mnist").glob("*.part"))


def test_a_dead_mirror_passes_to_the_next(cache, monkeypatch):
    files = mnist_files()
    with Server(files) as server:
        serve_as(monkeypatch, "mnist", files, dead_mirror(), server.base)
        download_dataset("mnist")
    assert len(server.requests) == 4


def test_offline_one_message_names_the_files_and_where_they_go(cache, monkeypatch):
    files = mnist_files()
    serve_as(monkeypatch, "mnist", files, dead_mirror(), dead_mirror())
    with pytest.raises(DatasetDownloadError) as info:
        download_dataset("mnist", timeout=5)
    text = str(info.value)
    assert "offline" in text and "t10k-labels-idx1-ubyte.gz" in text and str(cache / "mnist") in text
    assert "\n" not in text


def test_the_cli_downloads_with_a_progress_bar_and_says_where(cache, monkeypatch, capsys):
    from runtime.cli import main

    files = mnist_files()
    with Server(files) as server:
        serve_as(monkeypatch, "fashion_mnist", dict(files), server.base)
        assert main(["data", "download", "fashion_mnist"]) == 0
    out = capsys.readouterr()
    assert f"fashion_mnist is ready in {cache / 'fashion_mnist'}" in out.out and "100%|" in out.err
    assert main(["data", "list"]) == 0
    assert "fashion_mnist  Fashion-MNIST: downloaded" in capsys.readouterr().out
    serve_as(monkeypatch, "mnist", files, dead_mirror())
    assert main(["data", "download", "mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cannot download mnist: MNIST could not be downloaded") and "Traceback" not in err


def test_cifar10_binary_downloads_unpacks_only_its_files_and_loads(cache, monkeypatch, tmp_path):
    archive = cifar_archive(evil=True)
    with Server({"cifar-10-binary.tar.gz": archive}) as server:
        serve_as(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": archive}, server.base)
        folder = download_dataset("cifar10")
    assert folder == cache / "cifar10" / "cifar-10-batches-bin"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin", "batches.meta.txt"])
    assert not (tmp_path / "escaped.bin").exists() and not list(cache.rglob("escaped.bin"))
    splits = load_splits({"name": "cifar10", "val_fraction": 0.2})
    assert splits["test"][0].shape == (20, 3, 32, 32) and len(splits["train"][0]) + len(splits["val"][0]) == 100


def test_the_textbook_templates_have_their_exact_parameter_counts_and_train_on_the_served_data(cache, monkeypatch,
                                                                                             tmp_path):
    from graph_builder import load_project
    from runtime.compile import build_module
    from runtime.train import last_event, train

    counts = {}
    for name in ("mnist_mlp", "cifar10_cnn"):
        project = load_project(ROOT / "resources" / "templates" / f"{name}.json")
        counts[name] = sum(p.numel() for p in build_module(project.graph).parameters())
    assert counts == {"mnist_mlp": 101_770, "cifar10_cnn": 122_570}

    files, archive = mnist_files(train=300), cifar_archive()
    with Server({**files, "cifar-10-binary.tar.gz": archive}) as server:
        serve_as(monkeypatch, "mnist", files, server.base)
        serve_as(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": archive}, server.base)
        download_dataset("mnist")
        download_dataset("cifar10")
    for name in ("mnist_mlp", "cifar10_cnn"):
        project = load_project(ROOT / "resources" / "templates" / f"{name}.json")
        project.training.update({"epochs": 2 if name == "mnist_mlp" else 1, "device": "cpu"})
        done = last_event(train(project.copy(), run_dir=tmp_path / name, live=False))
        assert done["type"] == "finished", done
        if name == "mnist_mlp":  # the served digits are bars in distinct rows: learnable in two epochs
            assert done["test"]["accuracy"] >= 0.9, done["message"]
