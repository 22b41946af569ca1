"""torchvision's own pretrained weights: `{"kind": "torchvision", "model": "resnet18", "weights": "DEFAULT"}`.

The weights enum (`ResNet18_Weights.IMAGENET1K_V1`) gives the URL; the file is downloaded by
runtime.download into torch's hub cache, where torchvision itself looks, and read
with `torch.load(weights_only=True)`. The state dict is loaded into torchvision's model and
the importer turns that model into NetCanvas's keys (the same mapping `netcanvas import`
uses), so the weights fit a project imported from that model, however its head was changed.
"""

from __future__ import annotations

from pathlib import Path

from graph_builder.protocols import ProjectLike

from runtime.pretrained.registry import PretrainedError, register, sources
from runtime.download import Progress, download, file_name, hub_checkpoints, offline_advice

DEFAULT = "DEFAULT"


def weights_enum(model: str):
    """torchvision's weights enum of `model`; PretrainedError when it has none."""
    import torchvision

    try:
        return torchvision.models.get_model_weights(model)
    except (ValueError, KeyError):
        names = sorted(torchvision.models.list_models(module=torchvision.models))
        import difflib

        close = difflib.get_close_matches(model, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PretrainedError(f"torchvision has no pretrained weights for {model!r}{hint}") from None


def weight_choices(model: str) -> list[str]:
    """The names of `model`'s pretrained weights, DEFAULT first (`DEFAULT`, `IMAGENET1K_V1`, …)."""
    members = list(weights_enum(model).__members__)
    return [DEFAULT] + [m for m in members if m != DEFAULT]


def weights_entry(model: str, choice: str | None = DEFAULT):
    """The enum member `choice` of `model`'s weights (`ResNet18_Weights.IMAGENET1K_V1`)."""
    enum = weights_enum(model)
    key = (choice or DEFAULT).strip()
    key = key.rpartition(".")[2] if key.startswith(enum.__name__) else key
    try:
        return enum[key.upper()]
    except KeyError:
        raise PretrainedError(f"torchvision's {model} has no weights {choice!r}; choose one of "
                              f"{', '.join(weight_choices(model))}") from None


def describe(model: str, choice: str | None = DEFAULT) -> str:
    """`ResNet18_Weights.IMAGENET1K_V1` for messages and the project's record."""
    entry = weights_entry(model, choice)
    return f"{type(entry).__name__}.{entry.name}"


def cached_path(model: str, choice: str | None = DEFAULT, folder: Path | None = None) -> Path:
    """Where the weights file is (or will be) cached."""
    entry = weights_entry(model, choice)
    return (folder or hub_checkpoints()) / file_name(entry.url)


def fetch(model: str, choice: str | None = DEFAULT, progress: Progress | None = None, cancelled=None,
          folder: Path | None = None) -> Path:
    """The checked weights file of `model` in torch's hub cache, downloaded when it is not there."""
    entry = weights_entry(model, choice)
    return download(entry.url, folder, progress=progress, cancelled=cancelled)


def state_dict(model: str, choice: str | None = DEFAULT, progress: Progress | None = None, cancelled=None,
               folder: Path | None = None) -> dict:
    """torchvision's state dict of `model`'s weights `choice` (downloaded into the cache when needed)."""
    from runtime.pretrained.files import read_state_dict

    return read_state_dict(fetch(model, choice, progress, cancelled, folder))


def torchvision_with(model: str, state: dict, what: str, choice: str | None = None):
    """torchvision's `model` holding `state`; MisfitError naming the keys when it is not that model's state dict."""
    import torchvision

    from runtime.pretrained.files import MisfitError

    kwargs = {}
    if choice:
        categories = weights_entry(model, choice).meta.get("categories")
        if categories:
            kwargs["num_classes"] = len(categories)
    module = torchvision.models.get_model(model, weights=None, **kwargs)
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or extra or wrong:
        parts = []
        if wrong:
            parts.append("different shapes: " + ", ".join(
                f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in wrong[:3]))
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}" + (f" (+{len(missing) - 3})" if len(missing) > 3 else ""))
        if extra:
            parts.append(f"not in {model}: {', '.join(extra[:3])}" + (f" (+{len(extra) - 3})" if len(extra) > 3 else ""))
        raise MisfitError(f"{what} is not a state dict of torchvision's {model} ({'; '.join(parts)}); choose weights "
                          f"saved from {model}")
    module.load_state_dict(state)
    return module.eval()


def _input_shape(project: ProjectLike) -> tuple[int, ...]:
    from runtime.importers.model import DEFAULT_IMAGE_SHAPE

    inputs = project.graph.inputs()
    shape = tuple(inputs[0].params.get("shape") or ()) if inputs else ()
    return shape if len(shape) == 3 and all(isinstance(d, int) and d >= 32 for d in shape[1:]) else DEFAULT_IMAGE_SHAPE


def imported_state(module, project: ProjectLike, model: str) -> dict:
    """`module`'s weights under the keys of the project NetCanvas imports from torchvision's `model`."""
    from runtime.importers.fx_module import import_module
    from runtime.importers.model import ModelImportError, state_dict_for

    try:
        imported = import_module(module, _input_shape(project), f"torchvision {model}")
    except ModelImportError as exc:
        raise PretrainedError(f"torchvision's {model} cannot be mapped onto NetCanvas layers: {exc}") from None
    return state_dict_for(imported.networks, imported.weights)


def pretrained_model(model: str, choice: str | None = DEFAULT, progress: Progress | None = None, cancelled=None,
                     folder: Path | None = None):
    """torchvision's `model` with its pretrained weights `choice`, downloading them when needed."""
    state = state_dict(model, choice, progress, cancelled, folder)
    return torchvision_with(model, state, f"the {describe(model, choice)} file", choice)


def advice(model: str, choice: str | None = DEFAULT) -> str:
    """Where to put the weights file by hand."""
    entry = weights_entry(model, choice)
    return offline_advice(entry.url, cached_path(model, choice))


@register("torchvision")
def resolve_torchvision(source: dict, project: ProjectLike, project_path: Path | None, network: str) -> dict:
    """torchvision's weights for `network`, mapped by the importer and fitted by key and shape."""
    from runtime.pretrained.files import fit_state, network_state

    model = source.get("model")
    if not isinstance(model, str) or not model:
        raise PretrainedError("a torchvision weight source needs the model's name (model: resnet18)")
    choice = source.get("weights") or DEFAULT
    module = pretrained_model(model, choice)
    state = imported_state(module, project, model)
    return fit_state(state, network_state(project, network), f"torchvision's {describe(model, choice)}",
                     f"network {network!r}").state


def missing_weights(project: ProjectLike) -> str | None:
    """What `project` starts from that this machine has not downloaded (torchvision's weights), or None."""
    for record in sources(project):
        source = record["source"]
        if source.get("kind") == "torchvision" and not cached_path(source["model"], source.get("weights")).is_file():
            return f"needs torchvision's {describe(source['model'], source.get('weights'))} (downloaded on first training)"
    return None
