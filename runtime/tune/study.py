"""Hyperparameter search with Optuna over a project's experiment section (DESIGN.md decision 14).

    result = run_study("mlp.json", trials=16, jobs=2, on_trial=print)

The study lives in `<name>.runs/study.db` (Optuna's own SQLite storage), named after what the
experiment searches, so changing the space starts a new study in the same file. Each trial is
an ordinary run in the runs folder, trained in a child process (one long-lived worker process
per job, so torch is imported once per job, not per trial); its folder holds a trial record
(graph_builder.run_folder) with the study and trial number. While a worker trains a trial, the next one is already asked of the
study and queued in it, so the study's bookkeeping overlaps training rather than sitting between
trials. The parent reports each epoch's metric to Optuna and stops a trial the median pruner
prunes (without a pruner the epochs' values are stored once, when the trial ends).

A study killed mid-way resumes where it stopped: trials that were running are continued under
their own numbers, in their own run folders (from the checkpoint of their last epoch), so the
numbers stay contiguous and no trial is lost or run twice. Only one tune process works on a
runs folder at a time (a lock the operating system releases when the process dies).

This module is the orchestration; its parts are records.py (what a study reports), storage.py (the
study file, its checks and the runs folder's lock) and worker.py (the training processes).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph_builder.errors import GraphBuilderError
from graph_builder.experiment import Dimension, Experiment, ExperimentError, apply_values
from graph_builder.project import Project, load_project, project_from_dict, project_to_dict
from graph_builder.run_folder import TRIAL, RunFolder
from graph_builder.runs import new_run_dir, runs_folder
from graph_builder.validation import validate

from runtime.tune.records import StudyResult, TrialRecord, TuneError, first_line
from runtime.tune.storage import (
    STUDY_FILE, check_study_file, close_study, lock_runs_folder, open_study, storage_failure, stored_trials, study_name,
)
from runtime.tune.worker import Task, Worker, watch_parent

TRIAL_FILE = TRIAL  # in each trial's run folder (graph_builder.run_folder)

# What the tests and the faces import from here, though it lives in the study's parts.
__all__ = ["STUDY_FILE", "TRIAL_FILE", "StudyResult", "TrialRecord", "TuneError", "check_study_file", "default_jobs",
           "open_study", "read_study", "run_project_study", "run_study", "study_child", "study_name"]


def suggest(trial, dim: Dimension) -> Any:
    """The trial's value for `dim` (Optuna samples it, or gives back the value a resumed trial had)."""
    if dim.choices:
        return trial.suggest_categorical(dim.key, list(dim.choices))
    if dim.kind == "int":
        return trial.suggest_int(dim.key, dim.low, dim.high, step=1 if dim.log else (dim.step or 1), log=dim.log)
    return trial.suggest_float(dim.key, dim.low, dim.high, log=dim.log)


