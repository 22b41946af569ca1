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
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graph_builder.errors import GraphBuilderError
from graph_builder.experiment import Dimension, Experiment, ExperimentError, apply_values
from graph_builder.project import Project, load_project, project_from_dict, project_to_dict
from graph_builder.run_folder import TRIAL, RunFolder
from graph_builder.runs import new_run_dir, runs_folder
from graph_builder.validation import validate

from runtime.errors import NetCanvasRuntimeError

STUDY_FILE = "study.db"
LOCK_FILE = "study.lock"
TRIAL_FILE = TRIAL  # in each trial's run folder (graph_builder.run_folder)
WORKER_POLL_S = 0.5


class TuneError(NetCanvasRuntimeError):
    """A search that cannot start: a bad experiment, an unreadable study file, a busy runs folder."""


@dataclass
class TrialRecord:
    """One finished trial as the CLI and the Experiments view show it."""

    trial: int
    state: str  # complete | pruned | failed, or running (a trial still training: its epochs and best so far)
    value: float | None
    params: dict  # label -> value
    run_dir: str | None
    duration_s: float | None
    epochs: int = 0
    reason: str | None = None
    values: dict = field(default_factory=dict)  # Dimension.key -> value (what ApplyTrial sets)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StudyResult:
    """Every trial of the study (finished ones, in trial order) and the best."""

    study: str
    storage: Path
    metric: str
    direction: str
    trials: list[TrialRecord] = field(default_factory=list)
    resumed: int = 0  # trials a killed study had running, continued here
    stopped: bool = False  # ended by the stop flag: the trials in flight resume on the next run

    @property
    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        return pick(done, key=lambda t: t.value)


# ---------------------------------------------------------------- the study


def study_name(experiment: Experiment) -> str:
    """A name for the study of what `experiment` searches (space, metric, method): same search, same study."""
    what = {"space": [d.to_dict() for d in experiment.space], "metric": experiment["metric"],
            "direction": experiment.direction, "method": experiment["method"], "seed": experiment["seed"]}
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]
    return f"netcanvas-{digest}"


