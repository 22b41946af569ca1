"""A CLI command run in a child process under a memory cap, for the hostile-file tests.

The child imports what the command needs first, then caps its address space at what it has
mapped by then plus `cap_mb` (resource.setrlimit), so a reader that allocates what a file
claims fails the test with a MemoryError instead of taking the machine down. It reports the
exit code, stdout, stderr and how much its peak resident memory grew while the command ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import contextlib, io, json, resource, sys
import numpy, torch, PIL.Image, PIL.PngImagePlugin, onnx, onnxruntime
torch.set_num_threads(1)
torch.zeros(4) @ torch.zeros(4)  # the thread pool exists before the cap
from runtime.cli import main

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
argv, cap = json.loads(sys.argv[1]), int(sys.argv[2])
limit = status("VmSize") + cap
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except MemoryError:
        import traceback
        code = "MemoryError"
        traceback.print_exc(limit=-6)
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(), "grew_mb": grew}))
"""


@dataclass
class Outcome:
    code: int | str
    out: str
    err: str
    grew_mb: float

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def one_line(self) -> str:
        """The single line on stderr (the test fails on a traceback, a warning or a second line)."""
        assert "Traceback" not in self.err + self.out and "Warning" not in self.err, self.err
        assert len(self.err_lines) == 1, self.err
        return self.err_lines[0]


@pytest.fixture()
def bounded_cli(tmp_path):
    """`bounded_cli(argv, cap_mb=1024, env=None)`: run `netcanvas ARGV` in a capped child; an Outcome."""

    def run(argv: list[str], cap_mb: int = 1024, env: dict | None = None) -> Outcome:
        child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([str(a) for a in argv]), str(cap_mb << 20)],
                              capture_output=True, text=True, env=child_env, cwd=tmp_path, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return Outcome(**json.loads(done.stdout.splitlines()[-1]))

    return run
