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
    assert result.code == 0, result.err + result.out[-300:]
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
from runtime.export.preprocess import read_preprocessing
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


# ---------------------------------------------------------------- 1. a .pt2 runs no code on import


class Payload:
    """Unpickling this touches the marker file: proof that a pickle in the archive ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def genuine_pt2(path: Path) -> None:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return torch.relu(self.fc(x))

    torch.export.save(torch.export.export(Net().eval(), (torch.randn(2, 4),)), str(path))


def rewritten(source: Path, target: Path, change) -> None:
    """`target`: the archive `source` with `change(inner name, bytes) -> bytes | None` applied to each member
    (None drops it); `change(None, None)` may return extra members {inner name: bytes}."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        prefix = src.infolist()[0].filename.split("/", 1)[0] + "/"
        for info in src.infolist():
            data = change(info.filename[len(prefix):], src.read(info))
            if data is not None:
                out.writestr(info.filename, data)
        for inner, data in (change(None, None) or {}).items():
            out.writestr(prefix + inner, data)


def pickled(marker: Path) -> bytes:
    import io
    import pickle

    import torch

    buffer = io.BytesIO()
    torch.save(Payload(marker), buffer)
    return buffer.getvalue() if marker.suffix != ".raw" else pickle.dumps(Payload(marker))


def _edit_json(data: bytes, edit) -> bytes:
    value = json.loads(data)
    edit(value)
    return json.dumps(value).encode()


def _weights_pickled(marker):
    def change(inner, data):
        if inner == "data/weights/model_weights_config.json":
            def edit(c):
                c["config"]["fc.weight"]["use_pickle"] = True
            return _edit_json(data, edit)
        if inner == "data/weights/weight_0":
            return pickled(marker)
        return data
    return change


def _constant_object(marker, prefix):
    def change(inner, data):
        if inner is None:
            return {f"data/constants/{prefix}0": pickled(marker.with_suffix(".raw") if prefix == "opaque_obj_"
                                                             else marker)}
        if inner == "data/constants/model_constants_config.json":
            def edit(c):
                c["config"]["obj"] = {"path_name": f"{prefix}0", "is_param": False, "use_pickle": True,
                                      "tensor_meta": None}  # as torch.export.save writes an object
            return _edit_json(data, edit)
        return data
    return change


def _sample_inputs_pickled(marker):
    return lambda inner, data: pickled(marker) if inner == "data/sample_inputs/model.pt" else data


def _input_name(marker):
    evil = f"x=__import__('pathlib').Path({str(marker)!r}).touch()"

    def change(inner, data):
        if inner == "models/model.json":
            text = data.decode().replace('"name": "x"', f'"name": {json.dumps(evil)}')
            return text.replace('"x": {', f'{json.dumps(evil)}: {{').replace('["x"]', f"[{json.dumps(evil)}]").encode()
        return data
    return change


def _size_expression(marker):
    evil = f"__import__('pathlib').Path({str(marker)!r}).touch()"

    def change(inner, data):
        if inner == "models/model.json":
            def edit(m):
                size = m["graph_module"]["graph"]["tensor_values"]["x"]["sizes"]
                size[0] = {"as_expr": {"expr_str": evil, "hint": {"as_int": 2}}}
            return _edit_json(data, edit)
        return data
    return change


@pytest.mark.parametrize("make, words", [
    (_weights_pickled, "the weight 'fc.weight' is pickled (use_pickle)"),
    (lambda m: _constant_object(m, "custom_obj_"), "the constant 'obj' is pickled (use_pickle)"),
    (lambda m: _constant_object(m, "opaque_obj_"), "the constant 'obj' is pickled (use_pickle)"),
    (_sample_inputs_pickled, "its sample inputs (data/sample_inputs/model.pt) need pickle to load"),
    (_input_name, "which is not an identifier"),
    (_size_expression, "that is not arithmetic on size symbols"),
])
def test_a_crafted_pt2_is_refused_in_one_line_and_its_payload_never_runs(tmp_path, capsys, make, words):
    genuine_pt2(tmp_path / "genuine.pt2")
    marker = tmp_path / "payload-ran"
    rewritten(tmp_path / "genuine.pt2", tmp_path / "evil.pt2", make(marker))
    capsys.readouterr()
    code = main(["import", str(tmp_path / "evil.pt2"), str(tmp_path / "out.json")])
    assert not marker.exists() and not marker.with_suffix(".raw").exists(), "the archive's payload ran"
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("cannot import") and "evil.pt2" in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out.safetensors").exists()


