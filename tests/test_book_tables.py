"""No raw machine value anywhere a reader looks in the built book (`tests/raw_values.py` says what counts)."""

from __future__ import annotations

import pytest

from tests.raw_values import findings, reader_chunks

pytestmark = pytest.mark.slow


@pytest.mark.fast
@pytest.mark.parametrize(("html", "kind"), [
    ("<td>0.640200244</td>", "float with more than four decimals"),
    ("<td>nan</td>", "missing value printed as a machine token"),
    ("<td>NaT</td>", "missing value printed as a machine token"),
    ("<td>True</td>", "boolean printed raw"),
    ("<td>2,019</td>", "year with a thousands separator"),
    ("<p>Nvidia in FY2023.0 earned</p>", "fiscal label with a decimal"),
])
def test_checker_finds_each_kind(html, kind):
    chunks = reader_chunks(html)
    assert kind in [k for k, _ in findings(" ".join(chunks), chunks)]


@pytest.mark.fast
def test_checker_leaves_prose_code_and_units_alone():
    """'None of them', a title with 'True', $2,019M, 64.0%, and code cells are not raw values."""
    html = ("<p>None of them reaches it; True Costs (a title); $2,019M; 64.0%; 1,234 rows</p>"
            '<div class="cell_input"><pre>x = 0.123456789; flag = True</pre></div>')
    chunks = reader_chunks(html)
    assert findings(" ".join(chunks), chunks) == []


def test_no_page_shows_a_raw_value(built_book):
    pages = sorted([*built_book.glob("chapters/*.html"), *built_book.glob("book/*.html")])
    found = []
    for page in pages:
        chunks = reader_chunks(page.read_text(encoding="utf-8"))
        found += [f"{page.name}: {kind}: …{snippet}…" for kind, snippet in findings(" ".join(chunks), chunks)]
    assert not found, "\n".join(found[:20])
