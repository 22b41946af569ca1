"""A run, from settings to journal: the trainer, its objectives, cross-validation and monitoring.

    for event in train(project, run_dir="runs/1"):   # the CLI, in-process
        ...
    run_in_child(project_dict, run_dir, queue, control)   # the app's child process
"""

from runtime.train.devices import device_memory
from runtime.train.step_memory import StepMemory, measure_step
from runtime.train.dry_run import EpochTime, time_epoch
from runtime.train.crossval import cross_validate, crossval_words, run_crossval_in_child
from runtime.train.freezing import pretrained_nodes
from runtime.train.monitor import INSTALL_HINT, TensorBoardServer, tensorboard_available
from runtime.train.trainer import (
    CheckpointError, Control, DeviceUnavailableError, ModelDataMismatchError, NonFiniteLossError, TrainingError,
    TrainingMemoryError, TrainingSettingError, device_name, last_event, run_in_child, select_device, train,
)

__all__ = [
    "INSTALL_HINT", "CheckpointError", "EpochTime", "time_epoch", "StepMemory", "device_memory", "measure_step", "Control", "DeviceUnavailableError",
    "ModelDataMismatchError", "NonFiniteLossError", "TensorBoardServer", "TrainingError", "TrainingMemoryError",
    "TrainingSettingError", "cross_validate", "crossval_words", "device_name", "last_event", "pretrained_nodes",
    "run_crossval_in_child", "run_in_child", "select_device", "tensorboard_available", "train",
]
