"""Code generation is the compiler (DESIGN.md decision 5): graph → statements → one readable module.

`lower` turns a valid graph into a LoweredModel (submodules in topological order, one
statement per node, the inputs and outputs); `render` writes it as Python text. Only three
things reach the text: identifiers from a per-file Namespace, `literal()` of validated
primitives, and class names from runtime.compile.lowering's static allowlist. The result is checked
with `ast.parse`. The same graph always gives the same text.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from dataclasses import dataclass, field

from graph_builder.catalog import REQUIRED, ParamSpec, get_spec
from graph_builder.graph import Graph
from graph_builder.shapes import format_shape, incoming, infer_shapes, topological_order
from graph_builder.validation import ERROR, validate

from runtime.codetext import doc_text
from runtime.errors import NetCanvasRuntimeError
from runtime.compile.lowering import HELPERS, NodeContext, literal, lowering_for

MAX_IDENTIFIER = 40


class CodegenError(NetCanvasRuntimeError):
    """Code generation refused a graph."""


class GraphInvalidError(CodegenError):
    """The graph has validation errors; the message names the first one."""


# Names the generated file uses itself, or that would shadow something a reader relies on.
_FILE_NAMES = {"self", "torch", "nn", "F", "math", "model", "output", "outputs", "name", "_",
               "CLASSES", "TASK", "WEIGHTS", "load_model"}  # the last four: a run's export (runtime.export.preprocess)


def _module_attributes() -> set[str]:
    """Attributes every nn.Module has: a layer called `forward` or `training` would clobber them."""
    import torch.nn

    instance = set(vars(torch.nn.Module()))  # `training` is set in __init__, so dir(class) misses it
    return set(dir(torch.nn.Module)) | instance


_RESERVED = None


def reserved_names() -> frozenset[str]:
    """Every identifier the namespace never hands out."""
    global _RESERVED
    if _RESERVED is None:
        _RESERVED = frozenset(
            set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | _FILE_NAMES
            | set(HELPERS) | _module_attributes()
        )
    return _RESERVED


class Namespace:
    """Per-file identifiers, sanitised the torch.fx way and de-duplicated with _1, _2 suffixes."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._reserved = set(reserved)
        self._used: set[str] = set()

    def create(self, candidate: str, fallback: str = "layer") -> str:
        """A fresh identifier close to `candidate` (any text); `fallback` when nothing usable is left."""
        base = sanitize(candidate, fallback)
        name, i = base, 0
        while name in self._used or name in self._reserved:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name


def sanitize(text: str, fallback: str = "layer") -> str:
    """`text` reduced to [A-Za-z0-9_], no leading underscore (so never a dunder), at most 40 chars."""
    name = re.sub(r"[^0-9a-zA-Z_]", "_", str(text)[: MAX_IDENTIFIER * 4])
    name = re.sub(r"_+", "_", name).strip("_")
    fallback = re.sub(r"[^0-9a-zA-Z_]", "_", fallback).strip("_") or "layer"
    if not name:
        name = fallback
    elif name[0].isdigit():
        name = f"{fallback}_{name}"
    name = name[:MAX_IDENTIFIER].rstrip("_")
    return name if name.isidentifier() else fallback


# ---------------------------------------------------------------- the lowered form


@dataclass(frozen=True)
class Submodule:
    """`self.<attr> = <cls>(<args>)` in __init__."""

    node_id: str
    attr: str
    cls: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """The forward line(s) of one node; the last line carries the output shape."""

    node_id: str
    lines: tuple[str, ...]
    shape: str


@dataclass(frozen=True)
class ModelInput:
    name: str  # the forward argument (a Python identifier: `input` becomes `input_1`)
    node_id: str
    shape: tuple  # with None for the batch dimension
    dtype: str  # float32 | int64
    vocab: int | None = None  # for int64 inputs: the smallest Embedding size they feed
    export_name: str = ""  # the name in ONNX files: sanitised, but builtins like `input` are fine


