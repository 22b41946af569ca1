"""`netcanvas layers [--json]`: the layer catalog."""

from __future__ import annotations

import json

from graph_builder.catalog import categories


def register(sub) -> None:
    p = sub.add_parser("layers", help="list every layer type, by category")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def spec_to_dict(spec) -> dict:
    """A JSON view of a LayerSpec (what `layers --json` prints per layer)."""
    return {
        "type": spec.type_id,
        "title": spec.title,
        "category": spec.category,
        "help": spec.help,
        "inputs": [{"name": p.name, "multi": p.multi} for p in spec.inputs],
        "outputs": [p.name for p in spec.outputs],
        "inferred": list(spec.inferred),
        "params": [
            {
                "name": p.name,
                "kind": p.kind,
                "default": list(p.default) if isinstance(p.default, tuple) else p.default,
                "min": p.min,
                "max": p.max,
                "choices": list(p.choices),
                "help": p.help,
            }
            for p in spec.params
        ],
    }


def run(args) -> int:
    groups = categories()
    if args.json:
        print(json.dumps([spec_to_dict(s) for specs in groups.values() for s in specs], indent=2))
        return 0
    for category, specs in groups.items():
        print(f"{category}:")
        width = max(len(s.type_id) for s in specs)
        for spec in specs:
            params = ", ".join(p.name for p in spec.params)
            print(f"  {spec.type_id:<{width}}  {spec.help.split('. ')[0].rstrip('.')}"
                  + (f"  [{params}]" if params else ""))
    return 0
