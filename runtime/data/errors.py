"""Errors of runtime.data: every one derives from DataError (itself a NetCanvasRuntimeError)."""

from __future__ import annotations

from runtime.errors import NetCanvasRuntimeError


class DataError(NetCanvasRuntimeError):
    """Base of every dataset problem: the message says what is wrong and what to do."""


class UnknownDatasetError(DataError, ValueError):
    """A dataset name that is not in the registry."""


class DatasetSettingError(DataError, ValueError):
    """A dataset setting that cannot work (missing path, unknown target column, bad fractions)."""


class DatasetFileNotFoundError(DataError, FileNotFoundError):
    """A dataset file or folder that does not exist."""


class DatasetFormatError(DataError, ValueError):
    """A file that exists but is not what its kind promises (corrupt, truncated, wrong columns)."""


class DatasetTooLargeError(DataError, MemoryError):
    """Decoded data that would not fit in memory."""
