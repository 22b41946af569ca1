"""`netcanvas import SOURCE OUT.json [--class NAME] [--input-shape 3,224,224] [--pretrained [WEIGHTS]]`.

SOURCE is a torchvision model name (random weights, nothing downloaded; with `--pretrained`,
torchvision's weights DEFAULT or the one named, e.g. IMAGENET1K_V1, downloaded into torch's hub
cache with a progress bar and checked, or taken from the cache), a Python file with a
class (`model.py:Net`, or `model.py --class Net`; the file's code runs), a `.pt2`
ExportedProgram or an `.onnx` file (both read as data, never run). The project and its
weights (`OUT.safetensors`) are written only when the imported graph reproduces the model.

Exit codes: 0 written; 1 the model uses what the catalog cannot express (listed) or did not
round-trip (nothing written); 2 the source could not be read.
"""

from __future__ import annotations

import sys

from runtime.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE


def _shape(text: str) -> tuple[int, ...]:
    import argparse

    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape; write it like 3,224,224") from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape; write it like 3,224,224")
    return dims


def register(sub) -> None:
    p = sub.add_parser("import", help="bring a torchvision model, a Python file, a .pt2 or an ONNX file in as a project")
    p.add_argument("source", help="a torchvision name (resnet18), FILE.py:Class (runs that file), FILE.pt2 or FILE.onnx")
    p.add_argument("out", help="the project file to write (.json); its weights go beside it as .safetensors")
    p.add_argument("--class", dest="class_name", help="the nn.Module class of a Python file")
    p.add_argument("--input-shape", type=_shape, help="input shape without the batch, e.g. 3,224,224 "
                                                      "(default for torchvision: 3,224,224; .pt2/.onnx: read from the file)")
    p.add_argument("--pretrained", nargs="?", const="DEFAULT", metavar="WEIGHTS",
                   help="torchvision models only: start from torchvision's pretrained weights (DEFAULT, or a name "
                        "such as IMAGENET1K_V1), downloaded once into torch's hub cache (torch.hub.get_dir()/checkpoints)")
    p.set_defaults(func=run)


def run(args) -> int:
    from runtime.importers import ImportSourceError, ModelImportError, UnsupportedModelError, import_model, source_kind
    from runtime.pretrained import DownloadError, PretrainedError

    pretrained = getattr(args, "pretrained", None)
    progress = None
    try:
        if source_kind(args.source) == "python":
            print(f"running {args.source.split(':')[0]} to build the model (a Python file's code runs on import)",
                  file=sys.stderr)
        if pretrained and source_kind(args.source) == "torchvision":
            from runtime.pretrained import TextProgress
            from runtime.pretrained import cached_path

            progress = TextProgress(cached_path(args.source, pretrained).name)
        report = import_model(args.source, args.out, class_name=args.class_name, input_shape=args.input_shape,
                              pretrained=pretrained, progress=progress)
    except (PretrainedError, DownloadError) as exc:
        print(f"cannot import {args.source} with pretrained weights: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ImportSourceError as exc:
        print(f"cannot import {args.source}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except UnsupportedModelError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except ModelImportError as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(report.summary())
    if pretrained:
        from runtime.pretrained import describe

        print(f"weights: torchvision's {describe(args.source, pretrained)}")
    for note in report.notes:
        print(f"note: {note}")
    return EXIT_OK
