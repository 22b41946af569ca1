"""What the spawned training process runs. Imports no Qt (the child never needs a GUI)."""

from __future__ import annotations

import logging
import os
import threading
import time

from runtime.events import make


def exit_with_parent(parent: int, interval_s: float = 0.5) -> threading.Thread:
    """End this process when `parent` (the GUI) is gone: killed or crashed, it can no longer stop us."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(1)  # no clean exit: flushing the queue to a dead reader would hang forever

    watcher = threading.Thread(target=watch, name="netcanvas-parent-watch", daemon=True)
    watcher.start()
    return watcher


def run_training_child(project_dict: dict, run_dir: str, queue, control, project_path: str | None = None) -> None:
    """Train `project_dict` into `run_dir`, streaming events to `queue` (runs in the child).

    With the folds setting above 1, `run_dir` is the runs folder and each fold is a run in it
    (runtime.train.crossval: fold and crossval events around the folds' own)."""
    exit_with_parent(os.getppid())
    _train(project_dict, run_dir, queue, control, project_path)


def run_when_sent(jobs, queue, control) -> None:
    """A spare training process: load the engine now, then train the one run `jobs` sends (runs in the child).

    Started before Train is clicked, so the seconds torch takes to import are spent while the user edits.
    A job is (project_dict, run_dir, project_path); a closed pipe or None ends the spare untrained."""
    exit_with_parent(os.getppid())
    try:
        import torch

        import runtime.train  # noqa: F401  (the engine, the data and TensorBoard writers)

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # imports torch._dynamo as every optimiser does
    except Exception:
        pass  # a broken install is reported in words when the run comes (_train)
    try:
        job = jobs.recv()
    except (EOFError, OSError):
        return
    finally:
        jobs.close()
    if job is not None:
        project_dict, run_dir, project_path = job
        _train(project_dict, run_dir, queue, control, project_path)


def _train(project_dict: dict, run_dir: str, queue, control, project_path: str | None) -> None:
    folds = (project_dict.get("training") or {}).get("folds") or 1
    try:
        from runtime.logs import log_to

        log_to(os.path.join(run_dir, "crossval.log" if folds > 1 else "training.log"))
    except OSError:
        pass  # a run folder that cannot take a log still trains; the dashboard reports write failures
    try:
        import torch

        from runtime.train import run_in_child  # torch loads here, in the child only

        # Leave one core to the window: with every core busy in torch, the GUI's event loop
        # waits hundreds of milliseconds for the CPU (bench/bench_ui_latency.py).
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - 1))
    except Exception as exc:  # a broken install must still reach the dashboard in words
        queue.put(make("failed", kind="import", message=f"The training engine could not start: {exc}", epoch=None,
                       batch=None))
        return
    log = logging.getLogger("app.training.child")
    log.info("training into %s", run_dir)
    try:
        if folds > 1:
            from runtime.train import run_crossval_in_child

            run_crossval_in_child(project_dict, run_dir, queue, control, project_path=project_path)
        else:
            run_in_child(project_dict, run_dir, queue, control, project_path=project_path)  # weights beside it
        log.info("training ended")
    except BaseException as exc:  # the trainer reports its own failures; this is the last net
        log.exception("training stopped by an unexpected error")
        queue.put(make("failed", kind=type(exc).__name__, message=f"Training stopped because of an unexpected error: "
                       f"{exc}", epoch=None, batch=None))
        raise


def time_epoch_child(project_dict: dict, project_path: str | None) -> tuple[str, object]:
    """("ok", runtime.train.EpochTime) or ("error", words) for Train ▸ Estimate Epoch Time (runs in the child)."""
    from runtime.errors import NetCanvasRuntimeError
    from runtime.train import time_epoch

    try:
        device = str((project_dict.get("training") or {}).get("device", "auto"))
        return "ok", time_epoch(project_dict, None, device, project_path)
    except NetCanvasRuntimeError as exc:
        return "error", str(exc)
