"""No module grows past a size one person can hold in mind: the window only assembles (each workspace and each
group of actions is a module of its own, docs/design.md decision 15), and a longer runtime or document module
holds more than one concern."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "runtime", "graph_builder")
LIMIT = 600  # lines


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_main_window_stays_within_600_lines():
    count = lines_of(ROOT / "app" / "main_window.py")
    assert count <= LIMIT, (f"app/main_window.py has {count} lines (at most {LIMIT}); move a workspace's or an "
                            "action group's code into a module of its own and let the window assemble it")


def test_no_module_of_the_app_the_runtime_or_the_document_is_over_600_lines():
    too_long = {str(p.relative_to(ROOT)): n for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
                if (n := lines_of(p)) > LIMIT}
    assert not too_long, f"modules over {LIMIT} lines: {too_long}; split each by what it holds"
