"""Scaffold a fork's thesis chapter: notebook, TOC entry, claims-ledger row, starter rule and its tests.

``python -m valuechain_lib new-chapter "Memory is the new bottleneck" --claim-id X1 --claim "..."``

Fork claim ids start with `valuechain_lib.claims.ledger.FORK_PREFIX` (``X1``, ``X2``, …); the book keeps every
other letter for its own claims. Everything is checked before anything is written, and then every file
is written or none.
"""

from __future__ import annotations

import csv
import io
import keyword
import os
import re
from pathlib import Path

from valuechain_lib.claims import ledger as claims
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import PACKAGE_DIR

REPO_ROOT = PACKAGE_DIR.parent
THESES_CAPTION = "The theses"
MAX_SLUG = 60

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
date, and say what data will settle it. The claim's rule is `{rule_spec}` in `{rule_path}`.

```{{code-cell}} ipython3
:tags: [hide-cell]

import altair as alt

import valuechain_lib as vc
from valuechain_lib.publish import book
from valuechain_lib.claims import ledger as claims
from valuechain_lib.publish.charts import figure

tickers = ["NVDA", "AMD", "AVGO"]
revenue = vc.financials(tickers, freq="TTM", calendar=True, metrics="revenue").dropna(subset=["value"])
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
    chart, shown, name="{label}-revenue",
    title=f"{{leader['ticker']}} has the largest trailing revenue of the three",
    subtitle="Revenue, USD billion, trailing twelve months, calendar-aligned",
    source=book.sec_source_line(tickers),
    note="Replace this example with the chapter's own evidence.",
    data_through=book.data_through(shown),
    alt_text="Line chart of trailing-twelve-month revenue for three companies.",
)
```

## Summary

```{{code-cell}} ipython3
:tags: [remove-input]

claims.show("{claim_id}")
```
'''

RULE_TEMPLATE = '''"""The rule of a fork's claim (CLAIM_ID, stated in CLAIM), written as a starter by ``new-chapter``.

The starter measures the largest company's share of the group's combined trailing-twelve-month revenue
in the latest calendar quarter every company has reported (the chapter's example chart), and says the
claim holds when that share is at least the ledger's ``threshold``. Replace the measure with your
claim's, keep the threshold in ``data/claims.csv``, and keep the flip test in {test_path} in step.
"""

from __future__ import annotations

import pandas as pd

import valuechain_lib as vc
from valuechain_lib.errors import ValueChainError
from valuechain_lib.claims.verdicts import Verdict, at_least, through_text

CLAIM_ID = {claim_id!r}
CLAIM = {claim!r}
TICKERS = ("NVDA", "AMD", "AVGO")


class MissingCompanyError(ValueChainError):
    """A company the rule needs has no revenue in the data it is given (e.g. as of an earlier date)."""


def leader_share(revenue: pd.DataFrame, threshold: float) -> Verdict:
    """Score the claim on trailing revenue rows: the largest company's share of the group's total.

    Parameters
    ----------
    revenue : pandas.DataFrame
        One row per company and calendar quarter: ``ticker``, ``calendar_year``, ``calendar_quarter``,
        ``period_end``, ``value`` (TTM revenue, USD).
    threshold : float
        The share (a fraction) at or above which the claim holds.

    Returns
    -------
    Verdict
        Supported when the leader's share is at least ``threshold``, otherwise not supported.
    """
    companies = revenue["ticker"].nunique()
    reporting = revenue.groupby(["calendar_year", "calendar_quarter"])["ticker"].nunique()
    common = reporting[reporting == companies]
    if common.empty:
        raise MissingCompanyError("no calendar quarter in which every company has reported revenue")
    year, quarter = common.index.max()
    latest = revenue[(revenue["calendar_year"] == year) & (revenue["calendar_quarter"] == quarter)]
    latest = latest.sort_values("value", ascending=False)
    leader = latest.iloc[0]
    share = float(leader["value"] / latest["value"].sum())
    compared = at_least(share, threshold, unit="share",
                        measure=f"{{leader['ticker']}}'s share of the group's TTM revenue, {{year}} Q{{quarter}}")
    summary = (f"In the four quarters to calendar {{year}} Q{{quarter}}, {{leader['ticker']}} earned {{share:.1%}} "
               f"of the {{companies}} companies' combined revenue, against a threshold of {{threshold:.0%}}.")
    return Verdict(summary=summary, numbers={{r.ticker: float(r.value) for r in latest.itertuples()}},
                   sources="SEC EDGAR XBRL filings (revenue, trailing twelve months)",
                   data_through=through_text(dict(zip(latest["ticker"], latest["period_end"], strict=True))),
                   **compared)


