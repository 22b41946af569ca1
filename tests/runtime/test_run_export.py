"""A run's exports take raw data: the Python file (with its weights), ONNX and pt2 reach the run's own accuracy.

Shown by (issue 15): the exported Python file, run in a fresh interpreter on the raw test split,
and the ONNX file through onnxruntime, reach the run's test accuracy within 0.5 point, for a
digits CNN (per-channel normalisation) and an iris MLP (per-feature normalisation).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graph_builder import load_project
from runtime.cli import main
from runtime.data import dataset_config, get_dataset
from runtime.data.splits import split_indices

ROOT = Path(__file__).resolve().parents[2]


def raw_split(project, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """A split of the project's dataset as loaded, before normalisation (as runtime.data splits it)."""
    config = dataset_config(project.dataset)
    raw = get_dataset(config["name"]).load(config)
    parts = dict(zip(("train", "val", "test"), split_indices(raw.y, len(raw.x), config["val_fraction"],
                                                             config["test_fraction"], config["split_seed"])))
    return raw.x[parts[split]], raw.y[parts[split]]


def test_accuracy(run: Path) -> float:
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return next(e for e in events if e["type"] == "finished")["test"]["accuracy"]


test_accuracy.__test__ = False  # a helper, not a test


def trained_run(tmp: Path, template: str, epochs: int) -> tuple[Path, Path]:
    project = tmp / f"{template}.json"
    assert main(["new", "--template", template, str(project)]) == 0
    run = tmp / f"{template}.run"
    assert main(["train", str(project), "--epochs", str(epochs), "--out", str(run), "--device", "cpu"]) == 0
    return project, run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    return trained_run(tmp_path_factory.mktemp("digits"), "lenet_digits", 6)


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    return trained_run(tmp_path_factory.mktemp("iris"), "mlp_iris", 30)


EVALUATE = """
import importlib.util, sys
import numpy as np, torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
exported = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exported)
data = np.load(sys.argv[2])
with torch.no_grad():
    scores = exported.load_model()(torch.from_numpy(data["x"]))
print(float((scores.argmax(1).numpy() == data["y"]).mean()), len(exported.CLASSES))
"""


