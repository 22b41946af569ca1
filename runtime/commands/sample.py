"""`netcanvas sample FILE --run RUN_DIR --n 64 --out grid.png`: a grid of a VAE's or GAN's samples."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def register(sub) -> None:
    p = sub.add_parser("sample", help="write a PNG grid of samples from a trained VAE or GAN run")
    p.add_argument("file", metavar="FILE", help="the project file")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="the run folder whose weights to use")
    p.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--out", required=True, metavar="grid.png", help="the PNG to write")
    p.set_defaults(func=run)


def run(args) -> int:
    from graph_builder.errors import ProjectError
    from graph_builder.files import write_atomic
    from graph_builder.project import load_project

    if not 1 <= args.n <= 4096:
        print(f"--n must be between 1 and 4096, not {args.n}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        project = load_project(args.file)
    except (OSError, ProjectError) as exc:
        print(f"cannot open {args.file}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    from runtime.generate import SamplingError, generate, grid_image  # torch loads here, not for --help

    try:
        image = grid_image(generate(project, args.run, args.n, args.seed))
    except SamplingError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    write_atomic(Path(args.out), buffer.getvalue())
    print(f"wrote {args.n} samples to {args.out}")
    return EXIT_OK