@dataclass(frozen=True)
class ModelOutput:
    name: str  # ONNX output name
    node_id: str
    var: str  # the forward local it returns
    shape: tuple


@dataclass(frozen=True)
class ModelInterface:
    """The inputs and outputs of a generated model (for examples, ONNX names and checks)."""

    class_name: str
    inputs: tuple[ModelInput, ...]
    outputs: tuple[ModelOutput, ...]


@dataclass
class LoweredModel:
    """A graph as ordered statements, ready to render."""

    interface: ModelInterface
    submodules: list[Submodule] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    layer_count: int = 0
    dependencies: list[LoweredModel] = field(default_factory=list)  # the block classes, users last


# ---------------------------------------------------------------- lowering


def check_valid(graph: Graph) -> None:
    """Raise GraphInvalidError naming the first validation error, if there is one."""
    errors = [i for i in validate(graph) if i.severity == ERROR]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise GraphInvalidError(
            f"cannot generate code: {errors[0].message}{more}; fix the graph first "
            "(`netcanvas validate` lists every problem)"
        )


def class_identifier(name: str, fallback: str = "Net") -> str:
    """A network name as a PascalCase class name: 'residual block' and 'residual_block' -> ResidualBlock."""
    parts = [p for p in re.split(r"[^0-9a-zA-Z]+", str(name)) if p]
    text = "".join(p[0].upper() + p[1:] for p in parts)
    return sanitize(text, fallback)


def lower(graph: Graph, class_name: str | None = None) -> LoweredModel:
    """Lower a valid graph to submodules and statements in topological order.

    The networks its blocks stand for are lowered too (`dependencies`, each before its users):
    one class per network, a block being an instance of its network's class. The class is named
    `class_name`, else after the network (PascalCase), else Net.
    """
    check_valid(graph)
    library = graph.library
    own = library.name_of(graph) if library is not None else None
    deps = library.dependencies(own)[:-1] if own is not None else []
    classes = Namespace(reserved_names())
    class_names = {dep: classes.create(class_identifier(dep, "Block"), "Block") for dep in deps}
    target = classes.create(class_identifier(class_name or own or "Net"), "Net")
    taken = set(class_names.values()) | {target}
    memo = {}
    lowered = [_lower_one(library[dep], class_names[dep], class_names, taken, memo) for dep in deps]
    model = _lower_one(graph, target, class_names, taken, memo)
    model.dependencies = lowered
    helpers = [h for m in [*lowered, model] for h in m.helpers]
    model.helpers = list(dict.fromkeys(helpers))
    return model


