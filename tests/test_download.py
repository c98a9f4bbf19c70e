"""Downloading the archive: verified, atomic, with clear errors (all offline, on loopback)."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading

import pytest

from cifar_edu.data import download, load_dataset, sources
from cifar_edu.errors import DownloadError
from tests.cifar_files import write_cifar_dir


@pytest.fixture()
def archive(tmp_path, sample):
    """A small archive in the official layout (cifar-10-batches-py/ inside a .tar.gz)."""
    folder = write_cifar_dir(tmp_path / "src" / "cifar-10-batches-py", sample.x_train[:50],
                             sample.y_train[:50], sample.x_test[:20], sample.y_test[:20])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return buffer.getvalue()


@pytest.fixture()
def server(archive):
    """Serve the archive on 127.0.0.1; ``/short`` claims more bytes than it sends."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            body = archive if self.path != "/short" else archive[: len(archive) // 2]
            self.send_response(200)
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_EDU_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    sources._load.cache_clear()
    return tmp_path / "cache"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_fetch_downloads_verifies_and_extracts(server, archive, cache):
    path = download.fetch(url=server + "/a.tar.gz", sha256=_sha(archive))
    assert path == cache / "cifar-10-batches-py" and (path / "test_batch").is_file()
    assert _leftovers(cache) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    assert download.cached_dataset_dir() == path
    assert load_dataset("auto").source.kind == "cache"
    # A second fetch uses the cache and does not touch the network.
    assert download.fetch(url="http://127.0.0.1:9/unreachable", sha256=_sha(archive)) == path


def test_checksum_mismatch_leaves_nothing(server, cache):
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download.fetch(url=server + "/a.tar.gz", sha256="0" * 64)
    assert _leftovers(cache) == []


def test_broken_transfer_leaves_nothing(server, archive, cache):
    with pytest.raises(DownloadError, match="could not download"):
        download.fetch(url=server + "/short", sha256=_sha(archive))
    assert _leftovers(cache) == []


def test_no_network_message_says_what_to_do(cache):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="internet connection.*CIFAR10_DIR"):
        download.fetch(url=f"http://127.0.0.1:{port}/x.tar.gz", sha256="0" * 64, timeout=5)
    assert _leftovers(cache) == []


def test_corrupt_archive_is_reported(tmp_path, cache, monkeypatch):
    bad = b"this is not a tar.gz"
    cache.mkdir(parents=True)
    (cache / "cifar-10-python.tar.gz").write_bytes(bad)
    with pytest.raises(DownloadError, match="corrupt"):
        download.fetch(url="http://127.0.0.1:9/unused", sha256=_sha(bad))
    assert not (cache / "cifar-10-batches-py").exists()


def test_full_source_downloads_when_nothing_cached(server, archive, monkeypatch):
    monkeypatch.setattr(download, "ARCHIVE_URL", server + "/a.tar.gz")
    monkeypatch.setattr(download, "ARCHIVE_SHA256", _sha(archive))
    monkeypatch.setattr(download.fetch, "__kwdefaults__",
                        {**download.fetch.__kwdefaults__, "url": server + "/a.tar.gz",
                         "sha256": _sha(archive)})
    data = load_dataset("full")
    assert data.source.kind == "cache" and len(data.y_test) == 20


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("CIFAR_EDU_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_dir() == tmp_path / "xdg" / "cifar-edu"