def test_an_empty_weight_record_declaring_a_huge_tensor_is_refused_before_torch_allocates_it(tmp_path, bounded_cli):
    genuine_pt2(tmp_path / "genuine.pt2")

    def change(inner, data):
        if inner == "data/weights/weight_0":
            return b""  # torch makes zeros of the declared size for an empty record
        if inner == "data/weights/model_weights_config.json":
            def edit(c):
                c["config"]["fc.weight"]["tensor_meta"]["sizes"] = [{"as_int": 100_000}, {"as_int": 100_000}]
            return _edit_json(data, edit)
        return data

    rewritten(tmp_path / "genuine.pt2", tmp_path / "huge.pt2", change)
    result = bounded_cli(["import", tmp_path / "huge.pt2", tmp_path / "out.json"],
                         env={"NETCANVAS_MAX_MODEL_BYTES": "1GiB"})
    assert result.code == 2
    line = result.one_line()
    assert "huge.pt2 (the tensors it declares) needs 37.3 GiB in memory, more than the limit of 1.0 GiB" in line
    assert "NETCANVAS_MAX_MODEL_BYTES" in line and result.grew_mb < 100


def test_a_damaged_pt2_is_one_line_without_torchs_log(tmp_path, capfd):
    genuine_pt2(tmp_path / "genuine.pt2")
    data = bytearray((tmp_path / "genuine.pt2").read_bytes())
    name = b"genuine/data/weights/weight_0"
    entry = data.find(name, data.find(name) + 1) - 46  # the record's central directory entry
    assert data[entry:entry + 4] == b"PK\x01\x02"
    data[entry + 10:entry + 12] = b"\x63\x00"  # a compression method nobody has: torch fails reading it
    (tmp_path / "damaged.pt2").write_bytes(bytes(data))
    capfd.readouterr()
    assert main(["import", str(tmp_path / "damaged.pt2"), str(tmp_path / "out.json")]) == 2
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith("cannot import"), err


def test_a_genuine_pt2_still_imports_and_matches(tmp_path, capsys):
    genuine_pt2(tmp_path / "genuine.pt2")
    assert main(["import", str(tmp_path / "genuine.pt2"), str(tmp_path / "out.json")]) == 0
    assert "match the original within" in capsys.readouterr().out


# ---------------------------------------------------------------- 3, 4. ONNX size claims and external data


