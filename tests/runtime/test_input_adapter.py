"""The dataset's input adapter: resize, grey to 3 channels, a backbone's normalisation; shapes, values, messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from graph_builder import Graph, Project
from graph_builder.datafit import check_project_fit, describe_builtin
from graph_builder.input_adapter import IMAGENET_MEAN, IMAGENET_STD
from graph_builder.settings import SettingsError, validate_dataset_section
from graph_builder.shapes import infer_shapes
from runtime.data import DatasetSettingError, load_splits
from runtime.export.preprocess import read_preprocessing

RAW = load_digits().images.astype(np.float32)[:, None]  # (N, 1, 8, 8), 0..16


def _digits(**adapter):
    return {"name": "digits", "val_fraction": 0.2, "test_fraction": 0.2, **adapter}


def test_resize_and_grey_to_rgb_give_three_equal_channels_of_the_new_size():
    s = load_splits(_digits(input_height=64, input_width=48, input_gray_to_rgb=True, normalize=False))
    x = s["train"][0]
    assert s.input_shape == (3, 64, 48)
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 1], x[:, 2])
    # bilinear upsampling keeps the range and, averaged back over each source pixel's area, the image
    assert x.min() >= 0 and x.max() <= 16
    back = x[0, 0].reshape(8, 8, 8, 6).mean(axis=(1, 3))
    gaps = np.abs(RAW[:, 0] - back).mean(axis=(1, 2))
    assert gaps.min() < 0.4 * np.median(gaps)  # it is one of the digits, resized (and blurred a little)


def test_imagenet_normalisation_scales_pixels_to_0_1_then_uses_imagenet_mean_and_std():
    s = load_splits(_digits(input_gray_to_rgb=True, input_normalization="imagenet"))
    assert s.mean.shape == (3, 1, 1)
    assert np.allclose(s.mean.ravel(), np.array(IMAGENET_MEAN) * 16) and np.allclose(s.std.ravel(),
                                                                                    np.array(IMAGENET_STD) * 16)
    x = s["train"][0]
    raw = (x * s.std + s.mean)[:, 0] / 16  # back to 0..1 pixels: must be digits images, unresized
    for r in raw[:20]:
        assert np.abs(RAW[:, 0] / 16 - r).max(axis=(1, 2)).min() < 1e-5
    for c in range(3):
        expected = (raw[:, None] - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        assert np.allclose(x[:, c:c + 1], expected, atol=1e-5)


def test_custom_normalisation_with_one_value_for_every_channel():
    s = load_splits(_digits(input_normalization="custom", input_mean="0.5", input_std="0.25"))
    assert s.input_shape == (1, 8, 8)
    x = s["train"][0]
    assert np.allclose(s.mean.ravel(), [8.0]) and np.allclose(s.std.ravel(), [4.0])
    assert x.min() >= -2.0 - 1e-6 and x.max() <= 2.0 + 1e-6 and x.min() < -1.9


def test_an_image_folder_is_resized_and_made_rgb(tmp_path):
    from PIL import Image

    for label, value in (("dark", 40), ("light", 200)):
        (tmp_path / label).mkdir()
        for i in range(4):
            Image.fromarray(np.full((10, 10), value, np.uint8), "L").save(tmp_path / label / f"{i}.png")
    s = load_splits({"name": "image_folder", "path": str(tmp_path), "image_size": 10, "input_height": 32, "input_width": 32,
                     "input_gray_to_rgb": True, "normalize": False, "val_fraction": 0.25, "test_fraction": 0.25})
    x, y = s["train"]
    assert x.shape[1:] == (3, 32, 32)
    for img, label in zip(x, y):  # a flat image stays flat through the resize, in all three channels
        assert np.allclose(img, (40 if s.classes[label] == "dark" else 200) / 255.0, atol=1e-6)


@pytest.mark.parametrize("settings, words", [
    ({"input_normalization": "custom"}, "input_mean"),
    ({"input_normalization": "custom", "input_mean": "0.5, x", "input_std": "1"}, "not a list of numbers"),
    ({"input_normalization": "custom", "input_mean": "0.5, 0.5", "input_std": "1"}, "1 or 3 finite numbers"),
    ({"input_normalization": "custom", "input_mean": "0.5", "input_std": "0"}, "above 0"),
    ({"input_normalization": "custom", "input_mean": "0.5", "input_std": "1, 1, 1"}, "both one value"),
    ({"input_height": 2, "input_width": 64}, "at least 4"),
    ({"input_height": 64}, "set input_width too"),
    ({"name": "iris", "input_height": 64, "input_width": 64}, "not images"),
])
def test_bad_adapter_settings_are_refused_with_a_message_naming_the_setting(settings, words):
    with pytest.raises(SettingsError) as info:
        validate_dataset_section({"name": "digits", **settings})
    assert words in str(info.value)
    assert "input_" in info.value.path


def test_the_fit_check_uses_the_adapted_shape():
    g = Graph()
    inp = g.add_node("Input", params={"shape": (1, 8, 8)})
    out = g.add_node("Output")
    flat = g.add_node("Flatten")
    lin = g.add_node("Linear", params={"out_features": 10})
    g.connect(inp.id, flat.id)
    g.connect(flat.id, lin.id)
    g.connect(lin.id, out.id)
    project = Project(g, dataset=_digits(input_height=64, input_width=64, input_gray_to_rgb=True))
    assert describe_builtin(project.dataset).input_shape == (3, 64, 64)
    issues = check_project_fit(project, infer_shapes(g))
    shape_issue = next(i for i in issues if i.code == "fit-input-shape")
    assert "(N, 3, 64, 64)" in shape_issue.message and shape_issue.fix is not None


def test_imagenet_normalisation_of_grey_images_asks_for_three_channels():
    g = Graph()
    g.add_node("Input", params={"shape": (1, 8, 8)})
    project = Project(g, dataset=_digits(input_normalization="imagenet"))
    issues = check_project_fit(project, infer_shapes(g))
    assert [i.code for i in issues] == ["fit-adapter"]
    assert "grey to 3 channels" in issues[0].message
    with pytest.raises(DatasetSettingError, match="grey to 3 channels"):
        load_splits(_digits(input_normalization="imagenet"))


def test_a_run_records_the_adapter_and_adapts_raw_inputs_for_prediction(tmp_path):
    dataset = _digits(input_height=16, input_width=16, input_gray_to_rgb=True, input_normalization="imagenet")
    config = {"resolved": {"input_shape": [3, 16, 16], "dtype": "float32", "task": "classification",
                           "classes": [str(i) for i in range(10)], "dataset": "digits", "image": True,
                           "normalization": {"mean": [7.76, 7.3, 6.5], "std": [3.66, 3.58, 3.6],
                                             "shape": [3, 1, 1]}},
              "project": {"dataset": dataset}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    prep = read_preprocessing(tmp_path)
    adapted = prep.adapt(RAW)  # raw digits as predict and the drawing pad give them
    assert adapted.shape == (len(RAW), 3, 16, 16)
    trained = load_splits({**dataset, "input_normalization": "none", "normalize": False})["train"][0][:5]
    for sample in trained:  # predict adapts exactly as training did
        assert np.abs(adapted - sample).max(axis=(1, 2, 3)).min() < 1e-6
    text = prep.describe_input()
    assert "resized to 16x16" in text and "grey repeated to 3 channels" in text and "backbone's mean" in text
    assert prep.metadata()["input_adapter"].startswith("resized to 16x16 (bilinear), grey repeated to 3 channels")


def test_the_exported_training_script_adapts_and_normalises_exactly_as_the_app(tmp_path):
    import importlib.util
    import sys

    import torch

    from graph_builder import load_project
    from runtime.export.script import export_training_script

    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "templates" / "lenet_digits.json")
    dataset = _digits(input_height=16, input_width=16, input_gray_to_rgb=True, input_normalization="imagenet")
    project.dataset.update(dataset)
    digit = next(n for n in project.graph.nodes.values() if n.type_id == "Input")
    project.graph.set_param(digit.id, "shape", [3, 16, 16])  # the network takes what the adapter makes
    script = export_training_script(project, tmp_path / "train_adapted.py")
    spec = importlib.util.spec_from_file_location("train_adapted", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        tensors, *_ = module.prepare_data(torch.device("cpu"))
    finally:
        sys.modules.pop(spec.name, None)
    app = load_splits(dataset)
    for split in ("train", "val", "test"):
        assert np.allclose(tensors[split].x.numpy(), app[split][0], atol=1e-6), split


def test_the_exported_model_says_how_its_inputs_were_adapted():
    from graph_builder import load_project
    from graph_builder.input_adapter import InputAdapter
    from runtime.export.preprocess import Preprocessing, run_source

    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "templates" / "mlp_digits.json")
    adapter = InputAdapter((16, 16), True, "imagenet", IMAGENET_MEAN, IMAGENET_STD)
    prep = Preprocessing("classification", tuple("0123456789"), (1, 8, 8), "float32", "digits", True,
                         np.ones((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32), adapter=adapter)
    text = run_source(project.graph, prep).text
    line = next(li for li in text.splitlines() if li.startswith("# Inputs:"))
    assert "resized to 16x16" in line and "grey repeated to 3 channels" in line and "ImageNet" in line


def test_predict_on_raw_digits_adapts_them_as_training_did_and_matches_the_runs_accuracy(tmp_path, capsys):
    from graph_builder import load_project, save_project
    from runtime.cli import main
    from runtime.data import dataset_config, get_dataset
    from runtime.data.splits import split_indices

    path = tmp_path / "adapted.json"
    assert main(["new", "--template", "mlp_digits", str(path)]) == 0
    project = load_project(path)
    project.dataset.update({"input_height": 12, "input_width": 12, "input_gray_to_rgb": True,
                            "input_normalization": "imagenet"})
    (inp,) = project.graph.inputs()
    project.graph.set_param(inp.id, "shape", (3, 12, 12))
    save_project(project, path)
    run = tmp_path / "run"
    assert main(["train", str(path), "--epochs", "8", "--out", str(run), "--device", "cpu"]) == 0
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    accuracy = next(e for e in events if e["type"] == "finished")["test"]["accuracy"]
    config = dataset_config(project.dataset)
    raw = get_dataset("digits").load(config)  # raw (N, 1, 8, 8) digits, 0..16: not adapted
    _, _, test = split_indices(raw.y, len(raw.x), config["val_fraction"], config["test_fraction"],
                               config["split_seed"])
    np.savez(tmp_path / "raw.npz", x=raw.x[test])
    capsys.readouterr()
    assert main(["predict", str(path), "--run", str(run), str(tmp_path / "raw.npz"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    predicted = np.array([int(r["class"]) for r in rows])
    assert accuracy > 0.8
    assert abs(float((predicted == raw.y[test]).mean()) - accuracy) < 0.01


def test_predict_on_image_files_reads_them_as_the_image_folder_was_then_adapts_them(tmp_path, capsys):
    from graph_builder import load_project, save_project
    from runtime.cli import main
    from runtime.data import dataset_config
    from runtime.data.splits import split_indices

    folder = Path(__file__).resolve().parents[2] / "resources" / "templates" / "digits_images"
    path = tmp_path / "folder.json"
    assert main(["new", "--template", "mlp_digits", str(path)]) == 0
    project = load_project(path)
    project.dataset.replace({"name": "image_folder", "path": str(folder), "image_size": 8, "input_height": 12,
                             "input_width": 12, "input_gray_to_rgb": True, "input_normalization": "imagenet"})
    (inp,) = project.graph.inputs()
    project.graph.set_param(inp.id, "shape", (3, 12, 12))
    save_project(project, path)
    run = tmp_path / "run"
    assert main(["train", str(path), "--epochs", "15", "--out", str(run), "--device", "cpu"]) == 0
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    accuracy = next(e for e in events if e["type"] == "finished")["test"]["accuracy"]
    files = [(f, label) for label, d in enumerate(sorted(p for p in folder.iterdir() if p.is_dir()))
             for f in sorted(d.glob("*.png"))]  # as load_image_folder lists them
    config = dataset_config(project.dataset)
    labels = np.array([label for _, label in files])
    _, _, test = split_indices(labels, len(files), config["val_fraction"], config["test_fraction"],
                               config["split_seed"])
    capsys.readouterr()
    assert main(["predict", str(path), "--run", str(run), *[str(files[i][0]) for i in test], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    predicted = np.array([int(r["class"]) for r in rows])
    assert accuracy > 0.7
    assert abs(float((predicted == labels[test]).mean()) - accuracy) < 1e-6  # the same images, the same answers
    # and the same numbers: the run's model on the test split exactly as training adapted it
    import torch

    from runtime.export.preprocess import build_run_module, read_preprocessing

    prep = read_preprocessing(run)
    adapted = load_splits({**project.dataset, "input_normalization": "none", "normalize": False})["test"][0]
    model = build_run_module(project.graph, prep, run / "best.safetensors")
    with torch.no_grad():
        expected = prep.probabilities(model(torch.from_numpy(np.array(adapted))).numpy())
    got = np.array([[r["probabilities"][c] for c in prep.classes] for r in rows])
    assert np.allclose(got, expected, atol=1e-5)
