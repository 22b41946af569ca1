"""The dataset and training sections: defaults, coercion and errors with their JSON path."""

import pytest

from graph_builder import ProjectError, loads_project
from graph_builder import settings


def test_defaults_are_filled_in_only_when_asked():
    assert settings.validate_training_section({"epochs": 3}) == {"epochs": 3}
    full = settings.validate_training_section({"epochs": 3}, fill_defaults=True)
    assert full["epochs"] == 3 and full["optimizer"] == "adam" and full["grad_clip"] is None
    assert set(full) == {f.name for f in settings.TRAINING_FIELDS}
    assert settings.validate_dataset_section({}, fill_defaults=True)["name"] == "digits"


def test_whole_floats_become_ints_and_ints_become_floats():
    t = settings.validate_training_section({"epochs": 4.0, "lr": 1}, fill_defaults=True)
    assert t["epochs"] == 4 and isinstance(t["epochs"], int) and isinstance(t["lr"], float)


@pytest.mark.parametrize("section, data, path, words", [
    ("training", {"optimizer": "adamx"}, "$.training.optimizer", "one of sgd, adam, adamw, rmsprop"),
    ("training", {"epochs": 0}, "$.training.epochs", "between 1 and"),
    ("training", {"epochs": 2.5}, "$.training.epochs", "whole number"),
    ("training", {"lr": "fast"}, "$.training.lr", "finite number"),
    ("training", {"early_stopping": 1}, "$.training.early_stopping", "true or false"),
    ("training", {"epochz": 3}, "$.training.epochz", "unknown training setting"),
    ("training", {"nesterov": True, "optimizer": "adam"}, "$.training.nesterov", "needs optimizer sgd"),
    ("training", {"task": "regression", "loss": "cross_entropy"}, "$.training.loss", "use mse"),
    ("training", {"task": "classification", "loss": "huber"}, "$.training.loss", "use cross_entropy"),
    ("training", {"seed": None}, "$.training.seed", "cannot be empty"),
    ("dataset", {"name": "imagenet"}, "$.dataset.name", "must be one of digits"),
    ("dataset", {"val_fraction": 0.6, "test_fraction": 0.4}, "$.dataset.test_fraction", "more than 0.9"),
    ("dataset", {"name": "csv"}, "$.dataset.path", "set path to the file"),
    ("dataset", {"name": "image_folder", "path": ""}, "$.dataset.path", "set path to the folder"),
])
def test_bad_settings_name_their_json_path(section, data, path, words):
    validate = settings.validate_training_section if section == "training" else settings.validate_dataset_section
    with pytest.raises(settings.SettingsError, match=words) as info:
        validate(data)
    assert info.value.path == path
    assert isinstance(info.value, ProjectError)


def test_load_project_validates_both_sections():
    text = '{"format": "netcanvas", "version": 1, "graph": {"nodes": []}, "training": {"batch_size": -1}}'
    with pytest.raises(ProjectError) as info:
        loads_project(text)
    assert info.value.path == "$.training.batch_size"
    ok = loads_project('{"format": "netcanvas", "version": 1, "graph": {"nodes": []}, '
                       '"dataset": {"name": "iris"}, "training": {"grad_clip": null}}')
    assert ok.dataset == {"name": "iris"} and ok.training == {"grad_clip": None}


def test_every_field_describes_itself_for_the_forms():
    for spec in settings.DATASET_FIELDS + settings.TRAINING_FIELDS:
        assert spec.kind in ("int", "float", "bool", "choice", "str")
        assert spec.label
        if spec.kind == "choice":
            assert spec.default in spec.choices
        if spec.default is not None:
            settings.coerce_setting(spec, spec.default, "$")  # the default itself is valid
        for other in spec.visible_when:
            assert other in {s.name for s in settings.DATASET_FIELDS + settings.TRAINING_FIELDS}


@pytest.mark.parametrize("name", settings.DOWNLOADABLE)
def test_a_downloadable_dataset_needs_no_path_it_reads_the_downloaded_copy(name):
    d = settings.validate_dataset_section({"name": name, "path": ""})
    assert d["name"] == name and not d["path"]
