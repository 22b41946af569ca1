"""A `.pt2` archive checked before torch.export.load opens it, then loaded without any pickle.

`torch.export.load` unpickles whatever the archive marks as pickled (weights and constants with
`use_pickle`, torchbind and opaque objects, sample inputs that need pickle, the older formats),
parses symbolic sizes with sympy (which evaluates text), writes the graph's input names into
Python source it executes, and allocates a zero tensor of whatever size an empty weight record
declares. So the archive is read as a zip first (the sizes its members declare checked against
the limits) and refused, in one line, when any of that is present:

- a pickled weight or constant, a torchbind or opaque object, an older-format weights file, or
  compiled code (AOTInductor, ExecuTorch);
- sample inputs that `torch.load(weights_only=True)` refuses (torch would retry with pickle);
- a name that is not an identifier, a module path that is not dotted identifiers, a symbolic
  size that is not arithmetic on size symbols;
- tensors declaring more bytes than the model limit (NETCANVAS_MAX_MODEL_BYTES).

Then `torch.export.load` runs with `torch.load` held to `weights_only=True`, so no path of it
can unpickle even if a later torch adds one. Operations other than aten's are reported as
unsupported before the graph is ever built.
"""

from __future__ import annotations

import io
import json
import keyword
import logging
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from graph_builder import limits
from graph_builder.files import not_regular

from runtime.importers.model import ImportSourceError, Unsupported, UnsupportedModelError

ARCHIVE_FORMAT = "pt2"
MODELS = "models/"
WEIGHTS = "data/weights/"
CONSTANTS = "data/constants/"
SAMPLE_INPUTS = "data/sample_inputs/"
COMPILED = ("data/aotinductor/", "data/executorch/", "data/mtia")  # native code a loader would run
TENSOR_CONSTANT = "tensor_"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_PART = re.compile(r"[A-Za-z0-9_]+")
_TARGET = re.compile(r"torch\.ops\.aten\.[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*|_operator\.getitem")
_SYMBOL = re.compile(r"(?:s|u|zf|zuf|ps|tmp|i|x|y|z|h|idx|view|indirect|r0_|r1_)\d+")
# The names a symbolic size may use: sympy's constructors as srepr writes them (`Mul(Integer(2),
# Symbol('s0', positive=True, integer=True))`), torch's size functions and the symbols' assumptions.
_SYMPY_NAMES = frozenset({
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Mod", "Max", "Min", "Abs", "floor", "ceiling",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan",
    "Equality", "Unequality", "And", "Or", "Not", "Piecewise", "ExprCondPair", "oo", "true", "false", "True",
    "False", "BooleanTrue", "BooleanFalse", "One", "Zero", "NegativeOne", "Half", "Infinity", "NegativeInfinity",
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv", "LShift",
    "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv", "IntTrueDiv", "IsNonOverlappingAndDenseIndicator",
    "TruncToFloat", "TruncToInt", "RoundToInt", "RoundDecimal", "ToFloat", "Identity", "OpaqueUnaryFn_sqrt",
    "positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite", "infinite", "zero",
    "nonzero", "even", "odd", "rational", "extended_real", "commutative", "precision"})
_EXPRESSION_TOKEN = re.compile(r"\s+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|'[A-Za-z0-9_.+\-/]*'|[A-Za-z_][A-Za-z0-9_]*|\*\*|//"
                               r"|[-+*/%(),<>=!&|~]")
_NAME_KEYS = ("name", "as_name")
_PATH_KEYS = ("parameter_name", "buffer_name", "tensor_constant_name", "custom_obj_name", "fqn")
_VALUE_TABLES = ("tensor_values", "sym_int_values", "sym_bool_values", "sym_float_values", "custom_obj_values")


class Pt2ArchiveError(ImportSourceError):
    """A .pt2 archive that is refused before torch opens it: pickled, compiled or declaring too much."""


def load_program(path: str | os.PathLike):
    """The ExportedProgram of `path`, once `check_archive` passed, loaded with no pickle allowed."""
    path = Path(path)
    check_archive(path)
    with _no_pickle():
        return torch.export.load(str(path))


def check_archive(path: Path) -> None:
    """Refuse `path` (Pt2ArchiveError, one line) unless it is a plain torch.export archive within the limits."""
    name = path.name
    problem = not_regular(path)
    if problem:
        raise Pt2ArchiveError(f"{problem}; give a .pt2 file written by torch.export.save")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Pt2ArchiveError(f"{name} is not a torch.export program (not a zip archive: {exc})") from None
    with archive:
        members = _members(archive, name)
        declared = sum(info.file_size for info in members.values())
        limits.check(declared, f"{name} (its {len(members)} archive members, unpacked)", limits.MODEL,
                     Pt2ArchiveError, "import a smaller model")
        if _read(archive, members, "archive_format", name).strip() != ARCHIVE_FORMAT.encode():
            raise Pt2ArchiveError(f"{name} is not a torch.export program of the current format (its archive_format "
                                  "is not pt2); save it again with torch.export.save")
        compiled = sorted({d for d in COMPILED for m in members if m.startswith(d)})
        if compiled:
            raise Pt2ArchiveError(f"{name} holds compiled code ({', '.join(compiled)}), which NetCanvas never loads; "
                                  "save the program with torch.export.save, without AOTInductor")
        models = [m[len(MODELS):-len(".json")] for m in members if m.startswith(MODELS) and m.endswith(".json")]
        if not models:
            raise Pt2ArchiveError(f"{name} holds no exported program (no models/*.json); save it with "
                                  "torch.export.save")
        for model in models:
            _check_model(archive, members, name, model)


