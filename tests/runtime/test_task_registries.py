"""Each task's halves are joined by its id: every spec has its runtime, and a run's child gets JSON only."""

from __future__ import annotations

import inspect
import json

from graph_builder.tasks import TASKS
from runtime.tasks import RUNTIMES, task_runtime
from runtime.train import trainer


def test_every_registered_task_has_its_runtime_and_no_runtime_lacks_a_spec():
    assert set(TASKS) == set(RUNTIMES)
    for task_id, spec in TASKS.items():
        assert task_runtime(task_id).spec is spec


def test_the_training_child_is_given_json_and_paths_and_resolves_the_task_itself():
    """Nothing with a spec or a runtime in it crosses the process boundary (spawn pickles the arguments)."""
    from graph_builder.project import load_project, project_to_dict
    from runtime.templates import template_paths

    params = list(inspect.signature(trainer.run_in_child).parameters)
    assert params == ["project_dict", "run_dir", "queue", "control", "resume", "project_path"]
    for path in template_paths().values():
        snapshot = project_to_dict(load_project(path))
        assert json.loads(json.dumps(snapshot)) == snapshot  # what the app passes: plain JSON
