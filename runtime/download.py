"""The one downloader, for pretrained weights and datasets: progress, checksum, resume, mirrors, offline advice.

Written on urllib (no new dependency) so that it can be tested against a local HTTP server.
Nothing calls it unless the user asked for the file (a Download button, `netcanvas data
download`, `--download`, or training a template that starts from torchvision's weights).
The file lands in the folder given (torch's hub checkpoints by default, where torchvision
looks), first as `<name>.part` beside it, renamed only once complete and checked:

- torchvision's file names carry the start of their sha256 (`resnet18-f37072fd.pth`); it is
  checked when present, and the whole sha256 or md5 when the caller gives one. A mismatch
  removes the partial file, so nothing unchecked stays in the cache.
- `download_first` tries a file's mirrors in order: a dead mirror or a damaged file moves on
  to the next; when none answers, one message names the file and where to put it by hand.
- A connection cut mid-way is resumed with an HTTP Range request (the server may answer with
  the whole file instead; then it starts again), up to `retries` times.
- When the server cannot be reached at all, DownloadOfflineError names the URL and exactly
  where to put the file by hand.

`progress(done, total)` is called as bytes arrive (`total` None when the server does not say);
`cancelled()` is asked between chunks, and True stops with DownloadCancelled, keeping the
`.part` file so that the next try resumes it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from runtime.errors import NetCanvasRuntimeError

CHUNK = 1 << 16
HASH_PREFIX = re.compile(r"-([a-f0-9]{6,64})\.")  # torchvision's convention (torch.hub.HASH_REGEX)

Progress = Callable[[int, "int | None"], None]


class DownloadError(NetCanvasRuntimeError):
    """A file (weights, a dataset) could not be downloaded."""


class DownloadOfflineError(DownloadError):
    """The server cannot be reached; the message says where to put the file by hand."""


class ChecksumError(DownloadError):
    """The downloaded (or cached) file is not the file expected."""


class DownloadCancelled(DownloadError):
    """The user stopped the download; the partial file is kept to resume."""


class _Cut(Exception):
    """The connection ended before the whole file arrived."""


def hub_checkpoints() -> Path:
    """torch's hub cache folder for checkpoints, where torchvision looks for its weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def file_name(url: str) -> str:
    """The file name a URL is cached under (its last path segment)."""
    name = os.path.basename(urllib.request.urlparse(url).path)
    if not name or name in (".", ".."):
        raise DownloadError(f"{url!r} does not name a file to download")
    return name


def hash_prefix(name: str) -> str | None:
    """The sha256 prefix a torchvision-style file name carries (`resnet18-f37072fd.pth` -> f37072fd)."""
    match = HASH_PREFIX.search(name)
    return match.group(1) if match else None


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    """The hex md5 of a file (the checksum torchvision's dataset lists give), read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, sha256: str | None = None, url: str | None = None, md5: str | None = None) -> None:
    """ChecksumError unless `path` matches the full `sha256` (or `md5`) and its name's hash prefix (if any)."""
    digest = sha256_of(path)
    prefix = hash_prefix(file_name(url) if url else path.name)
    where = f"downloaded from {url}" if url else str(path)
    if sha256 and digest != sha256.lower():
        raise ChecksumError(f"the file {where} has sha256 {digest[:16]}…, expected {sha256.lower()[:16]}…")
    if md5 and (got := md5_of(path)) != md5.lower():
        raise ChecksumError(f"the file {where} has md5 {got}, expected {md5.lower()}")
    if prefix and not digest.startswith(prefix):
        raise ChecksumError(f"the file {where} has sha256 {digest[:16]}…, but its name says it starts with {prefix}")


def offline_advice(url: str, target: Path) -> str:
    """What to do when the machine cannot download `url`: the file and exactly where it goes."""
    return (f"download {url} on a machine that is online and put it at {target} "
            f"(the folder is torch's hub cache; TORCH_HOME moves it), then try again")


