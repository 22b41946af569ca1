"""No module of the runtime or the document grows past 600 lines: a longer one holds more than one concern."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 600


def test_no_module_of_runtime_or_graph_builder_is_over_600_lines():
    long = {str(path.relative_to(ROOT)): n for package in ("runtime", "graph_builder")
            for path in sorted((ROOT / package).rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines (split them by concern): {long}"
