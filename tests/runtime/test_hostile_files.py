"""Hostile files, as issue 20 probed them: each one refused in one line (exit 2) within a memory cap,
running no code and changing no file, or read in bounded memory when it is within the limits.

Every CLI call runs in a child process capped at what it has mapped after its imports plus 1 GiB
(tests/runtime/conftest.py), so a reader that allocates what a file claims fails here instead of
taking the machine down.
"""

from __future__ import annotations

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

from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header says width x height; a few bytes of pixel data (its size is read from the header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def array_claiming(path: Path, shape: tuple[int, ...], npz: bool) -> None:
    """An .npy (or an .npz holding x) whose header promises `shape` float32 but which holds 1 KiB."""
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    if not npz:
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(b"\0" * 1024)
        return
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 1024)


def trained(tmp: Path, template: str) -> tuple[Path, Path]:
    project = tmp / f"{template}.json"
    assert main(["new", "--template", template, str(project)]) == 0
    run = tmp / f"{template}.run"
    assert main(["train", str(project), "--epochs", "1", "--out", str(run), "--device", "cpu"]) == 0
    return project, run


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("iris"), "mlp_iris")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("digits"), "lenet_digits")


# ---------------------------------------------------------------- 2. predict has size limits


@pytest.mark.parametrize("name, shape, npz, words", [
    ("zeros.npz", (134_217_728, 4), True, "zeros.npz (an array of shape (134217728, 4) float32) needs 4.0 GiB"),
    ("huge.npy", (100_000_000_000, 4), False, "huge.npy (an array of shape (100000000000, 4) float32) needs"),
])
def test_predict_refuses_an_array_whose_header_claims_more_than_the_limit(iris, tmp_path, bounded_cli, name, shape,
                                                                          npz, words):
    project, run = iris
    array_claiming(tmp_path / name, shape, npz)
    before = (tmp_path / name).read_bytes()
    result = bounded_cli(["predict", project, "--run", run, tmp_path / name],
                         env={"NETCANVAS_MAX_DATA_BYTES": "1GiB"})
    assert result.code == 2
    line = result.one_line()
    assert words in line and "more than the limit of 1.0 GiB" in line and "NETCANVAS_MAX_DATA_BYTES" in line, line
    assert result.grew_mb < 100
    assert (tmp_path / name).read_bytes() == before


@pytest.mark.parametrize("side, words", [(20000, "is 20000x20000 pixels; decoding it needs 1.5 GiB"),
                                         (12000, "is 12000x12000 pixels; decoding it needs 549.3 MiB")])
def test_predict_refuses_an_image_larger_than_the_pixel_limit_from_its_header(digits, tmp_path, bounded_cli, side,
                                                                              words):
    project, run = digits
    path = tmp_path / f"big{side}.png"
    path.write_bytes(png_header(side, side))
    result = bounded_cli(["predict", project, "--run", run, path])
    assert result.code == 2
    line = result.one_line()  # no DecompressionBombWarning from Pillow, no traceback
    assert f"big{side}.png {words}" in line and "NETCANVAS_MAX_IMAGE_PIXELS" in line, line
    assert result.grew_mb < 100


def test_predict_reads_a_large_array_in_bounded_memory_and_streams_its_rows(iris, tmp_path, bounded_cli):
    project, run = iris
    x = np.zeros((300_000, 4), np.float32)  # 4.6 MiB decoded from a few KiB; each row used to become its own array
    np.savez_compressed(tmp_path / "rows.npz", x=x)
    result = bounded_cli(["predict", project, "--run", run, tmp_path / "rows.npz", "--json"], cap_mb=1024)
    assert result.code == 0, result.err
    assert result.out.startswith("[\n  {\n    \"input\": \"rows.npz[0]\"") and result.out.endswith("}\n]\n")
    assert result.out.count('"input"') == len(x)
    assert result.grew_mb < 400  # the rows' dicts are made and printed a batch at a time


def test_reading_a_large_array_takes_its_size_and_one_copy_in_the_models_dtype(iris, tmp_path):
    project, run = iris
    np.savez_compressed(tmp_path / "big.npz", x=np.zeros((16_000_000, 4), np.float64))  # 488 MiB decoded
    code = f"""
import json, resource
from pathlib import Path
from runtime.commands.predict import read_inputs
from runtime.preprocess import read_preprocessing
prep = read_preprocessing(Path({str(run)!r}))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
samples = read_inputs(Path({str(tmp_path / 'big.npz')!r}), prep)
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({{"shape": samples.x.shape, "dtype": str(samples.x.dtype), "grew_mb": grew}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["shape"] == [16_000_000, 4] and result["dtype"] == "float32"
    assert result["grew_mb"] < 488 + 244 + 100  # the float64 array as read and its float32 copy, nothing per row


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_predict_says_a_fifo_or_a_device_is_not_a_regular_file(iris, tmp_path, capsys, kind):
    project, run = iris
    path = Path("/dev/zero")
    if kind == "fifo":
        path = tmp_path / "inputs.csv"
        os.mkfifo(path)
    capsys.readouterr()
    assert main(["predict", str(project), "--run", str(run), str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a folder" not in err
    assert ("is a pipe (FIFO), not a regular file" if kind == "fifo" else "is a device, not a regular file") in err
