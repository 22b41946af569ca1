"""Pretrained weights: where a network's (or a block's) starting weights come from.

The project document names its weight sources; this package turns them into tensors and
loads them into the module NetCanvas compiles. Two records in `project.meta` say what to load:

- `meta["weights"]`: `{"file": "<name>.safetensors", "sha256": …}`, written by Import; the
  whole main network's weights, beside the project (runtime.importers.project_files).
- `meta["pretrained"]`: a list of `{"target": None | "<block node name>", "source": {"kind": …}}`.
  `target` None is the whole main network; a block node's name loads that block's network
  into that one node. Each `kind` has one resolver registered in RESOLVERS, which returns
  the target network's state dict (keyed like `build_module(<that network>)`), refusing with
  PretrainedError what does not fit.

`load_initial_weights` is what the trainer, the exported script's caller and the CLI use: it
loads every source into the compiled main module and returns the state-dict keys it filled,
which are "the pretrained part" (its own learning rate; what the freezing presets freeze).
"""

from runtime.pretrained.registry import (
    RESOLVERS, PretrainedError, Resolver, load_initial_weights, register, sources, target_network,
)
# The resolvers that ship with NetCanvas register themselves (torch is imported only when one runs).
from runtime.pretrained import local_file as _local_file, runs as _runs, torchvision_hub as _hub  # noqa: E402,F401
from runtime.download import DownloadCancelled, DownloadError, TextProgress
from runtime.pretrained.files import MisfitError, WeightsFileError, read_state_dict
from runtime.pretrained.local_file import fit_file
from runtime.pretrained.torchvision_hub import cached_path, describe, fetch, missing_weights, resolve_torchvision

__all__ = [
    "RESOLVERS", "DownloadCancelled", "DownloadError", "MisfitError", "PretrainedError", "Resolver", "TextProgress",
    "WeightsFileError", "cached_path", "describe", "fetch", "fit_file", "load_initial_weights", "missing_weights",
    "read_state_dict",
    "register", "resolve_torchvision", "sources", "target_network",
]
