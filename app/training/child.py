"""What the spawned training process runs. Imports no Qt (the child never needs a GUI)."""

from __future__ import annotations


def run_training_child(project_dict: dict, run_dir: str, queue, control) -> None:
    """Train `project_dict` into `run_dir`, streaming events to `queue` (runs in the child)."""
    try:
        from runtime.trainer import run_in_child  # torch loads here, in the child only
    except Exception as exc:  # a broken install must still reach the dashboard in words
        queue.put({"type": "failed", "message": f"The training engine could not start: {exc}",
                   "kind": "import"})
        return
    try:
        run_in_child(project_dict, run_dir, queue, control)
    except BaseException as exc:  # the trainer reports its own failures; this is the last net
        queue.put({"type": "failed", "kind": type(exc).__name__,
                   "message": f"Training stopped because of an unexpected error: {exc}"})
        raise
