"""Fuzzing every reader of an outside file: each damaged or hostile file gives a result or one error of the
reader's own kind, never another exception, a hang or a blow-up.

Hypothesis mutates real files (a project, a CSV, an .npz, an .npy, a PNG, safetensors weights, a
torch.save state dict, a .pt2 program, an ONNX model, an Optuna study): bytes flipped, cut or
inserted, array headers and zip members rewritten to claim huge sizes. It runs in a child process
(this file run as a script) whose address space is capped at what it has mapped after its imports
plus 1.5 GiB, so a reader that allocates what a file claims fails the test with a MemoryError
instead of taking the machine down; a hang fails it by the parent's timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 200  # per reader; the whole run stays under a minute on two cores
CAP = 3 << 29  # 1.5 GiB above what the child has mapped after its imports


def test_every_reader_gives_a_result_or_its_own_error_under_a_memory_cap(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NETCANVAS_MAX_DATA_BYTES": "512MiB",
           "NETCANVAS_MAX_MODEL_BYTES": "512MiB", "NETCANVAS_MAX_CHECK_BYTES": "256MiB"}
    done = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600, check=False)
    report = done.stdout.strip().splitlines()
    assert done.returncode == 0, "\n".join(report[-20:]) + "\n" + done.stderr[-4000:]
    summary = json.loads(report[-1])
    assert set(summary) == set(READERS) and all(n >= EXAMPLES for n in summary.values()), summary


# ---------------------------------------------------------------- the child: seeds, readers, mutations

READERS = ("project", "csv", "text", "npz", "idx", "image_folder", "npy_predict", "png_predict", "safetensors",
           "pth", "pt2", "onnx", "study")


def _seeds(folder: Path) -> dict[str, bytes]:
    """One valid file of each kind, as bytes."""
    import io
    import sqlite3
    import struct

    import numpy as np
    import torch
    from PIL import Image
    from safetensors.torch import save

    from graph_builder import Graph, Project
    from graph_builder.project import dumps_project

    g = Graph()
    nodes = [g.add_node("Input", params={"shape": (4,)}), g.add_node("Linear", params={"out_features": 3}),
             g.add_node("Output")]
    g.connect(nodes[0].id, nodes[1].id)
    g.connect(nodes[1].id, nodes[2].id)
    seeds = {"project": dumps_project(Project(g, {"name": "iris"}, {"epochs": 1})).encode()}
    seeds["csv"] = b"a,b,c,d,label\n" + b"".join(f"{i},{i % 3},{i % 5},{i % 7},{'xy'[i % 2]}\n".encode()
                                                 for i in range(20))
    seeds["text"] = b"review,sentiment\n" + b"".join(f'"a {"good" if i % 2 else "bad"} film, {i}",{"+-"[i % 2]}\n'
                                                    .encode() for i in range(20))
    buffer = io.BytesIO()
    np.savez(buffer, x=np.random.default_rng(0).random((10, 4), dtype=np.float32), y=np.arange(10) % 2)
    seeds["npz"] = buffer.getvalue()
    seeds["idx"] = b"\0\0\x08\x03" + struct.pack(">III", 3, 4, 4) + bytes(range(48))
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(1).random((3, 1, 8, 8), dtype=np.float32))
    seeds["npy_predict"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((16, 16)).save(buffer, "PNG")
    seeds["png_predict"] = seeds["image_folder"] = buffer.getvalue()
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    seeds["safetensors"] = save({k: v.contiguous() for k, v in module.state_dict().items()})
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    seeds["pth"] = buffer.getvalue()
    torch.export.save(torch.export.export(module.eval(), (torch.randn(2, 4),)), str(folder / "seed.pt2"))
    seeds["pt2"] = (folder / "seed.pt2").read_bytes()
    torch.onnx.export(module.eval(), (torch.randn(1, 4),), str(folder / "seed.onnx"), dynamo=False,
                      input_names=["x"])
    seeds["onnx"] = (folder / "seed.onnx").read_bytes()
    with sqlite3.connect(folder / "seed.db") as db:
        db.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
        db.execute("CREATE TABLE version_info (version_info_id INTEGER PRIMARY KEY, schema_version INTEGER)")
    db.close()
    seeds["study"] = (folder / "seed.db").read_bytes()
    return seeds


def _readers(folder: Path):
    """reader name -> (file suffix, call(path), the error kinds it may raise)."""
    from graph_builder.errors import GraphBuilderError
    from graph_builder.project import load_project
    from runtime.data.inputs import PredictInputError, read_inputs
    from runtime.data.errors import DataError
    from runtime.data.files import load_csv, load_image_folder, load_npz, read_idx
    from runtime.data.text import encode, fit_tokenizer, load_text
    from runtime.export.formats import WeightsFileError, read_weights
    from runtime.importers import ModelImportError, read_source
    from runtime.export.preprocess import Preprocessing
    from runtime.pretrained.files import WeightsFileError as PthError
    from runtime.pretrained.files import read_state_dict
    from runtime.tune.study import TuneError, check_study_file

    image = Preprocessing("classification", ("a", "b"), (1, 8, 8), "float32", "digits", True, None, None, None,
                          "fuzz", None, None)
    return {
        "project": (".json", load_project, (GraphBuilderError,)),
        "csv": (".csv", lambda p: load_csv(p), (DataError,)),
        "text": (".csv", lambda p: encode(fit_tokenizer(load_text(p).x, "bpe", 50, 8), load_text(p).x), (DataError,)),
        "npz": (".npz", load_npz, (DataError,)),
        "idx": ("-images-idx3-ubyte", read_idx, (DataError,)),
        "image_folder": (".png", lambda p: load_image_folder(_image_folder(p), image_size=8), (DataError,)),
        "npy_predict": (".npy", lambda p: read_inputs(p, image), (PredictInputError,)),
        "png_predict": (".png", lambda p: read_inputs(p, image), (PredictInputError,)),
        "safetensors": (".safetensors", read_weights, (WeightsFileError,)),
        "pth": (".pth", read_state_dict, (PthError,)),
        "pt2": (".pt2", lambda p: read_source(str(p)), (ModelImportError,)),
        "onnx": (".onnx", lambda p: read_source(str(p)), (ModelImportError,)),
        "study": (".db", lambda p: check_study_file(p, folder), (TuneError,)),
    }


def _image_folder(image: Path) -> Path:
    """A two-class image folder beside `image`: the (mutated) image in one class, a good one in the other."""
    import shutil

    root = image.parent / "images"
    shutil.rmtree(root, ignore_errors=True)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
    shutil.copy(image, root / "a" / "x.png")
    shutil.copy(image.parent / "warm.png", root / "b" / "y.png")
    return root


def _mutations():
    """A Hypothesis strategy of functions bytes -> bytes: the ways a file is damaged or made hostile."""
    from hypothesis import strategies as st

    huge = st.sampled_from([2**31, 2**40, 10**12, 2**62, 0, 1, 65535])

    def flip(data: bytes, at: int, value: int) -> bytes:
        at %= max(1, len(data))
        return data[:at] + bytes([value]) + data[at + 1:]

    def cut(data: bytes, at: int) -> bytes:
        return data[:at % max(1, len(data))]

    def insert(data: bytes, at: int, extra: bytes) -> bytes:
        at %= max(1, len(data) + 1)
        return data[:at] + extra + data[at:]

    def claim(data: bytes, n: int) -> bytes:
        """Every small number written in decimal (npy header shapes, JSON sizes) made `n`."""
        import re

        return re.sub(rb"(?<=[\[( :,])\d{1,3}(?=[,)\]}])", str(n).encode(), data, count=3)

    def rezip(data: bytes, n: int, flip_at: int) -> bytes:
        """A zip archive (npz, pt2, torch.save) with a member's text claiming `n` or one byte flipped."""
        import io
        import zipfile

        try:
            source = zipfile.ZipFile(io.BytesIO(data))
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as target:
                infos = source.infolist()
                victim = infos[flip_at % len(infos)].filename if infos else None
                for info in infos:
                    body = source.read(info)
                    if info.filename == victim:
                        body = claim(body, n) if body[:1] in (b"{", b"\x93") else flip(body, flip_at, flip_at % 256)
                    target.writestr(info, body)
            return out.getvalue()
        except Exception:  # noqa: BLE001 - not a zip (any more): left as it is
            return data

    return st.one_of(
        st.builds(lambda at, v: lambda d: flip(d, at, v), st.integers(0, 10**6), st.integers(0, 255)),
        st.builds(lambda at: lambda d: cut(d, at), st.integers(0, 10**6)),
        st.builds(lambda at, e: lambda d: insert(d, at, e), st.integers(0, 10**6), st.binary(max_size=64)),
        st.builds(lambda n: lambda d: claim(d, n), huge),
        st.builds(lambda n, at: lambda d: rezip(d, n, at), huge, st.integers(0, 10**6)),
    )


