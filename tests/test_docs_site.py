"""The documentation site: built with ``mkdocs build --strict``, then read in Chromium.

``scripts/test.sh`` builds the site once (strict: any warning fails the run)
and passes its directory in ``SIGV4KIT_DOCS_SITE``; run alone, this module
builds it into a temporary directory. The site is served from 127.0.0.1 and
every page is opened in Debian's chromium through Playwright; every internal
link, image, stylesheet and script must resolve, every ``#anchor`` must name
an element of the page it points into, pages must raise no JavaScript error,
and nothing may be fetched from outside 127.0.0.1 (the site works offline).

Screenshots of the home page and an API reference page go to
``test-artifacts/``; with ``SIGV4KIT_UPDATE_DOCS=1`` they are also written to
``docs/site-home.png`` and ``docs/site-api.png``.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import html as html_mod
import http.server
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
sys.path.insert(0, str(ROOT / "scripts"))
import docs_hooks  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("SIGV4KIT_DOCS_SITE")
    if given:
        path = Path(given)
        assert (path / "index.html").is_file(), f"SIGV4KIT_DOCS_SITE={given} holds no built site"
        return path
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# --------------------------------------------------------------------------
# Generated pages follow the code
# --------------------------------------------------------------------------
def test_troubleshooting_page_lists_every_cause_of_the_diagnosis(site: Path) -> None:
    html = (site / "troubleshooting" / "index.html").read_text()
    causes = docs_hooks._causes()
    assert len(causes) >= 10
    for row in causes:
        assert f'id="{row["id"]}"' in html, row["id"]
        assert row["title"] in html_mod.unescape(html), row["title"]
        assert html_mod.unescape(row["fix"]) in html_mod.unescape(html), row["id"]


def test_every_public_module_has_a_reference_page(site: Path) -> None:
    modules = docs_hooks.public_modules()
    assert "sigv4kit.signer" in modules and "sigv4kit.verifier" in modules
    assert not [m for m in modules if any(p.startswith("_") for p in m.split("."))]
    for m in modules:
        page = site / "reference" / m / "index.html"
        assert page.is_file(), m
    signer = (site / "reference" / "sigv4kit.signer" / "index.html").read_text()
    # mkdocstrings rendered the docstrings, not just the heading.
    assert 'id="sigv4kit.signer.Signer.presign"' in signer
    assert "Everything about one signature" in signer


def test_python_examples_in_the_docs_are_valid_python() -> None:
    """Every ```python block of every page parses (a typo in an example is a bug)."""
    blocks = 0
    bad = []
    for md in sorted((ROOT / "docs").rglob("*.md")):
        for m in re.finditer(r"^( *)```python\n(.*?)^ *```", md.read_text(), re.S | re.M):
            blocks += 1
            try:
                ast.parse(textwrap.dedent(m.group(2)))
            except SyntaxError as exc:
                bad.append(f"{md.relative_to(ROOT)}: {exc}")
    assert blocks >= 15
    assert not bad, bad


# --------------------------------------------------------------------------
# Every page in Chromium: links, anchors, assets, no errors, offline
# --------------------------------------------------------------------------
_COLLECT = """() => {
  const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id);
  const names = Array.from(document.querySelectorAll('a[name]')).map(e => e.name);
  const links = Array.from(document.querySelectorAll('a[href]'))
      .map(a => a.href).filter(h => !h.startsWith('javascript:'));
  const assets = [
    ...Array.from(document.querySelectorAll('img[src]')).map(e => e.src),
    ...Array.from(document.querySelectorAll('script[src]')).map(e => e.src),
    ...Array.from(document.querySelectorAll('link[href]')).map(e => e.href),
  ];
  const broken = Array.from(document.images)
      .filter(i => i.complete && i.naturalWidth === 0).map(i => i.src);
  return {ids: ids.concat(names), links, assets, broken,
          title: document.title, h1: (document.querySelector('h1') || {}).textContent || ''};
}"""


def _page_url(base: str, html: Path, site: Path) -> str:
    rel = html.relative_to(site).as_posix()
    if rel.endswith("index.html"):
        rel = rel[: -len("index.html")]
    return base + rel


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _normal(url: str) -> str:
    """The page a URL names: fragment dropped, directory URLs ending in '/'."""
    url = urldefrag(url)[0]
    if url.endswith("/index.html"):
        url = url[: -len("index.html")]
    return url


async def _crawl(
    urls: list[str], base_url: str, tabs: int = 4
) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Open every URL in Chromium (``tabs`` at a time); what each page holds and links to."""
    from playwright.async_api import async_playwright

    seen: dict[str, dict[str, Any]] = {}
    outside: list[str] = []
    errors: list[str] = []
    todo = list(urls)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.on("request", lambda r: None if r.url.startswith(base_url) else outside.append(r.url))

        async def worker() -> None:
            page = await ctx.new_page()
            page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
            while todo:
                url = todo.pop()
                resp = await page.goto(url, wait_until="domcontentloaded")
                assert resp is not None and resp.status == 200, url
                seen[_normal(url)] = await page.evaluate(_COLLECT)
            await page.close()

        await asyncio.gather(*(worker() for _ in range(tabs)))
        page = await ctx.new_page()
        await page.goto(base_url, wait_until="networkidle")
        await _shot(page, "site-home.png")
        await page.goto(base_url + "reference/sigv4kit.signer/", wait_until="networkidle")
        await _shot(page, "site-api.png")
        await browser.close()
    return seen, outside, errors


def test_every_page_in_chromium_has_no_broken_link(site: Path, base_url: str) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.async_api")

    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) >= 15, pages
    urls = [_page_url(base_url, html, site) for html in pages]
    seen, outside, errors = asyncio.run(_crawl(urls, base_url))
    assert not errors, errors
    assert not outside, f"the site fetched from outside 127.0.0.1: {outside[:5]}"
    assert seen[base_url]["h1"].strip().rstrip("¶") == "sigv4kit"

    broken: list[str] = []
    statuses: dict[str, int] = {}
    for src, info in seen.items():
        broken += [f"{src}: image did not load: {u}" for u in info["broken"]]
        for target in info["links"] + info["assets"]:
            if not target.startswith(base_url):
                continue  # external: not fetched (no network here); the build checks the rest
            page_url, fragment = urldefrag(target)
            key = _normal(page_url)
            if key not in seen:
                if urlsplit(page_url).path.endswith("/"):
                    broken.append(f"{src}: link to a page that does not exist: {target}")
                    continue
                if page_url not in statuses:
                    statuses[page_url] = _status(page_url)
                if statuses[page_url] != 200:
                    broken.append(f"{src}: {target} -> HTTP {statuses[page_url]}")
                continue
            if fragment and unquote(fragment) not in seen[key]["ids"]:
                broken.append(f"{src}: no element #{fragment} on {key}")
    assert not broken, "\n".join(broken[:40])


async def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=False)
    if os.environ.get("SIGV4KIT_UPDATE_DOCS") == "1":
        shutil.copyfile(path, ROOT / "docs" / name)
    return path
