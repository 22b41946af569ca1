"""Data panel and Runs panel, driven by real clicks and typing, with real data and real child-process runs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionButton

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


@pytest.fixture
def data(app_window):
    """The Data panel, shown in its dock."""
    app_window.training._show("data_dock")
    return app_window.training.data_panel


def choose(qtbot, combo: QComboBox, value) -> None:
    """Open the combo's list and click the entry holding `value`, as a user does."""
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered by {combo.objectName()}"
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    rect = view.visualRect(view.model().index(index, 0))
    view.scrollTo(view.model().index(index, 0))
    rect = view.visualRect(view.model().index(index, 0))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentData() == value


def type_into(qtbot, editor, text: str) -> None:
    """Replace a spin box's or line edit's text by typing, then press Enter."""
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key_Enter)


def tick(qtbot, box) -> None:
    """Click a check box on its indicator (a form stretches the box far wider than what is clickable)."""
    option = QStyleOptionButton()
    option.initFrom(box)
    indicator = box.style().subElementRect(QStyle.SE_CheckBoxIndicator, option, box)
    qtbot.mouseClick(box, Qt.LeftButton, pos=indicator.center())


def wait_loaded(qtbot, panel, timeout: int = 30000) -> None:
    """Wait until the panel's description job has ended and nothing is pending."""
    qtbot.waitUntil(lambda: panel._job is not None and panel._job.done and panel._pending is None
                    and not panel.summary.text().startswith("Loading"), timeout=timeout)


def editor(panel, name: str):
    return panel.form.editors[name]


# ----- data panel ---------------------------------------------------------------------------

def test_choosing_digits_describes_it_and_shows_a_grid_of_sample_images(app_window, data, qtbot):
    project = app_window.project
    qtbot.wait(300)  # longer than the panel's refresh delay
    assert data._job is None and "Show samples" in data.summary.text()  # nothing loads torch unasked
    choose(qtbot, editor(data, "name"), "iris")
    assert project.dataset["name"] == "iris"
    choose(qtbot, editor(data, "name"), "digits")
    assert project.dataset["name"] == "digits"
    wait_loaded(qtbot, data)
    text = data.summary.text()
    # sklearn's 1797 digits: 20 % validation, 20 % test by default, stratified
    assert "1797 samples: train 1078, val 360, test 359" in text and "10 classes" in text, text
    assert "balanced" in text and "imbalanced" not in text
    assert data.balance.isVisible()
    heights = data._bars.opts["height"]
    assert len(heights) == 10 and heights.sum() == 1078 and heights.min() > 100
    assert data.samples.kind == "image"
    assert data.samples.currentWidget() is data.samples.image_label
    pixmap = data.samples.image_label.pixmap()
    assert not pixmap.isNull()
    assert data.samples.shown == 32
    # 32 8x8 digits tiled 8 per row with a 1-pixel gutter, scaled by a whole factor
    grid = data.samples.grid
    assert grid.shape == (4 * 9 + 1, 8 * 9 + 1)
    assert pixmap.width() % grid.shape[1] == 0 and pixmap.width() // grid.shape[1] == pixmap.height() // grid.shape[0]
    assert len(np.unique(grid)) > 2  # real pixel values, not a blank mosaic
    assert len(data.samples.image_label.toolTip().split(":")[1].split()) == 32


def table_rows(table) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


@pytest.mark.parametrize("name, features, classes", [
    ("iris", 4, ("setosa", "versicolor", "virginica")),
    ("wine", 13, ("class_0", "class_1", "class_2")),
    ("breast_cancer", 30, ("malignant", "benign")),
    ("moons", 2, None),
    ("spirals", 2, None),
])
def test_a_tabular_dataset_shows_a_table_of_rows(app_window, data, qtbot, name, features, classes):
    choose(qtbot, editor(data, "name"), name)
    assert app_window.project.dataset["name"] == name
    wait_loaded(qtbot, data)
    text = data.summary.text()
    assert f"input ({features},)" in text and "samples:" in text and "classes" in text, text
    view = data.samples
    assert view.kind == "table" and view.currentWidget() is view.table
    table = view.table
    assert table.rowCount() == 20 and table.columnCount() == features + 1
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header[-1] == "target" and header[0] == "x0"
    rows = table_rows(table)
    assert all(float(v) == float(v) for row in rows for v in row[:-1])  # numbers, not NaN
    targets = {row[-1] for row in rows}
    if classes:
        assert targets <= set(classes) and len(targets) >= 1
        assert f"{len(classes)} classes" in text


