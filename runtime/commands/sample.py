"""`netcanvas sample FILE --run RUN_DIR --n 64 --out grid.png [--format png|npz]`: a VAE's or GAN's samples, as
a PNG grid or as an .npz of their raw values in the data's own units with their metadata."""

from __future__ import annotations

import sys
from pathlib import Path

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def register(sub) -> None:
    p = sub.add_parser("sample", help="write samples from a trained VAE or GAN run: a PNG grid, or raw values (npz)")
    p.add_argument("file", metavar="FILE", help="the project file")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="the run folder whose weights to use")
    p.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write (grid.png, samples.npz)")
    p.add_argument("--format", metavar="png|npz", default=None,  # runtime.generate checks it (SAMPLE_FORMATS)
                   help="png: a grid of the samples; npz: the samples array in the data's units and its metadata "
                        "(default: from the --out suffix, else png)")
    p.set_defaults(func=run)


def run(args) -> int:
    from graph_builder.errors import ProjectError
    from graph_builder.files import write_atomic
    from graph_builder.project import load_project

    if not 1 <= args.n <= 4096:
        print(f"--n must be between 1 and 4096, not {args.n}", file=sys.stderr)
        return EXIT_UNREADABLE
    fmt = args.format or ("npz" if Path(args.out).suffix.lower() == ".npz" else "png")
    try:
        project = load_project(args.file)
    except (OSError, ProjectError) as exc:
        print(f"cannot open {args.file}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    from runtime.generate import SamplingError, samples_file  # torch loads here, not for --help

    try:
        data = samples_file(project, args.run, fmt, args.n, args.seed)
    except SamplingError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    try:
        write_atomic(Path(args.out), data)
    except OSError as exc:
        print(f"cannot write {args.out}: {exc.strerror or exc}; choose a folder you can write to", file=sys.stderr)
        return EXIT_UNREADABLE
    what = "a grid" if fmt == "png" else "raw values in the data's own units"
    print(f"wrote {args.n} samples to {args.out} ({what})")
    return EXIT_OK