def onnx_relu(path: Path, shape: list[int]) -> None:
    """A one-node ONNX model (ReLU) whose input declares `shape`: under a hundred bytes."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("side", [15000, 60000])
def test_an_onnx_input_claiming_a_huge_shape_is_refused_before_the_test_input_is_made(tmp_path, bounded_cli, side):
    onnx_relu(tmp_path / "claim.onnx", [1, side, side])
    assert (tmp_path / "claim.onnx").stat().st_size < 120
    result = bounded_cli(["import", tmp_path / "claim.onnx", tmp_path / "out.json"])
    assert result.code == 2
    line = result.one_line()
    assert f"claim.onnx's test run (inputs (1, {side}, {side}))" in line and "NETCANVAS_MAX_CHECK_BYTES" in line, line
    assert result.grew_mb < 200 and not (tmp_path / "out.json").exists()


def linear_onnx_with_external_data(folder: Path, location: str = "weights.bin") -> Path:
    import onnx
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "plain.onnx"
    torch.onnx.export(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval(), (torch.randn(1, 4),),
                      str(plain), dynamo=False, input_names=["x"])
    model = onnx.load(str(plain))
    plain.unlink()
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return folder / "model.onnx"


def test_onnx_external_data_is_read_from_beside_the_model_whatever_the_working_folder(tmp_path, bounded_cli):
    model = linear_onnx_with_external_data(tmp_path / "elsewhere" / "models")
    result = bounded_cli(["import", model, tmp_path / "out.json"])  # the child works in tmp_path, not beside it
    assert result.code == 0, result.err
    assert "match the original within" in result.out and (tmp_path / "out.safetensors").is_file()


@pytest.mark.parametrize("damage, words", [
    ("missing", "should be in 'weights.bin' beside it, but there is no such file"),
    ("truncated", "runs past the end of 'weights.bin'"),
    ("fifo", "is a pipe (FIFO), not a regular file"),
])
def test_onnx_external_data_that_is_missing_or_damaged_is_one_line(tmp_path, capsys, damage, words):
    model = linear_onnx_with_external_data(tmp_path / "m")
    data = tmp_path / "m" / "weights.bin"
    if damage == "missing":
        data.unlink()
    elif damage == "truncated":
        data.write_bytes(data.read_bytes()[:8])
    else:
        data.unlink()
        os.mkfifo(data)
    capsys.readouterr()
    assert main(["import", str(model), str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and words in lines[0], err
    assert not (tmp_path / "out.json").exists()


def test_onnx_external_data_outside_the_models_folder_is_refused(tmp_path, capsys):
    import onnx

    model_path = linear_onnx_with_external_data(tmp_path / "m")
    (tmp_path / "secret.bin").write_bytes((tmp_path / "m" / "weights.bin").read_bytes())
    model = onnx.load(str(model_path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../secret.bin"
    onnx.save(model, str(model_path))
    capsys.readouterr()
    assert main(["import", str(model_path), str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'../secret.bin', outside the model's folder" in err, err


# ---------------------------------------------------------------- 5. one writer per run folder


def test_a_second_writer_of_a_run_folder_is_refused_and_a_killed_writers_lock_is_taken_over(iris, tmp_path):
    import signal

    from graph_builder.runs import LOCK_FILE

    project, _ = iris
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "runtime.cli", "train", str(project), "--out", str(run),
                              "--epochs", "100000", "--device", "cpu"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        for line in first.stdout:  # the run folder is locked before training starts; wait for a checkpoint
            if line.split()[:2] == ["epoch", "2/100000"]:
                break
        log_before = (run / "metrics.jsonl").read_bytes()
        second = subprocess.run([sys.executable, "-m", "runtime.cli", "train", str(project), "--out", str(run),
                                 "--resume", "--device", "cpu", "--epochs", "3"], capture_output=True, text=True,
                                env=env, cwd=ROOT, timeout=120, check=False)
        assert second.returncode == 2, second.stderr
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
        assert f"the run folder {run} is being written by process {first.pid}" in lines[0] and "training it" in lines[0]
        assert (run / "metrics.jsonl").read_bytes()[:len(log_before)] == log_before  # the second wrote nothing
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        first.stdout.close()
    assert (run / LOCK_FILE).exists()  # left by the killed process: stale, and recognised as such
    reached = max(json.loads(line).get("epoch") or 0 for line in (run / "metrics.jsonl").read_text().splitlines()
                  if line.endswith("}"))
    resumed = subprocess.run([sys.executable, "-m", "runtime.cli", "train", str(project), "--out", str(run), "--resume",
                              "--device", "cpu", "--json", "--epochs", str(reached + 2)], capture_output=True,
                             text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [e["epoch"] for e in logged if e["type"] == "epoch"]
    assert epochs == sorted(set(epochs)), epochs  # every epoch logged once
    assert not (run / LOCK_FILE).exists()  # released at the end


def test_the_run_lock_refuses_a_second_holder_in_the_same_process_and_is_free_after_release(tmp_path):
    from graph_builder.runs import RunBusyError, RunLock

    with RunLock(tmp_path / "run").acquire("training"):
        with pytest.raises(RunBusyError, match=f"is being written by process {os.getpid()}"):
            RunLock(tmp_path / "run").acquire()
    with RunLock(tmp_path / "run"):
        pass


# ---------------------------------------------------------------- 6, 9. tune and train: one message, nothing changed


def iris_study_project(folder: Path, network: str = "Net", node_dimension: bool = False) -> Path:
    from graph_builder import Graph, Project, save_project
    from graph_builder.experiment import AddDimension
    from graph_builder.networks import Networks

    g = Graph()
    nodes = [g.add_node(t, params=p) for t, p in (("Input", {"shape": (4,)}), ("Linear", {"out_features": 8}),
                                                  ("ReLU", {}), ("Linear", {"out_features": 3}), ("Output", {}))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    project = Project(networks=Networks({network: g}), dataset={"name": "iris"}, training={"epochs": 1})
    project.experiment.apply(AddDimension({"setting": "lr", "low": 1e-3, "high": 1e-1, "log": True}))
    if node_dimension:
        project.experiment.apply(AddDimension({"network": network, "node": nodes[1].id, "param": "out_features",
                                               "low": 4, "high": 16}))
    folder.mkdir(parents=True, exist_ok=True)
    save_project(project, folder / "iris.json")
    return folder / "iris.json"


def tune_line(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["tune", *map(str, argv), "--jobs", "1"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err + captured.out and len(lines) == 1, captured.err
    return code, lines[0]


def test_tune_on_a_study_whose_stored_range_is_inverted_says_so_in_one_line(tmp_path, capsys):
    import sqlite3

    from runtime.tune.study import STUDY_FILE

    path = iris_study_project(tmp_path)
    assert main(["tune", str(path), "--trials", "1", "--jobs", "1"]) == 0
    study = tmp_path / "iris.runs" / STUDY_FILE
    with sqlite3.connect(study) as db:
        db.execute("""UPDATE trial_params SET distribution_json = '{"name": "FloatDistribution", "attributes":
                      {"step": null, "low": 0.1, "high": 0.001, "log": true}}'""")
    db.close()
    before = study.read_bytes()
    code, line = tune_line(capsys, path, "--trials", "2")
    assert code == 2 and f"the study file {study} holds trials that cannot be read" in line and "low" in line, line
    assert "are kept" in line and study.read_bytes() == before


