"""What an ONNX graph says beyond its ops: the multi-node patterns one catalog layer expresses, fused
into one node each, node attributes, and the module scopes a torch (dynamo) export records."""

from __future__ import annotations

import ast

FUSED = "netcanvas.fused"  # the domain of nodes fuse() writes for a pattern of several ONNX nodes


def fuse(nodes: list, init: dict, consumers: dict[str, int]) -> list:
    """`nodes` with the multi-node patterns that one catalog layer expresses written as one node each.

    MatMul by a stored matrix then Add of a stored vector is one Linear with a bias; Neg then
    Softmax a Softmin; x / (|x| + 1) a Softsign; Split in halves, Sigmoid of the second and Mul
    a GLU. A pattern matches only where its inner results feed nothing else.
    """
    producer = {out: n for n in nodes for out in n.output}
    inner = lambda name: consumers.get(name, 0) == 1 and name in producer  # noqa: E731
    replaced: dict[int, object] = {}
    dropped: set[int] = set()
    for n in nodes:
        if n.op_type == "Add" and len(n.input) == 2:
            for mm_out, bias in (n.input, reversed(n.input)):
                mm = producer.get(mm_out)
                if (mm is not None and mm.op_type == "MatMul" and inner(mm_out) and bias in init
                        and init[bias].dim() == 1 and mm.input[1] in init and init[mm.input[1]].dim() == 2
                        and init[bias].shape[0] == init[mm.input[1]].shape[1]):
                    replaced[id(n)] = _fused("Linear", [mm.input[0], mm.input[1], bias], n, mm)
                    dropped.add(id(mm))
                    break
        if n.op_type == "Softmax" and producer.get(n.input[0]) is not None and inner(n.input[0]):
            neg = producer[n.input[0]]
            if neg.op_type == "Neg":
                replaced[id(n)] = _fused("Softmin", [neg.input[0]], n, neg, axis=attr(n, "axis", -1))
                dropped.add(id(neg))
        if n.op_type == "Div" and len(n.input) == 2 and inner(n.input[1]):
            add = producer[n.input[1]]
            one = [i for i in add.input if i in init and init[i].numel() == 1 and float(init[i]) == 1.0]
            rest = [i for i in add.input if i not in one]
            absolute = producer.get(rest[0]) if add.op_type == "Add" and len(one) == 1 and len(rest) == 1 else None
            if absolute is not None and absolute.op_type == "Abs" and inner(rest[0]) and \
                    absolute.input[0] == n.input[0]:
                replaced[id(n)] = _fused("Softsign", [n.input[0]], n, absolute)
                dropped.update((id(add), id(absolute)))
        if n.op_type == "Mul" and len(n.input) == 2:
            for a_name, s_name in (n.input, reversed(n.input)):
                sig = producer.get(s_name)
                split = producer.get(sig.input[0]) if sig is not None and sig.op_type == "Sigmoid" else None
                if (split is not None and split.op_type == "Split" and list(split.output) == [a_name, sig.input[0]]
                        and inner(s_name) and inner(sig.input[0]) and inner(a_name)):
                    halves = attr(split, "split", None)
                    if halves is None and len(split.input) > 1 and split.input[1] in init:
                        halves = init[split.input[1]].tolist()
                    if halves is None or len(set(halves)) == 1:
                        replaced[id(n)] = _fused("GLU", [split.input[0]], n, split, axis=attr(split, "axis", 0))
                        dropped.update((id(sig), id(split)))
                    break
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]


def attr(node, name: str, default):
    """The value of attribute `name` of an ONNX node, else `default`."""
    from onnx import helper

    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _fused(op: str, inputs: list, last, first, **attrs):
    """One node standing for a pattern from `first` to `last` (named and scoped like the first)."""
    from onnx import helper

    fused = helper.make_node(op, inputs, list(last.output), name=first.name, domain=FUSED, **attrs)
    fused.metadata_props.extend(first.metadata_props)
    return fused

def _metadata(node) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def module_scope(node) -> list[tuple[str, str]]:
    """The module calls a torch (dynamo) export recorded for `node`: [(path, class), …], outermost first."""
    meta = _metadata(node)
    try:  # Python-literal lists of strings; literal_eval reads data and never runs anything
        scopes = ast.literal_eval(meta.get("pkg.torch.onnx.name_scopes", "[]"))
        classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
    except (ValueError, SyntaxError):
        return []
    if not (isinstance(scopes, list) and isinstance(classes, list)) or len(scopes) != len(classes):
        return []
    pairs = list(zip(scopes, classes))[1:-1]  # neither the root module nor the op itself
    return [(p, c) for p, c in pairs if isinstance(p, str) and isinstance(c, str) and p]


def root_class(graph) -> str | None:
    """The class name of the torch module a dynamo export was made from, when it recorded one."""
    for node in graph.node:
        try:
            classes = ast.literal_eval(_metadata(node).get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            continue
        if classes and isinstance(classes[0], str):
            name = classes[0].rsplit(".", 1)[-1]
            return name if name.isidentifier() else None
    return None

