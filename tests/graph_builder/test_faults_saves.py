"""Saves killed at random moments never lose or mix the project, and their temp files do not last."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from graph_builder import Graph, Project
from graph_builder.files import remove_stale_temps, temp_beside, write_atomic
from graph_builder.project import dumps_project, load_project, save_project


def project_of(width: int) -> Project:
    g = Graph()
    nodes = [g.add_node("Input", params={"shape": (width,)})]
    for _ in range(20):  # big enough that a write takes a while
        nodes.append(g.add_node("Linear", params={"out_features": width}))
    nodes.append(g.add_node("Output"))
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    return Project(g, {"name": "iris"}, {"epochs": 3})


def temps(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".tmp" in name)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to kill a save cheaply")
def test_a_save_killed_at_200_random_moments_never_loses_or_mixes_the_file(tmp_path):
    path = tmp_path / "p.json"
    versions = {dumps_project(project_of(w)): w for w in (3, 5)}
    a, b = (project_of(w) for w in (3, 5))
    save_project(a, path)
    rng = random.Random(7)
    left_behind = 0
    for _ in range(200):
        pid = os.fork()
        if pid == 0:  # the child saves for ever, alternating two projects, until it is killed
            try:
                while True:
                    save_project(b, path)
                    save_project(a, path)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.02))  # a save takes some milliseconds: the kills land across it
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert dumps_project(load_project(path)) in versions  # whole, and one of the two
        left_behind += bool(temps(tmp_path))
        save_project(a, path)  # the next save cleans up after the killed one
        assert temps(tmp_path) == []
    assert left_behind > 0  # the kills did land mid-save


def test_only_our_own_stale_temp_files_are_removed(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{}")
    dead = tmp_path / ".p.json.999999999.abcdefgh.tmp.json"  # no such process
    older = tmp_path / ".p.json.abcd1234.tmp.json"  # the pattern before temps carried a pid
    living = tmp_path / f".p.json.{os.getppid()}.abcdefgh.tmp.json"  # a writer that still runs
    sibling = tmp_path / ".checkpoint.pt.999999999.abcdefgh.tmp.pt"  # another file's, its writer dead too
    others = [tmp_path / n for n in (".p.json.notes", "p.json.tmp", ".q.json.abcdefgh.tmp.json",
                                     ".p.json.999999999.abc.tmp", ".q.json.999999999.abcdefgh.tmp.txt")]
    for p in [dead, older, living, sibling, *others]:
        p.write_text("x")
    write_atomic(path, b'{"new": 1}')
    assert not dead.exists() and not older.exists() and not sibling.exists()
    assert living.exists() and all(p.exists() for p in others)
    assert path.read_bytes() == b'{"new": 1}'


def test_a_temp_file_this_process_is_still_writing_is_kept(tmp_path):
    path = tmp_path / "w.safetensors"
    tmp = temp_beside(path)
    assert remove_stale_temps(path) == [] and tmp.exists()
    tmp.unlink()

