"""Every chapter shows the same verdict as the scorecard, and the scorecard's CSV carries it.

Reads the built book (`built_book` builds it when a source is newer): each ``div.vc-verdict`` carries
``data-claim``, ``data-status`` and ``data-measured``, written by the one renderer
(`valuechain_lib.claims.verdicts.render`) from the ledger's evaluation.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser

import pytest

from valuechain_lib.claims import ledger as claims

pytestmark = pytest.mark.slow


class _VerdictBlocks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.blocks: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "vc-verdict" in (attrs.get("class") or "").split():
            self.blocks.append({"claim": attrs["data-claim"], "status": attrs["data-status"],
                                "measured": attrs["data-measured"]})


def _blocks(path) -> list[dict]:
    parser = _VerdictBlocks()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.blocks


def test_every_chapter_shows_the_scorecards_verdict(built_book):
    """For each claim the ledger places in a chapter, that chapter shows a verdict block for it, and
    every block on every chapter page equals the scorecard's block for the same claim."""
    score = {b["claim"]: b for b in _blocks(built_book / "book" / "scorecard.html")}
    ledger = claims.ledger()
    assert set(score) == set(ledger["claim_id"]), "the scorecard shows every claim once"
    shown: dict[str, set[str]] = {}
    for page in (built_book / "chapters").glob("*.html"):
        for block in _blocks(page):
            assert block == score[block["claim"]], f"{page.name}: {block} differs from the scorecard"
            shown.setdefault(block["claim"], set()).add(f"chapters/{page.stem}")
    for row in ledger.itertuples():
        if row.chapter:
            assert row.chapter in shown.get(row.claim_id, set()), f"{row.chapter} shows no verdict on {row.claim_id}"


def test_scorecard_csv_matches_the_page(built_book):
    """The verdict table download has the documented columns and the page's statuses."""
    with open(built_book / "_static" / "data" / "verdicts.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == claims.VERDICT_TABLE_COLUMNS
    score = {b["claim"]: b for b in _blocks(built_book / "book" / "scorecard.html")}
    assert {r["claim_id"]: r["verdict"] for r in rows} == {c: b["status"] for c, b in score.items()}
    for r in rows:
        if r["threshold"] == "n/a":
            assert r["distance_to_flip"] == "n/a", r["claim_id"]
        else:
            assert float(r["distance_to_flip"]) >= 0, r["claim_id"]


def test_scorecard_links_the_verdict_table_first(built_book):
    """The first CSV link on the scorecard page is the verdict table."""
    text = (built_book / "book" / "scorecard.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+\.csv)"', text)
    assert links and links[0].endswith("/verdicts.csv"), links[:3]
