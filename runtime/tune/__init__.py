"""Hyperparameter search with Optuna over a project's experiment section; trials are ordinary runs."""

from runtime.tune.study import (
    StudyResult, TrialRecord, TuneError, default_jobs, read_study, run_project_study, run_study, study_child,
)

__all__ = ["StudyResult", "TrialRecord", "TuneError", "default_jobs", "read_study", "run_project_study",
           "run_study", "study_child"]
