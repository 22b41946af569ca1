"""The task registry says what each template trains, and each task's metrics, losses and monitors."""

import pytest

from graph_builder import tasks
from graph_builder.data_description import CLASSES, VALUES
from graph_builder.graph import Graph
from graph_builder.networks import AddNetwork
from graph_builder.project import Project, load_project
from graph_builder.settings import TRAINING_FIELDS, SettingsError, validate_training_section
from graph_builder.tasks import (CLASSIFICATION, FORECASTING, GAN, RECONSTRUCTION, REGRESSION, VAE, Metric,
                                 SupervisedTask, TaskSettingError, project_task, resolve, run_task)
from runtime.templates import template_paths

TEMPLATE_TASKS = {
    "conv_autoencoder_digits": "reconstruction", "conv_vae_digits": "vae", "dcgan_digits": "gan",
    "gru_waveforms": "classification", "lenet_digits": "classification", "lstm_waveforms": "classification",
    "mlp_digits": "classification", "mlp_iris": "classification", "mlp_vae_digits": "vae",
    "residual_cnn_digits": "classification", "resnet18_features_image_folder": "classification",
    "sine_forecaster": "regression", "sunspots_forecaster": "forecasting",
    "sentiment_lstm": "classification",
    "transformer_waveforms": "classification", "mnist_mlp": "classification",
    "cifar10_cnn": "classification",
}


def test_every_template_resolves_to_the_task_it_trains():
    assert set(template_paths()) == set(TEMPLATE_TASKS)
    for name, path in template_paths().items():
        project = load_project(path)
        assert project.task().id == TEMPLATE_TASKS[name], name  # the built-in data's kind is known
        kind = VALUES if project.dataset.get("name") in ("sine", "sunspots") else CLASSES
        assert project_task(project, kind).id == TEMPLATE_TASKS[name], name


def test_a_gan_is_claimed_by_either_role_so_the_missing_one_can_be_named():
    assert resolve({"generator": "G"}) is GAN
    assert resolve({"discriminator": "D", "task": "classification"}) is GAN
    assert resolve({"task": "auto"}, VALUES) is REGRESSION
    assert resolve({"task": "auto"}) is CLASSIFICATION  # the data is not known: a classifier
    assert resolve({"task": "regression"}, CLASSES) is REGRESSION  # named: the data's fit check says no
    assert resolve({"task": "forecasting"}, VALUES) is FORECASTING  # named only: auto on values stays regression


def test_a_latent_layer_inside_a_block_makes_a_reconstruction_a_vae():
    assert project_task(load_project(template_paths()["mlp_vae_digits"])) is VAE
    plain = load_project(template_paths()["conv_autoencoder_digits"])
    assert project_task(plain) is RECONSTRUCTION
    inner = Graph()
    inner.add_node("GaussianLatent")
    plain.networks.apply(AddNetwork("Latent", inner))
    plain.graph.add_node("Block", params={"network": "Latent"})
    assert tasks.has_latent(plain.graph) and project_task(plain) is VAE


def test_old_runs_map_to_their_task_and_a_vae_run_is_known_by_its_snapshot():
    vae = load_project(template_paths()["mlp_vae_digits"])
    assert run_task({"resolved": {"task": "reconstruction"}, "project": vae.to_dict()}) is VAE
    ae = load_project(template_paths()["conv_autoencoder_digits"])
    assert run_task({"resolved": {"task": "reconstruction"}, "project": ae.to_dict()}) is RECONSTRUCTION
    assert run_task({"resolved": {"task": "gan"}}) is GAN
    assert run_task({}) is CLASSIFICATION  # a run from before tasks were recorded