def metric_of(event: dict, metric: str) -> float | None:
    """The value of a monitor name (`val_accuracy`, `train_loss`) in an epoch event."""
    split, name = metric.split("_", 1)
    value = (event.get(split) or {}).get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def default_jobs() -> int:
    """Trials at once: half the cores (each trial gets the other threads), at most 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def run_study(project_path: str | os.PathLike, *, method: str | None = None, trials: int | None = None,
              jobs: int | None = None, epochs: int | None = None, device: str | None = None,
              threads: int | None = None, stop: Any = None,
              on_trial: Callable[[TrialRecord], None] | None = None,
              on_progress: Callable[[int, int, TrialRecord | None], None] | None = None) -> StudyResult:
    """Run (or resume) the study of the project file's experiment; each finished trial goes to `on_trial`.

    `threads`: torch threads per trial (default: the cores shared among the jobs). `stop`: an Event;
    once set, the trials in flight are ended and left to be resumed by the next run (result.stopped).
    """
    project_path = Path(project_path)
    try:
        project = load_project(project_path)
    except GraphBuilderError as exc:
        raise TuneError(f"cannot read {project_path}: {exc}") from None
    return run_project_study(project, runs_folder(project_path.resolve()), method=method, trials=trials, jobs=jobs,
                             epochs=epochs, device=device, threads=threads, stop=stop, on_trial=on_trial,
                             on_progress=on_progress, project_path=str(project_path))


def run_project_study(project: Project, root: Path, *, method: str | None = None, trials: int | None = None,
                      jobs: int | None = None, epochs: int | None = None, device: str | None = None,
                      threads: int | None = None, stop: Any = None,
                      on_trial: Callable[[TrialRecord], None] | None = None,
                      on_progress: Callable[[int, int, TrialRecord | None], None] | None = None,
                      on_start: Callable[[StudyResult, int], None] | None = None,
                      on_running: Callable[[TrialRecord], None] | None = None,
                      project_path: str | None = None) -> StudyResult:
    """run_study of a project in memory, its runs in `root`; `on_start(result so far, total)` once the study is open;
    `on_running(record)` when a trial starts training and after each of its epochs (state "running").

    `project_path`: the saved project's file, where the trials find its pretrained weights."""
    experiment = project.experiment
    if method is not None:
        experiment.apply(_set("method", method))
    if trials is not None:
        experiment.apply(_set("trials", trials))
    problems = experiment.problems(project)
    if problems:
        raise TuneError("the experiment cannot run: " + "; ".join(problems))
    lock = lock_runs_folder(root)
    workers: list[Worker] = []
    study = None
    try:
        total = experiment["trials"]
        if experiment["method"] == "grid":
            total = min(total, experiment.grid_size())
        jobs = max(1, min(jobs or default_jobs(), total))
        threads = threads or max(1, (os.cpu_count() or 1) // jobs)
        # Start the workers first: each imports torch while this process imports Optuna and opens the study.
        workers = [Worker(threads) for _ in range(jobs)]
        study = open_study(experiment, root)
        from optuna.trial import TrialState

        result = StudyResult(study.study_name, root / STUDY_FILE, experiment["metric"], experiment.direction)
        existing = stored_trials(study, root)
        result.trials = [_record(t, project, experiment) for t in existing if t.state.is_finished()]
        interrupted = [t for t in existing if t.state == TrialState.RUNNING]
        result.resumed = len(interrupted)
        if on_start:
            on_start(result, total)
        scheduler = _Scheduler(study, project, experiment, root, total, len(existing), interrupted, result,
                               workers, {"epochs": epochs, "device": device}, stop, on_trial, on_progress,
                               project_path, on_running)
        scheduler.run()
        result.trials.sort(key=lambda t: t.trial)
        return result
    finally:
        for worker in workers:
            worker.close()
        close_study(study)
        lock.close()


def read_study(project: Project, root: Path) -> tuple[StudyResult, dict[str, float]] | None:
    """The trials of `project`'s experiment study in `root` (None when it has none yet) and the parameter
    importances (label -> share; empty until enough trials completed). Reads only; creates nothing."""
    import optuna

    experiment = project.experiment
    path = root / STUDY_FILE
    if not experiment.space or not path.is_file():
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_study_file(path, root)
    try:
        study = optuna.load_study(study_name=study_name(experiment), storage=f"sqlite:///{path}")
    except KeyError:  # the file holds studies of other searches, not of this one
        return None
    except Exception as exc:
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {first_line(exc)}); "
                        f"move it aside to start a new study — the runs in {root} are kept") from None
    try:
        return _read_results(study, project, experiment, root, path)
    finally:
        close_study(study)


def _read_results(study, project: Project, experiment: Experiment, root: Path,
                  path: Path) -> tuple[StudyResult, dict[str, float]]:
    import optuna

    trials = stored_trials(study, root)
    result = StudyResult(study.study_name, path, experiment["metric"], experiment.direction,
                         [_record(t, project, experiment) for t in trials if t.state.is_finished()])
    importances: dict[str, float] = {}
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    if len(complete) >= 3 and len(experiment.space) > 1:
        labels = {d.key: d.label(project) for d in experiment.space}
        try:
            raw = optuna.importance.get_param_importances(study)
            importances = {labels.get(k, k): float(v) for k, v in raw.items()}
        except (RuntimeError, ValueError):  # too few distinct values to judge
            importances = {}
    return result, importances


