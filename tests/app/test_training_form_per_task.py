"""The Training form of each task shows only the settings that apply to it, and follows the task as the
project changes: the task setting, the networks, a latent layer added to the graph."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.training.settings_form import SettingsForm
from app.training.training_panel import training_fields
from graph_builder.graph import Graph
from graph_builder.networks import AddNetwork
from graph_builder.project import load_project
from graph_builder.settings import TRAINING_FIELDS
from runtime.templates import template_paths

TAGGED = {f.name: f.tags for f in TRAINING_FIELDS if f.tags}

# What each template's form must show and must not, beyond the untagged settings every task has.
SHOWN = {
    "mlp_digits": ({"optimizer", "loss", "l1", "pretrained_lr_factor"},
                   {"denoise", "beta", "beta_warmup", "generator", "discriminator", "lr_d", "gan_beta1",
                    "label_smoothing"}),
    "sine_forecaster": ({"optimizer", "loss", "l1"},
                        {"denoise", "beta", "generator", "discriminator", "lr_d", "gan_beta1"}),
    "conv_autoencoder_digits": ({"optimizer", "loss", "denoise"},
                                {"beta", "beta_warmup", "generator", "discriminator", "gan_beta1"}),
    "mlp_vae_digits": ({"optimizer", "loss", "denoise", "beta", "beta_warmup"},
                       {"generator", "discriminator", "lr_d", "gan_beta1", "label_smoothing"}),
    "dcgan_digits": ({"generator", "discriminator", "lr_d", "gan_beta1", "label_smoothing"},
                     {"optimizer", "momentum", "loss", "huber_delta", "l1", "pretrained_lr_factor", "denoise",
                      "beta"}),
}
TASK = {"mlp_digits": "classification", "sine_forecaster": "regression", "conv_autoencoder_digits": "reconstruction",
        "mlp_vae_digits": "vae", "dcgan_digits": "gan"}


def following_form(qtbot, project) -> tuple[SettingsForm, list]:
    """A Training form following `project`'s training section; edits go on `undo` (a list of inverses)."""
    undo = []

    def push(section, command, _merge_key) -> bool:
        undo.append(section.apply(command))
        return True

    form = SettingsForm(training_fields())
    qtbot.addWidget(form)
    form.follow(project.training, push)
    form.show()
    return form, undo


def shown(form: SettingsForm) -> set[str]:
    return {name for name, editor in form.editors.items() if editor.isVisible()}


@pytest.mark.parametrize("template", sorted(SHOWN))
def test_each_tasks_form_shows_only_the_settings_that_apply_to_it(qtbot, template):
    project = load_project(template_paths()[template])
    spec = project.task()
    assert spec.id == TASK[template]
    form, _ = following_form(qtbot, project)
    visible = shown(form)
    present, absent = SHOWN[template]
    assert present <= visible, present - visible
    assert not (absent & visible), absent & visible
    for name, tags in TAGGED.items():  # every tagged row: shown exactly when the task offers it
        if name in ("generator", "discriminator") and len(project.networks) >= 2:
            continue  # offered to any project of two networks, so a GAN can be made
        if form.fields[name].visible_when and not form.fields[name].applies(project.training.full()):
            continue
        assert (name in visible) == spec.offers(tags), (template, name)


def test_switching_a_vae_to_classification_hides_and_unsets_its_settings_in_one_undo_step(qtbot):
    project = load_project(template_paths()["mlp_vae_digits"])
    form, undo = following_form(qtbot, project)
    assert {"beta", "beta_warmup"} <= shown(form) and project.training["beta_warmup"] == 10
    task = form.editors["task"]
    task.setCurrentIndex(task.findData("classification"))
    assert project.task().id == "classification"
    assert not ({"beta", "beta_warmup", "denoise"} & shown(form))
    assert "beta" not in project.training and "beta_warmup" not in project.training
    assert len(undo) == 1  # the task and the settings it left without use: one command
    project.training.apply(undo.pop())
    assert project.training["beta_warmup"] == 10 and project.task().id == "vae"
    assert {"beta", "beta_warmup"} <= shown(form)


def test_a_latent_layer_added_to_an_autoencoder_offers_the_vae_settings(qtbot):
    project = load_project(template_paths()["conv_autoencoder_digits"])
    form, _ = following_form(qtbot, project)
    assert "beta" not in shown(form) and "denoise" in shown(form)
    latent = project.graph.add_node("GaussianLatent")
    assert project.task().id == "vae" and "beta" in shown(form)
    project.graph.remove_node(latent.id)
    assert "beta" not in shown(form)


def test_a_latent_layer_inside_a_block_counts_too(qtbot):
    project = load_project(template_paths()["conv_autoencoder_digits"])
    form, _ = following_form(qtbot, project)
    inner = Graph()
    inner.add_node("GaussianLatent")
    project.networks.apply(AddNetwork("Latent", inner))
    project.graph.add_node("Block", params={"network": "Latent"})
    assert project.task().id == "vae" and "beta" in shown(form)


def test_a_second_network_offers_the_gan_roles_and_naming_a_generator_makes_a_gan(qtbot):
    project = load_project(template_paths()["mlp_digits"])
    form, _ = following_form(qtbot, project)
    assert not ({"generator", "discriminator"} & shown(form))  # a one-network classifier's form stays short
    project.networks.apply(AddNetwork("Critic", Graph()))
    assert {"generator", "discriminator"} <= shown(form) and "gan_beta1" not in shown(form)
    generator = form.editors["generator"]
    generator.setFocus()
    qtbot.keyClicks(generator, "Net")
    qtbot.keyClick(generator, Qt.Key_Return)
    assert project.training["generator"] == "Net" and project.task().id == "gan"
    assert {"lr_d", "gan_beta1", "label_smoothing"} <= shown(form) and "optimizer" not in shown(form)
    generator.selectAll()
    qtbot.keyClick(generator, Qt.Key_Delete)
    qtbot.keyClick(generator, Qt.Key_Return)
    assert project.task().id == "classification" and "gan_beta1" not in shown(form)
