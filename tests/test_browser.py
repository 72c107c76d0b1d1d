"""The built book in a real browser: every page loads offline, every chart draws, captions are complete.

Builds the book if ``_build/html`` is missing or older than its sources, serves ``_build/html`` on
127.0.0.1 (random port, a thread), and drives the Debian ``chromium`` headless over the DevTools
protocol (`tests/browser_tools.py`; no browser download). For each page of ``_toc.yml`` it checks:

* every ``div.vc-chart`` holds a drawn ``svg``/``canvas`` within 10 s;
* every request the page made went to our 127.0.0.1 server (``data:`` URLs aside): no CDN, no other host;
* no JavaScript exception, no ``console.error``, no browser error log (the browser's own favicon probe aside);
* every chart figure has a caption with "Source:", "Note:", "Data through" and a CSV download link that the
  local server answers with 200 and a non-empty body;
* every other link into ``_static/data/`` (the Data page's dataset downloads) answers 200 too.

A full-page screenshot of each page goes to ``_build/screenshots/<page>.png`` for a human to look at.

Chromium missing is a failure, not a skip (CI installs it): ``apt-get install -y chromium``.
pytest-socket stays on: only connections to 127.0.0.1 are allowed here (``allow_hosts``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.browser_tools import (
    INSTALL_HINT,
    REPO_ROOT,
    SCREENSHOT_DIR,
    Browser,
    StaticServer,
    fetch,
    find_chromium,
)

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

CHART_TIMEOUT = 10  # seconds for every chart on a page to draw

def _pages() -> list[tuple[str, str, str]]:
    """(name, URL path to load, URL path expected after redirects) for every page in _toc.yml."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    root = toc["root"]
    pages = [("index", "index.html", f"{root}.html")]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            docname = chapter["file"].removesuffix(".md")
            pages.append((Path(docname).name, f"{docname}.html", f"{docname}.html"))
    return pages


PAGES = _pages()
PAGE_IDS = [name for name, _, _ in PAGES]


@pytest.fixture(scope="module")
def server(built_book):
    with StaticServer(built_book) as srv:
        yield srv


@pytest.fixture(scope="module")
def visit(browser, server):
    """visit(name) -> what loading that page did (loaded once per page, in a fresh browser context)."""
    cache: dict[str, dict] = {}
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def _visit(name: str) -> dict:
        if name in cache:
            return cache[name]
        _, path, expected = next(p for p in PAGES if p[0] == name)
        with browser.new_page(cache_disabled=True) as page:
            page.navigate(server.url(path))
            arrived, where = page.wait_for(
                f"document.readyState === 'complete' && location.pathname.endsWith('/{expected}') && location.href",
                timeout=10)
            state = page.wait_for_charts(timeout=CHART_TIMEOUT)
            shot = page.screenshot(SCREENSHOT_DIR / f"{name}.png")
            cache[name] = {"arrived": arrived, "where": where, "state": state, "requests": page.requests(),
                           "errors": page.errors(), "screenshot": shot}
        return cache[name]

    return _visit


def test_chromium_installed():
    """CI must have Debian's chromium: the browser tests fail (not skip) without it."""
    assert find_chromium(), f"chromium is not installed; install it with: {INSTALL_HINT}"


@pytest.mark.parametrize("name", PAGE_IDS)
def test_page_loads_and_charts_draw(visit, name):
    result = visit(name)
    assert result["arrived"], f"{name}: page did not finish loading at the expected URL ({result['where']})"
    charts = result["state"]["charts"]
    problems = [c for c in charts
                if not (c["kind"] in ("svg", "canvas") and c["state"] == "done" and c["width"] > 0
                        and c["height"] > 0 and c["marks"] > 0)]
    assert not problems, f"{name}: charts not drawn within {CHART_TIMEOUT} s: {problems}"
    outside = [c["id"] for c in charts if not c["in_figure"]]
    assert not outside, f"{name}: chart containers outside a figure.vc-figure: {outside}"
    assert result["screenshot"].stat().st_size > 0


@pytest.mark.parametrize("name", PAGE_IDS)
def test_page_requests_stay_local(visit, server, name):
    requests = visit(name)["requests"]
    assert requests, f"{name}: no network request recorded (CDP Network domain not working?)"
    foreign = [r["url"] for r in requests
               if not (r["url"].startswith(server.origin + "/") or r["url"].startswith("data:"))]
    assert not foreign, f"{name}: requests to hosts other than {server.origin}: {foreign}"
    broken = [(r["url"], r["status"], r["failed"]) for r in requests
              if not r["url"].endswith("/favicon.ico") and (r["failed"] or (r["status"] or 0) >= 400)]
    assert not broken, f"{name}: requests that failed: {broken}"


@pytest.mark.parametrize("name", PAGE_IDS)
def test_page_has_no_console_errors(visit, name):
    errors = [e for e in visit(name)["errors"] if "/favicon.ico" not in e]  # the browser's own probe
    assert not errors, f"{name}: JavaScript errors: {errors}"


