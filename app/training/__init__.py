"""Training dashboard, live plots, runs, inference and export, wired into the main window.

Importing this package imports no Qt and no torch: the spawned training child imports
`app.training.child` and must stay light. `install(main_window)` is the one hook the main
window calls; it builds the docks after the first paint so pyqtgraph never delays start-up.
"""

from __future__ import annotations


def install(main_window):
    """Add the training docks, the Train menu and the Export menu to `main_window`."""
    from app.training.controller import TrainingController

    controller = TrainingController(main_window)
    main_window.training = controller
    main_window.inspector.field_menu_requested.connect(controller.on_param_menu)  # Search over this
    return controller
