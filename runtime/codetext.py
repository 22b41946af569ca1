"""The one way text from a project reaches generated Python: as a literal, in a docstring or in a comment.

A project's title, dataset path, class names, file names and settings end up in the exported
model file and training script. Each goes through one of these, never through an f-string on
its own:

- `text_literal(s)` / `data_literal(value)`: a Python literal that reads back as exactly the
  value (strings through ascii(), so no character can end the literal or the line);
- `doc_text(s)`: text inside a triple-quoted docstring that cannot close it (backslashes and
  quotes escaped, line breaks made spaces), and that reads back as the text;
- `comment_text(s)`: text after a `#` that cannot start a new line of code.

Layer parameters have their own, stricter path (runtime.compile.lowering.literal).
"""

from __future__ import annotations

import ast
import math
import unicodedata
from typing import Any

from runtime.errors import NetCanvasRuntimeError


class CodeTextError(NetCanvasRuntimeError):
    """A value that cannot be written into generated code (a non-finite number, an object)."""


def text_literal(value: str) -> str:
    """A data string as a Python literal that reads back as itself (ascii(), checked)."""
    text = ascii(str(value))
    if ast.literal_eval(text) != str(value):  # pragma: no cover - ascii() always round-trips
        raise CodeTextError(f"cannot write {str(value)[:40]!r} into generated code")
    return text


def data_literal(value: Any) -> str:
    """A literal of plain data (None, bool, int, finite float, str, list, tuple, dict of those) that reads back equal."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CodeTextError(f"cannot write the non-finite number {value!r} into generated code")
        return repr(float(value))
    if isinstance(value, str):
        return text_literal(value)
    if isinstance(value, list):
        return "[" + ", ".join(data_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(data_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{data_literal(k)}: {data_literal(v)}" for k, v in value.items()) + "}"
    raise CodeTextError(f"cannot write a value of type {type(value).__name__} into generated code")


def doc_text(text: Any) -> str:
    """`text` for a line of a triple-quoted (non-raw) docstring: it cannot close the docstring and reads back as
    `text` on one line."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def comment_text(text: Any) -> str:
    """`text` for after a `#`: one line, whatever it holds."""
    return one_line(text)


def one_line(text: Any) -> str:
    """`text` with every line break and control character a space, and lone surrogates (which no file can hold)
    the replacement character: it stays on the line it is written on."""
    out = []
    for c in str(text):
        kind = unicodedata.category(c)
        out.append(" " if kind in ("Cc", "Zl", "Zp") and c != "\t" else "\ufffd" if kind == "Cs" else c)
    return "".join(out)
