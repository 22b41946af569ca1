"""Each validation rule: the issue it reports, on which node, and the fix it offers."""

from graph_builder import ERROR, WARNING, Graph, check, format_shape, validate


def build(nodes, wires):
    g = Graph()
    made = {name: g.add_node(t, name=name, params=p) for name, (t, p) in nodes.items()}
    for a, b in wires:
        g.edges.append(g.edge_to(made[a].id, made[b].id))  # bypass edit checks: a file may hold anything
    return g, made


def codes(issues):
    return sorted(i.code for i in issues)


def mlp():
    return build(
        {"x": ("Input", {"shape": [64]}), "fc": ("Linear", {"out_features": 10}), "y": ("Output", {})},
        [("x", "fc"), ("fc", "y")],
    )


def test_valid_graph_has_no_issues():
    g, _ = mlp()
    assert validate(g) == []


def test_missing_input_and_output_are_errors_and_output_has_a_fix():
    g = Graph()
    fc = g.add_node("Linear")
    issues = validate(g)
    assert {"no-input", "no-output"} <= set(codes(issues))
    fix = next(i.fix for i in issues if i.code == "no-output")
    g.apply(fix.command)
    assert [n.type_id for n in g.outputs()] == ["Output"] and g.out_edges(fc.id)


def test_cycle_names_every_node_on_it():
    g, n = build(
        {"x": ("Input", {"shape": [8]}), "a": ("Linear", {}), "b": ("ReLU", {}), "c": ("Linear", {}),
         "add": ("Add", {}), "y": ("Output", {})},
        [("x", "add"), ("add", "a"), ("a", "b"), ("b", "c"), ("c", "add"), ("c", "y")],
    )
    (cycle,) = [i for i in validate(g) if i.code == "cycle"]
    assert cycle.severity == ERROR
    assert set(cycle.node_ids) == {n["add"].id, n["a"].id, n["b"].id, n["c"].id}
    for name in ("add", "a", "b", "c"):
        assert name in cycle.message


def test_unconnected_required_input_is_reported_on_that_node():
    g, n = build({"x": ("Input", {"shape": [8]}), "fc": ("Linear", {}), "y": ("Output", {})}, [("fc", "y")])
    issue = next(i for i in validate(g) if i.code == "unconnected")
    assert issue.node_ids == (n["fc"].id,) and "fc has nothing connected" in issue.message


def test_two_wires_into_a_single_input_port():
    g, n = build(
        {"x": ("Input", {"shape": [8]}), "a": ("Linear", {}), "b": ("Linear", {}), "r": ("ReLU", {}),
         "y": ("Output", {})},
        [("x", "a"), ("x", "b"), ("a", "r"), ("b", "r"), ("r", "y")],
    )
    issue = next(i for i in validate(g) if i.code == "port-overfilled")
    assert issue.node_ids == (n["r"].id,) and "2 wires" in issue.message


def test_merge_with_one_input_needs_another_branch():
    g, n = build({"x": ("Input", {"shape": [8]}), "add": ("Add", {}), "y": ("Output", {})},
                 [("x", "add"), ("add", "y")])
    assert codes(validate(g)) == ["too-few-inputs"]


def test_node_not_reaching_an_output_is_a_warning_and_unreachable_is_an_error():
    g, n = mlp()
    extra = g.add_node("Linear", name="side")
    g.connect(n["x"].id, extra.id)
    (issue,) = validate(g)
    assert (issue.code, issue.severity, issue.node_ids) == ("dead-end", WARNING, (extra.id,))


def test_bad_parameter_value_in_the_model_is_reported():
    g, n = mlp()
    g.nodes[n["fc"].id].params["out_features"] = -3  # as if a tool wrote it behind the editor's back
    issue = next(i for i in validate(g) if i.code == "bad-param")
    assert "out_features must be at least 1" in issue.message


def test_shape_mismatch_names_node_shapes_and_offers_unflatten():
    g, n = build(
        {"x": ("Input", {"shape": [64]}), "conv": ("Conv2d", {}), "y": ("Output", {})},
        [("x", "conv"), ("conv", "y")],
    )
    (issue,) = validate(g)
    assert issue.code == "shape" and issue.node_ids == (n["conv"].id,)
    assert "expects a 4-D input (N, C, H, W) but receives (N, 64)" in issue.message
    g.apply(issue.fix.command)
    result = check(g)
    assert result.ok
    assert format_shape(result.shapes.out[n["conv"].id]) == "(N, 16, 6, 6)"


def test_linear_on_an_image_suggests_flatten():
    g, n = build(
        {"x": ("Input", {"shape": [1, 8, 8]}), "fc": ("Linear", {"out_features": 10}), "y": ("Output", {})},
        [("x", "fc"), ("fc", "y")],
    )
    (issue,) = validate(g)
    assert issue.code == "linear-on-image" and "Flatten" in issue.fix.title
    g.apply(issue.fix.command)
    assert validate(g) == []
    assert check(g).shapes.out[n["fc"].id] == (None, 10)


def test_channel_mismatch_in_add_suggests_a_1x1_conv():
    g, n = build(
        {"x": ("Input", {"shape": [3, 8, 8]}), "a": ("Conv2d", {"out_channels": 8, "padding": 1}),
         "add": ("Add", {}), "y": ("Output", {})},
        [("x", "a"), ("a", "add"), ("x", "add"), ("add", "y")],
    )
    (issue,) = validate(g)
    assert issue.code == "shape" and "1×1" in issue.fix.title
    g.apply(issue.fix.command)
    assert validate(g) == []


def test_token_ids_into_a_conv_suggest_an_embedding():
    g, n = build(
        {"x": ("Input", {"shape": [10], "dtype": "int64"}), "lstm": ("LSTM", {}), "y": ("Output", {})},
        [("x", "lstm"), ("lstm", "y")],
    )
    (issue,) = validate(g)
    assert "integer token ids" in issue.message and "Embedding" in issue.fix.title
    g.apply(issue.fix.command)
    assert validate(g) == []


def test_shapes_params_and_macs_of_a_small_cnn():
    g, n = build(
        {"x": ("Input", {"shape": [1, 8, 8]}), "conv": ("Conv2d", {"out_channels": 4, "padding": 1}),
         "pool": ("MaxPool2d", {}), "flat": ("Flatten", {}), "fc": ("Linear", {"out_features": 10}),
         "y": ("Output", {})},
        [("x", "conv"), ("conv", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "y")],
    )
    result = check(g)
    assert result.ok
    assert result.shapes.out[n["flat"].id] == (None, 64)
    assert result.shapes.params[n["conv"].id] == 4 * 9 + 4
    assert result.shapes.params[n["fc"].id] == 64 * 10 + 10
    assert result.shapes.total_params == 40 + 650
    assert result.shapes.macs[n["conv"].id] == 4 * 8 * 8 * 9
    assert result.shapes.inferred[n["fc"].id] == {"in_features": 64}


def test_errors_do_not_cascade_downstream():
    g, n = build(
        {"x": ("Input", {"shape": [64]}), "conv": ("Conv2d", {}), "fc": ("Linear", {}), "y": ("Output", {})},
        [("x", "conv"), ("conv", "fc"), ("fc", "y")],
    )
    assert [i.node_ids for i in validate(g)] == [(n["conv"].id,)]
