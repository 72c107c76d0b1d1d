"""The published audit: derived figures reconciled against independently reported ones, per company-year."""

from __future__ import annotations

import pandas as pd

from .crosschecks import TOLERANCE
from .errors import ValueChainError
from .snapshot import load_table

CHECKS = ("3M vs YTD difference", "9M vs Q1+Q2+Q3", "TTM vs 4 quarters", "GP vs revenue − cost")


class AuditError(ValueChainError):
    """An exception in the reconciliation that no documented reason explains."""


def reason_kind(reason: str) -> str:
    """Group a mismatch reason: restatement, rounding, documented (tag change, vintage, IFRS line), unexplained."""
    if not reason:
        return ""
    if reason.startswith("restatement"):
        return "restatement"
    if reason.startswith("rounding"):
        return "rounding"
    if reason == "unexplained":
        return "unexplained"
    return "documented"


def company_years(checks: pd.DataFrame | None = None, financials: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per company and fiscal year in the snapshot with the reconciliation counts.

    Returns
    -------
    pandas.DataFrame
        ``ticker, fiscal_year``, one count column per check type (comparisons made), ``compared``,
        ``matched`` (within ±$2M), ``restatement``, ``rounding``, ``documented``, ``unexplained``,
        and ``note`` for company-years with nothing to compare (e.g. annual-only filers).
    """
    checks = load_table("crosschecks") if checks is None else checks
    financials = load_table("financials") if financials is None else financials
    years = (financials[financials["value"].notna()][["ticker", "fiscal_year"]].drop_duplicates()
             .sort_values(["ticker", "fiscal_year"]))
    c = checks.assign(kind=checks["reason"].fillna("").map(reason_kind))
    counts = c.pivot_table(index=["ticker", "fiscal_year"], columns="check", values="match", aggfunc="size",
                           fill_value=0).reindex(columns=list(CHECKS), fill_value=0)
    summary = c.groupby(["ticker", "fiscal_year"]).agg(compared=("match", "size"), matched=("match", "sum"))
    kinds = (c[c["kind"] != ""].pivot_table(index=["ticker", "fiscal_year"], columns="kind", values="match",
                                            aggfunc="size", fill_value=0)
             .reindex(columns=["restatement", "rounding", "documented", "unexplained"], fill_value=0))
    out = years.set_index(["ticker", "fiscal_year"]).join(counts).join(summary).join(kinds)
    out = out.fillna(0).astype(int).reset_index()
    out["note"] = ""
    out.loc[out["compared"] == 0, "note"] = "no independently reported figure to compare"
    return out


def exceptions(checks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every comparison outside ±$2M, with its reason."""
    checks = load_table("crosschecks") if checks is None else checks
    out = checks[~checks["match"].astype(bool)].copy()
    out["kind"] = out["reason"].map(reason_kind)
    return out.sort_values(["ticker", "fiscal_year", "check"]).reset_index(drop=True)


def counts(checks: pd.DataFrame | None = None) -> dict[str, int]:
    """Totals for the status page: compared, matched, exceptions by kind."""
    checks = load_table("crosschecks") if checks is None else checks
    exc = exceptions(checks)
    out = {"compared": int(len(checks)), "matched": int(checks["match"].astype(bool).sum()),
           "tolerance_usd": TOLERANCE}
    for kind in ("restatement", "rounding", "documented", "unexplained"):
        out[kind] = int((exc["kind"] == kind).sum())
    return out


def assert_explained(checks: pd.DataFrame | None = None) -> None:
    """Raise `AuditError` listing every unexplained exception (the book build fails on it)."""
    exc = exceptions(checks)
    bad = exc[exc["kind"] == "unexplained"]
    if not bad.empty:
        lines = [f"{r.ticker} FY{r.fiscal_year} {r.metric} ({r.check}): reported {r.reported:,.0f} vs derived "
                 f"{r.derived:,.0f}" for r in bad.itertuples()]
        raise AuditError(f"{len(bad)} unexplained reconciliation exception(s):\n" + "\n".join(lines))