def test_tune_refuses_an_sqlite_file_that_is_not_a_study_and_adds_no_table_to_it(tmp_path, capsys):
    import sqlite3

    from runtime.tune.study import STUDY_FILE

    path = iris_study_project(tmp_path)
    study = tmp_path / "iris.runs" / STUDY_FILE
    study.parent.mkdir()
    with sqlite3.connect(study) as db:
        db.execute("CREATE TABLE photos (id INTEGER, name TEXT)")
        db.execute("INSERT INTO photos VALUES (1, 'cat')")
    db.close()
    before = study.read_bytes()
    code, line = tune_line(capsys, path, "--trials", "1")
    assert code == 2 and "is an SQLite database but not an Optuna study (it holds the tables photos)" in line, line
    assert study.read_bytes() == before
    assert sorted(p.name for p in study.parent.iterdir()) == [STUDY_FILE, "study.lock"]  # no run was made


def test_tune_on_a_full_disk_is_one_line_and_keeps_the_finished_trials(small_disk, capsys):
    from runtime.tune.study import STUDY_FILE

    path = iris_study_project(small_disk.folder)
    assert main(["tune", str(path), "--trials", "1", "--jobs", "1"]) == 0
    runs = sorted(p.name for p in (small_disk.folder / "iris.runs").iterdir())
    small_disk.fill()
    code, line = tune_line(capsys, path, "--trials", "3")
    assert code == 1, line
    assert "No space left on device" in line or "database or disk is full" in line, line
    assert str(small_disk.folder) in line
    assert (small_disk.folder / "iris.runs" / STUDY_FILE).is_file()
    assert set(runs) <= {p.name for p in (small_disk.folder / "iris.runs").iterdir()}


