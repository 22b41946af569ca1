"""Test-wide settings (Qt always runs offscreen, so tests never need a display) and a full-disk fixture."""

import errno
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NETCANVAS_NO_AUTOSAVE_PROMPT", "1")
# A window holds no spare training process (a child importing torch) unless its test asks for one.
os.environ.setdefault("NETCANVAS_NO_SPARE_PROCESS", "1")
# Downloaded datasets: never the user's cache. A test that downloads serves the files itself (127.0.0.1).
os.environ["NETCANVAS_DATA_DIR"] = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"netcanvas-test-data-{os.getpid()}")


# ---- a full disk for fault tests: a small tmpfs when running as root (as CI does), else ENOSPC writes
class Disk:
    def __init__(self, folder: Path, real: bool, monkeypatch) -> None:
        self.folder, self.real, self._monkeypatch = folder, real, monkeypatch

    def leftovers(self) -> list[str]:
        """Temporary files a write left behind."""
        return sorted(p.name for p in self.folder.rglob("*") if ".tmp" in p.name)

    def fill(self) -> None:
        """Take every free byte (or make every atomic write fail), from now on."""
        if not self.real:
            from graph_builder import files

            def no_space(path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            self._monkeypatch.setattr(files, "_fsync_file", no_space)
            return
        chunk = b"\0" * 65536
        with open(self.folder / ".filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        for size in (4096, 512, 1):  # the last partial pages too
            with open(self.folder / f".filler{size}", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError:
                    pass


@contextmanager
def _small_disk(tmp_path: Path, monkeypatch, size: str = "4m"):
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                              capture_output=True, check=False)
        mounted = done.returncode == 0
    try:
        yield Disk(folder, mounted, monkeypatch)
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture()
def small_disk(tmp_path, monkeypatch):
    """A folder on its own small file system (a tmpfs mounted as root, unmounted afterwards), else a
    folder whose atomic writes fail with ENOSPC once `fill()` is called."""
    with _small_disk(tmp_path, monkeypatch) as disk:
        yield disk

# tqdm (used by the ONNX exporter and Optuna) starts a process-wide monitor thread on first use that
# lives until exit; the window fixtures' thread-leak checks would take it for a leak of ours.
try:
    import tqdm

    tqdm.tqdm.monitor_interval = 0
except ImportError:  # pragma: no cover - tqdm comes with the exporter's dependencies
    pass


@pytest.fixture
def downloaded(tmp_path, monkeypatch):
    """`downloaded("mnist")` puts a small real-format copy of a downloadable dataset where its download lands, in
    this test's own cache folder (other tests still see it not downloaded)."""
    from graph_builder.settings import DOWNLOADABLE
    from tests.datasets import place_downloaded

    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "downloaded"))

    def place(name: str | None) -> None:
        if name in DOWNLOADABLE:
            place_downloaded(name)

    return place