def _members(archive: zipfile.ZipFile, name: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by their name inside its one top folder; duplicates and odd paths refused."""
    infos = archive.infolist()
    if not infos:
        raise Pt2ArchiveError(f"{name} is an empty zip archive, not a torch.export program")
    prefix = infos[0].filename.split("/", 1)[0] + "/"
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        inner = info.filename[len(prefix):] if info.filename.startswith(prefix) else None
        if inner is None or "\\" in info.filename or any(p in ("", ".", "..") for p in inner.split("/")[:-1]):
            raise Pt2ArchiveError(f"{name} has a member {info.filename[:80]!r} outside its one top folder; it is "
                                  "not an archive torch.export.save wrote")
        if inner in members:
            raise Pt2ArchiveError(f"{name} holds the member {info.filename[:80]!r} twice; it is not an archive "
                                  "torch.export.save wrote")
        members[inner] = info
    return members


def _read(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], member: str, name: str) -> bytes:
    info = members.get(member)
    if info is None:
        raise Pt2ArchiveError(f"{name} has no {member}; it is not a torch.export program (save it with "
                              "torch.export.save)")
    try:
        return archive.read(info)  # its declared size was checked with the others
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise Pt2ArchiveError(f"{name}: its member {member} cannot be read ({exc})") from None


def _json(archive, members, member: str, name: str) -> Any:
    try:
        return json.loads(_read(archive, members, member, name))
    except (ValueError, RecursionError) as exc:
        raise Pt2ArchiveError(f"{name}: {member} is not valid JSON ({str(exc)[:120]})") from None


def _check_model(archive, members, name: str, model: str) -> None:
    for legacy in (f"{WEIGHTS}{model}.pt", f"{CONSTANTS}{model}.pt"):
        if legacy in members:
            raise Pt2ArchiveError(f"{name} is in the older .pt2 format whose weights are pickled ({legacy}); "
                                  "NetCanvas never unpickles a file: save the program again with torch.export.save")
    declared = 0
    for directory, kind in ((WEIGHTS, "weights"), (CONSTANTS, "constants")):
        config = _json(archive, members, f"{directory}{model}_{kind}_config.json", name)
        entries = config.get("config") if isinstance(config, dict) else None
        if not isinstance(entries, dict):
            raise Pt2ArchiveError(f"{name}: {directory}{model}_{kind}_config.json has no \"config\" table")
        for fqn, entry in entries.items():
            declared += _check_payload(name, kind, str(fqn), entry)
    limits.check(declared, f"{name} (the tensors it declares)", limits.MODEL, Pt2ArchiveError,
                 "import a smaller model")
    sample = f"{SAMPLE_INPUTS}{model}.pt"
    if sample in members and members[sample].file_size:
        try:  # torch tries this first and, when it fails, unpickles: refuse what it refuses
            torch.load(io.BytesIO(_read(archive, members, sample, name)), weights_only=True, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - every refusal of weights_only
            raise Pt2ArchiveError(f"{name}: its sample inputs ({sample}) need pickle to load "
                                  f"({_first_line(exc)}); NetCanvas never unpickles a file") from None
    program = _json(archive, members, f"{MODELS}{model}.json", name)
    unsupported: list[Unsupported] = []
    _check_program(program, name, unsupported)
    if unsupported:
        raise UnsupportedModelError(unsupported, name)


def _check_payload(name: str, kind: str, fqn: str, entry: Any) -> int:
    """The bytes one weight or constant declares; refused when it is pickled or an object."""
    what = "weight" if kind == "weights" else "constant"
    if not isinstance(entry, dict):
        raise Pt2ArchiveError(f"{name}: the {what} {fqn[:80]!r} has no description")
    if entry.get("use_pickle"):
        raise Pt2ArchiveError(f"{name}: the {what} {fqn[:80]!r} is pickled (use_pickle); NetCanvas never "
                              "unpickles a file, so this archive is refused")
    path_name = entry.get("path_name")
    if not isinstance(path_name, str) or not _PATH_PART.fullmatch(path_name):
        raise Pt2ArchiveError(f"{name}: the {what} {fqn[:80]!r} names no plain tensor record")
    if kind == "constants" and not path_name.startswith(TENSOR_CONSTANT):
        raise Pt2ArchiveError(f"{name}: the constant {fqn[:80]!r} is an object ({path_name}: torchbind or "
                              "opaque), which is loaded by unpickling; NetCanvas never unpickles a file")
    meta = entry.get("tensor_meta")
    sizes = meta.get("sizes") if isinstance(meta, dict) else None
    if not isinstance(sizes, list) or len(sizes) > 64:
        raise Pt2ArchiveError(f"{name}: the {what} {fqn[:80]!r} declares no shape")
    count = 1
    for size in sizes:
        value = size.get("as_int") if isinstance(size, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Pt2ArchiveError(f"{name}: the {what} {fqn[:80]!r} has a size that is not a whole number")
        count *= value
    return count * _element_size(meta.get("dtype"))


def _element_size(dtype: Any) -> int:
    try:
        from torch._export.serde.schema import ScalarType
        from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE

        return _SERIALIZE_TO_TORCH_DTYPE[ScalarType(dtype)].itemsize
    except (ImportError, KeyError, ValueError, AttributeError, TypeError):
        return 16  # an unknown dtype counts as the widest there is


def _check_program(node: Any, name: str, unsupported: list[Unsupported], key: str = "", depth: int = 0) -> None:
    """Every name, module path, symbolic size and operation in models/<model>.json, checked as data."""
    if depth > 200:
        raise Pt2ArchiveError(f"{name}: its program is nested too deeply")
    if isinstance(node, dict):
        if key in _VALUE_TABLES:
            for table_key in node:
                _check_name(name, table_key)
        for k, v in node.items():
            if k in _NAME_KEYS and isinstance(v, str):
                _check_name(name, v)
            elif k in _PATH_KEYS and isinstance(v, str):
                _check_module_path(name, v)
            elif k == "expr_str":
                _check_expression(name, v)
            elif k == "forward_arg_names" and isinstance(v, list):
                for arg in v:
                    _check_name(name, arg)
            elif k == "target" and isinstance(v, str) and "outputs" in node and not _TARGET.fullmatch(v):
                unsupported.append(Unsupported(str(node.get("name", ""))[:80], f"{v[:80]} (not an aten operation)"))
            else:
                _check_program(v, name, unsupported, k, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _check_program(item, name, unsupported, key, depth + 1)


def _check_name(name: str, value: Any) -> None:
    if not (isinstance(value, str) and _IDENTIFIER.fullmatch(value) and not keyword.iskeyword(value)):
        raise Pt2ArchiveError(f"{name}: its program names a value {str(value)[:60]!r}, which is not an identifier; "
                              "torch.export writes identifiers only, so the file was changed after it was saved")


def _check_module_path(name: str, value: str) -> None:
    parts = value.split(".") if value else []
    if not all(_PATH_PART.fullmatch(p) and not (p.startswith("__") and p.endswith("__")) for p in parts):
        raise Pt2ArchiveError(f"{name}: its program has a module path {value[:60]!r} that is not dotted names; "
                              "the file was changed after torch.export saved it")


def _check_expression(name: str, value: Any) -> None:
    """A symbolic size is arithmetic on size symbols (`s0`, `2*s1 + 1`, `Mod(s0, 2)`): torch evaluates the text."""
    text = value if isinstance(value, str) else ""
    ok = isinstance(value, str) and len(text) <= 1000
    position = 0
    while ok and position < len(text):
        match = _EXPRESSION_TOKEN.match(text, position)
        if not match:
            ok = False
            break
        token = match.group()
        if (token[0].isalpha() or token[0] == "_") and not (token in _SYMPY_NAMES or _SYMBOL.fullmatch(token)):
            ok = False
        position = match.end()
    if not ok:
        raise Pt2ArchiveError(f"{name}: its program has a symbolic size {str(value)[:60]!r} that is not arithmetic "
                              "on size symbols; torch would evaluate it as code, so the archive is refused")


@contextmanager
def _no_pickle() -> Iterator[None]:
    """`torch.load` with weights_only=True only, while torch.export.load runs (every path of it that unpickles),
    and torch's own log of a failed load kept off the terminal."""
    with _LOADING:
        real = torch.load
        quiet = [logging.getLogger(name) for name in ("torch.export", "torch._export.serde.serialize")]
        levels = [log.level for log in quiet]
        for log in quiet:  # torch logs a failed load with its traceback; the import says it in one line
            log.setLevel(logging.CRITICAL)

        def load(f, *args, weights_only: bool | None = None, **kwargs):
            if weights_only is False:
                raise ImportSourceError("the archive asks to unpickle a file; NetCanvas never unpickles a file")
            return real(f, *args, weights_only=True, **kwargs)

        torch.load = load
        try:
            yield
        finally:
            torch.load = real
            for log, level in zip(quiet, levels):
                log.setLevel(level)


_LOADING = threading.Lock()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
