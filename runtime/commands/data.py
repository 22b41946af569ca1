"""`netcanvas data download NAME` fetches MNIST, Fashion-MNIST or CIFAR-10 into the dataset cache;
`netcanvas data list` says which are there. Nothing else downloads a dataset."""

from __future__ import annotations

import sys

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def register(sub) -> None:
    from graph_builder.settings import DOWNLOADABLE  # torch-free: `netcanvas --help` must not import torch

    p = sub.add_parser("data", help="download the datasets that are not bundled (MNIST, Fashion-MNIST, CIFAR-10)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    d = actions.add_parser("download", help="download a dataset into the cache folder (NETCANVAS_DATA_DIR moves it)")
    d.add_argument("name", choices=DOWNLOADABLE, metavar="NAME", help=f"one of {', '.join(DOWNLOADABLE)}")
    d.set_defaults(func=run_download)
    ls = actions.add_parser("list", help="the downloadable datasets and whether each is downloaded")
    ls.set_defaults(func=run_list)


def run_download(args) -> int:
    from runtime.data import DataError, dataset_folder, download_dataset
    from runtime.download import DownloadCancelled, TextProgress

    bars: dict[str, TextProgress] = {}

    def progress(file: str, done: int, total: int | None) -> None:
        bars.setdefault(file, TextProgress(file))(done, total)

    try:
        folder = download_dataset(args.name, progress=progress)
    except DownloadCancelled as exc:  # pragma: no cover - the CLI has no cancel button; Ctrl-C ends it
        print(f"\n{exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except DataError as exc:
        print(f"\ncannot download {args.name}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        print(f"\nstopped; what arrived is kept in {dataset_folder(args.name).parent} and the next download "
              "resumes it", file=sys.stderr)
        return EXIT_INVALID
    print(f"{args.name} is ready in {folder}; a dataset setting without a path reads it")
    return EXIT_OK


def run_list(args) -> int:
    from runtime.data import DOWNLOAD_SETS, dataset_folder, is_downloaded

    for name, s in DOWNLOAD_SETS.items():
        state = f"downloaded, in {dataset_folder(name)}" if is_downloaded(name) else "not downloaded"
        print(f"{name:<14} {s.title}: {state}")
    return EXIT_OK
