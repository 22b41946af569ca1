"""NetCanvas's torch side, in subpackages by concern, each with a short `__init__` as its public face:

    compile/     graph → readable source → nn.Module          (generate_source, build_module)
    data/        datasets, seeded splits, device tensors       (load_splits, DeviceSplit)
    train/       a run from settings to journal                (train, run_in_child, cross_validate)
    export/      what leaves the app                           (export_onnx, export_training_script, …)
    generate/    using a trained generative run                (generate, grid_image)
    tune/        Optuna studies over the experiment section    (run_study, read_study)
    importers/   models brought in as editable projects        (import_model)
    pretrained/  where starting weights come from              (load_initial_weights)
    commands/    the `netcanvas` subcommands (cli.py dispatches)

events.py (the trainer ↔ GUI protocol), errors.py, logs.py and templates.py are faces of their own.
The app and the CLI import faces only (an import-linter contract in pyproject.toml). Never imports
Qt: the CLI and the training child process run without a display.
"""
