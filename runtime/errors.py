"""The base of every error runtime raises on purpose; each area derives its own kinds."""


class NetCanvasRuntimeError(Exception):
    """Base class: a message a user can act on (what failed, what was expected, what to do)."""
