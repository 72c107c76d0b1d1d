"""Scaffold a new thesis chapter: notebook, table-of-contents entry, claims-ledger row and smoke test.

``python -m valuechain_lib new-chapter "Memory is the new bottleneck" --claim-id C1 --claim "..."``
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .errors import ValueChainError
from .paths import PACKAGE_DIR

REPO_ROOT = PACKAGE_DIR.parent
THESES_CAPTION = "The theses"

CHAPTER_TEMPLATE = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

({label})=
# {title}

## Overview

State the claim this chapter tests (**{claim_id}**: {claim}), cite the essay it comes from by title and
date, and say what data will settle it.

```{{code-cell}} ipython3
:tags: [hide-cell]

import altair as alt

import valuechain_lib as vc
from valuechain_lib import book, claims
from valuechain_lib.charts import figure

tickers = ["NVDA", "AMD", "AVGO"]
revenue = vc.financials(tickers, freq="TTM", calendar=True, metrics="revenue").dropna(subset=["value"])
dates = book.as_of(tickers)
```

## The data

```{{code-cell}} ipython3
:tags: [remove-input]

shown = revenue[["ticker", "period_end", "calendar_year", "calendar_quarter", "value", "accession"]].copy()
shown["usd_bn"] = shown["value"] / 1e9
chart = alt.Chart(shown).mark_line().encode(
    x=alt.X("period_end:T", title="Period end"),
    y=alt.Y("usd_bn:Q", title="USD billion"),
    color=alt.Color("ticker:N", title=None),
)
leader = shown.sort_values("period_end").groupby("ticker").tail(1).sort_values("value").iloc[-1]
figure(
    chart, shown, name="{slug}-revenue",
    title=f"{{leader['ticker']}} has the largest trailing revenue of the three",
    subtitle="Revenue, USD billion, trailing twelve months, calendar-aligned",
    source=book.sec_source_line(tickers),
    note="Replace this example with the chapter's own evidence.",
    as_of=dates["filings"],
    alt_text="Line chart of trailing-twelve-month revenue for three companies.",
)
```

## Summary

```{{code-cell}} ipython3
:tags: [remove-input]

claims.show("{claim_id}")
```
'''

TEST_TEMPLATE = '''"""Smoke test of the chapter "{title}": it executes without error and draws its chart."""

from pathlib import Path

import pytest

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "{slug}.md"


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])  # the notebook kernel talks to the test over loopback only
def test_chapter_{func}_executes():
    import jupytext
    import nbclient

    notebook = jupytext.read(CHAPTER)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={{"metadata": {{"path": str(CHAPTER.parent)}}}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"], "a cell wrote to stderr"
    html = "".join(o.get("data", {{}}).get("text/html", "") for o in outputs)
    assert 'class="vc-chart"' in html
'''


class ScaffoldError(ValueChainError):
    """A chapter that cannot be scaffolded (name taken, claim id taken, no theses part in the TOC)."""


def slugify(title: str) -> str:
    """Return a file-name slug: lower case, ASCII letters and digits joined by underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    if not slug:
        raise ScaffoldError(f"title {title!r} gives an empty file name")
    return slug


def _add_to_toc(toc_path: Path, entry: str) -> None:
    lines = toc_path.read_text(encoding="utf-8").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"- caption: {THESES_CAPTION}")
    except StopIteration as exc:
        raise ScaffoldError(f"{toc_path}: no part captioned {THESES_CAPTION!r}") from exc
    last = start
    for i in range(start + 1, len(lines)):
        if lines[i].strip().startswith("- caption:"):
            break
        if lines[i].strip().startswith("- file:"):
            last = i
    indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())] if last != start else "      "
    lines.insert(last + 1, f"{indent}- file: {entry}")
    toc_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _add_claim(claims_path: Path, claim_id: str, claim: str, chapter: str) -> None:
    with open(claims_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(reader)
    if any(r["claim_id"] == claim_id for r in rows):
        raise ScaffoldError(f"claim id {claim_id!r} is already in {claims_path}")
    row = {"claim_id": claim_id, "essay": "fork", "kind": "claim", "claim": claim, "chapter": chapter,
           "section": "summary", "rule": "valuechain_lib.claims:not_testable",
           "params": "reason=No rule written yet: set this row's rule and parameters in data/claims.csv",
           "rationale": "To be written with the chapter's rule"}
    with open(claims_path, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=columns, lineterminator="\n").writerow(row)


def new_chapter(title: str, claim_id: str, claim: str, root: Path | None = None) -> dict[str, Path]:
    """Create a chapter from the house template and register it.

    Parameters
    ----------
    title : str
        The chapter's title (its H1); the file name is its slug.
    claim_id : str
        A new id for the claim the chapter tests (e.g. ``C1``), added to ``data/claims.csv``.
    claim : str
        The claim in one sentence.
    root : Path, optional
        The repository root (default: this checkout).

    Returns
    -------
    dict
        Paths written: ``chapter``, ``test``, ``toc``, ``claims``.
    """
    root = Path(root or REPO_ROOT)
    slug = slugify(title)
    chapter = root / "chapters" / f"{slug}.md"
    test = root / "tests" / f"test_chapter_{slug}.py"
    for path in (chapter, test):
        if path.exists():
            raise ScaffoldError(f"{path} already exists; choose another title")
    if not re.fullmatch(r"[A-Z][A-Z0-9]*\d+", claim_id):
        raise ScaffoldError(f"claim id {claim_id!r} should look like C1 (letters then a number)")
    _add_claim(root / "data" / "claims.csv", claim_id, claim, f"chapters/{slug}")
    _add_to_toc(root / "_toc.yml", f"chapters/{slug}")
    chapter.write_text(CHAPTER_TEMPLATE.format(label=slug.replace("_", "-"), title=title, claim_id=claim_id,
                                               claim=claim, slug=slug.replace("_", "-")), encoding="utf-8")
    test.write_text(TEST_TEMPLATE.format(title=title, slug=slug, func=slug), encoding="utf-8")
    return {"chapter": chapter, "test": test, "toc": root / "_toc.yml", "claims": root / "data" / "claims.csv"}
