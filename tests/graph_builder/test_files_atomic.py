"""Every file NetCanvas writes goes through one atomic helper and gets the user's normal permissions."""

from __future__ import annotations

import os
import stat

import pytest

from graph_builder import Graph, Project, load_project, save_project
from graph_builder.files import atomic_path, current_umask, write_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _project(width: int = 4) -> Project:
    g = Graph()
    x = g.add_node("Input", params={"shape": [8]})
    fc = g.add_node("Linear", params={"out_features": width})
    y = g.add_node("Output")
    g.connect(x.id, fc.id)
    g.connect(fc.id, y.id)
    return Project(g)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o022
    os.umask(old)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_current_umask_reads_the_process_umask(umask_022):
    assert current_umask() == 0o022
    os.umask(0o027)
    assert current_umask() == 0o027


def test_a_saved_project_gets_the_users_normal_permissions_not_0600(tmp_path, umask_022):
    path = tmp_path / "p.json"
    save_project(_project(), path)
    assert _mode(path) == 0o666 & ~umask_022 == 0o644
    assert _leftovers(tmp_path) == []


def test_a_new_file_follows_a_stricter_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "private.bin", b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.bin") == 0o600


def test_an_existing_file_keeps_its_permission_bits(tmp_path, umask_022):
    path = tmp_path / "p.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    save_project(_project(), path)
    assert _mode(path) == 0o640
    assert load_project(path) == _project()


def test_a_symlinked_project_stays_a_link_and_its_target_gets_the_new_bytes(tmp_path, umask_022):
    real = tmp_path / "store" / "real.json"
    real.parent.mkdir()
    save_project(_project(4), real)
    os.chmod(real, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save_project(_project(7), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_project(real) == _project(7)
    assert _mode(real) == 0o600
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


def test_a_failing_rename_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    save_project(_project(4), path)
    before = path.read_bytes()

    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        save_project(_project(9), path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_failing_writer_inside_atomic_path_leaves_nothing(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            assert tmp.parent == tmp_path and tmp.name.endswith(".npz")
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_autosave_goes_through_the_helper_with_normal_permissions(tmp_path, umask_022):
    pytest.importorskip("PySide6")
    from app.projects import Autosave

    autosave = Autosave(tmp_path)
    autosave.write(_project(), None)
    assert _mode(autosave.path) == 0o644


def test_exports_get_the_users_normal_permissions(tmp_path, umask_022):
    pytest.importorskip("torch")
    from runtime.compile.compiler import build_module
    from runtime.export.formats import export_python, export_weights

    graph = _project().graph
    export_python(graph, tmp_path / "net.py")
    export_weights(build_module(graph), tmp_path / "net.safetensors")
    assert _mode(tmp_path / "net.py") == 0o644
    assert _mode(tmp_path / "net.safetensors") == 0o644
    existing = tmp_path / "again.py"
    existing.write_text("")
    os.chmod(existing, 0o640)
    export_python(graph, existing)
    assert _mode(existing) == 0o640 and "class Net" in existing.read_text()
    assert _leftovers(tmp_path) == []


def test_run_folder_files_get_the_users_normal_permissions(tmp_path, umask_022):
    pytest.importorskip("torch")
    from runtime.train.trainer import last_event, train

    g = Graph()
    x = g.add_node("Input", params={"shape": [4]})
    fc = g.add_node("Linear", params={"out_features": 3})
    y = g.add_node("Output")
    g.connect(x.id, fc.id)
    g.connect(fc.id, y.id)
    run = tmp_path / "run"
    end = last_event(train(Project(g, {"name": "iris"}, {"epochs": 1, "device": "cpu"}), run_dir=run, live=False))
    assert end["type"] == "finished", end
    for name in ("config.json", "best.safetensors", "last.safetensors", "checkpoint.pt"):
        assert _mode(run / name) == 0o644, name
    assert all(_mode(p) == 0o644 for p in (run / "confusion").iterdir())
    assert _leftovers(run) == []
