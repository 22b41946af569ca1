"""Nothing outside a tasks package tests a task's name (DESIGN.md decision 16): the code asks the task.

A task is graph_builder/tasks (what it is), runtime/tasks (what it does with torch) and app/tasks (its
views). Everywhere else a comparison or membership test against a task's name, or a probe for a
generator or a latent layer that decides the task, is a second definition of the task waiting to drift.
The before-stop hook counts the first pattern; this test is stricter.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = r"(gan|vae|classification|regression|reconstruction|autoencoder)"
PATTERNS = (
    re.compile(rf"(==|!=|[\s(]in|[\s(]not in)\s*\(?\s*[\"']{NAMES}[\"']"),  # task == "gan", task in ("vae", …)
    re.compile(rf"[\"']{NAMES}[\"']\s*(==|!=|\bin\b|\bnot in\b)"),  # "gan" == task
    re.compile(rf"\{{[^{{}}]*[\"']{NAMES}[\"']\s*:[^{{}}]*\}}\s*(\.get\(|\[)"),  # {"gan": 2, …}.get(task)
    re.compile(r"\bis_gan\("),  # the old probe for a GAN
    re.compile(r"^\s*(if|elif|while)\b.*\.get\([\"'](generator|discriminator)[\"']\)"),  # a role set: a GAN
)
LATENT_PROBE = re.compile(r"\bis_latent\(")
LATENT_HOME = "runtime/train/objectives.py"  # VAE.bind finds its latent layers: the VAE objective's own business
TASK_PACKAGES = ("graph_builder/tasks/", "runtime/tasks/", "app/tasks/")


def name_tests(*packages: str) -> list[str]:
    """`path:line: text` of every name test of a task in `packages`, outside the tasks packages."""
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(TASK_PACKAGES):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if any(p.search(code) for p in PATTERNS) or (rel != LATENT_HOME and LATENT_PROBE.search(code)):
                    found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_graph_builder_and_runtime_ask_the_task_instead_of_testing_its_name():
    assert name_tests("graph_builder", "runtime") == []


def test_the_app_asks_the_task_instead_of_testing_its_name():
    assert name_tests("app") == []


def test_the_check_sees_each_kind_of_name_test(tmp_path, monkeypatch):
    import sys

    samples = ['if task == "gan":', 'ok = t["task"] in ("regression", "vae")', 'if "vae" == spec_id:',
               'page = {"reconstruction": 1}.get(task, 0)', 'if is_gan(t):', 'if t.get("generator"):',
               'found = any(is_latent(m) for m in model.modules())']
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "probes.py").write_text("\n".join(samples) + "\nfine = spec.id\n")
    (tmp_path / "runtime" / "tasks").mkdir(parents=True)
    (tmp_path / "runtime" / "tasks" / "gan.py").write_text('if task == "gan":\n')  # a task's own module may
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert len(name_tests("pkg", "runtime")) == len(samples)
