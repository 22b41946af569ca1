"""NetCanvas's graph model: layer catalog, graph, validation, shapes and project files.

Pure Python (stdlib, networkx, psygnal): no torch and no Qt, so the editor opens and validates
instantly.

    from graph_builder import Graph
    g = Graph()
    x = g.add_node("Input", params={"shape": (1, 8, 8)})
    ...
"""

from graph_builder.catalog import LayerSpec, ParamSpec, PortSpec, all_specs, categories, get_spec
from graph_builder.errors import (
    CycleError,
    EditError,
    GraphBuilderError,
    NodeNameError,
    ParamError,
    PortError,
    ProjectError,
    ShapeError,
    UnknownLayerError,
)
from graph_builder.graph import (
    AddNode,
    Batch,
    Command,
    Connect,
    Disconnect,
    Edge,
    Graph,
    Move,
    Node,
    RemoveNode,
    Rename,
    SetFrozen,
    SetParam,
)
from graph_builder.networks import (
    AddNetwork,
    Networks,
    RemoveNetwork,
    RenameNetwork,
    SetMainNetwork,
    group_command,
    ungroup_command,
)
from graph_builder.project import Project, load_project, loads_project, save_project
from graph_builder.settings import ReplaceSettings, SetSetting, SettingsSection
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport, infer_shapes
from graph_builder.validation import ERROR, WARNING, Fix, Issue, Validation, check, validate

__all__ = [
    "AddNetwork", "Networks", "RemoveNetwork", "RenameNetwork", "ReplaceSettings", "SetMainNetwork", "SetSetting",
    "SettingsSection", "group_command", "ungroup_command",
    "AddNode", "Batch", "Command", "Connect", "CycleError", "Disconnect", "ERROR", "Edge", "EditError",
    "Fix", "Graph", "GraphBuilderError", "Issue", "LayerSpec", "Move", "Node", "NodeNameError", "ParamError",
    "ParamSpec", "PortError", "PortSpec", "Project", "ProjectError", "RemoveNode", "Rename", "SetFrozen", "SetParam",
    "ShapeError", "ShapeReport", "UnknownLayerError", "Validation", "WARNING", "all_specs", "categories",
    "check", "format_shape", "get_spec", "infer_shapes", "load_project", "loads_project", "save_project",
    "validate",
]