@pytest.mark.parametrize("which", ["digits_run", "iris_run"])
def test_exported_python_with_its_weights_reaches_the_runs_accuracy_on_raw_data(which, request, tmp_path, capsys):
    project_path, run = request.getfixturevalue(which)
    out = tmp_path / "model.py"
    assert main(["export", str(project_path), "--format", "python", "--run", str(run), "--out", str(out)]) == 0
    assert "It takes raw inputs: the model normalises them itself" in capsys.readouterr().out
    assert (tmp_path / "model.safetensors").is_file()
    x, y = raw_split(load_project(project_path))
    np.savez(tmp_path / "raw.npz", x=x, y=y)
    done = subprocess.run([sys.executable, "-c", EVALUATE, str(out), str(tmp_path / "raw.npz")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    accuracy, n_classes = done.stdout.split()
    expected = test_accuracy(run)
    print(f"{which}: exported Python {float(accuracy):.4f}, run {expected:.4f}")
    assert abs(float(accuracy) - expected) <= 0.005
    assert int(n_classes) == (10 if which == "digits_run" else 3)
    demo = subprocess.run([sys.executable, str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert demo.returncode == 0, demo.stderr
    assert " with probability " in demo.stdout and "(true class " in demo.stdout  # a real raw sample


@pytest.mark.parametrize("which", ["digits_run", "iris_run"])
def test_exported_onnx_reaches_the_runs_accuracy_on_raw_data_and_says_what_it_expects(which, request, tmp_path):
    import onnx
    import onnxruntime as ort

    project_path, run = request.getfixturevalue(which)
    out = tmp_path / "model.onnx"
    assert main(["export", str(project_path), "--format", "onnx", "--run", str(run), "--out", str(out)]) == 0
    x, y = raw_split(load_project(project_path))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    scores = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]
    accuracy = float((scores.argmax(1) == y).mean())
    expected = test_accuracy(run)
    print(f"{which}: ONNX {accuracy:.4f}, run {expected:.4f}")
    assert abs(accuracy - expected) <= 0.005
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    config = json.loads((run / "config.json").read_text())["resolved"]
    assert json.loads(props["classes"]) == config["classes"]
    assert json.loads(props["normalization"])["mean"] == config["normalization"]["mean"]
    assert props["task"] == "classification" and props["netcanvas_version"]
    assert "raw" in props["input"] and "(N, " + ", ".join(map(str, config["input_shape"])) + ")" in props["input"]


def test_exported_pt2_takes_raw_data_and_carries_the_class_names(digits_run, tmp_path):
    import torch

    project_path, run = digits_run
    out = tmp_path / "model.pt2"
    assert main(["export", str(project_path), "--format", "pt2", "--run", str(run), "--out", str(out)]) == 0
    extra = {"netcanvas.json": ""}
    program = torch.export.load(str(out), extra_files=extra)
    x, y = raw_split(load_project(project_path))
    with torch.no_grad():
        scores = program.module()(torch.from_numpy(x))
    assert abs(float((scores.argmax(1).numpy() == y).mean()) - test_accuracy(run)) <= 0.005
    assert json.loads(json.loads(extra["netcanvas.json"])["classes"]) == [str(i) for i in range(10)]


def test_the_network_alone_is_generated_as_before(digits_run, tmp_path):
    from runtime.compile.codegen import generate_source
    from runtime.export.preprocess import read_preprocessing, run_source

    project_path, run = digits_run
    graph = load_project(project_path).graph
    text = run_source(graph, read_preprocessing(run)).text
    assert text.startswith(generate_source(graph).rstrip("\n"))  # the trained classes, unchanged
    assert 'self.register_buffer("mean"' in text and "CLASSES = ['0', '1'" in text


def run_predictions(project_path: Path, run: Path) -> np.ndarray:
    """What the run's own model predicts for its (normalised) test split, as the trainer evaluated it."""
    import torch

    from runtime.compile.compiler import build_module
    from runtime.data import load_splits
    from runtime.export.formats import load_weights

    project = load_project(project_path)
    module = load_weights(build_module(project.graph), run / "best.safetensors").eval()
    x, _ = load_splits(project.dataset)["test"]
    with torch.no_grad():
        return module(torch.from_numpy(np.array(x))).argmax(1).numpy()


def test_predict_on_image_files_agrees_with_the_runs_test_predictions(digits_run, tmp_path, capsys):
    from PIL import Image

    project_path, run = digits_run
    x, _ = raw_split(load_project(project_path))
    files = []
    for i, sample in enumerate(x):  # 8-bit grey files, as a user would save them: 0-16 -> 0-255
        files.append(tmp_path / f"digit_{i:03d}.png")
        Image.fromarray(np.round(sample[0] / 16 * 255).astype(np.uint8)).save(files[-1])
    capsys.readouterr()
    assert main(["predict", str(project_path), "--run", str(run), *map(str, files), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["input"] for r in rows] == [f.name for f in files]
    predicted = np.array([r["index"] for r in rows])
    agreement = float((predicted == run_predictions(project_path, run)).mean())
    print(f"predict on {len(files)} PNG files agrees with the run's test predictions: {agreement:.4f}")
    assert agreement >= 0.99  # 8-bit files round 0-16 to 1/16ths of a level; nearly always the same class
    assert all(r["class"] == str(r["index"]) and 0 < r["probability"] <= 1 for r in rows)
    capsys.readouterr()
    assert main(["predict", str(project_path), "--run", str(run), str(files[0])]) == 0
    assert capsys.readouterr().out.startswith(f"{files[0].name}: {rows[0]['class']} (")


def test_predict_on_csv_rows_and_npz_arrays_of_an_iris_run(iris_run, tmp_path, capsys):
    project_path, run = iris_run
    x, _ = raw_split(load_project(project_path))
    (tmp_path / "rows.csv").write_text("sepal length,sepal width,petal length,petal width\n"
                                       + "\n".join(",".join(f"{v:g}" for v in row) for row in x))
    np.savez(tmp_path / "rows.npz", x=x)
    capsys.readouterr()
    assert main(["predict", str(project_path), "--run", str(run), str(tmp_path / "rows.csv"),
                 str(tmp_path / "rows.npz"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    from_csv, from_npz = rows[:len(x)], rows[len(x):]
    assert [r["class"] for r in from_csv] == [r["class"] for r in from_npz]
    assert from_csv[0]["input"] == "rows.csv line 2" and from_npz[0]["input"] == "rows.npz[0]"
    assert np.array_equal([r["index"] for r in from_npz], run_predictions(project_path, run))
    assert {r["class"] for r in rows} <= {"setosa", "versicolor", "virginica"}


def one_message(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    return err


def test_predict_refuses_bad_inputs_with_one_message_each(digits_run, iris_run, tmp_path, capsys):
    digits_project, digits = digits_run
    iris_project, iris = iris_run
    (tmp_path / "fake.png").write_text("this is not an image")
    (tmp_path / "short.csv").write_text("5.1,3.5,1.4,0.2\n6.0,3.0,4.8\n")
    np.save(tmp_path / "flat.npy", np.zeros((2, 64), np.float32))
    capsys.readouterr()

    assert main(["predict", str(digits_project), "--run", str(iris), str(tmp_path / "fake.png")]) == 1
    err = one_message(capsys)
    assert f"run {iris.name} trained a different network" in err and "fingerprint" in err

    assert main(["predict", str(digits_project), "--run", str(digits), str(tmp_path / "fake.png")]) == 2
    assert "fake.png is not an image that can be read" in one_message(capsys)

    assert main(["predict", str(iris_project), "--run", str(iris), str(tmp_path / "short.csv")]) == 2
    assert "short.csv line 2 has 3 values but the model takes 4 per sample" in one_message(capsys)

    assert main(["predict", str(digits_project), "--run", str(digits), str(tmp_path / "flat.npy")]) == 2
    assert "flat.npy holds an array of shape (2, 64) but the model takes samples of shape (1, 8, 8)" \
        in one_message(capsys)

    assert main(["predict", str(iris_project), "--run", str(iris), str(tmp_path / "fake.png")]) == 2
    assert "fake.png is an image but run" in one_message(capsys)  # the wrong type for a table model

    assert main(["predict", str(iris_project), "--run", str(iris), str(tmp_path / "missing.csv")]) == 2
    assert "there is no file" in one_message(capsys)


def test_test_digits_drawn_on_the_pad_are_read_back_like_the_originals(digits_run):
    """Each test digit rendered up to the pad's size as smooth strokes, then through the pad's preparation."""
    import torch
    from PIL import Image

    from runtime.data.digits_prep import prepare_drawing
    from runtime.export.preprocess import build_run_module, read_preprocessing

    project_path, run = digits_run
    project = load_project(project_path)
    model = build_run_module(project.graph, read_preprocessing(run), run / "best.safetensors")
    x, _ = raw_split(project)
    side = 160  # app.training.inference_panel.DrawCanvas's side
    drawn = []
    for sample in x:
        ink = Image.fromarray(sample[0] / 16, mode="F").resize((side, side), Image.BICUBIC)
        drawn.append(prepare_drawing(np.clip(np.asarray(ink), 0, 1)))
    with torch.no_grad():
        original = model(torch.from_numpy(x)).argmax(1).numpy()
        read_back = model(torch.from_numpy(np.stack(drawn))).argmax(1).numpy()
    agreement = float((read_back == original).mean())
    print(f"drawn test digits read like the originals: {agreement:.4f}")
    assert agreement >= 0.95, f"only {agreement:.1%} of the drawn digits are read like the originals"


def template_graph(stem: str):
    return load_project(ROOT / "resources" / "templates" / f"{stem}.json").graph


def test_an_autoencoders_export_gives_its_reconstruction_in_raw_values_too():
    import torch

    from runtime.export.preprocess import Preprocessing, build_run_module

    mean, std = np.full((1, 1, 1), 4.0, np.float32), np.full((1, 1, 1), 6.0, np.float32)
    prep = Preprocessing("reconstruction", (), (1, 8, 8), "float32", "digits", True, mean, std, "mse")
    module = build_run_module(template_graph("conv_autoencoder_digits"), prep)
    x = torch.rand(2, 1, 8, 8) * 16
    with torch.no_grad():
        assert torch.allclose(module(x), module.net((x - 4.0) / 6.0) * 6.0 + 4.0)


def test_a_run_without_normalisation_exports_the_network_itself_with_its_names():
    from runtime.export.preprocess import Preprocessing, run_source

    prep = Preprocessing("classification", ("T-shirt/top", 'say "hi"\n', "été"), (1, 8, 8), "float32", None, True)
    source = run_source(template_graph("lenet_digits"), prep)
    assert source.class_name == source.network_class and "Preprocessed" not in source.text
    namespace: dict = {}
    exec(compile(source.text, "<export>", "exec"), namespace)  # noqa: S102 — the generated file, as a user runs it
    # class names are data: they read back as themselves
    assert namespace["CLASSES"] == ["T-shirt/top", 'say "hi"\n', "été"] and namespace["TASK"] == "classification"


@pytest.mark.parametrize("shape, image, broadcast", [([3, 4, 4], True, (3, 1, 1)), ([5], False, (5,)),
                                                     ([6, 2], False, (1, 2))])
def test_a_run_from_before_the_normalisations_shape_was_recorded_is_read_per_channel_or_feature(
        tmp_path, shape, image, broadcast):
    from runtime.export.preprocess import read_preprocessing

    n = broadcast[0] if image else broadcast[-1]
    resolved = {"task": "classification", "classes": ["a", "b"], "input_shape": shape,
                "normalization": {"mean": [0.5] * n, "std": [2.0] * n}}
    (tmp_path / "config.json").write_text(json.dumps({"project": {"dataset": {"name": "npz"}}, "resolved": resolved}))
    prep = read_preprocessing(tmp_path)
    assert prep.mean.shape == broadcast and prep.dataset == "npz" and prep.classes == ("a", "b")
    assert np.allclose(prep.normalise(np.full(shape, 2.5)), 1.0)
