"""NetCanvas's torch side: code generation, compile, data, training, metrics, export, CLI.

Never imports Qt: the CLI and the training child process run without a display.
"""
