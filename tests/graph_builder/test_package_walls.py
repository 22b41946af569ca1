"""The walls between the packages: graph_builder stays light, runtime stays Qt-free, the app and CLI use
runtime's faces (import-linter)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_importing_graph_builder_imports_neither_torch_nor_qt():
    modules = _imported_after("import graph_builder; from graph_builder import all_specs, check; all_specs()")
    assert "graph_builder" in modules
    assert not modules & {"torch", "PySide6", "pyqtgraph", "onnx", "runtime", "app", "numpy"}


def test_the_headless_cli_never_imports_qt():
    modules = _imported_after("from app.entry import main; main(['layers'])")
    assert "runtime" in modules
    assert not modules & {"PySide6", "pyqtgraph"}


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test extra; install with pip install -e '.[test]'"
    result = subprocess.run([lint, str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"{declared} kept, 0 broken" in result.stdout
