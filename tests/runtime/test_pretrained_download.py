"""The weights downloader against a real HTTP server on 127.0.0.1 serving a generated file."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import threading

import pytest

from runtime.download import ChecksumError, DownloadCancelled, DownloadOfflineError, TextProgress, download

PAYLOAD = os.urandom(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Server:
    """Serves PAYLOAD at any path; honours Range; the first `cuts` responses stop after `cut_at` bytes."""

    def __init__(self, payload: bytes = PAYLOAD, cuts: int = 0, cut_at: int = 100_000, ranges: bool = True):
        self.payload, self.cuts, self.cut_at, self.ranges = payload, cuts, cut_at, ranges
        self.requests: list[str | None] = []  # the Range header of each request
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.headers.get("Range"))
                start = 0
                rng = self.headers.get("Range")
                if rng and owner.ranges:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(owner.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(owner.payload) - 1}/{len(owner.payload)}")
                else:
                    self.send_response(200)
                body = owner.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if owner.cuts > 0:
                    owner.cuts -= 1
                    self.wfile.write(body[:owner.cut_at])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-file
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/models/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_reports_progress_checks_the_name_hash_and_lands_in_the_folder(tmp_path):
    seen = []
    with _Server() as server:
        path = download(server.url(f"net-{DIGEST[:8]}.pth"), tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / f"net-{DIGEST[:8]}.pth"
    assert path.read_bytes() == PAYLOAD
    assert seen[0] == (0, len(PAYLOAD)) and seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert len(seen) > 3 and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no .part left


def test_a_cached_file_is_used_without_asking_the_server(tmp_path):
    (tmp_path / f"net-{DIGEST[:8]}.pth").write_bytes(PAYLOAD)
    with _Server() as server:
        download(server.url(f"net-{DIGEST[:8]}.pth"), tmp_path)
        assert server.requests == []


def test_a_name_hash_mismatch_is_refused_and_nothing_stays_in_the_cache(tmp_path):
    wrong = "0" * 8 if not DIGEST.startswith("0" * 8) else "1" * 8
    with _Server() as server, pytest.raises(ChecksumError) as info:
        download(server.url(f"net-{wrong}.pth"), tmp_path)
    assert wrong in str(info.value) and "not kept" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_full_sha256_given_by_the_caller_is_checked(tmp_path):
    with _Server() as server:
        with pytest.raises(ChecksumError):
            download(server.url("plain.bin"), tmp_path, sha256="ab" * 32)
        assert list(tmp_path.iterdir()) == []
        assert download(server.url("plain.bin"), tmp_path, sha256=DIGEST).read_bytes() == PAYLOAD


def test_a_cut_connection_is_resumed_with_a_range_request_to_a_correct_file(tmp_path):
    with _Server(cuts=2, cut_at=70_000) as server:
        path = download(server.url(f"net-{DIGEST[:8]}.pth"), tmp_path, backoff=0)
        assert server.requests == [None, "bytes=70000-", "bytes=140000-"]
    assert path.read_bytes() == PAYLOAD


def test_a_cut_connection_to_a_server_without_ranges_starts_again(tmp_path):
    with _Server(cuts=1, ranges=False) as server:
        path = download(server.url(f"net-{DIGEST[:8]}.pth"), tmp_path, backoff=0)
        assert len(server.requests) == 2
    assert path.read_bytes() == PAYLOAD


def test_a_connection_cut_more_often_than_the_retries_keeps_the_part_and_says_so(tmp_path):
    with _Server(cuts=10, cut_at=50_000) as server, pytest.raises(Exception) as info:
        download(server.url(f"net-{DIGEST[:8]}.pth"), tmp_path, retries=1, backoff=0)
    assert "cut" in str(info.value) and "resumes" in str(info.value)
    assert not (tmp_path / f"net-{DIGEST[:8]}.pth").exists()
    assert (tmp_path / f"net-{DIGEST[:8]}.pth.part").stat().st_size == 100_000


def test_offline_the_message_names_the_url_and_where_to_put_the_file(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/models/resnet18-f37072fd.pth"
    with pytest.raises(DownloadOfflineError) as info:
        download(url, tmp_path / "hub" / "checkpoints")
    text = str(info.value)
    assert url in text and str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in text


def test_cancelling_stops_and_keeps_the_part_for_the_next_try(tmp_path):
    calls = []
    with _Server() as server:
        url = server.url(f"net-{DIGEST[:8]}.pth")
        with pytest.raises(DownloadCancelled):
            download(url, tmp_path, progress=lambda d, t: calls.append(d), cancelled=lambda: len(calls) > 2)
        kept = (tmp_path / f"net-{DIGEST[:8]}.pth.part").stat().st_size
        assert 0 < kept < len(PAYLOAD)
        path = download(url, tmp_path)
        assert server.requests[-1] == f"bytes={kept}-"
    assert path.read_bytes() == PAYLOAD


def test_the_text_progress_bar_reads_like_tqdm():
    out = io.StringIO()
    bar = TextProgress("net.pth", out)
    for done in (0, 50_000, 100_000):
        bar(done, 100_000)
    lines = out.getvalue().split("\r")
    assert lines[-1].startswith("net.pth 100%|") and lines[-1].endswith("100.0k/100.0k\n")
    assert " 50%|" in lines[-2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_importing_with_torchvision_weights_offline_says_which_url_and_where_and_writes_nothing(
        tmp_path, monkeypatch, capsys):
    from runtime.cli import main as cli

    proxy = f"http://127.0.0.1:{_closed_port()}"  # every request goes to a closed loopback port: offline
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert cli(["import", "resnet18", str(tmp_path / "r18.json"), "--pretrained"]) == 2
    err = capsys.readouterr().err
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in err
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in err
    assert not (tmp_path / "r18.json").exists() and not (tmp_path / "r18.safetensors").exists()


def test_an_unknown_torchvision_weights_name_lists_the_choices(capsys, tmp_path):
    from runtime.cli import main as cli

    assert cli(["import", "resnet50", str(tmp_path / "r.json"), "--pretrained", "IMAGENET9"]) == 2
    err = capsys.readouterr().err
    assert "IMAGENET1K_V1" in err and "IMAGENET1K_V2" in err and "DEFAULT" in err


def test_netcanvas_weights_records_torchvision_weights_and_offline_download_says_where(tmp_path, monkeypatch,
                                                                                       capsys):
    import json
    import shutil
    from pathlib import Path

    from runtime.cli import main as cli

    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    project = tmp_path / "p.json"
    shutil.copy(Path(__file__).resolve().parents[2] / "resources" / "templates" / "residual_cnn_digits.json", project)
    assert cli(["weights", str(project), "--torchvision", "resnet18", "--download"]) == 2
    assert "resnet18-f37072fd.pth" in capsys.readouterr().err
    assert "pretrained" not in json.loads(project.read_text())["meta"]  # nothing recorded
    assert cli(["weights", str(project), "--torchvision", "resnet18:IMAGENET1K_V1"]) == 0
    out = capsys.readouterr().out
    assert "when training starts" in out and str(tmp_path / "torch" / "hub" / "checkpoints") in out
    assert json.loads(project.read_text())["meta"]["pretrained"] == [
        {"target": None, "source": {"kind": "torchvision", "model": "resnet18", "weights": "IMAGENET1K_V1"}}]


def test_a_cached_torchvision_file_that_is_not_the_real_one_is_refused_not_loaded(tmp_path, monkeypatch, capsys):
    from runtime.cli import main as cli

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "resnet18-f37072fd.pth").write_bytes(b"not the weights")  # e.g. put there by hand, or cut short
    assert cli(["import", "resnet18", str(tmp_path / "r18.json"), "--pretrained"]) == 2
    err = capsys.readouterr().err
    assert str(cache / "resnet18-f37072fd.pth") in err and "remove it" in err
    assert not (tmp_path / "r18.json").exists()


def test_a_full_disk_says_so_not_offline(small_disk):
    if not small_disk.real:
        pytest.skip("needs a real small file system (root and mount)")
    big = os.urandom(6 * 2**20)  # more than the 4 MiB disk
    with _Server(payload=big) as server, pytest.raises(Exception) as info:
        download(server.url("big.bin"), small_disk.folder / "cache", retries=0, backoff=0)
    assert "cannot write" in str(info.value) and "offline" not in str(info.value)
