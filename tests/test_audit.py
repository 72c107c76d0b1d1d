"""The published audit: counts per company-year and a build that fails on an unexplained exception."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib import audit
from valuechain_lib.book import REPO_ROOT
from valuechain_lib.snapshot import load_table


@pytest.mark.fast
def test_every_company_year_of_the_snapshot_is_listed():
    """One row per (company, fiscal year) with any value in the financials table."""
    fin = load_table("financials")
    expected = set(map(tuple, fin[fin["value"].notna()][["ticker", "fiscal_year"]].drop_duplicates().to_numpy()))
    years = audit.company_years()
    assert set(zip(years["ticker"], years["fiscal_year"], strict=True)) == expected
    assert (years["matched"] <= years["compared"]).all()
    assert (years["compared"] - years["matched"]
            == years[["restatement", "rounding", "documented", "unexplained"]].sum(axis=1)).all()


@pytest.mark.fast
def test_committed_snapshot_has_no_unexplained_exception():
    audit.assert_explained()
    assert audit.counts()["unexplained"] == 0


@pytest.mark.fast
def test_seeded_unexplained_exception_fails_the_audit():
    """A mismatch with no reason (as a new bad figure would give) makes the audit cell raise."""
    checks = load_table("crosschecks")
    seeded = checks.iloc[[0]].copy()
    seeded[["match", "reason", "reported", "derived"]] = [False, "unexplained", 1_050_000_000.0, 1_000_000_000.0]
    with pytest.raises(audit.AuditError, match=rf"{seeded['ticker'].iloc[0]} FY{seeded['fiscal_year'].iloc[0]}"):
        audit.assert_explained(pd.concat([checks, seeded], ignore_index=True))


@pytest.mark.fast
def test_audit_page_calls_the_gate():
    """The page runs `assert_explained` before anything else, so the build fails on an exception."""
    text = (REPO_ROOT / "book" / "audit.md").read_text()
    assert "audit.assert_explained()" in text.split("## Every company-year")[0]


@pytest.mark.fast
@pytest.mark.parametrize(("reason", "kind"), [
    ("restatement: the figures compared come from filings before and after a restatement", "restatement"),
    ("rounding: figures reported to the nearest 10,000,000", "rounding"),
    ("tag change: Amazon's fiscal 2016 annual capex ...", "documented"),
    ("unexplained", "unexplained"), ("", ""),
])
def test_reason_kinds(reason, kind):
    assert audit.reason_kind(reason) == kind