def test_train_resume_on_a_full_disk_is_one_line_and_leaves_the_journal_whole(small_disk, capsys):
    assert main(["new", "--template", "mlp_iris", str(small_disk.folder / "p.json")]) == 0
    run = small_disk.folder / "run"
    assert main(["train", str(small_disk.folder / "p.json"), "--out", str(run), "--epochs", "2",
                 "--device", "cpu"]) == 0
    before = {name: (run / name).read_bytes() for name in ("metrics.jsonl", "checkpoint.pt", "config.json")}
    small_disk.fill()
    capsys.readouterr()
    assert main(["train", str(small_disk.folder / "p.json"), "--out", str(run), "--epochs", "4", "--resume",
                 "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "No space left on device" in lines[0], err
    assert lines[0].startswith("training failed:") and str(run) in lines[0]
    assert {name: (run / name).read_bytes() for name in before} == before


def test_a_metrics_line_cut_by_a_full_disk_is_taken_back(tmp_path, monkeypatch):
    import errno

    from graph_builder.files import WriteError
    from runtime.train.runlog import RunLog

    log = RunLog(tmp_path / "metrics.jsonl", resume=False)
    log.write({"type": "epoch", "epoch": 1})
    real = log._f

    class HalfFull:  # takes half of the next write, then the disk is full
        def write(self, data):
            if len(data) > 4:
                return real.write(data[:len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(real, name)

    log._f = HalfFull()
    with pytest.raises(WriteError, match="No space left on device"):
        log.write({"type": "epoch", "epoch": 2, "padding": "x" * 100})
    log._f = real
    log.close()
    assert (tmp_path / "metrics.jsonl").read_text() == '{"type": "epoch", "epoch": 1}\n'


def test_monitoring_that_cannot_write_ends_quietly_and_training_goes_on(tmp_path, monkeypatch, capfd):
    import torch.utils.tensorboard

    from runtime.train.trainer import train

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.utils.tensorboard, "SummaryWriter", full)
    events = list(train(dataset={"name": "iris"}, training={"epochs": 1}, run_dir=tmp_path / "run",
                        module=__import__("torch").nn.Linear(4, 3), live=False))
    assert events[-1]["type"] == "finished", events[-1]
    assert "Traceback" not in capfd.readouterr().err


# ---------------------------------------------------------------- 7. network names


@pytest.mark.parametrize("name", ["Enc/Dec", "Enc\\Dec", "Enc\nDec"])
def test_a_network_name_with_a_slash_or_a_control_character_is_refused_when_the_file_is_read(tmp_path, capsys, name):
    path = iris_study_project(tmp_path, node_dimension=True)
    data = json.loads(path.read_text())
    data["networks"][0]["name"] = data["main"] = name
    for dimension in data["experiment"]["space"]:
        if "network" in dimension:
            dimension["network"] = name
    path.write_text(json.dumps(data))
    for command in (["validate", str(path)], ["tune", str(path), "--trials", "1", "--jobs", "1"]):
        capsys.readouterr()
        assert main(command) == 2, command
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "$.networks[0].name" in lines[0] and "network names cannot contain" in lines[0], err
    assert not (tmp_path / "iris.runs").exists()


def test_adding_or_renaming_a_network_to_a_name_with_a_slash_is_refused_and_changes_nothing():
    from graph_builder import Graph
    from graph_builder.errors import NetworkError
    from graph_builder.networks import AddNetwork, Networks, RenameNetwork

    networks = Networks({"Net": Graph()})
    with pytest.raises(NetworkError, match=r"cannot contain '/'.*e\.g\. 'Enc-Dec'"):
        networks.apply(AddNetwork("Enc/Dec", Graph()))
    with pytest.raises(NetworkError, match="cannot contain"):
        networks.apply(RenameNetwork("Net", "a/b"))
    assert list(networks) == ["Net"]
    networks.apply(AddNetwork("Encoder – stage 1", Graph()))  # spaces, dashes and any letters are fine
    assert list(networks) == ["Net", "Encoder – stage 1"]


def test_tune_text_output_says_why_no_trial_completed(tmp_path, capsys):
    path = iris_study_project(tmp_path)
    data = json.loads(path.read_text())
    data["dataset"] = {"name": "csv", "path": str(tmp_path / "gone.csv")}
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["tune", str(path), "--trials", "1", "--jobs", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("no trial completed: trial 0 failed (The dataset could not be used: "
                                           "there is no file"), captured.err
    table = captured.out.splitlines()[-1]
    assert table.split()[:2] == ["0", "failed"] and "gone.csv" in table


# ---------------------------------------------------------------- 8. text that reaches generated code

HOSTILE_TITLES = ['""" import os; os.system("touch PWNED") """', '""x', 'x""', '"', "x\\", "\\", "a\\\"\"\"b",
                  "line one\nimport os; os.system('touch PWNED')\n", "tab\tand\rreturn\x00nul\u2028sep", "\ud800",
                  "''' single '''", "é – 深度 ✓"]


def _one_line(text: str) -> str:
    import unicodedata

    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") and c != "\t" else
                   "\ufffd" if unicodedata.category(c) == "Cs" else c for c in text)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_hostile_title_stays_inside_the_training_scripts_docstring(tmp_path, title):
    import ast

    from graph_builder import load_project
    from runtime.export.script import export_training_script

    assert main(["new", "--template", "mlp_iris", str(tmp_path / "p.json")]) == 0
    project = load_project(tmp_path / "p.json")
    project.meta["title"] = title
    script = export_training_script(project, tmp_path / "train.py")
    tree = ast.parse(script.read_bytes())  # it compiles
    assert ast.get_docstring(tree, clean=False).startswith(f'Train "{_one_line(title)}": a standalone script')
    assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) and any(a.name == "os" and n.lineno < 5
                                                                       for a in n.names) for n in tree.body)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_hostile_title_stays_inside_a_gan_exports_docstring(title):
    import ast

    from graph_builder import load_project
    from runtime.export.gan import gan_source

    project = load_project(ROOT / "resources" / "templates" / "dcgan_digits.json")
    project.meta["title"] = title
    tree = ast.parse(gan_source(project, dict(project.training)))
    assert ast.get_docstring(tree, clean=False).startswith(f"{_one_line(title)}: 2 networks generated by NetCanvas")


def test_a_dataset_path_with_a_line_break_stays_in_its_comment(tmp_path):
    import ast

    from graph_builder import Graph, Project
    from runtime.export.script import export_training_script

    folder = tmp_path / "data\nimport os; os.system('touch PWNED') #"
    folder.mkdir()
    (folder / "t.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    g = Graph()
    nodes = [g.add_node("Input", params={"shape": (2,)}), g.add_node("Linear", params={"out_features": 2}),
             g.add_node("Output")]
    g.connect(nodes[0].id, nodes[1].id)
    g.connect(nodes[1].id, nodes[2].id)
    project = Project(g, {"name": "csv", "path": str(folder / "t.csv")}, {"epochs": 1})
    text = export_training_script(project, tmp_path / "train.py").read_text()
    tree = ast.parse(text)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    (decoded,) = [line for line in text.splitlines() if "# Decoded from csv" in line]
    assert "import os; os.system('touch PWNED') #/t.csv" in decoded


# ---------------------------------------------------------------- every reader: what a file declares, against the limits


def one_stderr_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_project_file_over_the_limit_is_refused_unread(tmp_path, capsys, monkeypatch):
    assert main(["new", "--template", "mlp_iris", str(tmp_path / "p.json")]) == 0
    monkeypatch.setenv("NETCANVAS_MAX_PROJECT_BYTES", "1KiB")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "p.json")]) == 2
    line = one_stderr_line(capsys)
    assert "p.json (a project file) needs" in line and "more than the limit of 1.0 KiB" in line, line
    assert "NETCANVAS_MAX_PROJECT_BYTES" in line