def test_monitors_follow_the_task_and_auc_needs_two_classes():
    assert CLASSIFICATION.monitors(10) == ("val_loss", "val_accuracy", "val_f1_macro", "train_loss")
    assert "val_auc" in CLASSIFICATION.monitors(2)
    assert GAN.monitors() == ("val_loss", "train_loss")
    assert REGRESSION.monitor("val_mae", 0, has_val=False) == ("train", REGRESSION.metric("mae"))
    with pytest.raises(TaskSettingError, match="choose one of val_loss, val_mse, val_mae, val_r2, train_loss"):
        REGRESSION.monitor("val_accuracy", 0, has_val=True)
    monitor = next(f for f in TRAINING_FIELDS if f.name == "monitor")
    assert set(monitor.choices) == {m for spec in tasks.TASKS.values() for m in spec.monitors()}


def test_each_metric_says_which_way_is_better():
    assert tasks.lower_is_better("loss") and tasks.lower_is_better("mae") and tasks.lower_is_better("d_fake")
    assert not tasks.lower_is_better("accuracy") and not tasks.lower_is_better("r2")


def test_losses_are_the_tasks_and_auto_means_the_first():
    assert CLASSIFICATION.resolve_loss("auto") == "cross_entropy"
    assert REGRESSION.resolve_loss("auto") == "mse" and RECONSTRUCTION.resolve_loss("huber") == "huber"
    assert GAN.resolve_loss("auto") is None  # its own loss
    with pytest.raises(TaskSettingError, match="loss mse does not fit a classification run"):
        CLASSIFICATION.resolve_loss("mse")
    with pytest.raises(SettingsError, match="loss nll does not fit a regression run"):
        validate_training_section({"task": "regression", "loss": "nll"})
    assert validate_training_section({"task": "auto", "loss": "mse"}) == {"task": "auto", "loss": "mse"}


def test_a_summary_names_the_tasks_own_test_metrics():
    assert CLASSIFICATION.summary({"accuracy": 0.9666, "f1_macro": 0.9651}) == "test accuracy 96.66%, macro F1 0.965"
    assert REGRESSION.summary({"mse": 0.1596, "mae": 0.3, "r2": None}) == "test MSE 0.1596, MAE 0.3"
    assert GAN.summary({"d_real": 0.51, "d_fake": 0.47, "diversity": 0.9}) == \
        "test D(real) 0.51, D(fake) 0.47, sample diversity 0.90"
    assert CLASSIFICATION.headline_words({"accuracy": 0.5}) == "accuracy 50.00%"


def test_settings_are_offered_by_their_tags():
    tagged = {f.name: f.tags for f in TRAINING_FIELDS}
    assert GAN.offers(tagged["gan_beta1"]) and not CLASSIFICATION.offers(tagged["gan_beta1"])
    assert VAE.offers(tagged["beta"]) and not RECONSTRUCTION.offers(tagged["beta"])
    assert RECONSTRUCTION.offers(tagged["denoise"]) and not REGRESSION.offers(tagged["denoise"])
    assert not GAN.offers(tagged["optimizer"]) and CLASSIFICATION.offers(tagged["epochs"])


def test_a_task_registered_from_outside_is_resolved_and_can_be_removed():
    quantile = SupervisedTask(
        id="quantile", title="Quantile regression", priority=5, target="values",
        metrics=(tasks.LOSS, Metric("pinball", "pinball loss", "Pinball loss", lower_is_better=True)),
        headline="pinball", views=("curves",), setting_tags=frozenset({"optimizer"}), names=("quantile",))
    tasks.register(quantile)
    try:
        assert resolve({"task": "quantile"}) is quantile
        with pytest.raises(ValueError, match="registered twice"):
            tasks.register(quantile)
    finally:
        tasks.unregister("quantile")
    assert resolve({"task": "quantile"}) is CLASSIFICATION


def test_roles_name_the_networks_a_task_trains():
    gan = load_project(template_paths()["dcgan_digits"])
    assert GAN.networks(gan) == {"generator": "Generator", "discriminator": "Discriminator"}
    single = Project(Graph())
    assert CLASSIFICATION.networks(single) == {"model": single.networks.main}