def _lower_one(graph: Graph, class_name: str, class_names: dict[str, str], taken: set[str],
               memo: dict) -> LoweredModel:
    shapes = infer_shapes(graph, memo)
    edges_in = incoming(graph)
    order = topological_order(graph)
    outputs = graph.outputs()
    live = {o.id for o in outputs}
    for o in outputs:
        live |= graph.ancestors(o.id)
    names = Namespace(reserved_names() | taken)

    # A layer whose only use is an Output gets that Output's name: `logits = self.classifier(x)`.
    named_by_output: dict[str, str] = {}
    for o in outputs:
        edge = edges_in[o.id][0]
        src = graph.nodes[edge.src]
        if src.type_id not in ("Input", "Block") and [e.dst for e in graph.out_edges(src.id)] == [o.id]:
            named_by_output[src.id] = o.name

    # Inputs first (graph order = positional order), then layers in topological order.
    var: dict[str, str] = {}
    port_var: dict[tuple[str, str], str] = {}
    inputs = []
    export_names = Namespace()  # ONNX names: unique across inputs and outputs, no Python reservations
    for node in graph.inputs():
        var[node.id] = names.create(node.name, "x")
        inputs.append(ModelInput(var[node.id], node.id, shapes.out[node.id], node.params["dtype"],
                                 _vocab(graph, node.id), export_names.create(node.name, "input")))

    def source(edge) -> str:
        return port_var.get((edge.src, edge.src_port), var.get(edge.src))

    model = LoweredModel(ModelInterface(class_name, (), ()))
    helpers: list[str] = []
    for node_id in order:
        node = graph.nodes[node_id]
        entry = lowering_for(node.type_id)
        if entry.role not in ("layer", "block") or node_id not in live:
            continue
        spec = get_spec(node.type_id)
        if entry.role == "block":
            _lower_block(graph, node, class_names, names, source, edges_in, shapes, var, port_var, model)
            continue
        attr = names.create(node.name, spec.type_id.lower()) if entry.module else None
        name = names.create(named_by_output[node_id], "y") if node_id in named_by_output else \
            attr or names.create(node.name, spec.type_id.lower())
        var[node_id] = name
        ctx = NodeContext(
            node_id=node_id, type_id=node.type_id, params=dict(node.params),
            inferred=dict(shapes.inferred.get(node_id, {})),
            attr=attr, var=name,
            inputs=tuple(source(e) for e in edges_in[node_id]),
            in_shapes=tuple(shapes.edge_shape(e) for e in edges_in[node_id]),
            out_shape=shapes.out[node_id],
        )
        if entry.module:
            model.submodules.append(Submodule(node_id, attr, entry.module, _constructor_args(spec, ctx, entry)))
            if entry.helper and entry.helper not in helpers:
                helpers.append(entry.helper)
        model.statements.append(Statement(node_id, tuple(entry.call(ctx)), format_shape(ctx.out_shape)))
        model.layer_count += 1

    outs = []
    for node in outputs:
        edge = edges_in[node.id][0]
        returned = source(edge)
        if edge.src not in named_by_output:  # the value has other uses too: give it the Output's name
            returned = names.create(node.name, "y")
            model.statements.append(Statement(node.id, (f"{returned} = {source(edge)}",),
                                              format_shape(shapes.out[node.id])))
        outs.append(ModelOutput(export_names.create(node.name, "output"), node.id, returned, shapes.out[node.id]))
    model.interface = ModelInterface(class_name, tuple(inputs), tuple(outs))
    model.helpers = helpers
    return model


def _lower_block(graph, node, class_names, names, source, edges_in, shapes, var, port_var, model) -> None:
    """`self.block1 = ResidualBlock()` in __init__; `block1 = self.block1(x)` in forward."""
    inner = graph.block_network(node.id)
    attr = names.create(node.name, "block")
    model.submodules.append(Submodule(node.id, attr, class_names[node.params["network"]], ()))
    args = ", ".join(source(e) for e in edges_in[node.id])
    ports = graph.output_ports(node.id)
    if len(ports) == 1:
        var[node.id] = attr
        port_var[(node.id, ports[0].name)] = attr
        line = f"{attr} = self.{attr}({args})"
    else:
        targets = []
        for port in ports:
            port_var[(node.id, port.name)] = names.create(f"{node.name}_{port.label}", "out")
            targets.append(port_var[(node.id, port.name)])
        var[node.id] = targets[0]
        line = f"{', '.join(targets)} = self.{attr}({args})"
    shape = ", ".join(format_shape(shapes.port_out[(node.id, p.name)]) for p in ports)
    model.statements.append(Statement(node.id, (line,), shape))
    model.layer_count += 1
    del inner


def _vocab(graph: Graph, input_id: str) -> int | None:
    sizes = [graph.nodes[e.dst].params["num_embeddings"] for e in graph.out_edges(input_id)
             if graph.nodes[e.dst].type_id == "Embedding"]
    return min(sizes) if sizes else None


def _same(value, default) -> bool:
    """True when `value` is what torch would use anyway (1 and (1, 1) alike; True is not 1)."""
    if isinstance(value, tuple) and not isinstance(default, tuple):
        return all(_same(v, default) for v in value)
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    return value == default


