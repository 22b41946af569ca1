"""The explain package's errors: one base, a kind per way a request can be wrong."""

from __future__ import annotations

from runtime.errors import NetCanvasRuntimeError


class ExplainError(NetCanvasRuntimeError):
    """A request to explain a prediction that cannot be met; the message says what to change."""


class ExplainMethodError(ExplainError, ValueError):
    """An attribution method that does not exist, or a layer it cannot use."""


class ExplainInputError(ExplainError, ValueError):
    """A sample that does not fit the network's input, or a target it does not have."""
