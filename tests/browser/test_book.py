"""The built book in a real browser: every page of the toc renders, with its figures,
launch buttons that open that very notebook on branch ``main``, and live widgets.

Not part of the unit tests (``norecursedirs`` in pyproject.toml); run it after a build::

    make book-quick && make browser          # or: make test (builds, then runs this)
    CIFAR_EDU_BOOK_HTML=_build/html .venv/bin/pytest tests/browser   # the full-mode book

The machine may be offline: only the local server is reached; the widget JavaScript
that the pages load from the CDN is served from a local npm folder (``make npm-deps``).
Screenshots of every page land in ``_build/screenshots`` (CI keeps them as artefacts).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CDN_NPM = "https://cdn.jsdelivr.net/npm/"
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
# How a widget looks when only its text/plain made it into the page.
RAW_WIDGET_TEXT = re.compile(r"\b[A-Z][A-Za-z]*\((children|value|layout|description)=")
# Sphinx's marks for broken markup and myst-nb's for failed cells.
ERROR_SELECTORS = ".system-message, .problematic, .output.traceback, .output.error"
WIDGET_TIMEOUT_MS = 30_000
# Harmless upstream errors: sphinx-thebe 0.3.1 under Sphinx 7.4 writes its configuration
# script twice; thebe itself is off (launch_buttons.thebe: false in _config.yml).
KNOWN_SCRIPT_ERRORS = {"Identifier 'THEBE_JS_URL' has already been declared"}


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _is_notebook(page: str) -> bool:
    return (ROOT / f"{page}.ipynb").is_file()


PAGES = _toc_pages()


@dataclass(repr=False)
class PageReport:
    """What one visit of a page found."""

    def __repr__(self) -> str:  # short, so that failed assertions stay readable
        return f"<PageReport of {self.title!r}>"

    status: int
    title: str
    heading: str
    errors_shown: int
    traceback_text: bool
    raw_widget_text: list[str]
    broken_images: list[str]
    n_images: int
    launch_links: list[str]
    n_widget_views: int
    n_widgets_rendered: int
    widget_errors: list[str]
    script_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _npm_file(npm_dir: Path, url: str) -> Path | None:
    """The local copy of a jsDelivr npm URL (``pkg@version/path``), if that version is installed."""
    match = re.match(r"((?:@[^/]+/)?[^@/]+)(?:@([^/]+))?/(.+)", url[len(CDN_NPM):].split("?")[0])
    if not match:
        return None
    name, version, rel = match.groups()
    package = npm_dir / "node_modules" / name
    try:
        installed = json.loads((package / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        return None
    if version and version != installed:
        return None
    file = package / rel
    return file if file.is_file() else None


def _offline_router(npm_dir: Path | None, blocked: list[str]):
    def handle(route):
        url = route.request.url
        host = urlparse(url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
            return
        local = _npm_file(npm_dir, url) if npm_dir and url.startswith(CDN_NPM) else None
        if local is not None:
            route.fulfill(path=str(local))
            return
        blocked.append(url)
        route.abort()
    return handle


_IMAGES_JS = """async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done); img.addEventListener("error", done);
  })));
  return images.filter((img) => !(img.naturalWidth > 0)).map((img) => img.getAttribute("src"));
}"""

_RENDERED_WIDGETS_JS = """() => Array.from(document.querySelectorAll(".widget-subarea"))
  .filter((area) => area.querySelector(".jupyter-widgets") && area.offsetHeight > 0).length"""


def _widget_model_names(page) -> dict[str, str]:
    """Model id -> model name, from the widget state saved in the page."""
    states = page.locator('script[type="application/vnd.jupyter.widget-state+json"]')
    if not states.count():
        return {}
    state = json.loads(states.first.text_content() or "{}").get("state", {})
    return {model_id: model.get("model_name", "?") for model_id, model in state.items()}


def _name_models(message: str, model_names: dict[str, str]) -> str:
    for model_id, name in model_names.items():
        message = message.replace(model_id, f"{model_id} ({name})")
    return message


@pytest.fixture(scope="session")
def visit(browser_context, base_url, npm_dir, screenshot_dir):
    """Open a page once (cached), wait for its widgets, screenshot it, report what it found."""

    @functools.cache
    def _visit(page_name: str) -> PageReport:
        page = browser_context.new_page()
        script_errors: list[str] = []
        blocked: list[str] = []
        console_errors: list[str] = []
        page.on("pageerror", lambda exc: script_errors.append(str(exc)))
        page.on("console", lambda msg: console_errors.append(msg.text)
                if msg.type == "error" else None)
        page.route("**/*", _offline_router(npm_dir, blocked))
        try:
            response = page.goto(f"{base_url}/{page_name}.html", wait_until="load")
            n_views = page.locator(WIDGET_VIEW).count()
            if n_views and npm_dir is not None:
                try:
                    page.wait_for_function(f"n => ({_RENDERED_WIDGETS_JS})() >= n", arg=n_views,
                                           timeout=WIDGET_TIMEOUT_MS)
                except Exception:  # noqa: BLE001 - the count below says what is missing
                    pass
            broken = page.evaluate(_IMAGES_JS)
            main_text = page.locator("main").inner_text()
            output_text = "\n".join(page.locator(".cell_output").all_inner_texts())
            headings = page.locator("main h1")
            heading = headings.first.inner_text() if headings.count() else ""
            links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
            model_names = _widget_model_names(page)
            report = PageReport(
                status=response.status if response else 0,
                title=page.title(),
                heading=heading.strip().rstrip("#").strip(),
                errors_shown=page.locator(ERROR_SELECTORS).count(),
                traceback_text="Traceback (most recent call last)" in main_text,
                raw_widget_text=[m.group(0) for m in RAW_WIDGET_TEXT.finditer(output_text)],
                broken_images=broken,
                n_images=page.locator("img").count(),
                launch_links=sorted({link for link in links if _is_launch_link(link)}),
                n_widget_views=n_views,
                n_widgets_rendered=page.evaluate(_RENDERED_WIDGETS_JS),
                widget_errors=[text.strip() for text in
                               page.locator(".jupyter-widgets-error-widget").all_text_contents()],
                script_errors=[e for e in script_errors if e not in KNOWN_SCRIPT_ERRORS],
                blocked=blocked,
                console_errors=[_name_models(e, model_names) for e in console_errors],
            )
            page.screenshot(path=str(screenshot_dir / f"{page_name.replace('/', '_')}.png"),
                            full_page=True)
            return report
        finally:
            page.close()

    return _visit


def _is_launch_link(url: str) -> bool:
    buttons = _config()["launch_buttons"]
    return any(url.startswith(buttons[key].rstrip("/") + "/")
               for key in ("binderhub_url", "colab_url") if buttons.get(key))


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_without_errors(visit, page_name):
    report = visit(page_name)
    assert report.status == 200, f"{page_name}.html: HTTP {report.status}"
    assert report.heading, f"{page_name}: no heading"
    assert report.heading in report.title, f"{page_name}: title {report.title!r} lacks the heading"
    assert report.errors_shown == 0, f"{page_name}: shows {report.errors_shown} error block(s)"
    assert not report.traceback_text, f"{page_name}: shows a Python traceback"
    assert not report.script_errors, f"{page_name}: JavaScript errors {report.script_errors}"


@pytest.mark.parametrize("page_name", PAGES)
def test_every_image_loads(visit, page_name):
    report = visit(page_name)
    assert not report.broken_images, f"{page_name}: broken images {report.broken_images}"


@pytest.mark.parametrize("page_name", PAGES)
def test_launch_buttons_open_this_notebook_on_main(visit, page_name):
    report = visit(page_name)
    config = _config()
    branch = config["repository"]["branch"]
    assert branch == "main"
    org, repo = urlparse(config["repository"]["url"]).path.strip("/").split("/")[:2]
    if not _is_notebook(page_name):
        # Markdown pages have no launch buttons; if a theme adds some, they must be this page's.
        assert all(f"/{page_name}." in link for link in report.launch_links), report.launch_links
        return
    notebook = f"{page_name}.ipynb"
    binder = f"/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{notebook}"
    colab = f"/github/{org}/{repo}/blob/{branch}/{notebook}"
    assert any(binder in link for link in report.launch_links), (
        f"{page_name}: no Binder button opening {notebook} in JupyterLab: {report.launch_links}")
    assert any(colab in link for link in report.launch_links), (
        f"{page_name}: no Colab button for {notebook}: {report.launch_links}")


@pytest.mark.parametrize("page_name", PAGES)
def test_widgets_render_from_saved_state(visit, npm_dir, missing_dependency, page_name):
    report = visit(page_name)
    assert not report.raw_widget_text, (
        f"{page_name}: widgets shown as raw text {report.raw_widget_text}")
    if report.n_widget_views == 0:
        return
    if npm_dir is None:
        missing_dependency("no local copy of the widget JavaScript; run `make npm-deps` (needs npm)")
    assert report.n_widgets_rendered >= report.n_widget_views, (
        f"{page_name}: {report.n_widgets_rendered} of {report.n_widget_views} widgets rendered; "
        f"requests not served offline: {report.blocked}")
    # A view that failed shows ipywidgets' error box ("Click to show javascript error").
    view_errors = [e for e in report.console_errors if "view" in e.lower()]
    assert not report.widget_errors, (
        f"{page_name}: {len(report.widget_errors)} widget view(s) failed: {view_errors}")
