"""A GAN's two networks checked against each other and the data before training, and built.

The generator and discriminator are two networks of the project, named in the training settings
(`generator`, `discriminator`); the noise size is the generator's Input.
"""

from __future__ import annotations

import math

from runtime.compile.codegen import model_interface


def is_gan(t: dict) -> bool:
    """Whether the training settings ask for a GAN (either network named)."""
    return bool(t.get("generator") or t.get("discriminator"))


def _shape(shape) -> str:
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


def gan_problem(project, t: dict, sample_shape: tuple, data_label: str = "the dataset") -> str | None:
    """Why the GAN of settings `t` cannot train on samples of `sample_shape`, with the fix; None when it can."""
    names = list(project.networks) if project is not None else []
    for role in ("generator", "discriminator"):
        name = t.get(role)
        if not name:
            return (f"a GAN needs both networks: set the training setting {role} to one of the project's networks "
                    f"({', '.join(names)})")
        if name not in names:
            return (f"the training setting {role} names the network {name!r} but the project has none of that name; "
                    f"its networks are {', '.join(names)}")
    if t["generator"] == t["discriminator"]:
        return "the generator and discriminator must be two different networks; add a second network"
    g = model_interface(project.networks[t["generator"]], "Generator")
    d = model_interface(project.networks[t["discriminator"]], "Discriminator")
    if len(g.inputs) != 1 or len(g.outputs) < 1:
        return (f"the generator {t['generator']!r} must have one Input (the noise) and an Output (a sample); it has "
                f"{len(g.inputs)} Inputs and {len(g.outputs)} Outputs")
    if len(d.inputs) != 1:
        return f"the discriminator {t['discriminator']!r} must have one Input (a sample); it has {len(d.inputs)}"
    made, taken = tuple(g.outputs[0].shape[1:]), tuple(d.inputs[0].shape[1:])
    if made != taken:
        return (f"the generator {t['generator']!r} makes samples of shape {_shape(made)} but the discriminator "
                f"{t['discriminator']!r} takes {_shape(taken)}; make the generator's last layer produce "
                f"{_shape(taken)} or set the discriminator's Input shape to {list(made)}")
    if taken != tuple(sample_shape):
        return (f"the discriminator {t['discriminator']!r} takes samples of shape {_shape(taken)} but {data_label} has "
                f"{_shape(sample_shape)}; set its Input shape to {list(sample_shape)} and make the generator "
                "produce that shape")
    verdict = tuple(d.outputs[0].shape[1:]) if d.outputs else ()
    if math.prod(verdict) != 1:
        return (f"the discriminator {t['discriminator']!r} must give one logit per sample but gives "
                f"{_shape(verdict)}; end it with Flatten and Linear(out_features=1)")
    if t["schedule"] != "none":
        return "GAN runs keep their learning rates constant; set the LR schedule to none"
    return None


def noise_shape(project, t: dict) -> tuple:
    """The generator's Input shape without the batch: the noise it is fed."""
    return tuple(model_interface(project.networks[t["generator"]], "Generator").inputs[0].shape[1:])
