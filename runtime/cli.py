"""The headless `netcanvas` command line (no Qt): layers, validate, export, train, templates, predict, import,
sample, tune, weights, freeze, data, memory, explain.

Each subcommand lives in runtime/commands/<name>.py with a `register(subparsers)` that adds its
parser and sets `func(args) -> exit code`. Exit codes: 0 success, 1 the project has errors or
the run failed, 2 the input could not be read.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from graph_builder.files import WriteError

COMMAND_MODULES = [
    "runtime.commands.layers",
    "runtime.commands.validate",
    "runtime.commands.export",
    "runtime.commands.train",
    "runtime.commands.templates",
    "runtime.commands.predict",
    "runtime.commands.import_",
    "runtime.commands.sample",
    "runtime.commands.tune",
    "runtime.commands.weights",
    "runtime.commands.freeze",
    "runtime.commands.data",
    "runtime.commands.memory",
    "runtime.commands.explain",
]

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def read_project(path: str):
    """The project at `path`, or None after saying on stderr why it cannot be read (exit with EXIT_UNREADABLE)."""
    from graph_builder.errors import ProjectError
    from graph_builder.project import load_project

    try:
        return load_project(path)
    except ProjectError as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netcanvas",
        description="Design, train and export neural networks. Without a command, opens the editor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one CLI command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_UNREADABLE
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `netcanvas layers | head`
        return EXIT_OK
    except WriteError as exc:  # full disk, read-only folder: one line, the file named
        print(f"netcanvas {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"netcanvas {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO}


if __name__ == "__main__":
    sys.exit(main())
