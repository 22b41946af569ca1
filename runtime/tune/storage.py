"""A study's storage: Optuna's SQLite file in the runs folder, checked before it is opened, and the lock
that keeps one tune process per runs folder (a lock the operating system releases when the process dies)."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from graph_builder.experiment import Experiment

from runtime.tune.records import TuneError, first_line

STUDY_FILE = "study.db"
LOCK_FILE = "study.lock"


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
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {first_line(exc)}); "
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
        raise TuneError(f"the study file {path} cannot be read ({type(exc).__name__}: {first_line(exc)}); "
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
                        f"({type(exc).__name__}: {first_line(exc)}); move it aside or delete it to start a new "
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
    return TuneError(f"cannot write the study file {path} ({first_line(root_cause)}); free some space (or make it "
                     "writable) and run tune again: the finished trials are kept and it resumes where it stopped")


def lock_runs_folder(root: Path):
    """Hold the runs folder for this tune process; TuneError when another one holds it."""
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
