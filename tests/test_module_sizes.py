"""The window only assembles: each workspace and each group of actions is a module of its own, so no module of
the app grows past a size one person can hold in mind (docs/design.md, decision 15)."""

from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
LIMIT = 600  # lines


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_main_window_stays_within_600_lines():
    count = lines_of(APP / "main_window.py")
    assert count <= LIMIT, (f"app/main_window.py has {count} lines (at most {LIMIT}); move a workspace's or an "
                            "action group's code into a module of its own and let the window assemble it")


def test_no_module_of_the_app_is_over_600_lines():
    too_long = {str(p.relative_to(APP.parent)): lines_of(p) for p in sorted(APP.rglob("*.py")) if lines_of(p) > LIMIT}
    assert not too_long, f"modules over {LIMIT} lines: {too_long}; split each by what it holds"
