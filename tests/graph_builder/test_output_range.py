"""A generative task's samples against the data's range: the fit check warns on the Output node when its last
layer can leave the range the pixels are scaled to, or cannot fill it, and says what to end with."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_builder import load_project
from graph_builder.datafit import check_project_fit
from graph_builder.shapes import infer_shapes
from graph_builder.validation import WARNING

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
GENERATIVE = ("mlp_vae_digits", "conv_vae_digits", "dcgan_digits", "conv_autoencoder_digits")
SQUASH = {"mlp_vae_digits": "dec_pixels", "conv_vae_digits": "dec_pixels", "dcgan_digits": "pixels",
          "conv_autoencoder_digits": "dec_pixels"}


def range_warnings(project) -> list:
    issues = check_project_fit(project, infer_shapes(project.graph))
    return [i for i in issues if i.code == "fit-output-range"]


def without_squash(project, name: str) -> None:
    """The template's network with its last squashing layer cut out (the wire joined over it)."""
    graph = project.graph
    node = graph.node_by_name(name)
    (into,), (out,) = graph.in_edges(node.id), graph.out_edges(node.id)
    graph.remove_node(node.id)
    graph.connect(into.src, out.dst)


def replaced(project, name: str, type_id: str) -> None:
    """The template's squashing layer `name` swapped for a `type_id` layer."""
    graph = project.graph
    node = graph.node_by_name(name)
    (into,), (out,) = graph.in_edges(node.id), graph.out_edges(node.id)
    graph.remove_node(node.id)
    new = graph.add_node(type_id)
    graph.connect(into.src, new.id)
    graph.connect(new.id, out.dst)


@pytest.mark.parametrize("template", GENERATIVE)
def test_no_generative_template_is_warned_about_its_range(template):
    project = load_project(TEMPLATES / f"{template}.json")
    assert range_warnings(project) == []


@pytest.mark.parametrize("template", GENERATIVE)
def test_an_unbounded_last_layer_is_warned_on_the_output_and_its_fix_squashes_it(template):
    project = load_project(TEMPLATES / f"{template}.json")
    without_squash(project, SQUASH[template])
    (issue,) = range_warnings(project)
    output = project.graph.outputs()[0]
    assert issue.severity == WARNING and issue.node_ids == (output.id,)
    assert "unbounded" in issue.message and "outside the data's range" in issue.message
    wanted = "Tanh" if template == "dcgan_digits" else "Sigmoid"
    assert f"end with a {wanted}" in issue.message
    assert issue.fix is not None and issue.fix.title == f"Insert a {wanted} before {output.name}"
    project.graph.apply(issue.fix.command)
    assert range_warnings(project) == []
    assert project.graph.nodes[project.graph.in_edges(output.id)[0].src].type_id == wanted


def test_a_tanh_on_pixels_scaled_to_0_1_overshoots_them():
    project = load_project(TEMPLATES / "mlp_vae_digits.json")
    replaced(project, "dec_pixels", "Tanh")
    (issue,) = range_warnings(project)
    assert "[-1, 1]" in issue.message and "[0, 1]" in issue.message and "end with a Sigmoid" in issue.message
    assert issue.fix is None  # one squash for another is the user's edit


def test_a_sigmoid_on_pixels_scaled_to_minus_1_1_cannot_reach_them():
    project = load_project(TEMPLATES / "dcgan_digits.json")
    replaced(project, "pixels", "Sigmoid")
    (issue,) = range_warnings(project)
    assert "can only give values in [0, 1]" in issue.message and "[-1, 1]" in issue.message
    assert "cannot reach all of it; end with a Tanh" in issue.message


def test_standardised_pixels_have_no_range_to_keep_to_and_the_warning_says_how_to_scale_them():
    project = load_project(TEMPLATES / "conv_vae_digits.json")
    project.dataset.replace({"name": "digits"})  # standardised, the default
    (issue,) = range_warnings(project)
    assert "not scaled to a fixed range" in issue.message
    assert "backbone normalisation custom, mean 0, std 1" in issue.message and "Sigmoid" in issue.message


def test_a_classifier_is_not_checked_for_a_sample_range():
    project = load_project(TEMPLATES / "lenet_digits.json")
    project.dataset.replace({"name": "digits", "input_normalization": "custom", "input_mean": "0.5",
                             "input_std": "0.5"})
    assert range_warnings(project) == []