def open_study(experiment: Experiment, root: Path):
    """The Optuna study of `experiment` in `root`/study.db (created or loaded); TuneError when unreadable."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    root.mkdir(parents=True, exist_ok=True)
    path = root / STUDY_FILE
    check_study_file(path, root)  # before Optuna opens it: it would add its tables to any SQLite file
    sampler = _sampler(experiment)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
              if experiment["pruner"] == "median" else optuna.pruners.NopPruner())
    try:
        storage = optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 30}})
        return optuna.create_study(study_name=study_name(experiment), storage=storage, sampler=sampler,
                                   pruner=pruner, direction=experiment.direction, load_if_exists=True)
    except Exception as exc:  # sqlalchemy's DatabaseError, Optuna's own storage errors
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {_first_line(exc)}); "
                        f"move it aside or delete it to start a new study — the runs in {root} are kept") from None


OPTUNA_TABLES = frozenset({
    "studies", "version_info", "study_directions", "study_user_attributes", "study_system_attributes", "trials",
    "trial_user_attributes", "trial_system_attributes", "trial_params", "trial_values", "trial_intermediate_values",
    "trial_heartbeats", "alembic_version"})


def check_study_file(path: Path, root: Path) -> None:
    """Refuse (TuneError) a study file that is not Optuna's, before anything writes to it.

    A missing or empty file is a new study; an SQLite file must hold Optuna's tables and no others.
    The file is opened read-only, so a refused one is left byte for byte as it was.
    """
    import sqlite3

    from graph_builder.files import not_regular

    problem = not_regular(path)
    if problem:
        raise TuneError(f"the study file {problem}; move it aside to start a new study — the runs in {root} "
                        "are kept")
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        with open(path, "rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise TuneError(f"the study file {path} cannot be read ({exc.strerror or exc})") from None
    if header != b"SQLite format 3\x00":
        raise TuneError(f"the study file {path} cannot be read: it is not an SQLite database, so not an Optuna "
                        f"study; move it aside or delete it to start a new study — the runs in {root} are kept")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except (sqlite3.Error, ValueError) as exc:  # ValueError: table names that are not UTF-8
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {_first_line(exc)}); "
                        f"move it aside or delete it to start a new study — the runs in {root} are kept") from None
    foreign = sorted(tables - OPTUNA_TABLES)
    if foreign or (tables and "studies" not in tables):
        listed = ", ".join(foreign[:6]) + (" …" if len(foreign) > 6 else "")
        raise TuneError(f"the study file {path} is an SQLite database but not an Optuna study (it holds the tables "
                        f"{listed or ', '.join(sorted(tables))}); it was left as it was: move it aside to start a "
                        f"new study — the runs in {root} are kept")


def _sampler(experiment: Experiment):
    import optuna

    seed = experiment["seed"]
    method = experiment["method"]
    if method == "grid":
        return _grid_sampler({d.key: d.values() for d in experiment.space}, seed)
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():  # constant_liar is marked experimental
        warnings.simplefilter("ignore")
        # constant_liar: trials still training (other jobs, the one queued next) count as proposals already made
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, max(2, experiment["trials"] // 3)),
                                          constant_liar=True)


def _grid_sampler(space: dict, seed: int):
    """Optuna's grid, minus its `study.stop()` once the grid is covered: this study counts its trials
    itself (ask/tell has no optimize loop to stop, and stop() raises outside one)."""
    import optuna

    class Grid(optuna.samplers.GridSampler):
        def after_trial(self, study, trial, state, values) -> None:
            pass

    return Grid(space, seed=seed)


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
    lock = _lock(root)
    workers: list[_Worker] = []
    study = None
    try:
        total = experiment["trials"]
        if experiment["method"] == "grid":
            total = min(total, experiment.grid_size())
        jobs = max(1, min(jobs or default_jobs(), total))
        threads = threads or max(1, (os.cpu_count() or 1) // jobs)
        # Start the workers first: each imports torch while this process imports Optuna and opens the study.
        workers = [_Worker(threads) for _ in range(jobs)]
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
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {_first_line(exc)}); "
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


def close_study(study) -> None:
    """Close the study's database connections (the file is no longer held open once a search ends)."""
    storage = getattr(study, "_storage", None)
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)
    if engine is not None:
        engine.dispose()


def stored_trials(study, root: Path) -> list:
    """The study's trials as Optuna reads them back; TuneError when what is stored is damaged (a range whose
    low is above its high, a value that is not JSON), naming the file."""
    try:
        return study.get_trials(deepcopy=False)
    except Exception as exc:  # noqa: BLE001 - Optuna's ValueError, sqlalchemy's errors, JSON errors
        raise TuneError(f"the study file {root / STUDY_FILE} holds trials that cannot be read "
                        f"({type(exc).__name__}: {_first_line(exc)}); move it aside or delete it to start a new "
                        f"study — the runs in {root} are kept") from None


