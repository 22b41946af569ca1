"""A GAN's exports: both networks' code in one file, either network as ONNX, pt2 or weights.

A GAN trains two networks of the project, named in its training settings (`generator`,
`discriminator`). Its run keeps both in one weights file, keyed `generator.…` and
`discriminator.…` (the objective's pair, runtime.train.objectives). Here:

- Python: one module holding both classes (the blocks they use written once), `NOISE_SHAPE`,
  and with a run its weights beside the file, `load_models()` and `to_raw()`, which turns the
  generator's samples back into the data's raw units (it learnt the normalised data).
- ONNX and pt2 of one of the two networks (the generator by default: the one a user samples
  from) with a run's weights: the generator's samples come out in raw units, the
  discriminator takes raw samples; both say so in their metadata.
- Weights: one network's part of the run's file, keyed like that network's own module.

Both the CLI (`netcanvas export`) and the app's Export call these; neither keeps its own copy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from runtime.errors import NetCanvasRuntimeError

ROLES = ("generator", "discriminator")


class GanExportError(NetCanvasRuntimeError):
    """A GAN export that cannot be written as asked (nothing was written)."""


def gan_settings(project) -> dict | None:
    """The project's training settings (defaults filled) when its task is the GAN, else None."""
    from graph_builder.settings import validate_training_section
    from graph_builder.tasks import GAN, project_task

    if project_task(project) is not GAN:
        return None
    try:
        return validate_training_section(dict(project.training or {}), fill_defaults=True)
    except Exception:  # noqa: BLE001 — invalid settings are the trainer's to report; this is no GAN export then
        return None


def run_settings(run_dir: str | os.PathLike) -> tuple[dict | None, dict | None]:
    """(training settings, normalisation record) of a GAN run; (None, None) for any other run."""
    from graph_builder.run_folder import RunFolder
    from graph_builder.settings import validate_training_section
    from graph_builder.tasks import GAN, run_task

    try:
        config = RunFolder(run_dir).read_config()
        t = validate_training_section(dict(config.get("project", {}).get("training", {})), fill_defaults=True)
    except Exception:  # noqa: BLE001 — an unreadable run is refused by the caller's own run checks
        return None, None
    if run_task(config) is not GAN:
        return None, None
    return t, config["resolved"].get("normalization")


def role_of(t: dict, network: str | None) -> str:
    """Which of the GAN's two networks `network` is (None: the generator)."""
    if network is None or network == t["generator"]:
        return "generator"
    if network == t["discriminator"]:
        return "discriminator"
    raise GanExportError(f"a GAN run holds the weights of its generator {t['generator']!r} and its discriminator "
                         f"{t['discriminator']!r} only; export one of those two (--network), or export {network!r} "
                         "without the run's weights")


def network_state(weights: str | os.PathLike, role: str) -> dict[str, torch.Tensor]:
    """One network's tensors from a GAN run's weights file, keyed like that network's own module."""
    from runtime.export.formats import read_weights

    tensors = read_weights(weights)
    prefix = f"{role}."
    own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not own:
        raise GanExportError(f"{Path(weights).name} holds no {role} weights (keys {prefix}…); choose the weights of "
                             "a GAN run")
    return own


def gan_source(project, t: dict, weights_name: str | None = None, normalization: dict | None = None) -> str:
    """The generator's and discriminator's classes in one module, with a demo (and a loader with a run)."""
    from graph_builder.tasks import GAN
    from runtime.compile.codegen import CodegenError, lower, render_many
    from runtime.compile.lowering import literal

    generator, discriminator = (lower(project.networks[t[role]]) for role in ROLES)
    title = str(project.meta.get("title") or "A GAN") if isinstance(project.meta, dict) else "A GAN"
    text = render_many([generator, discriminator], title=title).text.rstrip("\n")  # quoted by runtime.codetext
    g, d = generator.interface.class_name, discriminator.interface.class_name
    lines = [text, "", "",
             f"NOISE_SHAPE = {literal(tuple(GAN.noise_shape(project)))}  # {g}'s input, without the batch"]
    if weights_name is not None:
        from runtime.codetext import data_literal, text_literal

        lines.append(f"WEIGHTS = {text_literal(weights_name)}  # the run's weights of both networks, beside this file")
        if normalization:
            shape = literal(tuple(int(s) for s in normalization.get("shape") or [-1]))
            lines += [f"MEAN = torch.tensor({data_literal([float(v) for v in normalization['mean']])}).reshape{shape}",
                      f"STD = torch.tensor({data_literal([float(v) for v in normalization['std']])}).reshape{shape}"]
        else:
            lines += ["MEAN, STD = 0.0, 1.0  # the run trained on unnormalised data"]
        lines += ["", "",
                  "def to_raw(samples: torch.Tensor) -> torch.Tensor:",
                  '    """Generated samples in the data\'s raw units (the GAN learnt the normalised data)."""',
                  "    return samples * STD + MEAN",
                  "", "",
                  f"def load_models(weights=None) -> tuple[{g}, {d}]:",
                  '    """Both networks with the run\'s weights: WEIGHTS beside this file, or the safetensors file given."""',
                  "    from pathlib import Path",
                  "",
                  "    from safetensors.torch import load_file",
                  "",
                  "    state = load_file(weights or Path(__file__).with_name(WEIGHTS))",
                  f"    generator, discriminator = {g}(), {d}()",
                  "    for prefix, model in ((\"generator.\", generator), (\"discriminator.\", discriminator)):",
                  "        model.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})",
                  "    return generator.eval(), discriminator.eval()"]
    lines += ["", "", 'if __name__ == "__main__":']
    lines.append("    generator, discriminator = load_models()" if weights_name is not None else
                 f"    generator, discriminator = {g}().eval(), {d}().eval()  # untrained")
    lines += ["    noise = torch.randn(4, *NOISE_SHAPE)",
              "    with torch.no_grad():",
              "        samples = generator(noise)",
              "        real = torch.sigmoid(discriminator(samples)).flatten()",
              '    print("samples", tuple(samples.shape))',
              '    print("D(sample is real)", [round(float(p), 3) for p in real])']
    if weights_name is not None:
        lines.append('    print("raw value range", float(to_raw(samples).min()), float(to_raw(samples).max()))')
    text = "\n".join(lines) + "\n"
    import ast

    try:
        ast.parse(text)
    except SyntaxError as exc:  # a bug here, never user input: say where
        raise CodegenError(f"generated code does not parse at line {exc.lineno}: {exc.msg}") from exc
    return text


