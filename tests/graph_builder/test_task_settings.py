"""A task says which settings apply: switching it unsets the others in one command, a trial cannot revive them,
and a study may neither search a setting the task ignores nor one that changes the task."""

from graph_builder.experiment import AddDimension, Dimension, SetExperimentSetting, apply_values
from graph_builder.graph import Graph
from graph_builder.networks import AddNetwork
from graph_builder.project import load_project
from graph_builder.settings import SetSetting
from runtime.templates import template_paths


def template(name: str):
    return load_project(template_paths()[name])


def test_switching_the_task_unsets_the_settings_it_leaves_without_use_in_one_command():
    vae = template("mlp_vae_digits")
    assert vae.training["beta_warmup"] == 10 and vae.training.applies("beta")
    inverse = vae.training.apply(SetSetting("task", "classification"))
    assert "beta" not in vae.training and "beta_warmup" not in vae.training
    assert not vae.training.applies("beta") and vae.task().id == "classification"
    vae.training.apply(inverse)
    assert vae.training["beta_warmup"] == 10 and vae.task().id == "vae"


def test_a_setting_the_task_does_not_offer_is_not_kept_when_set():
    classifier = template("mlp_digits")
    classifier.training.apply(SetSetting("beta", 4.0))
    assert "beta" not in classifier.training  # a classifier has no KL term to weigh
    trial = apply_values(classifier, {"training/beta": 4.0, "training/lr": 0.01})
    assert "beta" not in trial.training and trial.training["lr"] == 0.01


def test_the_gan_roles_are_offered_once_there_is_a_second_network():
    project = template("mlp_digits")
    assert not project.training.applies("generator")
    project.networks.apply(AddNetwork("Critic", Graph()))
    assert project.training.applies("generator") and not project.training.applies("gan_beta1")
    project.training.apply(SetSetting("generator", "Net"))
    assert project.task().id == "gan" and project.training.applies("gan_beta1")
    assert not project.training.applies("optimizer")  # a GAN's two Adams take their own settings


def test_a_network_used_as_a_block_offers_no_gan_roles():
    project = template("residual_cnn_digits")  # its ResidualBlock network is a block of the main one
    assert len(project.networks) == 2 and not project.training.applies("generator")
    project.networks.apply(AddNetwork("Critic", Graph()))  # a network standing alone: a GAN can be made
    assert project.training.applies("generator")


def test_a_study_refuses_settings_its_task_ignores_or_that_change_the_task():
    project = template("mlp_digits")
    experiment = project.experiment
    experiment.apply(AddDimension(Dimension(setting="lr", low=1e-4, high=1e-2, log=True)))
    assert experiment.problems() == []
    experiment.apply(AddDimension(Dimension(setting="beta", low=0.5, high=2.0)))
    assert any("do not use the training setting beta" in p for p in experiment.problems())
    vae = template("mlp_vae_digits")
    vae.experiment.apply(AddDimension(Dimension(setting="task", choices=("reconstruction", "classification"))))
    [problem] = vae.experiment.problems()
    assert "searching task would make some trials Classification runs" in problem


def test_a_studys_metric_must_be_one_the_task_reports():
    vae = template("mlp_vae_digits")
    vae.experiment.apply(AddDimension(Dimension(setting="lr", low=1e-4, high=1e-2, log=True)))
    vae.experiment.apply(SetExperimentSetting("metric", "val_accuracy"))
    [problem] = vae.experiment.problems()
    assert "val_accuracy is not reported by Variational autoencoder runs" in problem and "val_mae" in problem