@pytest.mark.parametrize("name", PAGE_IDS)
def test_chart_captions_and_downloads(visit, server, name):
    figures = visit(name)["state"]["figures"]
    for fig in figures:
        caption = fig["caption"] or ""
        missing = [key for key in ("Source:", "Note:", "Data through") if key not in caption]
        assert not missing, f"{name} / {fig['id']}: caption lacks {missing}: {caption!r}"
        url = fig["download"]
        assert url, f"{name} / {fig['id']}: no download link (a.vc-download) in the caption"
        assert url.startswith(server.origin + "/"), f"{name} / {fig['id']}: download link not local: {url}"
        assert url.split("?")[0].endswith(".csv"), f"{name} / {fig['id']}: download is not a CSV: {url}"
        status, body = fetch(url)
        assert status == 200, f"{name} / {fig['id']}: {url} answered {status}"
        assert body.strip(), f"{name} / {fig['id']}: {url} is empty"


@pytest.mark.parametrize("name", PAGE_IDS)
def test_data_links_resolve(visit, server, name):
    """Every link into _static/data/ on the page (figure downloads, the Data page's datasets) is served."""
    links = sorted(set(visit(name)["state"]["data_links"]))
    broken = []
    for url in links:
        status, body = fetch(url) if url.startswith(server.origin + "/") else (None, b"")
        if status != 200 or not body.strip():
            broken.append(f"{url.removeprefix(server.origin)} ({status})")
    assert not broken, f"{name}: {len(broken)} of {len(links)} data links broken: {broken}"


# --------------------------------------------------------------------------- phone width and dark mode
PHONE_WIDTH = 390

LAYOUT_JS = """(() => {
  const doc = document.documentElement;
  const charts = [].map.call(document.querySelectorAll('div.vc-chart'), el => {
    const svg = el.querySelector('svg, canvas');
    return {id: el.id, width: svg ? svg.getBoundingClientRect().width : 0, box: el.clientWidth};
  });
  return {scrollWidth: doc.scrollWidth, viewport: window.innerWidth,
          wide: charts.filter(c => c.width > c.box + 1)};
})()"""

# WCAG contrast of text against the background it is drawn on, for the reader's text in the article.
CONTRAST_JS = """(() => {
  const lum = c => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(x => x / 255)
      .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const background = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
      const a = c.match(/[\\d.]+/g); if (a && (a.length < 4 || Number(a[3]) > 0.5)) return c; }
    return 'rgb(255, 255, 255)'; };
  const sel = 'article p, article li, article td, article th, article figcaption, .vc-verdict, .vc-status';
  const low = [];
  for (const el of [].slice.call(document.querySelectorAll(sel), 0, 400)) {
    if (!el.textContent.trim() || el.closest('.cell_input, .highlight, pre, .vc-chart')) continue;
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push({text: el.textContent.trim().slice(0, 60), ratio: Math.round(ratio * 100) / 100});
  }
  return low;
})()"""


@pytest.fixture(scope="module")
def phone(server):
    """phone(name) -> the page's layout at 390 px wide (loaded once per page), with a screenshot."""
    cache: dict[str, dict] = {}
    with Browser(width=PHONE_WIDTH, height=844) as b:
        def _visit(name: str) -> dict:
            if name not in cache:
                _, path, _ = next(p for p in PAGES if p[0] == name)
                with b.new_page(cache_disabled=True) as page:
                    page.navigate(server.url(path))
                    page.wait_for_charts(timeout=CHART_TIMEOUT)
                    cache[name] = page.evaluate(LAYOUT_JS)
                    page.screenshot(SCREENSHOT_DIR / "phone" / f"{name}.png")
            return cache[name]

        yield _visit


@pytest.fixture(scope="module")
def dark(browser, server):
    """dark(name) -> text with too little contrast on the page in dark mode, with a screenshot."""
    cache: dict[str, list] = {}
    init = "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"

    def _visit(name: str) -> list:
        if name not in cache:
            _, path, _ = next(p for p in PAGES if p[0] == name)
            with browser.new_page(cache_disabled=True, init_script=init) as page:
                page.navigate(server.url(path))
                page.wait_for_charts(timeout=CHART_TIMEOUT)
                assert page.evaluate("document.documentElement.dataset.mode") == "dark"
                cache[name] = page.evaluate(CONTRAST_JS)
                page.screenshot(SCREENSHOT_DIR / "dark" / f"{name}.png")
        return cache[name]

    return _visit


@pytest.mark.parametrize("name", PAGE_IDS)
def test_phone_width_never_scrolls_sideways(phone, name):
    """At 390 px the page is no wider than the screen (a wide table scrolls in its own box) and every
    chart fits its container."""
    layout = phone(name)
    assert layout["scrollWidth"] <= layout["viewport"], f"{name}: page {layout['scrollWidth']} px wide"
    assert not layout["wide"], f"{name}: charts wider than their container: {layout['wide']}"


@pytest.mark.parametrize("name", PAGE_IDS)
def test_dark_mode_text_is_legible(dark, name):
    """In dark mode every paragraph, cell, caption and verdict keeps a WCAG contrast of at least 4.5:1."""
    low = dark(name)
    assert not low, f"{name}: text below 4.5:1 contrast in dark mode: {low[:5]}"