def _set(name: str, value: Any):
    from graph_builder.experiment import SetExperimentSetting

    return SetExperimentSetting(name, value)


def _record(t, project: Project, experiment: Experiment) -> TrialRecord:
    labels = {d.key: d.label(project) for d in experiment.space}
    state = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(t.state.name, t.state.name.lower())
    ran = t.user_attrs.get("ran") if isinstance(t.user_attrs.get("ran"), dict) else {}
    duration = ran.get("duration_s")
    if duration is None and t.datetime_complete and t.datetime_start:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
    return TrialRecord(t.number, state, t.value if state == "complete" else None,
                       {labels.get(k, k): v for k, v in t.params.items()}, t.user_attrs.get("run_dir"),
                       round(duration, 3) if duration is not None else None,
                       len(t.intermediate_values) or len(ran.get("curve") or ()),
                       t.user_attrs.get("fail_reason"), dict(t.params))


# ---------------------------------------------------------------- running trials


class _StudyStopped(Exception):
    pass


class _Scheduler:
    """One thread per worker process; trials are asked of the study under one lock.

    Each thread keeps its worker busy: while a trial trains, the next one is asked, its project made
    and queued in the worker, so the worker goes from one trial to the next without waiting on the
    study. Without a pruner, per-epoch values are kept here and stored once, when the trial ends.
    """

    def __init__(self, study, project, experiment, root, total, asked, interrupted, result, workers, overrides,
                 stop, on_trial, on_progress, project_path=None, on_running=None) -> None:
        self.study, self.project, self.experiment, self.root = study, project, experiment, root
        self.project_path = project_path
        self.total, self.asked, self.result, self.overrides = total, asked, result, overrides
        self.resume_queue = list(interrupted)
        self.workers = workers
        self.stop = stop
        self.lock = threading.Lock()
        self.on_trial, self.on_progress, self.on_running = on_trial, on_progress, on_running
        self.errors: list[BaseException] = []
        self.pruning = experiment["pruner"] != "none"
        self.labels = {d.key: d.label(project) for d in experiment.space}
        self.metric = experiment["metric"]
        self.maximize = experiment.direction == "maximize"

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def next_trial(self, ahead: bool = False):
        """(trial, frozen) to run next (frozen: a trial a killed study had running), or None when none is left.

        `ahead`: for a worker that is still training; near the end of the study, when fewer trials are
        left than there are workers, none is queued behind a busy worker while another may be free first.
        """
        import optuna

        with self.lock:
            if self.stopping():
                return None
            if ahead and self.total - self.asked + len(self.resume_queue) < len(self.workers):
                return None
            if self.resume_queue:
                frozen = self.resume_queue.pop(0)
                return optuna.Trial(self.study, frozen._trial_id), frozen
            if self.asked >= self.total:  # one tune process per runs folder (the lock): counting here is exact
                return None
            self.asked += 1
            trial = self.study.ask()
            for dim in self.experiment.space:
                suggest(trial, dim)
            return trial, None

    def run(self) -> None:
        if self.on_progress:
            self.on_progress(len(self.result.trials), self.total, None)
        threads = [threading.Thread(target=self._work, args=(i,), name=f"tune-job-{i}", daemon=True)
                   for i in range(len(self.workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.errors:
            raise storage_failure(self.errors[0], self.root / STUDY_FILE) or self.errors[0]
        self.result.stopped = self.stopping()

    def _work(self, index: int) -> None:
        try:
            current = self._prepare(index)
            while current is not None:
                upcoming = self._prepare(index, ahead=True)  # queued behind `current` in the same worker
                record = self._follow(index, current)
                if not self.workers[index].alive():  # it died with the trial: a fresh one, and the queued trial again
                    self.workers[index] = Worker(self.workers[index].threads)
                    if upcoming is not None:
                        self.workers[index].submit(upcoming)
                if upcoming is not None:
                    upcoming.started = time.perf_counter()  # its training starts now; it only waited before
                self._report(record)
                current = upcoming or self._prepare(index)
        except _StudyStopped:
            self.workers[index].kill()  # the trials in flight stay running in the study: the next run resumes them
        except BaseException as exc:  # reported by run(); the other jobs finish their trials
            self.errors.append(exc)

    def _report(self, record: TrialRecord) -> None:
        with self.lock:
            self.result.trials.append(record)
            if self.on_trial:
                self.on_trial(record)
            if self.on_progress:
                self.on_progress(len(self.result.trials), self.total, record)

    def _prepare(self, index: int, ahead: bool = False) -> Task | None:
        """The next trial, queued in worker `index`; trials whose values cannot work are told failed here."""
        from optuna.trial import TrialState

        while True:
            picked = self.next_trial(ahead)
            if picked is None:
                return None
            trial, frozen = picked
            started = time.perf_counter()
            values = dict(frozen.params) if frozen is not None else dict(trial.params)
            reason = None
            try:
                trial_project = apply_values(self.project, values)
                errors = [i.message for i in validate(trial_project.graph) if i.severity == "error"]
                if errors:
                    reason = "the graph is not valid with these values: " + "; ".join(errors[:3])
            except ExperimentError as exc:
                reason = exc.message
            if reason is not None:
                self._report(self._tell(trial, TrialState.FAIL, None, started, reason=reason))
                continue
            run_dir, resume = self._run_dir(trial, frozen)
            RunFolder(run_dir).write_trial({
                "study": self.study.study_name, "trial": trial.number, "metric": self.metric,
                "params": {self.labels.get(k, k): v for k, v in values.items()}, "values": values})
            snapshot = project_to_dict(trial_project)
            snapshot["training"].update({k: v for k, v in self.overrides.items() if v is not None})
            task = Task(trial, frozen, run_dir, resume, snapshot, self.project_path, started)
            self.workers[index].submit(task)
            return task

    def _follow(self, index: int, task: Task) -> TrialRecord:
        """Follow `task`'s training to its end: report epochs (pruning), then tell the study its outcome."""
        from optuna.trial import TrialState

        trial, frozen, metric, maximize = task.trial, task.frozen, self.metric, self.maximize
        worker = self.workers[index]
        earlier = dict(frozen.intermediate_values) if frozen is not None else {}
        if frozen is not None and not earlier and task.resume:
            earlier = _logged_values(task.run_dir, metric)  # no pruner: the run's own log has its epochs
        reported = set(earlier)
        curve = dict(earlier)
        final = None
        pruned = False
        self._running(task, curve)
        for event in worker.events_of(trial.number, self.stopping):
            if event is None:
                raise _StudyStopped
            if event["type"] == "epoch":
                value = metric_of(event, metric)
                if value is None:
                    continue
                curve[event["epoch"]] = value
                self._running(task, curve)
                if self.pruning and event["epoch"] not in reported:
                    trial.report(value, event["epoch"])
                    reported.add(event["epoch"])
                    if not pruned and trial.should_prune():
                        pruned = True
                        worker.stop(trial.number)
            elif event["type"] in ("finished", "stopped", "failed"):
                final = event
        best = (max if maximize else min)(curve.values()) if curve else None
        if final is None or final["type"] == "failed":
            why = final["message"] if final else "the training process ended without a result"
            return self._tell(trial, TrialState.FAIL, None, task.started, task.run_dir, reason=why, curve=curve)
        if final["type"] == "stopped" or pruned:
            return self._tell(trial, TrialState.PRUNED, None, task.started, task.run_dir,
                              reason=f"pruned: {metric} below the median of earlier trials", curve=curve)
        if best is None:
            return self._tell(trial, TrialState.FAIL, None, task.started, task.run_dir,
                              reason=f"no epoch reported {metric}", curve=curve)
        return self._tell(trial, TrialState.COMPLETE, best, task.started, task.run_dir, curve=curve)

    def _running(self, task: Task, curve: dict) -> None:
        """Tell on_running that `task` trains: its epochs so far, its best value, the time it has taken."""
        if self.on_running is None:
            return
        values = dict(task.frozen.params) if task.frozen is not None else dict(task.trial.params)
        best = (max if self.maximize else min)(curve.values()) if curve else None
        record = TrialRecord(task.trial.number, "running", best, {self.labels.get(k, k): v for k, v in values.items()},
                             str(task.run_dir), round(time.perf_counter() - task.started, 1), len(curve), None, values)
        with self.lock:
            self.on_running(record)

    def _run_dir(self, trial, frozen) -> tuple[Path, bool]:
        if frozen is not None and frozen.user_attrs.get("run_dir"):
            path = Path(frozen.user_attrs["run_dir"])
            if path.is_dir():
                return path, RunFolder(path).checkpoint.is_file()
        with self.lock:
            path = new_run_dir(self.root)
            trial.set_user_attr("run_dir", str(path))
        return path, False

    def _tell(self, trial, state, value, started, run_dir=None, reason=None, curve=None) -> TrialRecord:
        with self.lock:
            if reason:
                trial.set_user_attr("fail_reason", reason)
            # One write: the time it trained (not the time it waited in its worker's queue), and the
            # epochs' values unless a pruner already sent them epoch by epoch.
            ran = {"duration_s": round(time.perf_counter() - started, 3)}
            if curve and not self.pruning:
                ran["curve"] = [curve[k] for k in sorted(curve)]
            trial.set_user_attr("ran", ran)
            self.study.tell(trial, value if state.name == "COMPLETE" else None, state=state)
            frozen = self.study._storage.get_trial(trial._trial_id)
        return _record(frozen, self.project, self.experiment)


def _logged_values(run_dir: Path, metric: str) -> dict[int, float]:
    """Epoch -> metric from a run's journal (the epochs a killed trial trained before the kill)."""
    out: dict[int, float] = {}
    for event in RunFolder(run_dir).read_events("epoch"):
        value = metric_of(event, metric)
        if value is not None:
            out[int(event["epoch"])] = value
    return out


def study_child(project_dict: dict, root: str, queue, stop, project_path: str | None = None) -> None:
    """Entry point of the app's study process: messages go to `queue` as (kind, data) tuples.

    ("started", {study, storage, metric, direction, total, trials}), ("running", TrialRecord dict) as a
    trial starts and after each of its epochs, ("trial", TrialRecord dict) per finished trial, then
    ("done", {stopped, trials}) or ("error", plain-words message).
    """
    watch_parent(os.getppid())
    try:
        project = project_from_dict(project_dict)

        def started(result: StudyResult, total: int) -> None:
            queue.put(("started", {"study": result.study, "storage": str(result.storage), "metric": result.metric,
                                   "direction": result.direction, "total": total,
                                   "trials": [t.to_dict() for t in result.trials]}))

        result = run_project_study(project, Path(root), stop=stop, on_start=started, project_path=project_path,
                                   on_trial=lambda record: queue.put(("trial", record.to_dict())),
                                   on_running=lambda record: queue.put(("running", record.to_dict())))
        queue.put(("done", {"stopped": result.stopped, "trials": len(result.trials)}))
    except TuneError as exc:
        queue.put(("error", str(exc)))
    except GraphBuilderError as exc:
        queue.put(("error", f"the project cannot be searched: {exc}"))
    except Exception as exc:  # the last net: the window shows words, never a traceback
        queue.put(("error", f"the study stopped because of an unexpected error ({type(exc).__name__}: "
                            f"{first_line(exc)})"))


