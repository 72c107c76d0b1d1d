"""What a first visit costs, served as GitHub Pages serves the book (gzip), and what the lighter pages keep.

Each chapter of the built book is loaded once with a cold cache in headless Chromium from `GzipServer`;
the bytes are Chromium's own count of what came over the wire (``encodedDataLength``, headers included).
The pages drop what they do not use -- the Vega-Lite compiler (charts arrive compiled to Vega), Sphinx's
search scripts (search page only) and the 156 KB icon font (a 3 KB subset) -- and must still search,
switch to dark mode and draw every chart. Timings are left to ``benchmarks/bench_speed.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gzip_server import GzipServer, first_visit

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

FIRST_VISIT_LIMIT = 350_000  # bytes on the wire, gzip, for the first visit of any chapter
SEARCH_SCRIPTS = ("searchindex.js", "searchtools.js", "language_data.js")


@pytest.fixture(scope="module")
def server(built_book):
    with GzipServer(built_book) as srv:
        yield srv


def _chapters(built_book: Path) -> list[str]:
    return [f"chapters/{p.name}" for p in sorted((built_book / "chapters").glob("*.html"))]


def test_first_visit_of_every_chapter_is_at_most_350_kb_gzip(built_book, server, browser):
    """Every chapter's first visit (HTML, styles, scripts, fonts, all requests) is <= 350 KB on the wire,
    every chart draws, and neither the Vega-Lite compiler, the search scripts nor the full icon font is
    fetched."""
    heavy = {}
    for rel in _chapters(built_book):
        visit = first_visit(browser, server, rel)
        urls = [r["url"] for r in visit["requests"]]
        assert visit["charts"] and set(visit["charts"]) == {"done"}, f"{rel}: charts {visit['charts']}"
        assert not [u for u in urls if any(s in u for s in SEARCH_SCRIPTS)], f"{rel} loads the search scripts"
        assert not [u for u in urls if "fontawesome/webfonts" in u], f"{rel} loads the full icon font"
        assert not [u for u in urls if "vega-bundle.js" in u], f"{rel} loads the Vega-Lite compiler"
        if visit["wire"] > FIRST_VISIT_LIMIT:
            heavy[rel] = visit["wire"]
    assert not heavy, f"first visits over {FIRST_VISIT_LIMIT} bytes: {heavy}"


def test_search_still_works(server, browser):
    """The search page loads the search scripts and lists pages for a word the book uses ('capex'); the
    search box of a chapter sends its query to that page."""
    with browser.new_page() as page:
        page.navigate(server.url("search.html?q=capex"))
        found, count = page.wait_for("document.querySelectorAll('#search-results ul.search li').length", timeout=20)
        assert found and count > 0, "no search results for 'capex'"
        urls = [r["url"] for r in page.requests()]
        assert all(any(s in u for u in urls) for s in SEARCH_SCRIPTS)
    with browser.new_page() as page:
        page.navigate(server.url("chapters/hourglass.html"))
        action = page.evaluate("document.querySelector('form.bd-search').action")
        assert action.split("?")[0].endswith("/search.html")


def test_icons_and_dark_mode_still_work(server, browser):
    """The theme's icons come from the subset font (fetched, and holding the moon icon's glyph), and the
    theme switch still turns the page dark."""
    with browser.new_page() as page:
        page.navigate(server.url("chapters/hourglass.html"))
        page.wait_for("document.readyState === 'complete'")
        assert page.evaluate("document.fonts.load('900 16px \"Font Awesome 6 Free\"', '\\uf186')"
                             ".then(f => f.length > 0)")
        assert any("vc-icons.woff2" in r["url"] and r["status"] == 200 for r in page.requests())
        before = page.evaluate("document.documentElement.dataset.mode")
        page.evaluate("document.querySelector('.theme-switch-button').click()")
        after = page.evaluate("document.documentElement.dataset.mode")
        assert before != after, "the theme switch did nothing"
        page.evaluate("localStorage.setItem('mode', 'dark'); document.documentElement.dataset.mode = 'dark'; "
                      "document.documentElement.dataset.theme = 'dark'")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
