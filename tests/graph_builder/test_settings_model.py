"""The document's settings sections: one schema, reversible commands, events, what a file keeps."""

import pytest

from graph_builder import ParamError, ParamSpec, Project, loads_project
from graph_builder.catalog import get_spec
from graph_builder.errors import EditError
from graph_builder.project import dumps_project
from graph_builder.schema import Field
from graph_builder.settings import (ReplaceSettings, SetSetting, SettingSpec, SettingsSection, TRAINING_FIELDS,
                                    section)


def test_layer_parameters_and_settings_are_one_schema_class():
    assert ParamSpec is Field and SettingSpec is Field
    assert isinstance(get_spec("Conv2d").param("kernel_size"), Field)
    assert all(isinstance(f, Field) for f in TRAINING_FIELDS)
    epochs = next(f for f in TRAINING_FIELDS if f.name == "epochs")
    with pytest.raises(ParamError, match=r"epochs must be at least 1 \(between 1 and 100000\), not 0"):
        epochs.coerce(0)
    with pytest.raises(ParamError, match="kernel_size must be at least 1"):
        get_spec("Conv2d").param("kernel_size").coerce(0)


def test_a_section_reads_as_the_values_the_user_set_and_fills_defaults_on_request():
    training = section("training", {"epochs": 3})
    assert training.get("epochs") == 3 and training.get("optimizer") is None
    assert dict(training) == {"epochs": 3} and training == {"epochs": 3}
    assert {**training, "lr": 0.1} == {"epochs": 3, "lr": 0.1}
    full = training.full()
    assert full["epochs"] == 3 and full["optimizer"] == "adam" and set(full) == {f.name for f in TRAINING_FIELDS}
    assert training.value("optimizer") == "adam"


def test_set_setting_returns_its_inverse_and_emits_once_per_command():
    training = section("training", {"epochs": 3})
    seen, changed = [], []
    training.events.value_changed.connect(lambda name, value: seen.append((name, value)))
    training.events.changed.connect(lambda: changed.append(True))
    inverse = training.apply(SetSetting("epochs", 60))
    assert training["epochs"] == 60 and seen == [("epochs", 60)] and len(changed) == 1
    again = training.apply(inverse)
    assert dict(training) == {"epochs": 3} and seen[-1] == ("epochs", 3)
    training.apply(again)
    assert training["epochs"] == 60


def test_undoing_a_first_set_unsets_it_so_the_file_keeps_only_what_the_user_set():
    training = section("training")
    inverse = training.apply(SetSetting("optimizer", "adamw"))
    assert dict(training) == {"optimizer": "adamw"}
    training.apply(inverse)
    assert dict(training) == {}
    assert '"training": {}' in dumps_project(Project(training=training))


def test_a_refused_value_raises_with_the_reason_and_changes_nothing():
    training = section("training", {"epochs": 3})
    changed = []
    training.events.changed.connect(lambda: changed.append(True))
    with pytest.raises(ParamError, match="optimizer must be one of sgd, adam, adamw, rmsprop, not 'adamx'"):
        training.apply(SetSetting("optimizer", "adamx"))
    with pytest.raises(EditError, match="no training setting 'epochz'"):
        training.apply(SetSetting("epochz", 3))
    assert dict(training) == {"epochs": 3} and changed == []


def test_leaving_sgd_unsets_nesterov_and_undo_puts_it_back():
    training = section("training", {"optimizer": "sgd", "nesterov": True})
    inverse = training.apply(SetSetting("optimizer", "adam"))
    assert dict(training) == {"optimizer": "adam"}  # nesterov no longer applies: the file stays valid
    training.check()
    training.apply(inverse)
    assert dict(training) == {"optimizer": "sgd", "nesterov": True}


def test_replace_settings_resets_everything_not_given_to_its_default():
    training = section("training", {"epochs": 60, "optimizer": "adamw", "weight_decay": 1e-4})
    seen = []
    training.events.value_changed.connect(lambda name, value: seen.append((name, value)))
    inverse = training.apply(ReplaceSettings({"epochs": 15}))
    assert dict(training) == {"epochs": 15}
    assert training.full()["optimizer"] == "adam" and training.full()["weight_decay"] == 0.0
    assert sorted(seen) == [("epochs", 15), ("optimizer", "adam"), ("weight_decay", 0.0)]
    training.apply(inverse)
    assert training["optimizer"] == "adamw"


def test_a_project_builds_sections_from_dicts_and_saves_only_what_was_set():
    project = Project(dataset={"name": "iris"}, training={"epochs": 5})
    assert isinstance(project.dataset, SettingsSection) and isinstance(project.training, SettingsSection)
    project.training.set("lr", 0.01)
    text = dumps_project(project)
    back = loads_project(text)
    assert dict(back.training) == {"epochs": 5, "lr": 0.01} and dict(back.dataset) == {"name": "iris"}
    assert back == project


def test_an_empty_training_section_in_a_file_means_every_default():
    project = loads_project('{"format": "netcanvas", "version": 1, "graph": {"nodes": []}, "training": {}}')
    assert dict(project.training) == {}
    assert project.training.full()["epochs"] == 10 and project.training.full()["optimizer"] == "adam"


def _values_for(field: Field):
    """Values a user could give `field`: in range, plus some it refuses."""
    from hypothesis import strategies as st

    if field.kind == "bool":
        good = st.booleans()
    elif field.kind == "choice":
        good = st.sampled_from(field.choices)
    elif field.kind == "int":
        good = st.integers(int(field.min), int(min(field.max, field.min + 1000)))
    elif field.kind == "float":
        good = st.floats(field.min, field.max, allow_nan=False)
    else:
        good = st.text(max_size=12)
    bad = st.sampled_from([None, "many", -1e9, [1, 2]])
    return st.one_of(good, good, bad)


def test_random_settings_edits_undo_back_to_the_start_exactly():
    from hypothesis import given, settings as hsettings
    from hypothesis import strategies as st

    fields = {f.name: f for f in TRAINING_FIELDS}
    edits = st.lists(st.sampled_from(sorted(fields)).flatmap(
        lambda name: st.tuples(st.just(name), _values_for(fields[name]))), max_size=12)

    @hsettings(max_examples=150, deadline=None)
    @given(edits)
    def run(sequence):
        training = section("training", {"epochs": 7, "optimizer": "sgd", "nesterov": True})
        start = dict(training)
        history = []
        for name, value in sequence:
            try:
                history.append(training.apply(SetSetting(name, value)))
            except (ParamError, EditError):
                pass  # refused: nothing changed
            assert set(training) <= set(fields)
            assert all(fields[n].coerce(v) == v for n, v in training.items())
        for inverse in reversed(history):
            training.apply(inverse)
        assert dict(training) == start

    run()
