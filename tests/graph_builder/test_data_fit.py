"""The model-against-data check: what it reports, on which nodes, in which words, and its fixes."""

import sys

import pytest

from graph_builder import ERROR
from graph_builder.datafit import BUILTIN, DataDescription, check_fit, describe_builtin
from graph_builder.shapes import infer_shapes
from tests.builders import chain


def mlp(shape=(1, 8, 8), classes=10, dtype="float32"):
    return chain(("Input", "digit", {"shape": shape, "dtype": dtype}), ("Flatten", "flat", {}),
                 ("Linear", "head", {"out_features": classes}), ("Output", "logits", {}))


def fit(graph, description, training=None):
    return check_fit(graph, infer_shapes(graph), description, training)


DIGITS = describe_builtin({"name": "digits"})


def test_a_model_that_fits_has_no_fit_issues():
    assert fit(mlp(), DIGITS) == []


def test_unknown_data_gives_no_fit_issues():
    assert fit(mlp(shape=(3,)), None) == []


def test_input_shape_mismatch_names_the_input_by_its_real_name_and_says_what_to_do():
    g = mlp(shape=(64,))
    [issue] = fit(g, DIGITS)
    assert issue.severity == ERROR and issue.code == "fit-input-shape"
    assert issue.node_ids == (g.inputs()[0].id,)
    assert issue.message == ("digit expects (N, 64) but the digits data gives (N, 1, 8, 8) per batch; "
                             "set the shape of digit to (1, 8, 8) and insert an Unflatten to (N, 64) after it")


def test_flat_data_into_an_image_input_asks_for_the_flat_shape():
    flat = DataDescription("the flat digits", (64,), classes=tuple("0123456789"))
    [issue] = fit(mlp(), flat)
    assert issue.message.startswith("digit expects (N, 1, 8, 8) but the flat digits gives (N, 64) per batch; "
                                    "set the shape of digit to 64")


def test_the_input_shape_fix_makes_the_model_fit():
    g = mlp(shape=(64,))
    [issue] = fit(g, DIGITS)
    g.apply(issue.fix.command)
    assert g.inputs()[0].params["shape"] == (1, 8, 8)
    assert fit(g, DIGITS) == []


def test_dtype_mismatch_is_reported_with_a_fix():
    g = chain(("Input", "tokens", {"shape": (16,), "dtype": "int64"}), ("Linear", "head", {"out_features": 2}),
              ("Output", "y", {}))
    data = DataDescription("the table", (16,), classes=("a", "b"))
    issues = fit(g, data)
    assert [i.code for i in issues] == ["fit-input-dtype"]
    assert "tokens is int64 but the table gives float values (float32); set the dtype of tokens to float32" \
        == issues[0].message
    g.apply(issues[0].fix.command)
    assert fit(g, data) == []


def test_output_width_against_the_number_of_classes_names_the_last_linear():
    g = mlp(classes=7)
    [issue] = fit(g, DIGITS)
    assert issue.code == "fit-classes"
    assert issue.message == ("logits gives (N, 7) but the digits data has 10 classes, so it must give (N, 10) "
                             "(one score per class); set out_features of head to 10")
    assert issue.node_ids == (g.outputs()[0].id,)  # the badge goes on the Output; the words name the layer


def test_an_unflattened_output_asks_for_flatten_and_linear():
    g = chain(("Input", "digit", {"shape": (1, 8, 8)}), ("Conv2d", "conv", {"out_channels": 4, "kernel_size": 3}),
              ("Output", "y", {}))
    [issue] = fit(g, DIGITS)
    assert issue.message.endswith("insert a Flatten and a Linear(out_features=10) before y")


def test_one_logit_fits_two_classes_only_with_bce_with_logits():
    moons = describe_builtin({"name": "moons"})
    g = chain(("Input", "point", {"shape": (2,)}), ("Linear", "head", {"out_features": 1}), ("Output", "y", {}))
    assert fit(g, moons, {"loss": "bce_with_logits"}) == []
    assert [i.code for i in fit(g, moons, {"loss": "cross_entropy"})] == ["fit-classes"]


def test_regression_target_shape_follows_the_horizon():
    sine = describe_builtin({"name": "sine", "seq_len": 20, "horizon": 3})
    assert sine.input_shape == (20, 1) and sine.target_shape == (3,)
    g = chain(("Input", "series", {"shape": (20, 1)}), ("Flatten", "flat", {}),
              ("Linear", "head", {"out_features": 1}), ("Output", "forecast", {}))
    [issue] = fit(g, sine)
    assert issue.code == "fit-target"
    assert issue.message == ("forecast gives (N, 1) but the regression target of the sine-wave data is (N, 3); "
                             "set out_features of head to 3")


def test_reconstruction_compares_the_output_with_the_input():
    g = mlp(classes=32)
    [issue] = fit(g, DIGITS, {"task": "reconstruction"})
    assert issue.code == "fit-target" and "the reconstruction target (the input) of the digits data is " \
        "(N, 1, 8, 8); set out_features of head to 64" in issue.message
    # the shape fits; what is left is the samples' range (tests/graph_builder/test_output_range.py)
    assert [i.code for i in fit(mlp(classes=64), DIGITS, {"task": "reconstruction"})] == ["fit-output-range"]


def test_a_task_the_data_cannot_train_is_one_issue():
    [issue] = fit(mlp(), DIGITS, {"task": "regression"})
    assert issue.code == "fit-task" and "set the task to auto or classification" in issue.message


def test_several_inputs_are_named():
    g = mlp()
    g.add_node("Input", name="extra", params={"shape": (3,)})
    issue = fit(g, DIGITS)[0]
    assert issue.code == "fit-inputs" and "(digit, extra)" in issue.message and len(issue.node_ids) == 2


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_built_in_dataset_is_described_without_loading(name):
    description = describe_builtin({"name": name})
    assert description.input_shape and description.label
    assert description.num_classes or description.target_shape


def test_file_datasets_have_no_description_before_a_load():
    for name in ("csv", "npz", "image_folder"):
        assert describe_builtin({"name": name, "path": "x"}) is None


def test_the_check_imports_no_torch():
    import subprocess

    code = "import sys, graph_builder.datafit; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_file_dataset_is_checked_against_its_last_load_while_it_names_the_same_file():
    from graph_builder.datafit import LoadedData, check_project_fit
    from graph_builder.project import Project

    g = mlp(shape=(64,))
    project = Project(g, {"name": "csv", "path": "/data/table.csv"}, {})
    table = DataDescription("the data in table.csv", (5,), classes=("a", "b"))
    loaded = LoadedData({"name": "csv", "path": "/data/table.csv"}, table)
    shapes = infer_shapes(g)
    assert check_project_fit(project, shapes, None) == []  # not loaded yet: unknown
    codes = [i.code for i in check_project_fit(project, shapes, loaded)]
    assert codes == ["fit-input-shape", "fit-classes"]
    other = Project(g, {"name": "csv", "path": "/data/other.csv"}, {})
    assert check_project_fit(other, shapes, loaded) == []  # another file: that load says nothing about it