def child(folder: Path) -> None:
    import contextlib
    import resource
    import traceback

    import torch
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    torch.set_num_threads(1)
    seeds = _seeds(folder)
    readers = _readers(folder)
    for name, (suffix, call, _) in readers.items():  # every reader imported and warmed up before the cap
        path = folder / f"warm{suffix}"
        path.write_bytes(seeds[name])
        with contextlib.suppress(Exception):  # the seed's own outcome does not matter here
            call(path)
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (mapped + CAP, mapped + CAP))
    counts = {name: 0 for name in readers}

    def fuzzer(name: str, suffix: str, call, allowed):
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(_mutations(), min_size=1, max_size=3))
        def fuzz(mutations):
            data = seeds[name]
            for mutate in mutations:
                data = mutate(data)
            path = folder / f"case{suffix}"
            path.write_bytes(data)
            counts[name] += 1
            try:
                call(path)
            except allowed as exc:
                assert str(exc).strip(), f"{name}: an empty message from {type(exc).__name__}"
            except BaseException as exc:
                print(f"{name}: {type(exc).__name__} escaped the reader for a file of {len(data)} bytes "
                      f"(saved as {path}.failed)", flush=True)
                path.with_name(path.name + ".failed").write_bytes(data)
                traceback.print_exc()
                raise
        return fuzz

    for name, (suffix, call, allowed) in readers.items():
        fuzzer(name, suffix, call, allowed)()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    child(Path(sys.argv[1]))
