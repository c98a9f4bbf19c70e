"""Fixtures of the real-browser test: the built book served locally, headless Chromium.

Settings (environment variables, all optional):

``CIFAR_EDU_BOOK_HTML``
    the built HTML to test (default ``_build/html``; ``make browser`` passes the quick build);
``CIFAR_EDU_NPM_DIR``
    a folder with ``node_modules/@jupyter-widgets/html-manager`` and ``requirejs``
    (``make npm-deps``; default ``_build/npm``), served in place of the CDN, offline;
``CIFAR_EDU_SCREENSHOTS``
    where the screenshots go (default ``_build/screenshots``);
``CIFAR_EDU_CHROMIUM``
    the browser (default ``/usr/bin/chromium``, Debian's ``chromium`` package);
``CIFAR_EDU_REQUIRE_BROWSER=1``
    fail instead of skip when Chromium or the npm folder is missing (CI sets it).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _setting(name: str, default: str) -> Path:
    value = Path(os.environ.get(name) or default)
    return value if value.is_absolute() else ROOT / value


def _missing(what: str) -> None:
    """Skip on a learner's machine, fail in CI (``CIFAR_EDU_REQUIRE_BROWSER=1``)."""
    if os.environ.get("CIFAR_EDU_REQUIRE_BROWSER") == "1":
        pytest.fail(what, pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def missing_dependency():
    """Call with a message: skips the test, or fails it in CI."""
    return _missing


@pytest.fixture(scope="session")
def html_dir() -> Path:
    path = _setting("CIFAR_EDU_BOOK_HTML", "_build/html")
    if not (path / "index.html").is_file():
        pytest.fail(f"no built book in {path}; build it first (`make book-quick` or `make book`)",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def npm_dir() -> Path | None:
    path = _setting("CIFAR_EDU_NPM_DIR", "_build/npm")
    return path if (path / "node_modules/@jupyter-widgets/html-manager").is_dir() else None


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = _setting("CIFAR_EDU_SCREENSHOTS", "_build/screenshots")
    if path.is_dir():
        for old in path.glob("*.png"):
            old.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="session")
def base_url(html_dir: Path):
    """The book served over HTTP on 127.0.0.1 on a free port (scripts need http, not file:)."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    """A headless Chromium with a fresh profile (never a downloaded browser)."""
    executable = os.environ.get("CIFAR_EDU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).is_file():
        _missing(f"no Chromium at {executable}; install it: apt-get install -y chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed; pip install -e '.[dev]'")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        # A persistent context is how Playwright takes a --user-data-dir.
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900})
        yield context
        context.close()
