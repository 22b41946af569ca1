"""Graph to nn.Module: the readable source (codegen), its lowering per layer, and the compiled module.

    source = generate_source(graph)          # what is trained and exported
    module = build_module(graph, init="he_normal", seed=0)
"""

from runtime.compile.codegen import (
    CodegenError, GraphInvalidError, class_identifier, generate, generate_source, model_interface,
)
from runtime.compile.compiler import CompileError, InitSchemeError, build_module, initialise, interface_of
from runtime.compile.lowering import not_exportable_to_onnx

__all__ = [
    "CodegenError", "CompileError", "GraphInvalidError", "InitSchemeError", "build_module", "class_identifier",
    "generate", "generate_source", "initialise", "interface_of", "model_interface", "not_exportable_to_onnx",
]