def {function}(threshold: float) -> Verdict:
    """The claim as CLAIM states it, scored by `leader_share` on the snapshot's filings.

    Parameters
    ----------
    threshold : float
        From the claim's row in ``data/claims.csv`` (``params`` = ``threshold=0.5``).

    Returns
    -------
    Verdict
    """
    revenue = vc.financials(list(TICKERS), freq="TTM", calendar=True, metrics="revenue").dropna(subset=["value"])
    missing = sorted(set(TICKERS) - set(revenue["ticker"]))
    if missing:
        raise MissingCompanyError(f"no trailing revenue for {{', '.join(missing)}}")
    return leader_share(revenue, threshold)
'''

TEST_TEMPLATE = '''"""Tests of a fork's chapter (TITLE) and its claim's rule: the rule flips at its threshold, the chapter runs."""

from pathlib import Path

import pandas as pd
import pytest

from valuechain_lib.forks import {module} as rule

TITLE = {title!r}
CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "{slug}.md"


def _revenue(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({{"ticker": list(values), "calendar_year": 2025, "calendar_quarter": 4,
                          "period_end": pd.Timestamp("2025-12-31"), "value": list(values.values())}})


@pytest.mark.fast
def test_rule_flips_at_its_threshold():
    """Known answer: 60 of a total of 100 is a 60% share; supported at a 50% threshold, not at 70%."""
    revenue = _revenue({{"AAA": 60.0, "BBB": 30.0, "CCC": 10.0}})
    holds = rule.leader_share(revenue, threshold=0.5)
    assert holds.status == "supported"
    assert holds.measured == pytest.approx(0.6)
    assert holds.distance_to_flip == pytest.approx(0.1)
    assert rule.leader_share(revenue, threshold=0.7).status == "not supported"


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])  # the notebook kernel talks to the test over loopback only
def test_chapter_{slug}_executes():
    """The chapter runs against the committed snapshot, writes nothing to stderr and draws its chart."""
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
    """A chapter that cannot be scaffolded: bad title, claim or id, a name taken, no theses part in the TOC."""


def slugify(title: str) -> str:
    """Return a file-name slug: lower case, ASCII letters and digits joined by underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    if not slug:
        raise ScaffoldError(f"title {title!r} gives an empty file name: use some letters or digits")
    return slug


def module_name(slug: str) -> str:
    """The fork rule's module name: the slug, prefixed where it is no Python name (a digit first, a keyword)."""
    return slug if slug.isidentifier() and not keyword.iskeyword(slug) else f"chapter_{slug}"


def next_fork_id(taken) -> str:
    """The lowest fork claim id (``X1``, ``X2``, …) not in ``taken``."""
    n = 1
    while f"{claims.FORK_PREFIX}{n}" in set(taken):
        n += 1
    return f"{claims.FORK_PREFIX}{n}"


