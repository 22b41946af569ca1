"""Dataset paths in a project are relative to the project file, wherever the program runs."""


def test_a_relative_dataset_path_is_read_beside_the_project_file(tmp_path):
    from graph_builder.settings import dataset_beside

    project_file = tmp_path / "work" / "p.json"
    assert dataset_beside({"name": "csv", "path": "data/t.csv"}, project_file)["path"] == \
        str(tmp_path / "work" / "data" / "t.csv")
    assert dataset_beside({"name": "csv", "path": "/abs/t.csv"}, project_file)["path"] == "/abs/t.csv"
    assert dataset_beside({"name": "csv", "path": "t.csv"}, None)["path"] == "t.csv"  # untitled: as written
    assert dataset_beside({"name": "iris", "path": None}, project_file) == {"name": "iris", "path": None}
