"""The import graph of the three packages has no cycle, counting imports inside functions too.

A cycle means two modules each need something of the other: what both need belongs a floor
lower. grimp (import-linter's engine) reads every import statement, lazy ones included.
"""

import grimp
import networkx as nx


def import_cycles(*packages: str) -> list[list[str]]:
    graph = grimp.build_graph(*packages, include_external_packages=False)
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            g.add_edge(module, imported)
    return [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]


def test_no_module_of_graph_builder_runtime_or_app_is_in_an_import_cycle():
    assert import_cycles("graph_builder", "runtime", "app") == []


def test_the_check_sees_a_lazy_import_cycle(tmp_path, monkeypatch):
    package = tmp_path / "cyclepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from cyclepkg.b import g\n    return g\n")
    (package / "b.py").write_text("from cyclepkg.a import f\n\ndef g():\n    return f\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclepkg") == [["cyclepkg.a", "cyclepkg.b"]]
