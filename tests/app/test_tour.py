"""The first-run tour: four steps through the workspaces, dismissed for good when closed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton


def test_the_tour_walks_the_four_workspaces_and_is_not_offered_again(window, qtbot):
    window.offer_tour()
    tour = window.tour
    assert tour.isVisible() and window.workspaces.current == "Design"
    seen = [window.workspaces.current]
    for _ in range(3):
        qtbot.mouseClick(tour.findChild(QPushButton, "tourNext"), Qt.LeftButton)
        seen.append(window.workspaces.current)
    assert seen == ["Design", "Data", "Train", "Evaluate"]
    assert tour.findChild(QPushButton, "tourNext").text() == "Done"
    qtbot.mouseClick(tour.findChild(QPushButton, "tourNext"), Qt.LeftButton)
    assert window.tour is None
    window.offer_tour()
    assert window.tour is None


def test_closing_the_tour_at_its_first_step_dismisses_it(window, qtbot):
    window.offer_tour()
    qtbot.mouseClick(window.tour.findChild(QPushButton, "tourClose"), Qt.LeftButton)
    assert window.tour is None and window.settings.value("tour/done") in (True, "true")


def test_the_tour_waits_for_a_project_when_the_start_page_is_shown(window):
    window.show_start_page()
    window.offer_tour()
    assert getattr(window, "tour", None) is None
    window.open_template(str(window.start_page.cards[0].path))
    assert window.tour is not None and window.tour.isVisible()