def download(url: str, folder: str | os.PathLike | None = None, *, sha256: str | None = None,
             md5: str | None = None, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
             retries: int = 3, timeout: float = 30.0, backoff: float = 1.0, name: str | None = None) -> Path:
    """The checked file of `url` in `folder` (torch's hub checkpoints by default), downloaded if not there yet.

    `name` is the file's name in the folder (the URL's last segment by default).
    """
    folder = Path(folder) if folder is not None else hub_checkpoints()
    target = folder / (name or file_name(url))
    if target.is_file():
        try:
            check_file(target, sha256, url, md5)
        except ChecksumError as exc:
            raise ChecksumError(f"{exc}; the cached file {target} is damaged or another file: remove it and "
                                "try again") from None
        if progress:
            size = target.stat().st_size
            progress(size, size)  # already here: done at once
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache folder {folder} ({exc.strerror or exc}); set TORCH_HOME to "
                            "a folder you can write") from None
    part = target.with_name(target.name + ".part")
    attempt = 0
    while True:
        try:
            _fetch(url, part, progress, cancelled, timeout)
            break
        except _Cut as exc:
            attempt += 1
            if attempt > retries:
                raise DownloadError(f"the download of {url} was cut {attempt} times ({exc}); the partial file "
                                    f"{part.name} is kept and the next try resumes it; or "
                                    + offline_advice(url, target)) from None
            time.sleep(backoff * attempt)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # the .part is already whole (or longer): check it
                break
            raise DownloadError(f"the server refused {url}: HTTP {exc.code} {exc.reason}; "
                                + offline_advice(url, target)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if 0 < attempt < retries:  # the server went away after part of the file came: try again
                attempt += 1
                time.sleep(backoff * attempt)
                continue
            raise DownloadOfflineError(f"cannot reach {url} ({reason}); this machine seems to be offline: "
                                       + offline_advice(url, target)) from None
    try:
        check_file(part, sha256, url, md5)
    except ChecksumError as exc:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{exc}; the file was not kept. Try again (a proxy or a broken connection may have "
                            f"altered it), or {offline_advice(url, target)}") from None
    os.replace(part, target)
    return target


def _fetch(url: str, part: Path, progress: Progress | None, cancelled: Callable[[], bool] | None,
           timeout: float) -> None:
    """One attempt: append the rest of `url` to `part` (Range from its size); _Cut when it ends early."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "netcanvas", "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    opener = urllib.request.build_opener()  # reads the proxy settings now (urlopen keeps the first ones for ever)
    with opener.open(request, timeout=timeout) as response:
        partial = response.status == 206
        if have and not partial:  # the server ignores Range: start again
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done = have
        if progress:
            progress(done, total)
        try:
            out = open(part, "ab" if partial else "wb")
        except OSError as exc:
            raise DownloadError(f"cannot write {part} ({exc.strerror or exc}); set TORCH_HOME to a folder you can "
                                "write") from None
        with out:
            while True:
                if cancelled is not None and cancelled():
                    raise DownloadCancelled(f"the download of {url} was cancelled; {done:,} bytes are kept in "
                                            f"{part} and the next try resumes them")
                try:
                    block = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                    raise _Cut(f"{done:,} of {total or '?'} bytes, {type(exc).__name__}") from None
                if not block:
                    break
                try:
                    out.write(block)
                    if len(block) and done // (1 << 24) != (done + len(block)) // (1 << 24):
                        out.flush()  # every 16 MiB on disk: a cut loses little
                except OSError as exc:
                    raise DownloadError(f"cannot write {part} ({exc.strerror or exc}); free some space or set "
                                        "TORCH_HOME to another folder") from None
                done += len(block)
                if progress:
                    progress(done, total)
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise DownloadError(f"cannot write {part} ({exc.strerror or exc}); free some space or set "
                                    "TORCH_HOME to another folder") from None
    if total is not None and done < total:
        raise _Cut(f"{done:,} of {total:,} bytes")


def download_first(urls: list[str], folder: str | os.PathLike, name: str, *, md5: str | None = None,
                   sha256: str | None = None, progress: Progress | None = None,
                   cancelled: Callable[[], bool] | None = None, timeout: float = 30.0, retries: int = 2,
                   backoff: float = 1.0) -> Path:
    """The checked file `name` in `folder`, from the first of its mirrors `urls` that gives it whole and intact.

    A mirror that cannot be reached, refuses, or gives a file with the wrong checksum (which is removed)
    passes the turn to the next; DownloadOfflineError when none could be reached at all, else the last error.
    Cancelling stops at once (the partial file is kept to resume).
    """
    errors: list[DownloadError] = []
    for url in urls:
        try:
            return download(url, folder, sha256=sha256, md5=md5, progress=progress, cancelled=cancelled,
                            retries=retries, timeout=timeout, backoff=backoff, name=name)
        except DownloadCancelled:
            raise
        except DownloadError as exc:
            if not isinstance(exc, DownloadOfflineError):
                Path(folder, name + ".part").unlink(missing_ok=True)  # another mirror's bytes must not be resumed
            errors.append(exc)
    if errors and all(isinstance(e, DownloadOfflineError) for e in errors):
        raise DownloadOfflineError(f"cannot reach any mirror of {name} ({', '.join(urls)}); this machine seems to "
                                   f"be offline: download it on a machine that is online and put it at "
                                   f"{Path(folder) / name}, then try again")
    raise errors[-1] if errors else DownloadError(f"{name} has no mirror to download it from")


class TextProgress:
    """A tqdm-style progress line on a terminal stream: `name  42%|████▏     | 18.9M/44.7M`."""

    WIDTH = 24

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self._shown = -1

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            percent = int(100 * done / total)
            if percent == self._shown:
                return
            self._shown = percent
            filled = self.WIDTH * done / total
            bar = "█" * int(filled) + (" ▏▎▍▌▋▊▉"[int(8 * (filled % 1))] if done < total else "")
            line = f"{self.label} {percent:3d}%|{bar:<{self.WIDTH}}| {_size(done)}/{_size(total)}"
        else:
            line = f"{self.label} {_size(done)}"
        end = "\n" if total and done >= total else ""
        self.stream.write("\r" + line + end)
        self.stream.flush()


def _size(n: int) -> str:
    for unit in ("", "k", "M", "G"):
        if n < 1000 or unit == "G":
            return f"{n:.0f}{unit}" if not unit else f"{n:.1f}{unit}"
        n /= 1000
    return str(n)  # pragma: no cover
