"""The classes and training fraction dataset settings: which samples train, their labels, and the messages."""

import numpy as np
import pytest

from graph_builder.datafit import project_description
from graph_builder.settings import SettingsError, class_selection, validate_dataset_section
from runtime.data import DatasetSettingError, load_splits


def test_classes_keep_only_those_samples_relabelled_in_the_order_named():
    whole = load_splits({"name": "digits"})
    part = load_splits({"name": "digits", "classes": "7, 5-6"})
    assert part.classes == ("7", "5", "6")
    x, y = part["test"]
    assert set(np.unique(y)) == {0, 1, 2}
    counts = {k: int(np.isin(whole[k][1], [5, 6, 7]).sum()) for k in ("train", "val", "test")}
    assert sum(part.counts.values()) == sum(counts.values())
    assert project_description({"name": "digits", "classes": "7, 5-6"}).classes == ("7", "5", "6")


def test_a_training_fraction_subsamples_the_training_split_only_and_keeps_every_class():
    whole = load_splits({"name": "digits", "classes": "5-9"})
    few = load_splits({"name": "digits", "classes": "5-9", "train_fraction": 0.02})
    assert few.counts["train"] == round(0.02 * whole.counts["train"])
    assert (few.counts["val"], few.counts["test"]) == (whole.counts["val"], whole.counts["test"])
    assert set(np.unique(few["train"][1])) == {0, 1, 2, 3, 4}
    again = load_splits({"name": "digits", "classes": "5-9", "train_fraction": 0.02, "split_seed": 1})
    assert not np.array_equal(few["train"][0], again["train"][0])  # the split seed draws other labels


@pytest.mark.parametrize("text,message", [("5", "needs at least two"), ("5-5", "needs at least two"),
                                          ("9-5", "runs backwards"), ("5,,6", "empty item"),
                                          ("5, 5-6", "named twice")])
def test_malformed_classes_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        class_selection(text)
    with pytest.raises(SettingsError, match=message):
        validate_dataset_section({"name": "digits", "classes": text})


def test_classes_the_data_lacks_or_a_regression_dataset_say_what_to_do():
    with pytest.raises(DatasetSettingError, match="no classes '10', '11', '12'; its classes are 0, 1"):
        load_splits({"name": "digits", "classes": "8-12"})
    with pytest.raises(DatasetSettingError, match="clear the classes setting"):
        load_splits({"name": "sine", "classes": "0-1"})
    with pytest.raises(SettingsError):
        validate_dataset_section({"name": "digits", "train_fraction": 0.0})