def test_a_sequence_dataset_shows_sequence_plots_and_follows_its_length(app_window, data, qtbot):
    choose(qtbot, editor(data, "name"), "waveforms")
    wait_loaded(qtbot, data)
    view = data.samples
    assert view.kind == "sequence" and view.currentWidget() is view.plot
    curves = view.plot.getPlotItem().listDataItems()
    assert len(curves) == 6 and all(len(c.getData()[0]) == 32 for c in curves)
    assert "input (32, 1)" in data.summary.text()

    type_into(qtbot, editor(data, "seq_len"), "48")
    assert app_window.project.dataset["seq_len"] == 48
    qtbot.waitUntil(lambda: "input (48, 1)" in data.summary.text(), timeout=30000)
    curves = view.plot.getPlotItem().listDataItems()
    assert len(curves) == 6 and all(len(c.getData()[0]) == 48 for c in curves)

    choose(qtbot, editor(data, "name"), "sine")
    qtbot.waitUntil(lambda: "values to predict" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert view.kind == "sequence" and "classes" not in data.summary.text()
    assert len(view.plot.getPlotItem().listDataItems()) == 6
    assert not data.balance.isVisible()  # no classes, no class balance


def pick_file(qtbot, panel, path: Path) -> None:
    """Click "Choose file…" and pick `path` in the dialog."""
    assert panel.file_button.isVisible()
    qtbot.mouseClick(panel.file_button, Qt.LeftButton)
    dialog = panel.file_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    dialog.selectFile(str(path))
    dialog.accept()
    qtbot.waitUntil(lambda: not dialog.isVisible())


def write_flowers_csv(path: Path, rows: int = 90) -> Path:
    """A CSV whose target column is in the middle, with text labels."""
    rng = np.random.default_rng(0)
    lines = ["length,species,width,depth"]
    for i in range(rows):
        kind = ("rose", "tulip", "lily")[i % 3]
        base = (i % 3) * 2.0
        lines.append(f"{base + rng.normal():.3f},{kind},{base + rng.normal():.3f},{rng.normal():.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_csv_file_with_a_target_column_is_described_and_tabulated(app_window, data, qtbot, tmp_path):
    csv_path = write_flowers_csv(tmp_path / "flowers.csv")
    assert not data.file_button.isVisible()  # built-in datasets need no file
    choose(qtbot, editor(data, "name"), "csv")
    type_into(qtbot, editor(data, "target"), "species")
    pick_file(qtbot, data, csv_path)
    dataset = app_window.project.dataset
    assert dataset["name"] == "csv" and dataset["target"] == "species" and Path(dataset["path"]) == csv_path
    qtbot.waitUntil(lambda: "3 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    text = data.summary.text()
    assert "input (3,)" in text and "90 samples" in text, text
    assert data.samples.kind == "table"
    targets = {row[-1] for row in table_rows(data.samples.table)}
    assert targets <= {"rose", "tulip", "lily"} and len(targets) >= 2


def test_a_text_csv_is_chosen_its_settings_shown_and_described_as_token_ids(app_window, data, qtbot, tmp_path):
    import csv

    from tests.datasets import review_rows

    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("review", "sentiment"), *review_rows(100)])
    choose(qtbot, editor(data, "name"), "text")
    rows = data.form._layout
    assert all(rows.isRowVisible(editor(data, n)) for n in ("path", "target", "text_column", "tokenizer",
                                                            "vocab_size", "max_length"))
    assert not rows.isRowVisible(editor(data, "image_size")) and not rows.isRowVisible(editor(data, "target_type"))
    type_into(qtbot, editor(data, "max_length"), "20")
    choose(qtbot, editor(data, "tokenizer"), "bpe")
    pick_file(qtbot, data, path)
    dataset = app_window.project.dataset
    assert dataset["name"] == "text" and dataset["max_length"] == 20 and dataset["tokenizer"] == "bpe"
    # run alone, this is the window's first load (torch and scikit-learn imported on the worker): 20 s on a busy CPU
    qtbot.waitUntil(lambda: "2 classes" in data.summary.text(), timeout=90000)
    wait_loaded(qtbot, data)
    assert "input (20,)" in data.summary.text() and "100 samples" in data.summary.text()
    assert "-token vocabulary, learnt on the training split" in data.summary.text()
    assert data.samples.shown > 0 and "Traceback" not in data.summary.text()


def test_an_npz_of_images_shows_its_grid(app_window, data, qtbot, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(50, 12, 12), dtype=np.uint8)
    y = np.arange(50) % 5
    np.savez(tmp_path / "tiles.npz", x=x, y=y)
    choose(qtbot, editor(data, "name"), "npz")
    pick_file(qtbot, data, tmp_path / "tiles.npz")
    qtbot.waitUntil(lambda: "5 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert "input (1, 12, 12)" in data.summary.text()
    assert data.samples.kind == "image" and data.samples.shown == 30  # 60 % of 50 are training samples
    assert data.samples.grid.shape == (4 * 13 + 1, 8 * 13 + 1)


@pytest.mark.parametrize("name, make, expected", [
    ("npz", lambda p: p.write_bytes(b"this is not a zip archive at all" * 10), "is not a readable .npz"),
    ("npz", lambda p: np.savez(p, x=np.zeros((10, 3)), labels=np.zeros(10)), "has no array 'y'"),
    ("csv", lambda p: p.write_bytes(bytes(range(256)) * 8), "flowers.csv is not a UTF-8 text file"),
    ("csv", lambda p: p.write_text("a,b\n1,2\n", encoding="utf-8"), "has a single class"),
])
def test_a_corrupt_or_wrong_file_is_explained_in_plain_words(app_window, data, qtbot, tmp_path, name, make,
                                                             expected):
    bad = tmp_path / f"flowers.{name}"
    make(bad)
    choose(qtbot, editor(data, "name"), name)
    pick_file(qtbot, data, bad)
    qtbot.waitUntil(lambda: data.summary.text().startswith("The dataset could not be loaded")
                    and expected in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    text = data.summary.text()
    assert "Traceback" not in text and 'File "' not in text
    assert data.samples.shown == 0 and not data.balance.isVisible()
    assert app_window.project.dataset["path"] == str(bad)

    # The app keeps working: a good dataset loads right after.
    choose(qtbot, editor(data, "name"), "digits")
    qtbot.waitUntil(lambda: "10 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert data.samples.kind == "image" and data.samples.shown == 32
    assert app_window.isVisible()


def test_a_typed_path_that_does_not_exist_is_explained(app_window, data, qtbot, tmp_path):
    choose(qtbot, editor(data, "name"), "csv")
    missing = tmp_path / "nowhere" / "table.csv"
    type_into(qtbot, editor(data, "path"), str(missing))
    assert app_window.project.dataset["path"] == str(missing)
    qtbot.waitUntil(lambda: "there is no file" in data.summary.text(), timeout=30000)
    assert "check the path" in data.summary.text() and "Traceback" not in data.summary.text()


def counts_in(text: str) -> dict[str, int]:
    """{"train": 1078, "val": 360, "test": 359} from the panel's description."""
    import re

    return {k: int(v) for k, v in re.findall(r"\b(train|val|test) (\d+)", text)}


def test_split_normalisation_and_augmentation_reach_the_project_and_the_preview(app_window, data, qtbot):
    dataset = app_window.project.dataset
    choose(qtbot, editor(data, "name"), "wine")
    choose(qtbot, editor(data, "name"), "digits")
    qtbot.waitUntil(lambda: counts_in(data.summary.text()).get("val") == 360, timeout=30000)
    wait_loaded(qtbot, data)
    plain = data.last_preview["x"].copy()
    assert plain.min() < 0 < plain.max()  # standardised with the training split's statistics

    type_into(qtbot, editor(data, "val_fraction"), "0.3")
    assert dataset["val_fraction"] == pytest.approx(0.3)
    qtbot.waitUntil(lambda: counts_in(data.summary.text()).get("val") == 539, timeout=30000)
    assert sum(counts_in(data.summary.text()).values()) == 1797

    normalise = editor(data, "normalize")
    assert normalise.isChecked()
    tick(qtbot, normalise)
    assert dataset["normalize"] is False
    qtbot.waitUntil(lambda: data.last_preview["x"].min() == 0.0 and data.last_preview["x"].max() == 16.0,
                    timeout=30000)  # digits' raw pixel range
    tick(qtbot, normalise)
    assert dataset["normalize"] is True
    qtbot.waitUntil(lambda: data.last_preview["x"].min() < 0, timeout=30000)
    wait_loaded(qtbot, data)
    plain = data.last_preview["x"].copy()
    plain_grid = data.samples.grid.copy()

    # Augmentation off: the preview says so and shows the plain samples.
    qtbot.mouseClick(data.augment_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "Augmentation is off" in data.caption.text(), timeout=30000)
    np.testing.assert_array_equal(data.last_preview["x"], plain)

    type_into(qtbot, editor(data, "augment_rotation"), "30")
    tick(qtbot, editor(data, "augment_flip"))
    assert dataset["augment_rotation"] == 30.0 and dataset["augment_flip"] is True
    qtbot.waitUntil(lambda: data.caption.text().startswith("Augmented")
                    and "random flip" in data.caption.text() and "±30°" in data.caption.text(), timeout=30000)
    wait_loaded(qtbot, data)
    first = data.last_preview["x"].copy()
    assert first.shape == plain.shape
    changed = [not np.allclose(a, b, atol=1e-3) for a, b in zip(first, plain)]
    assert sum(changed) >= 24, f"only {sum(changed)} of 32 samples changed"
    assert not np.array_equal(data.samples.grid, plain_grid)

    qtbot.mouseClick(data.augment_button, Qt.LeftButton)  # another random draw
    qtbot.waitUntil(lambda: not np.array_equal(data.last_preview["x"], first), timeout=30000)
    wait_loaded(qtbot, data)
    qtbot.mouseClick(data.load_button, Qt.LeftButton)  # back to the plain samples
    qtbot.waitUntil(lambda: data.caption.text().startswith("Training samples"), timeout=30000)
    np.testing.assert_array_equal(data.last_preview["x"], plain)


# ----- runs panel ---------------------------------------------------------------------------

def open_template(window, stem: str):
    from graph_builder.project import load_project

    project = load_project(TEMPLATES / f"{stem}.json")
    window.set_project(project, None, unsaved=True)
    return project


def train_once(qtbot, window, epochs: int) -> Path:
    """Set the epochs by typing, press Train, wait for the run to finish; returns its folder."""
    c = window.training
    type_into(qtbot, c.training_panel.form.editors["epochs"], str(epochs))
    with qtbot.waitSignal(c.run_finished, timeout=120000) as ended:
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
        assert c.bridge.is_active
    assert ended.args[0] == "finished", ended.args
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    return Path(c.bridge.run_dir)


def row_texts(tree, row: int) -> list[str]:
    item = tree.topLevelItem(row)
    return [item.text(col) for col in range(tree.columnCount())]


def click_row(qtbot, tree, run_dir: Path, modifier=Qt.NoModifier) -> None:
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if Path(tree.topLevelItem(i).data(0, Qt.UserRole)) == run_dir)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, modifier, rect.center())


def overlay_points(plot, run_name: str) -> list[int]:
    """Point counts of the overlay curves a run drew on a dashboard plot."""
    return [len(item.getData()[0]) for item in plot.plot_item.listDataItems()
            if (item.name() or "").startswith(run_name)]


def validation_size(window) -> int:
    from runtime.data import describe_dataset

    return int(describe_dataset(window.training.snapshot()["dataset"])["counts"]["val"])


def test_finished_runs_are_listed_overlaid_reopened_and_chosen_for_export(app_window, qtbot, tmp_path):
    window, c = app_window, app_window.training
    open_template(window, "mlp_digits")
    first = train_once(qtbot, window, 2)
    second = train_once(qtbot, window, 3)
    assert c.current_run == second  # the newest run is the one in use

    panel = c.runs_panel
    c._show("runs_dock")
    tree = panel.tree
    assert tree.topLevelItemCount() == 2
    newest, oldest = row_texts(tree, 0), row_texts(tree, 1)
    assert newest[:3] == [second.name, "finished", "3"] and oldest[:3] == [first.name, "finished", "2"]
    for row in (newest, oldest):
        assert float(row[3]) > 0  # validation loss
        assert row[4].startswith("accuracy ") and 0.5 < float(row[4].split()[1]) <= 1.0
        assert row[5].startswith("accuracy ") and 0.5 < float(row[5].split()[1]) <= 1.0
        assert row[6] == "digits"
    assert tree.topLevelItem(0).font(0).bold() and not tree.topLevelItem(1).font(0).bold()

    # Select both and overlay their validation curves.
    assert not panel.overlay_button.isEnabled() and not panel.confusion_button.isEnabled()  # nothing selected
    click_row(qtbot, tree, first)
    assert panel.overlay_button.isEnabled() and panel.confusion_button.isEnabled()
    click_row(qtbot, tree, second, Qt.ControlModifier)
    assert {r.path for r in panel.selected()} == {first, second}
    qtbot.mouseClick(panel.overlay_button, Qt.LeftButton)
    dash = c.dashboard
    assert overlay_points(dash.loss_plot, first.name) == [2]
    assert overlay_points(dash.loss_plot, second.name) == [3]
    assert overlay_points(dash.metric_plot, first.name) == [2]
    assert overlay_points(dash.metric_plot, second.name) == [3]

    # Choose the older run alone: its confusion matrix comes back, and its weights are the ones used.
    click_row(qtbot, tree, first)
    assert c.current_run == first
    assert tree.topLevelItem(1).font(0).bold() and not tree.topLevelItem(0).font(0).bold()
    qtbot.mouseClick(panel.confusion_button, Qt.LeftButton)
    val_size = validation_size(window)
    assert int(dash.confusion.matrix.sum()) == val_size
    assert first.name in dash.confusion.caption.text() and "epoch 2" in dash.confusion.caption.text()

    target = tmp_path / "chosen.safetensors"
    with qtbot.waitSignal(c.exports.export_done, timeout=120000) as done:
        c.exports.export("weights", str(target))
    assert done.args[1]["ok"] and first.name in done.args[1]["message"]
    from safetensors.numpy import load_file

    exported = load_file(str(target))
    chosen = load_file(str(first / "best.safetensors"))
    other = load_file(str(second / "best.safetensors"))
    assert set(exported) == set(chosen)
    assert all(np.array_equal(exported[k], chosen[k]) for k in chosen)
    assert not all(np.array_equal(exported[k], other[k]) for k in other)

    # Inference answers with the chosen run's model too.
    inference = c.inference_panel
    c._show("inference_dock")
    with qtbot.waitSignal(inference.predicted, timeout=60000) as predicted:
        qtbot.mouseClick(inference.predict_button, Qt.LeftButton)
    split, index = inference.split.currentText(), inference.index.value()
    np.testing.assert_allclose(predicted.args[0], expected_probabilities(first, split, index), atol=1e-5)


def test_opening_another_project_shows_its_dataset_not_the_previous_edits(app_window, data, qtbot):
    type_into(qtbot, editor(data, "val_fraction"), "0.35")
    tick(qtbot, editor(data, "normalize"))
    assert app_window.project.dataset["val_fraction"] == pytest.approx(0.35)
    open_template(app_window, "mlp_iris")  # its dataset section is just {"name": "iris"}
    assert editor(data, "name").currentData() == "iris"
    assert editor(data, "val_fraction").value() == pytest.approx(0.2)
    assert editor(data, "normalize").isChecked()
    from graph_builder.settings import validate_dataset_section

    given = app_window.training.snapshot()["dataset"]
    assert given == {"name": "iris"}  # the run gets what the file says, nothing of the previous project
    snapshot = validate_dataset_section(given, fill_defaults=True)  # as the trainer reads it
    assert snapshot["name"] == "iris" and snapshot["val_fraction"] == pytest.approx(0.2)
    assert snapshot["normalize"] is True
    qtbot.waitUntil(lambda: "3 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert counts_in(data.summary.text()) == {"train": 90, "val": 30, "test": 30}


def test_only_the_settings_of_the_chosen_dataset_are_offered(app_window, data, qtbot):
    rows = data.form._layout

    def shown(name: str) -> bool:
        return rows.isRowVisible(editor(data, name))

    choose(qtbot, editor(data, "name"), "digits")
    assert not shown("path") and not shown("target") and not shown("seq_len") and shown("val_fraction")
    choose(qtbot, editor(data, "name"), "csv")
    assert shown("path") and shown("target") and not shown("seq_len")
    choose(qtbot, editor(data, "name"), "waveforms")
    assert shown("seq_len") and shown("samples") and not shown("path") and not shown("horizon")
    choose(qtbot, editor(data, "name"), "sine")
    assert shown("horizon")


def test_a_running_run_is_listed_live_and_a_killed_one_says_it_crashed(app_window, qtbot):
    window, c = app_window, app_window.training
    open_template(window, "mlp_digits")
    c._show("runs_dock")
    tree = c.runs_panel.tree
    type_into(qtbot, c.training_panel.form.editors["epochs"], "200")  # far more than we wait for
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    run = c.current_run
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1 and row_texts(tree, 0)[1] == "running"
                    and int(row_texts(tree, 0)[2]) >= 2, timeout=60000)
    assert row_texts(tree, 0)[0] == run.name and row_texts(tree, 0)[4].startswith("accuracy ")
    click_row(qtbot, tree, run)  # a selection made during the run survives the live updates
    qtbot.waitUntil(lambda: int(row_texts(tree, 0)[2]) >= 3, timeout=60000)
    assert tree.topLevelItem(0).isSelected()
    os.kill(c.bridge.pid, signal.SIGKILL)  # the child dies without writing a last event
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    row = row_texts(tree, 0)
    assert row[1] == "crashed" and int(row[2]) >= 3 and row[5] == ""  # no test split was evaluated
    assert tree.topLevelItem(0).isSelected()


def test_an_image_folder_is_chosen_with_the_folder_dialog(app_window, data, qtbot, tmp_path):
    from PIL import Image

    root = tmp_path / "shapes"
    rng = np.random.default_rng(2)
    for label, level in (("dark", 40), ("light", 210)):
        (root / label).mkdir(parents=True)
        for i in range(10):
            pixels = np.clip(rng.normal(level, 20, size=(20, 20, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    choose(qtbot, editor(data, "name"), "image_folder")
    assert data.file_button.text() == "Choose folder…"
    type_into(qtbot, editor(data, "image_size"), "16")
    pick_file(qtbot, data, root)
    assert Path(app_window.project.dataset["path"]) == root
    qtbot.waitUntil(lambda: "2 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert "input (3, 16, 16)" in data.summary.text() and "20 samples" in data.summary.text()
    assert data.samples.kind == "image" and data.samples.grid.shape[2] == 3  # colour mosaic
    assert data.samples.shown == 12  # 60 % of 20 are training samples


def expected_probabilities(run_dir: Path, split: str, index: int) -> np.ndarray:
    """What `run_dir`'s best weights predict for one sample, computed here without the app."""
    import json

    import torch

    from graph_builder.project import project_from_dict
    from runtime.compile.compiler import build_module
    from runtime.data import load_splits
    from runtime.export.formats import load_weights

    project = project_from_dict(json.loads((run_dir / "config.json").read_text())["project"])
    module = build_module(project.graph)
    load_weights(module, str(run_dir / "best.safetensors"))
    module.eval()
    x = load_splits(project.dataset)[split][0][index: index + 1]
    with torch.no_grad():
        return torch.softmax(module(torch.as_tensor(np.array(x))), dim=-1).numpy()[0]


def test_damaged_or_empty_run_folders_are_listed_and_explained(app_window, qtbot, tmp_path):
    import json

    c = app_window.training
    root = c.runs_root()
    damaged = root / "20260101-090000"
    (damaged / "confusion").mkdir(parents=True)
    (damaged / "config.json").write_text("{not json", encoding="utf-8")
    epoch = {"type": "epoch", "epoch": 1, "epochs": 5, "train": {"loss": 0.9}, "val": {"loss": 0.7, "accuracy": 0.8}}
    (damaged / "metrics.jsonl").write_text(json.dumps(epoch) + '\n{"type": "epo', encoding="utf-8")
    empty = root / "20260101-100000"
    empty.mkdir()
    c._show("runs_dock")
    panel = c.runs_panel
    qtbot.mouseClick(panel.refresh_button, Qt.LeftButton)
    tree = panel.tree
    assert [row_texts(tree, r)[:3] for r in range(2)] == [[empty.name, "interrupted", "0"],
                                                         [damaged.name, "interrupted", "1"]]
    assert row_texts(tree, 1)[3:5] == ["0.7", "accuracy 0.8"]

    click_row(qtbot, tree, empty)
    qtbot.mouseClick(panel.overlay_button, Qt.LeftButton)
    assert "has no finished epoch" in app_window.statusBar().currentMessage()
    qtbot.mouseClick(panel.confusion_button, Qt.LeftButton)
    assert "no confusion matrix" in app_window.statusBar().currentMessage()
    click_row(qtbot, tree, damaged)
    qtbot.mouseClick(panel.overlay_button, Qt.LeftButton)
    assert overlay_points(c.dashboard.loss_plot, damaged.name) == [1]
    assert c.current_run == damaged



def test_a_dataset_edit_counts_as_an_unsaved_change_and_reaches_the_file(app_window, data, qtbot, tmp_path):
    from graph_builder.project import load_project

    assert not app_window.is_dirty()
    choose(qtbot, editor(data, "name"), "iris")
    assert app_window.is_dirty() and app_window.isWindowModified()
    path = tmp_path / "iris_project.json"
    assert app_window.save_project_as(path)
    assert not app_window.is_dirty()
    assert load_project(path).dataset["name"] == "iris"
    type_into(qtbot, editor(data, "test_fraction"), "0.25")
    assert app_window.is_dirty()


def test_the_panel_says_when_the_graph_does_not_fit_the_data(app_window, data, qtbot):
    project = open_template(app_window, "mlp_iris")  # Input (4,), 3 classes out
    choose(qtbot, editor(data, "name"), "wine")
    qtbot.waitUntil(lambda: "input (13,)" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    text = data.fit.text()
    assert data.fit.isVisible() and text == ("measurements expects (N, 4) but the wine data gives (N, 13) per "
                                             "batch; set the shape of measurements to 13"), text
    assert "classes" not in text  # wine has 3 classes, like iris: the output fits

    choose(qtbot, editor(data, "name"), "digits")
    qtbot.waitUntil(lambda: "10 classes" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    text = data.fit.text()
    assert "set the shape of measurements to (1, 8, 8)" in text, text
    assert "logits gives (N, 3) but the digits data has 10 classes" in text and "classifier to 10" in text, text

    # Fix the graph: the hints follow the edits.
    graph = project.graph
    classifier = next(n for n in graph.nodes.values() if n.name == "classifier")
    graph.set_param(classifier.id, "out_features", 10)
    qtbot.waitUntil(lambda: "classes" not in data.fit.text(), timeout=10000)
    assert "(1, 8, 8)" in data.fit.text()
    choose(qtbot, editor(data, "name"), "breast_cancer")
    qtbot.waitUntil(lambda: "input (30,)" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert "logits gives (N, 10) but the breast-cancer data has 2 classes" in data.fit.text()
    choose(qtbot, editor(data, "name"), "iris")
    graph.set_param(classifier.id, "out_features", 3)
    qtbot.waitUntil(lambda: "input (4,)" in data.summary.text() and not data.fit.isVisible(), timeout=30000)


def test_square_sequences_are_plotted_as_sequences_not_images(app_window, data, qtbot, tmp_path):
    rng = np.random.default_rng(3)
    steps = np.sin(np.linspace(0, 3, 6))[None, :, None] * rng.normal(1, 0.2, size=(40, 1, 6))
    np.savez(tmp_path / "square.npz", x=steps.astype(np.float32), y=np.arange(40) % 2)
    choose(qtbot, editor(data, "name"), "npz")
    pick_file(qtbot, data, tmp_path / "square.npz")
    qtbot.waitUntil(lambda: "input (6, 6)" in data.summary.text(), timeout=30000)
    wait_loaded(qtbot, data)
    assert data.samples.kind == "sequence" and data.samples.currentWidget() is data.samples.plot
    assert all(len(c.getData()[0]) == 6 for c in data.samples.plot.getPlotItem().listDataItems())
