"""Compile generated source to a live nn.Module, and initialise its weights reproducibly.

The text exec'd here is exactly what "Export Python" writes. It is registered with `linecache`
under a readable filename, so a traceback shows the generated line, and `failing_node` maps
that line back to the graph node it came from.
"""

from __future__ import annotations

import hashlib
import linecache
import traceback
from types import FrameType, TracebackType

import torch
from torch import nn

from graph_builder.graph import Graph

from runtime.compile.codegen import ModelInterface, generate
from runtime.errors import NetCanvasRuntimeError

INIT_SCHEMES = ("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")


class CompileError(NetCanvasRuntimeError):
    """Generated source that would not compile or build (a bug in code generation)."""


class InitSchemeError(NetCanvasRuntimeError, ValueError):
    """An unknown weight initialisation name."""


# filename -> {line number: node id}, for every source compiled in this process
_LINE_NODES: dict[str, dict[int, str]] = {}


def compile_source(source: str, filename: str, line_nodes: dict[int, str] | None = None) -> dict:
    """Exec `source` in a fresh namespace under `filename` (kept in linecache); returns the namespace."""
    lines = source.splitlines(keepends=True)
    # mtime None: linecache.checkcache keeps the entry (there is no file on disk to compare with).
    linecache.cache[filename] = (len(source), None, lines, filename)
    _LINE_NODES[filename] = dict(line_nodes or {})
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        raise CompileError(f"generated code does not compile ({filename}, line {exc.lineno}): {exc.msg}") from exc
    namespace: dict = {"__name__": "netcanvas_generated", "__file__": filename}
    exec(code, namespace)  # noqa: S102 — the text came from runtime.compile.codegen, built only from safe parts
    return namespace


def source_filename(source: str, class_name: str) -> str:
    """A readable, stable name for generated source: same text, same name."""
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]
    return f"<netcanvas {class_name} {digest}>"


def failing_node(exc: BaseException) -> tuple[str, int, str] | None:
    """(node id, line number, line text) of the innermost generated line in `exc`'s traceback."""
    found = None
    tb: TracebackType | None = exc.__traceback__
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        nodes = _LINE_NODES.get(filename)
        if nodes and lineno in nodes:
            found = (nodes[lineno], lineno, linecache.getline(filename, lineno).strip())
    return found


def node_on_stack(frame: FrameType | None) -> str | None:
    """The node id of the innermost generated line on the call stack from `frame` outward, else None."""
    while frame is not None:
        nodes = _LINE_NODES.get(frame.f_code.co_filename)
        if nodes and frame.f_lineno in nodes:
            return nodes[frame.f_lineno]
        frame = frame.f_back
    return None


def explain_failure(exc: BaseException, graph: Graph) -> str | None:
    """`in node conv (Conv2d), generated line 23: conv = self.conv(act)` for an error raised in forward."""
    where = failing_node(exc)
    if where is None or where[0] not in graph.nodes:
        return None
    node = graph.nodes[where[0]]
    return f"in node {node.name} ({node.type_id}), generated line {where[1]}: {where[2]}"


def build_module(graph: Graph, init: str = "default", seed: int = 0, class_name: str | None = None,
                 orthogonal_recurrent: bool = False) -> nn.Module:
    """Generate, compile and instantiate `graph`'s module with seeded weights.

    forward takes the Input tensors positionally (graph order) and returns one tensor, or a
    tuple in Output order. `init` is one of INIT_SCHEMES; `orthogonal_recurrent` makes
    RNN/LSTM/GRU hidden-to-hidden matrices orthogonal.
    """
    if init not in INIT_SCHEMES:
        raise InitSchemeError(f"unknown weight initialisation {init!r}; use one of {', '.join(INIT_SCHEMES)}")
    rendered = generate(graph, class_name, main=True)
    iface = rendered.interface
    filename = source_filename(rendered.text, iface.class_name)
    namespace = compile_source(rendered.text, filename, rendered.line_nodes)
    cls = namespace[iface.class_name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            module = cls()
        except Exception as exc:
            where = failing_node(exc)
            node = f" (node {graph.nodes[where[0]].name!r}: {where[2]})" if where and where[0] in graph.nodes else ""
            raise CompileError(f"building the generated model failed{node}: {exc}") from exc
        initialise(module, init, orthogonal_recurrent)
    module.netcanvas_interface = iface  # plain attribute: names and shapes for export
    module.netcanvas_source = rendered.text
    return module


def interface_of(module: nn.Module) -> ModelInterface | None:
    """The ModelInterface of a module made by build_module, else None."""
    return getattr(module, "netcanvas_interface", None)


_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)


@torch.no_grad()
def initialise(module: nn.Module, init: str = "default", orthogonal_recurrent: bool = False) -> None:
    """Re-initialise weight matrices with `init` (biases to zero); 'default' keeps torch's own."""
    if init not in INIT_SCHEMES:
        raise InitSchemeError(f"unknown weight initialisation {init!r}; use one of {', '.join(INIT_SCHEMES)}")
    for sub in module.modules():
        if isinstance(sub, _RECURRENT):
            for name, param in sub.named_parameters(recurse=False):
                if name.startswith("weight_hh") and orthogonal_recurrent:
                    for gate in param.split(sub.hidden_size, dim=0):  # one orthogonal block per gate
                        nn.init.orthogonal_(gate)
                elif name.startswith("weight") and init != "default":
                    _init_matrix(param, init)
                elif name.startswith("bias") and init != "default":
                    param.zero_()
            continue
        if init == "default":
            continue
        for name, param in sub.named_parameters(recurse=False):
            if isinstance(sub, (nn.Embedding, nn.LayerNorm, nn.GroupNorm)) or sub.__class__.__name__ == "PositionalEncoding":
                break  # lookup tables and norms keep their own initialisation
            if param.dim() >= 2 and ("weight" in name):
                _init_matrix(param, init)
            elif "bias" in name and param.dim() == 1 and not isinstance(sub, nn.modules.batchnorm._NormBase):
                param.zero_()


def _init_matrix(param: torch.Tensor, init: str) -> None:
    if init == "xavier_uniform":
        nn.init.xavier_uniform_(param)
    elif init == "xavier_normal":
        nn.init.xavier_normal_(param)
    elif init == "he_uniform":
        nn.init.kaiming_uniform_(param, nonlinearity="relu")
    elif init == "he_normal":
        nn.init.kaiming_normal_(param, nonlinearity="relu")
