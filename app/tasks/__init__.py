"""Each task's dashboard views: the Qt half of a task, joined to its spec by the view ids it lists.

A TaskSpec (graph_builder.tasks) names its views in display order, for example a classifier's
("curves", "confusion", "class_table", "inference"). A view id registered here is a tab of the
dashboard's side pane; the dashboard shows exactly the tabs of the task it shows, so a
classifier's has no *Generative* tab and a GAN's no *Confusion matrix*. View ids with no tab
("curves", the plots every task has; "inference", the Evaluate workspace's) are skipped.

    register_view(TabView("quantile_band", "Quantile band", lambda dash: QuantileBand()))

A task brought by a plug-in registers its own views beside its spec: nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QWidget

from graph_builder.tasks import TaskSpec

Dashboard = Any  # app.training.dashboard.Dashboard, which imports this module: named, not imported


@dataclass(frozen=True)
class TabView:
    """One tab of the dashboard's side pane, shown for every task whose spec lists `id`."""

    id: str  # a TaskSpec.views id
    title: str
    widget: Callable[[Dashboard], QWidget]  # the dashboard's widget for it (made once per dashboard)
    page: str | None = None  # the generative pane's page it turns to ("autoencoder", "gan")
    wide: bool = False  # pictures: the pane takes the room a confusion matrix would leave to the curves


TAB_VIEWS: dict[str, TabView] = {}


def register_view(view: TabView) -> TabView:
    """Add a view (a task module's, or a test's own); its id must be new."""
    if view.id in TAB_VIEWS:
        raise ValueError(f"view {view.id!r} is registered twice")
    TAB_VIEWS[view.id] = view
    return view


def unregister_view(view_id: str) -> None:
    """Remove a view that a test registered."""
    TAB_VIEWS.pop(view_id, None)


def tab_views(spec: TaskSpec) -> list[TabView]:
    """The tabs a run of `spec` shows, in its order; views sharing one tab title show once (the first)."""
    tabs: dict[str, TabView] = {}
    for view_id in spec.views:
        view = TAB_VIEWS.get(view_id)
        if view is not None and view.title not in tabs:
            tabs[view.title] = view
    return list(tabs.values())


for _view in (
    TabView("confusion", "Confusion matrix", lambda dash: dash.confusion),
    TabView("class_table", "Per-class metrics", lambda dash: dash.class_table),
    TabView("reconstructions", "Generative", lambda dash: dash.generative, page="autoencoder", wide=True),
    TabView("samples", "Generative", lambda dash: dash.generative, page="gan", wide=True),
    TabView("anomaly", "Anomaly scores", lambda dash: dash.generative.anomaly_page),
    TabView("forecast", "Forecast", lambda dash: dash.forecast, wide=True),
):
    register_view(_view)