def _compact(pspec: ParamSpec | None, value):
    """(3, 3) → 3 where torch broadcasts a single int, as a person would write it."""
    if (pspec is not None and pspec.kind == "ints" and pspec.allow_int and isinstance(value, tuple)
            and value and all(v == value[0] for v in value)):
        return value[0]
    return value


def _constructor_args(spec, ctx: NodeContext, entry) -> tuple[str, ...]:
    values = {**ctx.params, **ctx.inferred}
    params = {p.name: p for p in spec.params}
    args = []
    for name in spec.signature:
        if name not in values:
            raise CodegenError(f"{spec.type_id}: its signature names {name!r}, which is neither a parameter "
                               "nor inferred from the input; fix its LayerSpec")
        args.append(literal(_compact(params.get(name), values[name])))
    for p in spec.params:
        if p.arg != "keyword" or p.name in spec.signature:
            continue
        value = ctx.params[p.name]
        if p.torch_default is not REQUIRED and _same(value, p.torch_default):
            continue
        args.append(f"{p.name}={literal(_compact(p, value))}")
    keywords = list(entry.fixed) + (entry.extra(ctx) if entry.extra else [])
    args += [f"{k}={literal(v)}" for k, v in keywords]
    return tuple(args)


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class RenderedSource:
    """Generated text plus which node each line came from (1-based line numbers)."""

    text: str
    line_nodes: dict[int, str]
    interface: ModelInterface


def render(model: LoweredModel, main: bool = False) -> RenderedSource:
    """Write a LoweredModel as one module that imports only torch; `main` adds a runnable demo."""
    return render_many([model], main=main)


def render_many(models: list[LoweredModel], main: bool = False, title: str | None = None) -> RenderedSource:
    """Several networks' classes in one module (a GAN's generator and discriminator), blocks written once.

    The first model's interface is the module's; `main` adds its demo (single-model files only).
    """
    model = models[0]
    iface = model.interface
    lines: list[str] = []
    owners: dict[int, str] = {}

    def emit(text: str = "", node_id: str | None = None) -> None:
        lines.append(text)
        if node_id is not None:
            owners[len(lines)] = node_id

    ins = ", ".join(f"{i.name} {format_shape(i.shape)} {i.dtype}" for i in iface.inputs)
    outs = ", ".join(f"{o.name} {format_shape(o.shape)}" for o in iface.outputs)
    if len(models) == 1:
        emit(f'"""{iface.class_name}: a network generated by NetCanvas ({model.layer_count} layers).')
        emit()
        emit(f"Inputs: {ins}")
        emit(f"Outputs: {outs}")
    else:
        emit(f'"""{doc_text(title or "Networks")}: {len(models)} networks generated by NetCanvas.')
        for m in models:
            m_ins = ", ".join(f"{i.name} {format_shape(i.shape)}" for i in m.interface.inputs)
            m_outs = ", ".join(f"{o.name} {format_shape(o.shape)}" for o in m.interface.outputs)
            emit()
            emit(f"{m.interface.class_name} ({m.layer_count} layers): {m_ins} -> {m_outs}")
    emit('"""')
    emit()
    emit("import torch")
    emit("from torch import nn")
    for helper in dict.fromkeys(h for m in models for h in m.helpers):
        emit()
        emit()
        for line in HELPERS[helper].rstrip("\n").split("\n"):
            emit(line)
    written: set[str] = {m.interface.class_name for m in models}
    for m in models:
        for dep in m.dependencies:
            if dep.interface.class_name not in written:
                written.add(dep.interface.class_name)
                _render_class(dep, lambda text="", node_id=None: emit(text), doc=True)
    for i, m in enumerate(models):
        # line-to-node ownership is kept for the first model only (its graph compiles from this text)
        _render_class(m, emit if i == 0 else (lambda text="", node_id=None: emit(text)), doc=len(models) > 1,
                      noun="A network")
    if main:
        _render_main(iface, emit)
    text = "\n".join(lines) + "\n"
    try:
        ast.parse(text)
    except SyntaxError as exc:  # a bug in a lowering, never user input: say where
        raise CodegenError(f"generated code does not parse at line {exc.lineno}: {exc.msg}") from exc
    return RenderedSource(text, owners, iface)


