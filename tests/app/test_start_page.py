"""The start page: a card with a drawn network per template, recent projects, a blank project."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.start_page import reference_text, template_files


def test_the_start_page_shows_a_drawn_card_per_template_and_a_click_opens_one(window, qtbot):
    window.resize(1366, 768)
    window.show_start_page()
    page = window.start_page
    assert window.pages.currentWidget() is page
    assert len(page.cards) == len(template_files()) > 5
    qtbot.waitUntil(lambda: all(not card.picture.pixmap().isNull() for card in page.cards))
    assert not page.horizontalScrollBar().isVisible()
    card = next(c for c in page.cards if c.path.stem == "residual_cnn_digits")
    page.ensureWidgetVisible(card)
    qtbot.mouseClick(card, Qt.LeftButton)
    assert window.pages.currentIndex() == 0  # the canvas again
    assert window.project.meta["template"] == "residual_cnn_digits"
    assert window.path is None and window.is_dirty()


def test_blank_project_and_recent_projects_from_the_start_page(window, qtbot, tmp_path):
    from graph_builder.project import Project, save_project

    saved = tmp_path / "mine.json"
    save_project(Project(), saved)
    window.recent.add(str(saved))
    window.show_start_page()
    page = window.start_page
    item = page.recent.item(0)
    assert item.data(Qt.UserRole) == str(saved)
    page.recent.itemClicked.emit(item)
    assert window.path == saved.resolve()
    window.show_start_page()
    qtbot.mouseClick(page.findChild(QPushButton, "blankProject"), Qt.LeftButton)
    assert window.pages.currentIndex() == 0 and not window.project.graph.nodes and window.path is None


def test_every_card_shows_what_its_template_reaches_and_its_cpu_time(window, qtbot):
    window.resize(1366, 768)
    window.show_start_page()
    page = window.start_page
    for card in page.cards:
        reference = card.project.meta.get("reference")
        assert reference, f"{card.path.name} has no measured figures: run resources/templates/measure_templates.py"
        text = card.reference.text().replace("\u00a0", " ")
        assert card.reference.isVisibleTo(card)
        if "unmeasured" in reference:  # torchvision weights the measuring machine did not have (test_templates)
            assert text == f"Not measured here: {reference['unmeasured']}"
            assert "train it once online" in card.reference.toolTip()
            continue
        assert text.endswith(" on CPU") and text != "Not measured yet"
        if reference["metric"] == "accuracy":
            assert f"{100 * reference['value']:.1f} % test accuracy" in text
        assert card.reference.isVisibleTo(card)
        assert "Measured" in card.reference.toolTip()


def test_a_card_line_reads_the_measured_figures():
    from app.start_page import reference_text as text_of

    def reference_text(reference):
        return text_of(reference).replace("\u00a0", " ")  # the time is kept on one line

    base = {"split": "test", "cpu_seconds": 13.6, "others": {}}
    assert reference_text({**base, "metric": "accuracy", "value": 0.9891}) == "98.9 % test accuracy · 14 s on CPU"
    assert reference_text({**base, "metric": "r2", "value": 0.97, "cpu_seconds": 130.2}) == \
        "test R² 0.970 · 2 min 10 s on CPU"
    assert reference_text({**base, "metric": "accuracy", "value": 1.0, "cpu_seconds": 0.4}) == \
        "100.0 % test accuracy · 0.4 s on CPU"
    gan = reference_text({**base, "metric": "diversity", "value": 0.8, "others": {"d_real": 0.6, "d_fake": 0.3}})
    assert gan.startswith("generative, no accuracy") and "D(real) 0.60" in gan
    assert reference_text(None) == "Not measured yet"


def test_file_and_help_menus_show_the_start_page_again_and_back_returns_to_the_project(window, qtbot, tmp_path):
    from graph_builder.project import Project, save_project
    from tests.builders import chain
    from tests.menus import click_menu_entry

    saved = tmp_path / "mine.json"
    save_project(Project(chain(("Input", {"shape": [4]}), ("Linear", {"out_features": 3}), ("Output", {}))), saved)
    assert window.open_project(saved)
    project = window.project
    for menu in ("&File", "&Help"):
        click_menu_entry(qtbot, window, menu, "Start Page")
        page = window.start_page
        assert window.pages.currentWidget() is page
        assert not window._docks["inspectorDock"].isVisible() and not window.workspaces.bar.isVisible()
        assert not window.summary_label.isVisible()  # the canvas's parameter count is no part of the page
        assert page.recent.item(0).data(Qt.UserRole) == str(saved.resolve())  # the list is today's, not the first one's
        assert page.back_button.isVisible() and page.back_button.text() == "Back to mine.json"
        if menu == "&File":
            qtbot.mouseClick(page.back_button, Qt.LeftButton)
        else:
            qtbot.keyClick(page, Qt.Key_Escape)
        assert window.pages.currentIndex() == 0  # the canvas again, the project as it was
        assert window.project is project and window.path == saved.resolve() and not window.is_dirty()
        assert window._docks["inspectorDock"].isVisible() and window.workspaces.bar.isVisible()
        assert window.summary_label.isVisible()


def test_new_from_template_shows_the_start_pages_cards_and_a_click_opens_one(window, qtbot):
    from tests.menus import click_menu_entry

    window.resize(1366, 768)
    click_menu_entry(qtbot, window, "&File", "New from Template")
    page = window.start_page
    assert window.pages.currentWidget() is page
    first = page.cards[0]
    top = first.mapTo(page.viewport(), first.rect().topLeft()).y()
    assert 0 <= top < page.viewport().height() // 3  # scrolled to the cards, not to the recent list
    qtbot.waitUntil(lambda: not first.picture.pixmap().isNull())
    card = next(c for c in page.cards if c.path.stem == "mlp_digits")
    texts = [label.text() for label in card.findChildren(QLabel)]
    assert card.project.meta["description"] in texts  # the card's description and its measured figures
    assert card.reference.text() == reference_text(card.project.meta["reference"])
    page.ensureWidgetVisible(card)
    qtbot.mouseClick(card, Qt.LeftButton)
    assert window.pages.currentIndex() == 0 and window.project.meta["template"] == "mlp_digits"
