"""The dashboard's generative views, driven by real short training runs through the real window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def template(name: str, **training) -> dict:
    data = json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))
    data["training"].update(training)
    return data


def train_project(window, qtbot, data: dict, timeout: int = 120000):
    """Open the project `data` in the window, press Train and wait until the run has ended."""
    from graph_builder.project import project_from_dict

    window.set_project(project_from_dict(data), None, unsaved=True)
    c = window.training
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.is_active
    with qtbot.waitSignal(c.run_finished, timeout=timeout) as ended:
        pass
    outcome, message = ended.args
    assert outcome == "finished", message
    c.dashboard.refresh()
    return c.dashboard


def test_a_vae_run_shows_reconstructions_prior_samples_latent_plane_and_interpolation(window, qtbot):
    dash = train_project(window, qtbot, template("mlp_vae_digits", epochs=2))
    view = dash.generative
    assert dash.side_tabs.currentWidget() is view and view.page() == "autoencoder"

    pairs = view.reconstructions.tiles  # originals and reconstructions, interleaved
    assert pairs.shape == (32, 8, 8) and pairs.dtype == np.uint8
    originals, rebuilt = pairs[0::2], pairs[1::2]
    assert originals.std() > 10 and rebuilt.std() > 10  # real pictures, not a constant
    own = float(np.abs(originals.astype(int) - rebuilt).mean())
    other = float(np.abs(originals.astype(int) - np.roll(rebuilt, 1, axis=0)).mean())
    assert own < other  # each reconstruction is nearer its own original than another one

    assert view.scatter.isVisible() and not view.autoencoder_note.isVisible()
    prior = view.prior.tiles
    assert prior.shape == (64, 8, 8) and prior.std() > 5
    assert np.abs(prior.astype(int) - prior[0]).max() > 0  # the samples differ from one another

    from runtime.data import describe_dataset

    val = int(describe_dataset(window.training.snapshot()["dataset"])["counts"]["val"])
    assert view.scatter.point_count() == val  # one point per validation sample
    assert len(view.scatter.colors()) == 10  # one colour per digit class

    qtbot.waitUntil(lambda: view.strip.tiles is not None, timeout=30000)
    first = view.strip.tiles.copy()
    assert first.shape == (8, 8, 8) and first.std() > 5
    # The strip starts at the first chosen sample's reconstruction.
    assert np.abs(first[0].astype(int) - rebuilt[0]).max() <= 1
    view.pick_a.setValue(5)
    view.pick_b.selectAll()
    qtbot.keyClicks(view.pick_b, "9")
    assert view.pick_b.value() == 9
    qtbot.waitUntil(lambda: view.strip.tiles is not None and not np.array_equal(view.strip.tiles, first),
                    timeout=30000)
    view.wait_for_jobs()
    qtbot.waitUntil(lambda: view.strip_note.text().startswith("Pair 5"), timeout=10000)
    now = view.strip.tiles
    assert np.abs(now[0].astype(int) - rebuilt[5]).max() <= 1 and np.abs(now[-1].astype(int) - rebuilt[9]).max() <= 1
    # Clicking a pair starts the strip from it, right-clicking one ends it there.
    grid = view.reconstructions
    qtbot.mouseClick(grid, Qt.LeftButton, pos=grid.tile_rect(2 * 7 + 1).center())
    qtbot.mouseClick(grid, Qt.RightButton, pos=grid.tile_rect(2 * 2).center())
    assert (view.pick_a.value(), view.pick_b.value()) == (7, 2)
    qtbot.waitUntil(lambda: view.strip_note.text().startswith("Pair 7 → pair 2"), timeout=30000)
    assert np.abs(view.strip.tiles[0].astype(int) - rebuilt[7]).max() <= 1

    # The anomaly table lists the test split's samples, worst first.
    scores = view.anomalies.scores()
    assert len(scores) == 100 and scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    qtbot.mouseClick(dash.side_tabs.tabBar(), Qt.LeftButton,
                     pos=dash.side_tabs.tabBar().tabRect(dash.side_tabs.indexOf(view.anomaly_page)).center())
    assert dash.side_tabs.currentWidget() is view.anomaly_page
    assert view.anomalies.item(0, 4).data(Qt.DecorationRole) is not None  # a thumbnail


def collapsed_gan(data: dict) -> dict:
    """The DCGAN with a generator that ignores its noise: LayerNorm over one feature is always its bias."""
    from graph_builder.project import project_from_dict, project_to_dict

    project = project_from_dict(data)
    g = project.networks["Generator"]
    for node_id in [n for n in g.nodes if g.nodes[n].type_id != "Input"]:
        g.remove_node(node_id)
    noise = next(iter(g.nodes))
    last = noise
    for type_id, params in (("Linear", {"out_features": 1}), ("LayerNorm", {}), ("Linear", {"out_features": 64}),
                            ("Unflatten", {"dim": 1, "unflattened_size": [1, 8, 8]}), ("Output", {})):
        node = g.add_node(type_id, params=params or None)
        g.connect(last, node.id)
        last = node.id
    return project_to_dict(project)


def test_a_gan_run_plots_one_point_per_epoch_and_warns_only_when_its_samples_collapse(window, qtbot):
    dash = train_project(window, qtbot, template("dcgan_digits", epochs=2))
    view = dash.generative
    assert view.page() == "gan" and dash.side_tabs.currentWidget() is view
    for plot, keys in ((view.gan_loss_plot, ("g_loss", "d_loss")), (view.gan_d_plot, ("d_real", "d_fake"))):
        for key in keys:
            x, y = plot.curves[key].getData()
            assert list(x) == [1, 2] and np.all(np.isfinite(y)), key
    _, d_real = view.gan_d_plot.curves["d_real"].getData()
    assert np.all((0 <= d_real) & (d_real <= 1))
    samples = view.gan_samples.tiles
    assert samples.shape == (64, 8, 8) and samples.std() > 5
    assert view.collapse_warning.isHidden()

    dash = train_project(window, qtbot, collapsed_gan(template("dcgan_digits", epochs=1)))
    samples = view.gan_samples.tiles
    assert samples.shape == (64, 8, 8)
    assert np.all(samples == samples[0])  # every sample the same picture
    assert view.collapse_warning.isVisible() and "collapse" in view.collapse_warning.text().lower()
    assert view.gan_loss_plot.point_count("g_loss") == 1  # the new run's points only


def test_the_anomaly_table_lists_an_autoencoders_worst_reconstructions_first_also_for_a_chosen_past_run(
        window, qtbot):
    import torch
    from safetensors.torch import load_file

    from graph_builder.project import project_from_dict
    from runtime.compile.compiler import build_module
    from runtime.data import dataset_config, load_splits

    data = template("conv_autoencoder_digits", epochs=1)
    dash = train_project(window, qtbot, data)
    c, view = window.training, dash.generative
    run = c.current_run
    assert view.page() == "autoencoder" and view.prior.tiles is None  # no prior: a plain autoencoder
    assert view.reconstructions.tiles.shape == (32, 8, 8)
    assert view.autoencoder_note.isVisible() and not view.scatter.isVisible()  # no latent layer, no latent plane

    # The same ranking, computed here from the run's weights on its test split.
    module = build_module(project_from_dict(data).graph)
    module.load_state_dict(load_file(str(run / "best.safetensors")))
    module.eval()
    x = torch.tensor(load_splits(dataset_config(data["dataset"]))["test"][0], dtype=torch.float32)
    with torch.no_grad():
        errors = (module(x) - x).pow(2).flatten(1).mean(1)
    worst = torch.argsort(errors, descending=True)[:5].tolist()

    def shown() -> tuple[list[int], list[float]]:
        table = view.anomalies
        return [int(table.item(r, 1).text()) for r in range(table.rowCount())], table.scores()

    indices, scores = shown()
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert indices[:5] == worst
    assert abs(scores[0] - float(errors.max())) <= 1e-4 * float(errors.max())

    pictures = view.reconstructions.tiles.copy()

    # A second run of the same project, one epoch longer: other pictures, another ranking.
    epochs = c.training_panel.form.editors["epochs"]
    epochs.setFocus()
    epochs.selectAll()
    qtbot.keyClicks(epochs, "2")
    qtbot.keyClick(epochs, Qt.Key_Enter)
    with qtbot.waitSignal(c.run_finished, timeout=120000):
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.current_run != run and not np.array_equal(view.reconstructions.tiles, pictures)
    assert view.shown.text() == f"Run {c.current_run.name}"

    # Evaluate: choosing the first run in the Runs panel shows its pictures and ranking again.
    window.workspaces.show("Evaluate")
    c._show("runs_dock")
    tree = c.runs_panel.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2, timeout=10000)
    item = next(tree.topLevelItem(i) for i in range(2) if Path(tree.topLevelItem(i).data(0, Qt.UserRole)) == run)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(item).center())
    qtbot.waitUntil(lambda: view.shown.text() == f"Run {run.name}, after epoch 1", timeout=10000)
    assert shown() == (indices, scores)
    assert view.page() == "autoencoder" and np.array_equal(view.reconstructions.tiles, pictures)

    # A classifier's run next: the dashboard shows its confusion matrix again, not an empty generative pane.
    dash.side_tabs.setCurrentWidget(view)
    train_project(window, qtbot, template("mlp_digits", epochs=1))
    assert dash.side_tabs.currentWidget() is dash.confusion and view.page() == "none"
    assert view.anomalies.rowCount() == 0 and view.reconstructions.tiles is None


def test_the_anomaly_table_sorts_worst_first_whatever_order_it_is_given(qtbot):
    from app.training.generative import AnomalyTable

    table = AnomalyTable()
    qtbot.addWidget(table)
    ranking = {"split": "test", "count": 10, "indices": [4, 7, 1, 9], "scores": [0.2, 0.9, None, 0.5],
               "labels": [3, 1, 0, 8], "shape": [1, 2, 2], "thumbnails": [[[0, 255], [9, 9]]] * 4, "mean": 0.3}
    table.set_ranking(ranking)
    assert [table.item(r, 1).text() for r in range(4)] == ["1", "7", "9", "4"]  # a non-finite score is worst
    assert [table.item(r, 0).text() for r in range(4)] == ["1", "2", "3", "4"]
    assert [table.item(r, 2).text() for r in range(4)] == ["0", "1", "8", "3"]
    assert table.scores()[1:] == [0.9, 0.5, 0.2]


def test_an_interpolation_that_cannot_be_made_says_why_in_words(qtbot, tmp_path):
    from app.training.generative import GenerativeView

    view = GenerativeView()
    qtbot.addWidget(view)
    view.handle_event({"type": "started", "run_dir": str(tmp_path), "task": "reconstruction"})
    view.handle_event({"type": "reconstructions", "epoch": 1, "shape": [1, 2, 2], "indices": [0, 1],
                       "labels": None, "originals": [[[0, 9], [9, 0]]] * 2, "reconstructions": [[[0, 9], [9, 0]]] * 2,
                       "value_range": [0.0, 1.0], "latents": [[0.0, 1.0], [1.0, 0.0]]})
    view.pick_b.setValue(1)
    qtbot.waitUntil(lambda: "could not be made" in view.strip_note.text(), timeout=30000)
    view.wait_for_jobs()
    text = view.strip_note.text()
    assert "has no readable weights yet" in text and "let it finish an epoch" in text and "Traceback" not in text
    assert view.strip.tiles is None