def _one_line(text: str, what: str, flag: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ScaffoldError(f"the {what} is empty: give it with {flag}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ScaffoldError(f"the {what} {text!r} must be one line of text (no line breaks or control characters)")
    return text.strip()


def _check_claim_id(claim_id: str, taken, book_claim: bool) -> None:
    prefix = claims.FORK_PREFIX
    if not isinstance(claim_id, str) or not claims.CLAIM_ID.fullmatch(claim_id):
        raise ScaffoldError(f"claim id {claim_id!r} should be capital letters then a number with no spaces, "
                            f"like {next_fork_id(taken)}")
    if book_claim and claim_id.startswith(prefix):
        raise ScaffoldError(f"claim id {claim_id!r}: ids starting with {prefix} are reserved for forks")
    if not book_claim and not re.fullmatch(rf"{prefix}[0-9]+", claim_id):
        raise ScaffoldError(f"claim id {claim_id!r} is not a fork id: a fork's claims are numbered {prefix}1, "
                            f"{prefix}2, … (the book keeps the other letters for its own claims); "
                            f"use {next_fork_id(taken)}")
    if claim_id in set(taken):
        raise ScaffoldError(f"claim id {claim_id!r} is already in data/claims.csv; "
                            f"the next free fork id is {next_fork_id(taken)}")


def _toc_with(toc_text: str, entry: str) -> str:
    lines = toc_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"- caption: {THESES_CAPTION}")
    except StopIteration as exc:
        raise ScaffoldError(f"_toc.yml has no part captioned {THESES_CAPTION!r} to add the chapter to") from exc
    if any(re.fullmatch(rf"-\s*file:\s*{re.escape(entry)}(\.md)?", line.strip()) for line in lines):
        raise ScaffoldError(f"_toc.yml already lists {entry}; choose another title")
    last = start
    for i in range(start + 1, len(lines)):
        if lines[i].strip().startswith("- caption:"):
            break
        if lines[i].strip().startswith("- file:"):
            last = i
    indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())] if last != start else "      "
    lines.insert(last + 1, f"{indent}- file: {entry}")
    return "\n".join(lines) + "\n"


def _ledger_with(ledger_text: str, row: dict) -> str:
    columns = next(csv.reader(io.StringIO(ledger_text)))
    if columns != claims.CLAIM_COLUMNS:
        raise ScaffoldError(f"data/claims.csv has columns {columns}, not {claims.CLAIM_COLUMNS}")
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n").writerow(row)
    separator = "" if ledger_text.endswith("\n") else "\n"
    return ledger_text + separator + buffer.getvalue()


def _compile(text: str, path: Path) -> None:
    """Refuse to write Python (a module, or a chapter's code cells) that does not compile."""
    sources = [text] if path.suffix == ".py" else re.findall(r"```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*(.*?)```",
                                                               text, flags=re.S)
    for source in sources:
        try:
            compile(source, str(path), "exec")
        except SyntaxError as exc:
            raise ScaffoldError(f"the scaffold would write invalid Python to {path} ({exc.msg}, line "
                                f"{exc.lineno}); nothing was written") from exc


