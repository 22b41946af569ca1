"""The declarative settings form: one editor per field, values in and out, user edits only emit."""

from PySide6.QtCore import Qt

from app.training.settings_form import SettingsForm
from app.training.training_panel import training_fields
from graph_builder.schema import Field
from graph_builder.settings import TRAINING_FIELDS

FIELDS = [
    Field("optimizer", "choice", "adam", choices=("sgd", "adam")),
    Field("momentum", "float", 0.9, min=0.0, max=1.0, visible_when={"optimizer": ("sgd",)}),
    Field("epochs", "int", 10, min=1, max=1000),
    Field("patience", "int", None, min=1, max=100, optional=True),
    Field("amp", "bool", False),
    Field("note", "str", "", optional=True),
]


def test_defaults_round_trip_and_model_updates_do_not_emit(qtbot):
    form = SettingsForm(FIELDS)
    qtbot.addWidget(form)
    assert form.values() == {"optimizer": "adam", "momentum": 0.9, "epochs": 10, "patience": None,
                             "amp": False, "note": None}
    seen = []
    form.changed.connect(lambda n, v: seen.append((n, v)))
    form.set_values({"optimizer": "sgd", "epochs": 3, "patience": 5, "amp": True, "unknown": 1})
    assert seen == []
    assert form.values()["optimizer"] == "sgd" and form.values()["patience"] == 5


def test_typing_into_an_editor_emits_the_new_value_and_bounds_hold(qtbot):
    form = SettingsForm(FIELDS)
    qtbot.addWidget(form)
    form.show()
    seen = []
    form.changed.connect(lambda n, v: seen.append((n, v)))
    epochs = form.editors["epochs"]
    epochs.selectAll()
    qtbot.keyClicks(epochs, "5000")  # above the maximum: the spin box refuses the extra digit
    assert form.value("epochs") <= 1000
    form.editors["amp"].setFocus()
    qtbot.keyClick(form.editors["amp"], Qt.Key_Space)
    assert ("amp", True) in seen


def test_fields_only_shown_when_they_apply(qtbot):
    form = SettingsForm(FIELDS)
    qtbot.addWidget(form)
    form.show()
    assert not form.editors["momentum"].isVisible()
    form.editors["optimizer"].setCurrentIndex(form.editors["optimizer"].findData("sgd"))
    assert form.editors["momentum"].isVisible()


def test_the_training_form_is_built_from_the_schema_table_itself(qtbot):
    assert training_fields() == list(TRAINING_FIELDS)  # no adapter guessing attribute names
    form = SettingsForm(training_fields())
    qtbot.addWidget(form)
    assert form.values() == {f.name: f.default for f in TRAINING_FIELDS}
    lr = next(f for f in TRAINING_FIELDS if f.name == "lr")
    assert form.editors["lr"].minimum() == lr.min and form.editors["lr"].maximum() == lr.max
