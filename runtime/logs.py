"""Logging to a rotating file: the app's in its data folder, a training child's in its run folder.

Plain `logging`: modules log through ``logging.getLogger(__name__)`` (everything under the
"app", "runtime" and "graph_builder" loggers reaches the file); `log_to` adds the one handler.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

ROOTS = ("app", "runtime", "graph_builder")
FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def log_to(path: str | Path, max_bytes: int = 1_000_000, backups: int = 3) -> logging.Handler:
    """Send INFO and above from the NetCanvas packages to `path`, rotated at `max_bytes`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ROOTS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(getattr(h, "baseFilename", None) == handler.baseFilename for h in logger.handlers):
            logger.addHandler(handler)
    return handler
