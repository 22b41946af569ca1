"""Seeing inside a model (runtime.explain and `netcanvas explain`), with real templates, real torch and Captum.

Node outputs against shape inference, saliency on a model that learnt to look at four pixels,
Integrated Gradients' completeness, Grad-CAM's size, in-place ReLUs, the CLI's PNGs and its
one-line refusals.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from graph_builder.shapes import infer_shapes
from runtime.cli import main
from runtime.compile import build_module
from runtime.explain import (ExplainInputError, ExplainMethodError, attribute, capture_activations, feature_grid,
                             node_submodules, overlay)
from runtime.templates import template_paths, template_project


def template(stem: str):
    project = template_project(template_paths()[stem])
    return project, build_module(project.graph, seed=0).eval()


def sample_of(graph, seed: int = 0) -> np.ndarray:
    shape = infer_shapes(graph).out[graph.inputs()[0].id]
    return np.random.default_rng(seed).normal(size=(1, *shape[1:])).astype(np.float32)


@pytest.mark.parametrize("stem", ["lenet_digits", "residual_cnn_digits", "mlp_iris", "gru_waveforms",
                                  "transformer_waveforms"])
def test_every_node_has_an_output_of_the_shape_inference_predicts(stem):
    project, module = template(stem)
    graph = project.graph
    outputs = capture_activations(module, graph, torch.from_numpy(sample_of(graph)))
    shapes = infer_shapes(graph).out
    assert set(outputs) == {node.name for node in graph.nodes.values()}
    for node_id, node in graph.nodes.items():
        assert outputs[node.name].shape == (1, *shapes[node_id][1:]), node.name
    with torch.no_grad():
        out = module(torch.from_numpy(sample_of(graph)))
    assert np.allclose(outputs[graph.outputs()[0].name], out.numpy(), atol=1e-6)


def test_saliency_concentrates_on_the_pixels_a_model_learnt_to_read():
    project, module = template("lenet_digits")
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(512, 1, 8, 8)).astype(np.float32))
    y = (x[:, 0, 2:4, 5:7].sum(dim=(1, 2)) > 0).long()  # the class lies in a 2 × 2 patch alone
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-3)
    module.train()
    for step in range(300):
        batch = slice((step * 64) % 512, (step * 64) % 512 + 64)
        loss = torch.nn.functional.cross_entropy(module(x[batch]), y[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    module.eval()
    shares = []
    for k in range(8):
        found = attribute(module, project.graph, x[k].numpy(), "saliency")
        heat = found.heat()
        shares.append(heat[2:4, 5:7].sum() / heat.sum())
    print(f"saliency's share on the 4 informative pixels of 64: {np.mean(shares):.2f}")
    assert np.mean(shares) > 0.3  # 4 of 64 pixels would hold 0.06 if saliency were spread evenly


@pytest.mark.parametrize("stem", ["lenet_digits", "mlp_iris", "residual_cnn_digits"])
def test_integrated_gradients_add_up_to_the_output_minus_the_baselines(stem):
    project, module = template(stem)
    x = sample_of(project.graph, seed=1)
    found = attribute(module, project.graph, x, "integrated_gradients", target=1)
    gap = found.score - found.baseline_score
    assert found.values.shape == x.shape[1:]
    assert found.values.sum() == pytest.approx(gap, abs=0.02 * abs(gap) + 1e-3)
    baseline = np.full(x.shape[1:], 0.5, dtype=np.float32)  # another baseline moves the reference, not the rule
    other = attribute(module, project.graph, x, "integrated_gradients", target=1, baseline=baseline)
    with torch.no_grad():
        at_baseline = float(module(torch.from_numpy(baseline[None]))[0, 1])
    assert other.baseline_score == pytest.approx(at_baseline, abs=1e-5)
    assert other.values.sum() == pytest.approx(other.score - at_baseline, abs=0.02 * abs(gap) + 1e-3)


def test_grad_cam_is_the_conv_maps_size_brought_up_to_the_input():
    project, module = template("cifar10_cnn")
    graph = project.graph
    x = sample_of(graph)
    outputs = capture_activations(module, graph, torch.from_numpy(x))
    convs = [n.name for n in graph.nodes.values() if n.type_id == "Conv2d"]
    for name in (convs[0], convs[-1]):
        found = attribute(module, graph, x, "gradcam", layer=name)
        assert found.layer == name and found.values.shape == (1, *x.shape[2:])
        assert found.heat().shape == x.shape[2:] and (found.heat() >= 0).all()
    assert outputs[convs[-1]].shape[2:] != x.shape[2:]  # the last map is smaller: upsampled, not read off
    assert attribute(module, graph, x, "gradcam").layer == convs[-1]  # the default: the last Conv2d
    picture = overlay(x[0], found.heat())
    assert picture.shape == (256, 256, 3) and picture.dtype == np.uint8


def test_occlusion_marks_the_window_that_changes_the_output():
    project, module = template("mlp_iris")
    x = sample_of(project.graph)
    found = attribute(module, project.graph, x, "occlusion", target=0)
    with torch.no_grad():
        base = float(module(torch.from_numpy(x))[0, 0])
        for k in range(4):  # occluding feature k alone (to the zero baseline) changes the output by its value
            hidden = x.copy()
            hidden[0, k] = 0
            assert found.values[k] == pytest.approx(base - float(module(torch.from_numpy(hidden))[0, 0]), abs=1e-5)


def test_an_in_place_relu_is_explained_like_a_plain_one_and_left_as_it_was():
    project, module = template("lenet_digits")
    x = sample_of(project.graph)
    plain = attribute(module, project.graph, x, "integrated_gradients", target=2)
    relus = [m for m in node_submodules(module, project.graph).values() if isinstance(m, torch.nn.ReLU)]
    assert relus and not any(m.inplace for m in relus)  # the compiler never writes inplace=True
    for m in relus:
        m.inplace = True
    in_place = attribute(module, project.graph, x, "integrated_gradients", target=2)
    assert np.allclose(in_place.values, plain.values, atol=1e-6)
    assert all(m.inplace for m in relus)
    cam = attribute(module, project.graph, x, "gradcam", layer="conv1")
    assert np.isfinite(cam.values).all()


def test_each_submodule_runs_once_so_layer_methods_see_one_activation():
    project, module = template("residual_cnn_digits")  # two uses of one block network: two instances
    subs = list(node_submodules(module, project.graph).values())
    assert len({id(m) for m in subs}) == len(subs)
    ids = [id(m) for _, m in module.named_modules(remove_duplicate=False)]
    assert len(ids) == len(set(ids))


def test_bad_requests_are_refused_in_one_line_each():
    project, module = template("lenet_digits")
    graph, x = project.graph, sample_of(project.graph)
    cases = [
        (dict(method="lime"), ExplainMethodError, "there is no attribution method 'lime'; use one of saliency, "
                                                  "integrated_gradients, gradcam, occlusion"),
        (dict(method="gradcam", layer="fc1"), ExplainMethodError,
         "gradcam needs a Conv2d node but fc1 is a Linear; choose one of conv1, conv2"),
        (dict(method="gradcam", layer="conv9"), ExplainMethodError,
         "there is no node named 'conv9' in the network; its Conv2d nodes are conv1, conv2"),
        (dict(method="saliency", target=10), ExplainInputError,
         "target 10 is out of range: the model has 10 outputs (0 to 9); choose one of those with --target"),
    ]
    for kwargs, kind, message in cases:
        with pytest.raises(kind) as caught:
            attribute(module, graph, x, **kwargs)
        assert str(caught.value) == message
    with pytest.raises(ExplainInputError, match=r"the sample is \(1, 4\) but input digit takes \(N, 1, 8, 8\)"):
        attribute(module, graph, np.zeros((1, 4), np.float32), "saliency")
    iris, iris_module = template("mlp_iris")
    with pytest.raises(ExplainMethodError, match="gradcam needs a Conv2d node and this network has none"):
        attribute(iris_module, iris.graph, sample_of(iris.graph), "gradcam")
    text, text_module = template("sentiment_lstm")
    with pytest.raises(ExplainInputError, match="int64 values .token ids., which have no gradient"):
        attribute(text_module, text.graph, np.zeros((1, 128), np.int64), "saliency")


def test_a_feature_grid_tiles_every_map_scaled_on_its_own():
    maps = np.stack([np.full((3, 3), k, np.float32) + np.eye(3, dtype=np.float32) * (k + 1) for k in range(5)])
    grid = feature_grid(maps)
    assert grid.shape == (2 * 4 - 1, 3 * 4 - 1)  # 5 maps: 3 columns, 2 rows, 1-pixel gaps
    assert np.array_equal(grid[:3, :3], np.eye(3)) and np.array_equal(grid[4:7, 4:7], np.eye(3))


# ---------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explain")
    made = {}
    for stem in ("lenet_digits", "mlp_iris"):
        project, run = tmp / f"{stem}.json", tmp / f"{stem}.run"
        assert main(["new", "--template", stem, str(project)]) == 0
        assert main(["train", str(project), "--epochs", "1", "--out", str(run), "--device", "cpu"]) == 0
        made[stem] = (project, run)
    return made


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def digit_file(tmp_path: Path) -> Path:
    from PIL import Image
    from sklearn.datasets import load_digits

    path = tmp_path / "digit.png"
    Image.fromarray(np.round(load_digits().images[7] / 16 * 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "gradcam", "occlusion"])
def test_explain_writes_an_overlay_png_of_an_image(runs, tmp_path, capsys, method):
    project, run = runs["lenet_digits"]
    out = tmp_path / f"{method}.png"
    assert main(["explain", str(project), "--run", str(run), str(digit_file(tmp_path)), "--method", method,
                 "--out", str(out), "--target", "7"]) == 0
    assert png_size(out) == (256, 256)
    from PIL import Image

    picture = np.asarray(Image.open(out).convert("RGB"))
    assert picture.reshape(-1, 3).std(axis=0).max() > 10
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"digit.png: {method} for class 7 (output ") and line.endswith(f"written to {out}")


def test_explain_gives_a_table_row_per_feature_by_name(runs, tmp_path, capsys):
    project, run = runs["mlp_iris"]
    (tmp_path / "rows.csv").write_text("a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    out = tmp_path / "iris.png"
    assert main(["explain", str(project), "--run", str(run), str(tmp_path / "rows.csv"), "--method",
                 "integrated_gradients", "--out", str(out), "--sample", "1", "--target", "virginica"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rows.csv line 3: integrated_gradients for class virginica")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["sepal length (cm)", "sepal width (cm)",
                                                                  "petal length (cm)", "petal width (cm)"]
    assert png_size(out) == (480, 4 * 20)


def test_explain_refuses_what_does_not_fit_in_one_line(runs, tmp_path, capsys):
    digits, digits_run = runs["lenet_digits"]
    iris, iris_run = runs["mlp_iris"]
    image, out = digit_file(tmp_path), str(tmp_path / "x.png")
    np.save(tmp_path / "flat.npy", np.zeros((2, 4), np.float32))
    cases = [
        (["explain", str(digits), "--run", str(iris_run), str(image), "--method", "saliency", "--out", out], 1,
         "cannot explain with run mlp_iris.run: run mlp_iris.run trained a different network"),
        (["explain", str(digits), "--run", str(digits_run), str(image), "--method", "gradcam", "--layer", "fc1",
          "--out", out], 1, "cannot explain with run lenet_digits.run: gradcam needs a Conv2d node but fc1 is a Linear"),
        (["explain", str(iris), "--run", str(iris_run), str(tmp_path / "flat.npy"), "--method", "gradcam",
          "--out", out], 1, "cannot explain with run mlp_iris.run: gradcam needs a Conv2d node and this network has none"),
        (["explain", str(digits), "--run", str(digits_run), str(tmp_path / "flat.npy"), "--method", "saliency",
          "--out", out], 2, "cannot explain: flat.npy holds an array of shape (2, 4)"),
        (["explain", str(digits), "--run", str(digits_run), str(image), "--method", "saliency", "--target", "cat",
          "--out", out], 2, "cannot explain: --target 'cat' is neither a class of the run (0, 1, 2"),
        (["explain", str(digits), "--run", str(digits_run), str(image), "--method", "saliency", "--target", "11",
          "--out", out], 2, "cannot explain digit.png: target 11 is out of range: the model has 10 outputs"),
        (["explain", str(iris), "--run", str(iris_run), str(tmp_path / "flat.npy"), "--method", "saliency",
          "--sample", "2", "--out", out], 2, "cannot explain: flat.npy holds 2 samples, so --sample 2 is out of range"),
    ]
    for argv, code, start in cases:
        capsys.readouterr()
        assert main(argv) == code, argv
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and err[0].startswith(start), err
    assert not Path(out).exists()
