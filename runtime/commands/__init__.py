"""Subcommands of the `netcanvas` CLI; each module exposes register(subparsers)."""
