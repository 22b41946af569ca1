"""The app reads only event keys that runtime.events declares (a static scan of app/training)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from runtime.events import ALL_KEYS, EVENTS

TRAINING = Path(__file__).resolve().parents[2] / "app" / "training"
EVENT_NAMES = {"ev", "event", "terminal"}  # how the app names an event dict
EVENT_ATTRS = {"final", "test_confusion", "_terminal"}  # RunInfo.final, .test_confusion; the bridge's last event
HANDLER = re.compile(r"_on_(\w+)_event$")  # the dashboard's per-type handlers


def is_event(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in EVENT_NAMES
    return isinstance(node, ast.Attribute) and node.attr in EVENT_ATTRS


def key_reads(tree: ast.AST):
    """(function name, key, line) of each `ev["key"]`, `ev.get("key")` and `"key" in ev` on an event dict."""
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            key = None
            if isinstance(node, ast.Subscript) and is_event(node.value) and isinstance(node.slice, ast.Constant):
                key = node.slice.value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and is_event(node.func.value) and node.args and isinstance(node.args[0], ast.Constant)):
                key = node.args[0].value
            elif (isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn))
                  and isinstance(node.left, ast.Constant) and is_event(node.comparators[0])):
                key = node.left.value
            if isinstance(key, str):
                yield func.name, key, node.lineno


def undeclared_reads(source: str) -> list[str]:
    found = []
    for func, key, line in key_reads(ast.parse(source)):
        match = HANDLER.match(func)
        spec = EVENTS.get(match.group(1)) if match else None
        declared = spec.all_keys if spec is not None else ALL_KEYS
        if key not in declared:
            where = f"{spec.type} event" if spec is not None else "any event"
            found.append(f"line {line} in {func}: {key!r} is not a key of {where}")
    return found


def test_the_app_reads_only_declared_event_keys():
    found = {path.name: undeclared_reads(path.read_text(encoding="utf-8")) for path in sorted(TRAINING.glob("*.py"))}
    assert not {name: reads for name, reads in found.items() if reads}, found


def test_the_scan_finds_reads_of_keys_nobody_sends():
    source = '''
def _on_started_event(self, ev):
    amp = ev.get("amp") or ev.get("mixed_precision")
def _on_paused_event(self, ev):
    return ev["batches"]
def handle(event):
    return event.get("validation"), "sizes" in event, event.get("type")
'''
    assert undeclared_reads(source) == [
        "line 3 in _on_started_event: 'mixed_precision' is not a key of started event",
        "line 5 in _on_paused_event: 'batches' is not a key of paused event",
        "line 7 in handle: 'validation' is not a key of any event",
        "line 7 in handle: 'sizes' is not a key of any event",
    ]


def test_the_scan_sees_the_apps_event_reads():
    reads = {(path.name, key) for path in TRAINING.glob("*.py")
             for _, key, _ in key_reads(ast.parse(path.read_text(encoding="utf-8")))}
    assert {("dashboard.py", "amp"), ("dashboard.py", "val"), ("bridge.py", "message"),
            ("runs_panel.py", "test"), ("controller.py", "train_size")} <= reads