def _render_class(model: LoweredModel, emit, doc: bool, noun: str = "A block") -> None:
    """One `class …(nn.Module)`: submodules in __init__, one line per node in forward."""
    iface = model.interface
    emit()
    emit()
    emit(f"class {iface.class_name}(nn.Module):")
    if doc:
        ins = ", ".join(f"{i.name} {format_shape(i.shape)}" for i in iface.inputs)
        outs = ", ".join(f"{o.var} {format_shape(o.shape)}" for o in iface.outputs)
        emit(f'    """{noun} of {model.layer_count} layers: {ins} -> {outs}."""')
        emit()
    emit("    def __init__(self) -> None:")
    emit("        super().__init__()")
    for sub in model.submodules:
        emit(f"        self.{sub.attr} = {sub.cls}({', '.join(sub.args)})", sub.node_id)
    emit()
    params = ", ".join(f"{i.name}: torch.Tensor" for i in iface.inputs)
    returns = "torch.Tensor" if len(iface.outputs) == 1 else \
        "tuple[" + ", ".join("torch.Tensor" for _ in iface.outputs) + "]"
    emit(f"    def forward(self, {params}) -> {returns}:")
    for i in iface.inputs:
        emit(f"        # {i.name}: {format_shape(i.shape)} {i.dtype}", i.node_id)
    for st in model.statements:
        for line in st.lines[:-1]:
            emit(f"        {line}", st.node_id)
        emit(f"        {st.lines[-1]}  # {st.shape}", st.node_id)
    emit(f"        return {', '.join(o.var for o in iface.outputs)}")


def _render_main(iface: ModelInterface, emit) -> None:
    emit()
    emit()
    emit('if __name__ == "__main__":')
    emit(f"    model = {iface.class_name}().eval()")
    for i in iface.inputs:
        dims = literal((2, *i.shape[1:]))
        if i.dtype == "int64":
            emit(f"    {i.name} = torch.randint(0, {literal(i.vocab or 2)}, {dims})")
        else:
            emit(f"    {i.name} = torch.randn{dims}")
    args = ", ".join(i.name for i in iface.inputs)
    emit("    with torch.no_grad():")
    emit(f"        outputs = model({args})")
    if len(iface.outputs) == 1:
        emit("    outputs = (outputs,)")
    names = literal(tuple(o.name for o in iface.outputs))
    emit(f"    for name, output in zip({names}, outputs):")
    emit('        print(name, tuple(output.shape))')


def generate(graph: Graph, class_name: str | None = None, main: bool = False) -> RenderedSource:
    """Lower and render in one step."""
    return render(lower(graph, class_name), main=main)


def generate_source(graph: Graph, class_name: str | None = None, main: bool = False) -> str:
    """The readable PyTorch module for `graph` (raises GraphInvalidError on a graph with errors)."""
    return generate(graph, class_name, main).text


def model_interface(graph: Graph, class_name: str | None = None) -> ModelInterface:
    """The generated model's inputs and outputs (names, shapes, dtypes)."""
    return lower(graph, class_name).interface


def node_attributes(graph: Graph) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(node id -> submodule attribute of `graph`'s module, network name -> the same for each block network)."""
    model = lower(graph)
    library = graph.library
    own = library.name_of(graph) if library is not None else None
    deps = library.dependencies(own)[:-1] if own is not None else []
    inner = {name: {s.node_id: s.attr for s in lowered.submodules}
             for name, lowered in zip(deps, model.dependencies)}
    return {s.node_id: s.attr for s in model.submodules}, inner