def plan_chapter(title: str, claim_id: str, claim: str, root: Path | None = None,
                 book_claim: bool = False) -> dict[Path, str]:
    """Check everything `new_chapter` needs and return the text of every file it writes, writing nothing.

    Parameters
    ----------
    title, claim_id, claim, root, book_claim
        As in `new_chapter`.

    Returns
    -------
    dict
        Path → full new text: the chapter, its test, the starter rule, ``_toc.yml`` and ``data/claims.csv``.

    Raises
    ------
    ScaffoldError
        An empty or multi-line title or claim, a title without letters or digits (or too long a file
        name), a claim id of the wrong shape, outside the fork prefix or already in the ledger, a ledger
        that does not load, a table of contents without the theses part or already listing the chapter,
        or a file that already exists.
    """
    root = Path(root or REPO_ROOT)
    title = _one_line(title, "title", "the first argument")
    claim = _one_line(claim, "claim", "--claim")
    slug = slugify(title)
    if len(slug) > MAX_SLUG:
        raise ScaffoldError(f"title {title!r} gives a file name of {len(slug)} characters; "
                            f"use a shorter title (at most {MAX_SLUG})")
    ledger_path, toc_path = root / "data" / "claims.csv", root / "_toc.yml"
    for path in (ledger_path, toc_path):
        if not path.is_file():
            raise ScaffoldError(f"{path} does not exist: run new-chapter in the repository's root")
    try:
        ledger = claims.ledger(ledger_path)
    except ValueChainError as exc:
        raise ScaffoldError(f"data/claims.csv does not load, so nothing was written: {exc}") from exc
    _check_claim_id(claim_id, ledger["claim_id"], book_claim)
    module = module_name(slug)
    function = f"verdict_{claim_id.lower()}"
    entry = f"chapters/{slug}"
    chapter = root / "chapters" / f"{slug}.md"
    test = root / "tests" / f"test_chapter_{slug}.py"
    rule = root / "valuechain_lib" / "forks" / f"{module}.py"
    for path in (chapter, test, rule):
        if path.exists():
            raise ScaffoldError(f"{path} already exists; choose another title")
    rule_spec = f"{claims.FORKS_PACKAGE}.{module}:{function}"
    rule_path = f"valuechain_lib/forks/{module}.py"
    row = {"claim_id": claim_id, "essay": "fork", "kind": "claim", "claim": claim, "chapter": entry,
           "section": "summary", "rule": "valuechain_lib.claims.ledger:not_testable",
           "params": f"reason=No rule is set for this claim yet: the starter is {rule_spec} in {rule_path}",
           "rationale": "To be written with the claim's rule"}
    texts = {
        chapter: CHAPTER_TEMPLATE.format(label=slug.replace("_", "-"), title=title, claim_id=claim_id,
                                         claim=claim, rule_spec=rule_spec, rule_path=rule_path),
        test: TEST_TEMPLATE.format(title=title, slug=slug, module=module),
        rule: RULE_TEMPLATE.format(claim_id=claim_id, claim=claim, function=function,
                                   test_path=f"tests/{test.name}"),
        toc_path: _toc_with(toc_path.read_text(encoding="utf-8"), entry),
        ledger_path: _ledger_with(ledger_path.read_text(encoding="utf-8"), row),
    }
    for path in (chapter, test, rule):
        _compile(texts[path], path)
    return texts


def _write_all(texts: dict[Path, str]) -> None:
    """Write every file or, on any failure, put back what was there and remove what was new."""
    originals = {path: path.read_bytes() if path.exists() else None for path in texts}
    made_dirs, written = [], []
    try:
        for path, text in texts.items():
            missing = [p for p in reversed(path.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.extend(missing)
            staged = path.with_name(f".{path.name}.new")
            staged.write_text(text, encoding="utf-8")
            os.replace(staged, path)
            written.append(path)
    except BaseException:
        for path in texts:
            path.with_name(f".{path.name}.new").unlink(missing_ok=True)
        for path in written:
            if originals[path] is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(originals[path])
        for folder in reversed(made_dirs):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def new_chapter(title: str, claim_id: str, claim: str, root: Path | None = None,
                book_claim: bool = False) -> dict[str, Path]:
    """Create a fork's chapter from the house template and register it, all or nothing.

    Parameters
    ----------
    title : str
        The chapter's title (its H1); the file name is its slug.
    claim_id : str
        A new id for the claim the chapter tests: a fork id (``X1``, ``X2``, …), added to
        ``data/claims.csv``.
    claim : str
        The claim in one sentence.
    root : Path, optional
        The repository root (default: this checkout).
    book_claim : bool
        Allow an id outside the fork prefix (the book's own claims), never an ``X`` id.

    Returns
    -------
    dict
        Paths written: ``chapter``, ``rule`` (the starter rule in ``valuechain_lib/forks/``), ``test``,
        ``toc``, ``claims``.
    """
    root = Path(root or REPO_ROOT)
    texts = plan_chapter(title, claim_id, claim, root=root, book_claim=book_claim)
    _write_all(texts)
    chapter, test, rule, toc, ledger = texts
    return {"chapter": chapter, "rule": rule, "test": test, "toc": toc, "claims": ledger}
