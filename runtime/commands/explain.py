"""`netcanvas explain FILE --run RUN_DIR INPUT --method NAME --out PNG`: which parts of an input drove a run's prediction.

INPUT is read as `netcanvas predict` reads it (an image file, a CSV row, an .npz/.npy array; the
same limits); its first sample, or `--sample N`, is explained for the predicted class or `--target`.
An image gets its attribution map over it as a PNG; a table row gets one bar per feature in the
PNG and one line per feature on stdout. Methods: saliency, integrated_gradients, gradcam (on the
last Conv2d node, or `--layer NODE`) and occlusion, through Captum (runtime.explain).

Exit codes: 0 written, 1 the run belongs to another network, or the method or layer does not fit it,
2 the project, the run or the input could not be read or does not fit the model.
"""

from __future__ import annotations

import sys

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from runtime.commands.predict import open_run
from runtime.explain import METHODS


def register(sub) -> None:
    p = sub.add_parser("explain", help="an attribution map of one input for a run's prediction, as a PNG")
    p.add_argument("file", help="the .json project file the run trained")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a run folder of this project's network")
    p.add_argument("input", metavar="INPUT", help="an image file, a CSV file or an .npz/.npy array, as raw as the dataset")
    p.add_argument("--method", required=True, choices=METHODS, help="the attribution method")
    p.add_argument("--out", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--target", metavar="CLASS", help="the class (its name or index) to explain; default: the predicted one")
    p.add_argument("--layer", metavar="NODE", help="gradcam's Conv2d node; default: the network's last one")
    p.add_argument("--sample", type=int, default=0, metavar="N", help="which sample of INPUT (default 0, the first)")
    p.set_defaults(func=run)


def run(args) -> int:
    opened = open_run(args.file, args.run, [args.input], "explain")
    if isinstance(opened, int):
        return opened
    from runtime.explain import ExplainInputError, ExplainMethodError, attribute, feature_bars, feature_names, overlay, \
        write_png

    samples, prep = opened.inputs[0], opened.prep
    if not 0 <= args.sample < len(samples.x):
        print(f"cannot explain: {samples.name} holds {len(samples.x)} samples, so --sample {args.sample} is out of "
              f"range; give 0 to {len(samples.x) - 1}", file=sys.stderr)
        return EXIT_UNREADABLE
    target = _target(args.target, prep.classes)
    if isinstance(target, str):
        print(f"cannot explain: {target}", file=sys.stderr)
        return EXIT_UNREADABLE
    sample = samples.x[args.sample]
    try:
        found = attribute(opened.module, opened.project.graph, sample, args.method, target, args.layer, prep.mean)
    except ExplainMethodError as exc:
        print(f"cannot explain with run {opened.run_dir.name}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ExplainInputError as exc:
        print(f"cannot explain {samples.label(args.sample)}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    image = sample.ndim == 3
    written = write_png(args.out, overlay(sample, found.heat()) if image else feature_bars(found.values))
    names = prep.classes
    what = names[found.target] if found.target < len(names) else str(found.target)
    print(f"{samples.label(args.sample)}: {args.method} for class {what} (output {found.score:.4g})"
          + (f" at {found.layer}" if found.layer else "") + f", written to {written}")
    if not image:
        for name, value in zip(feature_names(prep.dataset, found.values.size), found.values.reshape(-1)):
            print(f"  {name}: {value:+.4g}")
    return EXIT_OK


def _target(text: str | None, classes: tuple[str, ...]) -> int | None | str:
    """--target as an output index: a class name, or a number; a message (str) when it is neither."""
    if text is None:
        return None
    if text in classes:
        return classes.index(text)
    if text.lstrip("-").isdigit():
        return int(text)
    listed = ", ".join(classes[:12]) + (", …" if len(classes) > 12 else "")
    return f"--target {text!r} is neither a class of the run ({listed}) nor an output index"
