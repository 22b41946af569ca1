"""The trainer's own errors, one class per kind; `kind` names it in the failed event."""

from runtime.errors import NetCanvasRuntimeError


class TrainingError(NetCanvasRuntimeError):
    """Base of the trainer's own errors; `kind` names the kind in the failed event."""

    kind = "error"

    def fields(self) -> dict:
        """What the failed event carries beside its kind and message (declared in runtime/events.py)."""
        return {}


class TrainingSettingError(TrainingError, ValueError):
    """A training setting that cannot work with this model or data."""

    kind = "settings"


class DeviceUnavailableError(TrainingError):
    """A chosen device (cuda, mps) that this machine does not have."""

    kind = "device"


class ModelDataMismatchError(TrainingError):
    """The model's inputs or outputs do not fit the dataset."""

    kind = "model"


class NonFiniteLossError(TrainingError):
    """The loss became NaN or infinite; `node` (name) and `node_id`: where it started, when a replay found it."""

    kind = "nan"

    def __init__(self, message: str, node: str | None = None, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node, self.node_id = node, node_id

    def fields(self) -> dict:
        return {"node": self.node, "node_id": self.node_id} if self.node_id is not None else {}


class TrainingMemoryError(TrainingError, MemoryError):
    """The device ran out of memory; `batch_size_to_try` is a smaller batch size."""

    kind = "oom"

    def __init__(self, message: str, batch_size_to_try: int) -> None:
        super().__init__(message)
        self.batch_size_to_try = batch_size_to_try


class CheckpointError(TrainingError):
    """A run folder that cannot be resumed (no checkpoint, or an unreadable one)."""

    kind = "checkpoint"
