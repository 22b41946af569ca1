"""Transfer experiment (issue 14): does a LeNet trained on digits 0–4 help on digits 5–9 with few labels?

    python bench/transfer_experiment.py [--seeds 5] [--fractions 0.02,0.05,0.1] [--epochs 60] [--out DIR]

Everything goes through the real command line, in this process (`runtime.cli.main`):

1. the LeNet template (resources/templates/lenet_digits.json) with its layers up to fc1+ReLU
   grouped into a block `Features` and a 5-way classifier, trained on digits 0–4
   (`netcanvas train`, dataset setting classes "0-4");
2. the same network on digits 5–9 (classes "5-9", relabelled 0–4) with 2 %, 5 % and 10 % of
   their training split (dataset setting train_fraction), each trained three ways:
   - scratch: fresh weights;
   - feature extraction: the Features block starts from step 1's best weights (a "run" weight
     source in the project) and is frozen (`netcanvas freeze --preset feature-extraction`); only
     the new classifier trains;
   - fine-tuning: the same start, nothing frozen (`--preset full`); the block learns at the
     learning rate times pretrained_lr_factor (default 0.1);
   - fine-tuning at full rate: the same with pretrained_lr_factor 1 (optional, --modes);
   averaged over seeds (the seed and the split seed, so each seed draws its own few labels).

Prints a Markdown table of test accuracy (mean ± std over the seeds) and writes results.json.
This is a measurement, not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_builder.networks import group_command  # noqa: E402
from graph_builder.project import load_project, save_project  # noqa: E402
from runtime.cli import main as cli  # noqa: E402

TEMPLATE = ROOT / "resources" / "templates" / "lenet_digits.json"
BACKBONE = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3")
MODES = ("scratch", "feature extraction", "fine-tuning", "fine-tuning at full rate")


def lenet(classes: str, path: Path, epochs: int, fraction: float = 1.0, seed: int = 0,
          source_run: Path | None = None, pretrained_lr_factor: float | None = None) -> Path:
    """The template with its backbone as block Features and a 5-way head, on `classes`."""
    project = load_project(TEMPLATE)
    g = project.graph
    project.networks.apply(group_command(project.networks, project.networks.main,
                                         [g.node_by_name(n).id for n in BACKBONE], "Features"))
    g.set_param(g.node_by_name("classifier").id, "out_features", 5)
    project.dataset.update({"classes": classes, "train_fraction": fraction, "split_seed": seed})
    project.training.update({"epochs": epochs, "seed": seed, "device": "cpu", "stop_on_divergence": False})
    if pretrained_lr_factor is not None:
        project.training.set("pretrained_lr_factor", pretrained_lr_factor)
    if source_run is not None:
        block = next(n.name for n in g.nodes.values() if n.type_id == "Block")
        project.meta["pretrained"] = [{"target": block, "source": {"kind": "run", "run": str(source_run)}}]
    save_project(project, path)
    return path


def command(*argv: str) -> tuple[int, list[dict], str]:
    """Run `netcanvas ARGV` here; (exit code, its JSON events, its other output)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(list(argv))
    events, text = [], []
    for line in out.getvalue().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            text.append(line)
    return code, events, "\n".join(text) + err.getvalue()


def train(project: Path, run: Path) -> dict:
    code, events, text = command("train", str(project), "--out", str(run), "--json")
    final = events[-1] if events else {}
    if code != 0 or final.get("type") != "finished":
        raise SystemExit(f"training {project.name} failed: {final.get('message') or text}")
    return final


def run_mode(mode: str, work: Path, source_run: Path, fraction: float, seed: int, epochs: int) -> float:
    """Test accuracy of one mode at one label fraction and seed."""
    name = f"{mode.replace(' ', '-')}-{fraction:g}-{seed}"
    path = lenet("5-9", work / f"{name}.json", epochs, fraction, seed,
                 None if mode == "scratch" else source_run, 1.0 if mode.endswith("full rate") else None)
    if mode != "scratch":
        preset = "feature-extraction" if mode == "feature extraction" else "full"
        code, _, text = command("freeze", str(path), "--preset", preset)
        if code != 0:
            raise SystemExit(f"netcanvas freeze --preset {preset} failed: {text}")
    final = train(path, work / "runs" / name)
    return float(final["test"]["accuracy"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fractions", default="0.02,0.05,0.1")
    parser.add_argument("--modes", default=",".join(MODES[:3]), help=f"some of: {', '.join(MODES)}")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of each run on digits 5–9")
    parser.add_argument("--source-epochs", type=int, default=30, help="epochs on digits 0–4")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "netcanvas-transfer"),
                        help="where the projects and runs go")
    args = parser.parse_args()
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    fractions = [float(f) for f in args.fractions.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    started = time.perf_counter()

    source = lenet("0-4", work / "source.json", args.source_epochs)
    source_run = work / "runs" / "source"
    final = train(source, source_run)
    print(f"source: digits 0–4, test accuracy {final['test']['accuracy']:.3f}", flush=True)

    results: dict[str, dict[str, list[float]]] = {}
    for fraction in fractions:
        for mode in modes:
            accs = [run_mode(mode, work, source_run, fraction, seed, args.epochs) for seed in range(args.seeds)]
            results.setdefault(f"{fraction:g}", {})[mode] = accs
            print(f"{fraction:>5.0%} {mode:<20} {statistics.mean(accs):.3f} ± {statistics.pstdev(accs):.3f}  "
                  f"{[round(a, 3) for a in accs]}", flush=True)

    (work / "results.json").write_text(json.dumps({"source_test_accuracy": final["test"]["accuracy"],
                                                   "epochs": args.epochs, "seeds": args.seeds,
                                                   "results": results}, indent=2))
    took = time.perf_counter() - started
    print(f"\nTest accuracy on digits 5–9 (mean ± std over {args.seeds} seeds; {took:.0f} s)\n")
    print("| labels used | " + " | ".join(modes) + " |")
    print("|---|" + "---|" * len(modes))
    for fraction, row in results.items():
        cells = [f"{statistics.mean(row[m]):.1%} ± {statistics.pstdev(row[m]):.1%}" for m in modes]
        print(f"| {float(fraction):.0%} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
