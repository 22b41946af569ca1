"""The training side calls its window through the TrainingHost Protocol, and MainWindow satisfies it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from app.training.host import TrainingHost

TRAINING = Path(__file__).resolve().parents[2] / "app" / "training"


def protocol_methods() -> list[str]:
    return [name for name, value in vars(TrainingHost).items()
            if inspect.isfunction(value) and not name.startswith("_")]


def test_the_main_window_is_a_training_host(window):
    assert isinstance(window, TrainingHost)
    for name in protocol_methods():  # the window's own methods take every argument the Protocol passes
        if not inspect.isfunction(getattr(type(window), name)):
            continue  # QMainWindow's, from C++
        wanted = list(inspect.signature(getattr(TrainingHost, name)).parameters)[1:]
        offered = inspect.signature(getattr(window, name)).parameters
        has_varargs = any(p.kind is p.VAR_POSITIONAL for p in offered.values())
        assert has_varargs or all(p in offered for p in wanted), (name, wanted, list(offered))


def test_the_window_project_path_is_the_saved_file(window, tmp_path):
    assert window.project_path() is None
    assert window.save_project_as(tmp_path / "p.json")
    assert window.project_path() == (tmp_path / "p.json").resolve()
    assert window.training.project_path() == str((tmp_path / "p.json").resolve())


def test_no_training_module_probes_the_window_with_getattr_or_hasattr():
    probes = []
    for path in sorted(TRAINING.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("getattr", "hasattr") and node.args:
                target = ast.unparse(node.args[0])
                if target in ("window", "w") or target.endswith(".window"):
                    probes.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert not probes, probes