def export_gan_python(project, t: dict, path: str | os.PathLike, weights: str | os.PathLike | None = None,
                      normalization: dict | None = None) -> tuple[Path, Path | None]:
    """Write both networks as one Python module; with a run's `weights`, those weights beside it."""
    from graph_builder.files import write_atomic

    from runtime.export.formats import _check_target

    path = _check_target(path)
    weights_path = path.with_suffix(".safetensors") if weights is not None else None
    source = gan_source(project, t, weights_path.name if weights_path else None, normalization)
    if weights is not None:
        _pair(project, t, weights)  # proves both networks take the weights before anything is written
        write_atomic(weights_path, Path(weights).read_bytes())
    write_atomic(path, source.encode("utf-8"))
    return path, weights_path


def _pair(project, t: dict, weights) -> tuple[nn.Module, nn.Module]:
    from runtime.compile.compiler import build_module

    modules = []
    for role in ROLES:
        module = build_module(project.networks[t[role]])
        _load(module, network_state(weights, role), t[role])
        modules.append(module.eval())
    return modules[0], modules[1]


def _load(module: nn.Module, state: dict, name: str) -> None:
    expected = module.state_dict()
    wrong = sorted(set(expected) ^ set(state)) + [k for k in state if k in expected
                                                   and tuple(state[k].shape) != tuple(expected[k].shape)]
    if wrong:
        raise GanExportError(f"the run's weights do not fit the network {name!r} as it is now ({', '.join(wrong[:4])}); "
                             "export the run's own networks (open the run's network) or train again")
    module.load_state_dict(state)


class _RawSamples(nn.Module):
    """The generator with its samples turned back into raw data units."""

    def __init__(self, net: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise) * self.std + self.mean


class _RawInput(nn.Module):
    """The discriminator on raw samples: normalises them as in training first."""

    def __init__(self, net: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        return self.net((samples - self.mean) / self.std)


def gan_network(project, t: dict, network: str | None, weights, normalization: dict | None) -> tuple[nn.Module, str]:
    """One of the GAN's networks with a run's weights, on raw data units; the module and what it does."""
    from runtime.compile.compiler import build_module

    role = role_of(t, network)
    name = t[role]
    net = build_module(project.networks[name])
    _load(net, network_state(weights, role), name)
    net.eval()
    if not normalization:
        return net, f"{role} {name!r}"
    shape = tuple(int(s) for s in normalization.get("shape") or [-1])
    mean = torch.tensor([float(v) for v in normalization["mean"]]).reshape(shape)
    std = torch.tensor([float(v) for v in normalization["std"]]).reshape(shape)
    module = (_RawSamples if role == "generator" else _RawInput)(net, mean, std).eval()
    module.netcanvas_interface = net.netcanvas_interface
    how = "its samples come out in the data's raw units" if role == "generator" else "it takes raw samples"
    return module, f"{role} {name!r}; {how}"


def export_gan_network(kind: str, project, t: dict, network: str | None, weights, path,
                       normalization: dict | None, **onnx_options) -> tuple[Path, str, object | None]:
    """ONNX, pt2 or weights of one GAN network from its run: the file, what it holds in words, the ONNX report."""
    from runtime.export.formats import export_onnx, export_pt2, export_weights

    module, what = gan_network(project, t, network, weights, normalization)
    graph = project.networks[t[role_of(t, network)]]
    if kind == "weights":
        net = module.net if isinstance(module, (_RawSamples, _RawInput)) else module
        return export_weights(net, path), what.split(";")[0], None
    if kind == "pt2":
        return export_pt2(module, None, path), what, None
    metadata = {"netcanvas.gan_role": role_of(t, network), "netcanvas.network": graph_name(project, graph),
                "netcanvas.noise_shape": json.dumps(list(module.netcanvas_interface.inputs[0].shape[1:]))}
    report = export_onnx(module, path, graph=graph, metadata=metadata, **onnx_options)
    return Path(path), what, report


def graph_name(project, graph) -> str:
    return next((name for name in project.networks if project.networks[name] is graph), "")
