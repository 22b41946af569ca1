"""Memory bombs and hangs are refused before anything large is read: devices and FIFOs at once,
npz and IDX headers, image sizes and the decoded total checked first, images reduced while decoded.

Memory is measured in a child process (its peak RSS, from getrusage, against the peak right after
its imports), never by timing.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, resource, sys
import numpy as np
import PIL.Image, PIL.PngImagePlugin, PIL.JpegImagePlugin
from runtime.data.files import load_csv, load_image_folder, load_npz, read_idx
from runtime.export.formats import read_weights
from runtime.train.trainer import last_event, train
from graph_builder import Graph, Project

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def wrong_input_project():
    g = Graph()
    a = g.add_node("Input", params={"shape": [1000000]})
    b = g.add_node("Linear", params={"out_features": 1000})  # 1e9 weights: 4 GB if it were built
    c = g.add_node("Output")
    g.connect(a.id, b.id); g.connect(b.id, c.id)
    return Project(g, {"name": "iris"}, {"epochs": 1})

bombs = json.loads(sys.argv[1])
calls = {
    "csv": lambda p: load_csv(p), "npz": lambda p: load_npz(p), "idx": lambda p: read_idx(__import__("pathlib").Path(p)),
    "images": lambda p: load_image_folder(p, image_size=32), "weights": lambda p: read_weights(p),
}
base = peak_mb()
for name, kind, path in bombs:
    before = peak_mb()
    try:
        if kind == "train":
            event = last_event(train(wrong_input_project(), run_dir=None, live=False))
            result = {"error": event["kind"], "message": event["message"]}
        else:
            out = calls[kind](path)
            result = {"error": None, "message": "", "shape": list(out.x.shape) if hasattr(out, "x") else None}
    except Exception as exc:
        result = {"error": type(exc).__name__, "message": str(exc)}
    result.update(name=name, grew_mb=peak_mb() - before)
    print(json.dumps(result), flush=True)
"""


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header says width x height (no pixel data needed to read its size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def npz_promising(path: Path, shape: tuple[int, ...]) -> None:
    """An .npz whose x header promises `shape` float32 but which holds almost nothing."""
    with zipfile.ZipFile(path, "w") as z:
        with z.open("x.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
            f.write(b"\0" * 1024)
        with z.open("y.npy", "w") as f:
            np.save(f, np.zeros(10, dtype=np.int64))


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bombs")
    made = []
    fifo = d / "fifo.csv"
    os.mkfifo(fifo)
    made += [("/dev/zero as CSV", "csv", "/dev/zero"), ("a FIFO as CSV", "csv", str(fifo)),
             ("/dev/zero as npz", "npz", "/dev/zero"), ("/dev/zero as weights", "weights", "/dev/zero"),
             ("a FIFO as weights", "weights", str(fifo))]
    npz_promising(d / "huge.npz", (100000, 100000))
    made.append(("npz promising 100000x100000", "npz", str(d / "huge.npz")))
    zero_d = d / "scalar.npz"
    np.savez(zero_d, x=np.float32(3.0), y=np.int64(1))
    made.append(("0-d npz", "npz", str(zero_d)))
    idx = d / "train-images-idx3-ubyte.gz"  # the header promises 2,000,000 images of 28x28: 1.5 GB
    with gzip.open(idx, "wb") as f:
        f.write(b"\0\0\x08\x03" + struct.pack(">III", 2_000_000, 28, 28) + b"\0" * 1_000_000)
    made.append(("gzipped IDX inflating to 1.5 GB", "idx", str(idx)))
    padded = d / "padded-idx1-ubyte.gz"  # a small header with 200 MB of padding behind it
    with gzip.open(padded, "wb", compresslevel=1) as f:
        f.write(b"\0\0\x08\x01" + struct.pack(">I", 10))
        block = b"\0" * 2**20
        for _ in range(200):
            f.write(block)
    made.append(("IDX padded by 200 MB", "idx", str(padded)))
    big = d / "big_png"
    for cls in ("a", "b"):
        (big / cls).mkdir(parents=True)
        (big / cls / "x.png").write_bytes(png_header(64, 64) if cls == "a" else png_header(15000, 15000))
    made.append(("15000x15000 PNG in a folder", "images", str(big)))
    wide = d / "wide_png"
    for cls in ("a", "b"):
        (wide / cls).mkdir(parents=True)
        (wide / cls / "x.png").write_bytes(png_header(64, 64) if cls == "a" else png_header(9000, 9000))
    made.append(("9000x9000 PNG in a folder", "images", str(wide)))
    photos = d / "photos"
    from PIL import Image

    picture = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    for cls in ("cats", "dogs"):
        (photos / cls).mkdir(parents=True)
        for i in range(4):
            picture.save(photos / cls / f"{i}.jpg", quality=70)
    made.append(("8 photos of 12 megapixels", "images", str(photos)))
    made.append(("an Input of 4 GB against iris", "train", ""))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NETCANVAS_MAX_DATA_BYTES": str(1 << 30)}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(made)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=d, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}


@pytest.mark.parametrize("name, words", [
    ("/dev/zero as CSV", "'/dev/zero' is a device, not a regular file"),
    ("a FIFO as CSV", "is a pipe (FIFO), not a regular file"),
    ("/dev/zero as npz", "is a device, not a regular file"),
    ("/dev/zero as weights", "is a device, not a regular file"),
    ("a FIFO as weights", "is a pipe (FIFO), not a regular file"),
])
def test_devices_and_fifos_are_refused_without_reading_them(bombs, name, words):
    result = bombs[name]
    assert result["error"] in ("DatasetSettingError", "WeightsFileError") and words in result["message"]
    assert result["grew_mb"] < 50


@pytest.mark.parametrize("name, words", [
    ("npz promising 100000x100000", ("huge.npz (x (100000, 100000) float32, y (10,) int64) needs 74.5 GiB in "
                                     "memory, more than the limit of 1.0 GiB")),
    ("gzipped IDX inflating to 1.5 GB", "train-images-idx3-ubyte.gz (shape (2000000, 28, 28)) needs 7.3 GiB"),
    ("IDX padded by 200 MB", "is truncated or padded"),
    ("15000x15000 PNG in a folder", "b/x.png is 15000x15000 pixels; decoding it needs 858.3 MiB"),
    ("9000x9000 PNG in a folder", "b/x.png is 9000x9000 pixels; decoding it needs 309.0 MiB"),
    ("0-d npz", "x is a single number (a 0-d array)"),
])
def test_a_memory_bomb_is_refused_from_its_header_with_the_size_it_needs(bombs, name, words):
    result = bombs[name]
    assert result["error"] in ("DatasetTooLargeError", "DatasetFormatError"), result
    assert words in result["message"], result["message"]
    assert "e+0" not in result["message"]  # sizes read as 7.3 GiB, not 7.84e+09
    assert result["grew_mb"] < 500


def test_photos_are_reduced_while_they_are_decoded(bombs):
    result = bombs["8 photos of 12 megapixels"]
    assert result["error"] is None and result["shape"] == [8, 3, 32, 32]
    assert result["grew_mb"] < 40  # one full-size photo alone would take 36 MB decoded


def test_train_checks_the_input_against_the_data_before_building_the_model(bombs):
    result = bombs["an Input of 4 GB against iris"]
    assert result["error"] == "model" and "the iris data gives (N, 4)" in result["message"], result
    assert result["grew_mb"] < 500


def test_validate_refuses_a_network_whose_training_step_exceeds_the_machines_memory(tmp_path, capsys):
    from graph_builder import Graph, Project
    from graph_builder.footprint import machine_memory
    from graph_builder.memory import estimate_project
    from graph_builder.project import save_project
    from runtime.cli import main

    g = Graph()
    a = g.add_node("Input", params={"shape": [100000]})
    b = g.add_node("Linear", params={"out_features": 100000})  # 10 billion parameters
    c = g.add_node("Output")
    g.connect(a.id, b.id)
    g.connect(b.id, c.id)
    project = Project(g, {"name": "iris"}, {"device": "cpu"})
    save_project(project, tmp_path / "huge.json")
    too_big = machine_memory() and estimate_project(project).peak > machine_memory()
    assert main(["validate", str(tmp_path / "huge.json")]) == (1 if too_big else 0)
    out = capsys.readouterr().out
    if too_big:
        assert out.startswith("error: training needs about ") and "37.3 GiB of weights" in out
    else:
        assert "valid:" in out