def storage_failure(exc: BaseException, path: Path) -> TuneError | None:
    """The TuneError for a study file that could not be written (a full disk, a read-only folder), else None."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = {type(e).__name__ for e in chain}
    if not names & {"StorageInternalError", "OperationalError", "DatabaseError"}:
        return None
    root_cause = chain[-1]
    return TuneError(f"cannot write the study file {path} ({_first_line(root_cause)}); free some space (or make it "
                     "writable) and run tune again: the finished trials are kept and it resumes where it stopped")


def _set(name: str, value: Any):
    from graph_builder.experiment import SetExperimentSetting

    return SetExperimentSetting(name, value)


def _lock(root: Path):
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise TuneError(f"another tune process is working on {root}; wait for it to end (or stop it) and "
                        "run again") from None
    return handle


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


@dataclass
class _Task:
    """A trial made ready to train: its values set, its run folder made, its snapshot taken."""

    trial: Any
    frozen: Any  # the FrozenTrial of a trial a killed study had running, else None
    run_dir: Path
    resume: bool
    snapshot: dict
    project_path: str | None
    started: float = field(default_factory=time.perf_counter)


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
                    self.workers[index] = _Worker(self.workers[index].threads)
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

    def _prepare(self, index: int, ahead: bool = False) -> _Task | None:
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
            task = _Task(trial, frozen, run_dir, resume, snapshot, self.project_path, started)
            self.workers[index].submit(task)
            return task

    def _follow(self, index: int, task: _Task) -> TrialRecord:
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

    def _running(self, task: _Task, curve: dict) -> None:
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


class _TrialStop:
    """The stop flag of one trial in a worker: set when the parent names this trial (pruned)."""

    def __init__(self, shared, number: int) -> None:
        self.shared, self.number = shared, number

    def is_set(self) -> bool:
        return self.shared.value == self.number

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return self.is_set()


class _Worker:
    """A spawned training process that trains one queued trial after another (torch imported once)."""

    def __init__(self, threads: int) -> None:
        ctx = mp.get_context("spawn")
        self.threads = threads
        self.tasks = ctx.Queue()
        self.events = ctx.Queue()
        self.stop_trial = ctx.Value("q", -1, lock=False)
        self.process = ctx.Process(target=worker_main, args=(self.tasks, self.events, self.stop_trial, os.getpid(),
                                                             threads), daemon=True, name="netcanvas-trial")
        self.process.start()

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, number: int) -> None:
        """Stop trial `number` (its run ends with a stopped event); the trials queued after it still run."""
        self.stop_trial.value = number

    def submit(self, task: _Task) -> None:
        self.tasks.put((task.trial.number, task.snapshot, str(task.run_dir), task.resume, task.project_path))

    def events_of(self, number: int, stopping: Callable[[], bool]):
        """The events of trial `number`'s run as the trainer yields them; None when `stopping()` turns true."""
        while True:
            if stopping():
                yield None
                return
            try:
                whose, event = self.events.get(timeout=WORKER_POLL_S)
            except queue_module.Empty:
                if not self.alive():
                    yield {"type": "failed", "kind": "error", "message": "the training process died "
                           f"(exit code {self.process.exitcode}); out of memory?"}
                    return
                continue
            if whose != number:
                continue  # cannot happen (one trial at a time, in order); never mistaken for this trial's
            yield event
            if event["type"] in ("finished", "stopped", "failed"):
                return

    def kill(self) -> None:
        self.tasks.cancel_join_thread()  # tasks it never read must not hold this process at its exit
        if self.alive():
            self.process.kill()
            self.process.join(5)

    def close(self) -> None:
        """End the worker. Every trial it was given has ended (or stays running in the study, to be resumed),
        and it sends a trial's end only after the run's files are closed, so nothing is lost by not waiting
        for a clean interpreter exit."""
        self.kill()


def worker_main(tasks, events, stop_trial, parent_pid: int, threads: int) -> None:
    """The worker process: train each task it is given, streaming epoch and terminal events back."""
    _watch_parent(parent_pid)
    import torch

    from runtime.train.trainer import train

    torch.set_num_threads(threads)
    while True:
        task = tasks.get()
        if task is None:
            return
        number, snapshot, run_dir, resume, project_path = task
        control = {"stop": _TrialStop(stop_trial, number)}
        last = None
        for event in train(snapshot, run_dir=run_dir, resume=resume, control=control, live=False,
                           project_path=project_path):
            if event["type"] == "epoch":
                events.put((number, event))
            elif event["type"] in ("finished", "stopped", "failed"):
                last = event
        # Sent once the trainer has closed the run's files: from here the worker may be ended at any time.
        events.put((number, last or {"type": "failed", "kind": "error", "message": "the trainer ended without a result"}))


def _watch_parent(parent_pid: int) -> None:
    """End this process when the tune process is gone (a SIGKILLed study must not leave trials training)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(WORKER_POLL_S)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def study_child(project_dict: dict, root: str, queue, stop, project_path: str | None = None) -> None:
    """Entry point of the app's study process: messages go to `queue` as (kind, data) tuples.

    ("started", {study, storage, metric, direction, total, trials}), ("running", TrialRecord dict) as a
    trial starts and after each of its epochs, ("trial", TrialRecord dict) per finished trial, then
    ("done", {stopped, trials}) or ("error", plain-words message).
    """
    _watch_parent(os.getppid())
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
                            f"{_first_line(exc)})"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
