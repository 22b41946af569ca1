"""Exceptions raised by graph_builder; every one derives from GraphBuilderError."""

from __future__ import annotations

import json
from typing import Any


def json_kind(value: Any) -> str:
    """What a JSON value is, in words for a message ("an object", "a list", "a number" …)."""
    names = {dict: "an object", list: "a list", str: "a text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def json_key(key: Any) -> str:
    """A key as it is written in a JSON path (`$.a.b`): bare when it is an identifier, else quoted."""
    text = str(key)
    return text if text.isidentifier() and len(text) < 60 else json.dumps(text[:60])


class GraphBuilderError(Exception):
    """Base of every error graph_builder raises on purpose."""


class UnknownLayerError(GraphBuilderError, KeyError):
    """A layer type id that the catalog does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0] if self.args else ""


class ParamError(GraphBuilderError, ValueError):
    """A parameter value outside its spec (type, bounds or choices)."""

    def __init__(self, message: str, *, node: str | None = None, param: str | None = None):
        super().__init__(message)
        self.node = node
        self.param = param


class ShapeError(GraphBuilderError, ValueError):
    """A layer cannot take the shape it receives; `fix` names a catalog layer that would help."""

    def __init__(self, message: str, *, fix: str | None = None, fix_params: dict | None = None):
        super().__init__(message)
        self.fix = fix
        self.fix_params = fix_params or {}


class EditError(GraphBuilderError, ValueError):
    """An edit the graph refuses (unknown node, occupied port, cycle, duplicate name)."""


class CycleError(EditError):
    """A connection that would close a cycle."""


class PortError(EditError):
    """A connection to a port that does not exist or is already full."""


class NodeNameError(EditError):
    """A node name that is empty or already used in this graph."""


class ProjectError(GraphBuilderError):
    """A project file that cannot be read; `path` is the JSON path of the first problem."""

    def __init__(self, message: str, path: str = "$"):
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class NetworkError(EditError):
    """A project-level edit of networks the project refuses (name taken, network in use, unknown)."""


class BlockRecursionError(NetworkError):
    """A block that would make a network contain itself; the message names the chain."""