def test_weights_checkpoints_and_run_configs_over_the_limit_are_refused_in_one_line(iris, tmp_path, capsys,
                                                                                  monkeypatch):
    import shutil

    project, run = iris
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    monkeypatch.setenv("NETCANVAS_MAX_MODEL_BYTES", "200")
    capsys.readouterr()
    assert main(["export", str(project), "--format", "weights", "--weights", str(copy / "best.safetensors"),
                 "--out", str(tmp_path / "w.safetensors")]) == 2
    assert "best.safetensors (a weights file) needs" in one_stderr_line(capsys)
    assert main(["weights", str(project), "--from", str(copy / "best.safetensors")]) == 2
    assert "more than the limit of 200 bytes" in one_stderr_line(capsys)
    assert main(["train", str(project), "--out", str(copy), "--resume", "--device", "cpu"]) == 1
    line = one_stderr_line(capsys)
    assert "checkpoint.pt (a checkpoint) needs" in line and "NETCANVAS_MAX_MODEL_BYTES" in line, line
    assert (copy / "config.json").stat().st_size > Path(project).stat().st_size  # it holds the project and more
    monkeypatch.setenv("NETCANVAS_MAX_PROJECT_BYTES", str(Path(project).stat().st_size))
    assert main(["predict", str(project), "--run", str(copy), str(tmp_path / "none.csv")]) in (1, 2)
    assert "config.json (a run's configuration) needs" in one_stderr_line(capsys)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before
