"""A GAN at run time: its two networks built and checked against each other, the pair trained by one loop,
a grid of generated samples each epoch (collapse flagged), and samples of a finished run."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
from torch import nn

from graph_builder.protocols import ProjectLike
from graph_builder.tasks import GAN
from runtime.tasks.base import Sampler, Setup, TaskRuntime, Views
import runtime.train.gan_objective as gan_objective
from runtime.train.errors import ModelDataMismatchError
from runtime.train.gan_objective import assemble_gan, make_gan
from runtime.train.loop import Built, Epoch


def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
             world: int = 1) -> Built:
    """A GAN's Built: the pair, alternating steps of its two Adams, their schedules."""
    return assemble_gan(models["generator"], models["discriminator"], s, t, device, amp, steps, world)


class SampleViews(Views):
    """A grid of the generator's samples from fixed noise after each epoch, with the epoch's sample diversity."""

    def __init__(self, built: Built, setup: Setup) -> None:
        from runtime.generate.generative import Reference

        self.gan = built.objective
        self.ref = Reference.of(setup.data, setup.splits.input_shape, bool(setup.splits.classes), setup.device,
                                setup.amp)

    def epoch(self, end: Epoch) -> list[tuple[str, dict]]:
        from runtime.generate.generative import sample_grid

        ref = self.ref
        if ref.image is None:
            return []
        fake = self.gan.sample(ref.grid_size(), ref.device, ref.fixed_noise())
        # the epoch's own measure (metrics.sample_diversity over the validation split), as its header says
        return [("samples", sample_grid(ref, fake, end.epoch, "generator", end.val.get("diversity"), collapse=True))]


class GANRuntime(TaskRuntime):
    spec = GAN
    engine = (gan_objective,)
    assemble = staticmethod(assemble)

    def networks(self, setup: Setup) -> tuple[dict[str, nn.Module], list[str]]:
        from runtime.compile.compiler import build_module

        project = setup.project
        problem = GAN.pair_problem(project if setup.module is None else None, setup.splits.input_shape,
                                   setup.description.label)
        if problem:
            raise ModelDataMismatchError(problem)
        t = setup.t
        models = {role: build_module(project.networks[name], init=t["init"], seed=t["seed"] + i)
                  for i, (role, name) in enumerate(GAN.networks(project).items())}
        return models, []

    def settings(self, setup: Setup, models: dict, pretrained: list[str]) -> dict:
        project = setup.project
        return {"noise_shape": list(GAN.noise_shape(project)), "names": list(GAN.networks(project).values()),
                "classes": [], **self.monitor(setup.t, 0, len(setup.data["val"]) > 0)}

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        return SampleViews(built, setup)

    def sampler(self, project: ProjectLike, config: Mapping, state: dict, device: torch.device) -> Sampler | None:
        from graph_builder.settings import validate_training_section
        from runtime.compile.compiler import build_module

        t = validate_training_section(config.get("project", {}).get("training", {}), fill_defaults=True)
        graphs = GAN.graphs(project)
        gan = make_gan(build_module(graphs["generator"]), build_module(graphs["discriminator"]),
                       GAN.noise_shape(project), t, device)
        gan.pair.load_state_dict(state)
        gan.pair.to(device)
        return lambda n, generator=None: gan.sample(n, device, generator)

    def offers_export(self, key: str) -> bool:
        return key != "onnx-int8"  # two networks and no test accuracy to judge an int8 one by

    def exporters(self) -> dict:
        return {"python": _python, **{kind: partial(_network, kind) for kind in ("onnx", "pt2", "weights")}}


def _python(request):
    """Both networks' code in one module (with a GAN run: its weights beside it, load_models() and to_raw())."""
    from runtime.export.gan import export_gan_python, gan_settings, run_settings
    from runtime.export.requests import Written

    project = request.project
    t = gan_settings(project)
    if t is None or request.network not in (None, project.networks.main):
        return None  # one network's code: as any network's
    run_t, normalization = run_settings(request.run) if request.run is not None else (None, None)
    code, weights = export_gan_python(project, t, request.out, request.weights if run_t else None, normalization)
    beside = f" and the run's weights to {weights.name} beside it; load_models() reads them" if weights else ""
    return Written(code, f"Wrote the generator {t['generator']!r} and the discriminator {t['discriminator']!r} as "
                         f"Python to {code}{beside}.", weights_path=weights)


def _network(kind: str, request):
    """One of the two networks (the generator unless --network names the other) with a GAN run's weights."""
    from runtime.export.gan import export_gan_network, gan_settings, run_settings
    from runtime.export.requests import Written, onnx_words

    project = request.project
    t = gan_settings(project)
    run = request.run
    if run is None and request.weights:
        from graph_builder.run_folder import RunFolder

        folder = RunFolder.holding(request.weights)
        run = folder.path if folder is not None else None
    run_t, normalization = run_settings(run) if run is not None else (None, None)
    if t is None or run_t is None:
        return None  # no GAN run's weights: the network alone, as any network
    options = {"exporter": request.exporter, "seed": request.seed} if kind == "onnx" else {}
    path, what, report = export_gan_network(kind, project, t, request.network, request.weights,
                                            request.out, normalization, **options)
    if report is not None:
        return Written(path, f"{onnx_words(report, path)} It is the {what}.", ok=bool(report.ok), onnx=report)
    return Written(path, f"Wrote the {what} of the GAN run to {path}.")
