"""Hyperscaler capex against operating cash flow, per company and combined, by calendar quarter (claim B2)."""

from __future__ import annotations

import pandas as pd

from .aggregate import calendar_sum
from .financials import financials
from .metrics import (
    get_capex_to_ocf,
    get_free_cash_flow,
    get_free_cash_flow_after_leases,
)
from .periods import calendar_quarter_end
from .universe import universe
from .verdicts import Verdict, at_least, through_text

ITEMS = ("capex", "operating_cash_flow", "finance_lease_principal_payments")
COMBINED = "Combined"


def hyperscalers() -> list[str]:
    """Tickers whose universe sub-layer is ``hyperscaler`` (AMZN, MSFT, GOOGL, META, ORCL)."""
    u = universe()
    return u.loc[u["sub_layer"] == "hyperscaler", "ticker"].tolist()


def _calendar_label(year, quarter) -> str:
    return f"{int(year)} Q{int(quarter)}"


def capex_vs_cash(tickers=None, freq: str = "TTM", since: int = 2018) -> pd.DataFrame:
    """Capex, operating cash flow and free cash flow per company and combined, by calendar quarter.

    Parameters
    ----------
    tickers : list of str, optional
        Defaults to `hyperscalers`.
    freq : {"TTM", "Q"}
        Trailing twelve months ending in each calendar quarter, or the quarter alone.
    since : int
        First calendar year shown.

    Returns
    -------
    pandas.DataFrame
        One row per ticker (and ``Combined``) and calendar quarter: ``capex``,
        ``operating_cash_flow``, ``finance_lease_principal_payments`` (USD), ``free_cash_flow``
        (OCF − capex), ``free_cash_flow_after_leases`` (also less finance-lease principal),
        ``capex_to_ocf``, ``quarter_end`` (the calendar quarter's last day), ``fiscal_label`` and
        ``period_end`` of the company's own quarter (NaT in combined rows), ``missing`` (companies lacking a value in a combined row).
        The combined row adds companies only over the same calendar quarter and is NaN where any
        company lacks the figure; the lease-adjusted combined figure is NaN where any company does
        not report finance-lease principal (Alphabet and Oracle do not, under us-gaap tags).
    """
    tickers = list(tickers or hyperscalers())
    table = financials(tickers, freq=freq, calendar=True, metrics=list(ITEMS))
    table = table[table["calendar_year"] >= since]
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    wide = table.set_index([*keys, "metric"])["value"].unstack("metric").reindex(columns=list(ITEMS))
    labels = table.groupby(keys).agg(fiscal_year=("fiscal_year", "first"), fiscal_period=("fiscal_period", "first"),
                                     period_end=("period_end", "max"))
    wide["fiscal_label"] = ("FY" + labels["fiscal_year"].astype(str) + " " + labels["fiscal_period"])
    wide["period_end"] = labels["period_end"]
    wide["missing"] = ""
    wide = wide.reset_index()
    sums = calendar_sum(table, by=None)
    combined = sums.set_index(["calendar_year", "calendar_quarter", "metric"])["value"].unstack("metric")
    combined = combined.reindex(columns=list(ITEMS))
    gaps = sums[sums["missing"] != ""].assign(text=lambda d: d["metric"] + ": " + d["missing"])
    gaps = gaps.groupby(["calendar_year", "calendar_quarter"])["text"].agg("; ".join)
    combined["missing"] = gaps.reindex(combined.index).fillna("")
    combined["fiscal_label"] = "calendar-aligned sum"
    combined = combined.reset_index().assign(ticker=COMBINED)
    out = pd.concat([wide, combined], ignore_index=True)
    out["free_cash_flow"] = get_free_cash_flow(out["operating_cash_flow"], out["capex"])
    out["free_cash_flow_after_leases"] = get_free_cash_flow_after_leases(
        out["operating_cash_flow"], out["capex"], out["finance_lease_principal_payments"])
    out["capex_to_ocf"] = get_capex_to_ocf(out["capex"], out["operating_cash_flow"])
    out["quarter_end"] = calendar_quarter_end(out["calendar_year"], out["calendar_quarter"])
    out["calendar_label"] = [_calendar_label(y, q) for y, q in zip(out["calendar_year"], out["calendar_quarter"],
                                                                     strict=True)]
    return out.sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


def since_when(series: pd.Series, threshold: float) -> pd.Timestamp | None:
    """Return the first date from which ``series`` stays at or above ``threshold`` to its end.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by date, ascending; NaN entries are skipped.

    Returns
    -------
    pandas.Timestamp or None
        None when the latest value is below the threshold.

    Examples
    --------
    >>> s = pd.Series([0.4, 0.7, 0.5, 0.8, 0.9], index=pd.date_range("2024-03-31", periods=5, freq="QE"))
    >>> since_when(s, 0.75)
    Timestamp('2025-03-31 00:00:00')
    """
    s = series.dropna()
    if s.empty or s.iloc[-1] < threshold:
        return None
    below = s[s < threshold]
    after = s.index[s.index > below.index[-1]] if not below.empty else s.index
    return after[0]


def combined_summary(frame: pd.DataFrame, threshold: float = 0.75) -> dict:
    """Summarise the combined capex/OCF series: latest value, peak, and since when above ``threshold``.

    Returns
    -------
    dict
        ``latest_label``, ``latest_ratio``, ``latest_capex``, ``latest_ocf``, ``latest_fcf``,
        ``latest_fcf_after_leases`` (NaN if not every company reports lease principal),
        ``first_label`` and ``first_ratio`` (the first quarter shown), ``peak_ratio``, ``peak_label``,
        ``above_since`` (calendar label or None), ``threshold``, ``negative_fcf_companies`` (tickers
        whose latest free cash flow is negative).
    """
    combined = (frame[frame["ticker"] == COMBINED].dropna(subset=["capex_to_ocf"])
                .sort_values("quarter_end").set_index("quarter_end"))
    latest = combined.iloc[-1]
    peak = combined["capex_to_ocf"].idxmax()
    since = since_when(combined["capex_to_ocf"], threshold)
    companies = frame[frame["ticker"] != COMBINED].dropna(subset=["free_cash_flow"])
    last_rows = companies.sort_values("quarter_end").groupby("ticker").tail(1)
    return {
        "latest_label": latest["calendar_label"], "latest_ratio": float(latest["capex_to_ocf"]),
        "latest_capex": float(latest["capex"]), "latest_ocf": float(latest["operating_cash_flow"]),
        "latest_fcf": float(latest["free_cash_flow"]),
        "latest_fcf_after_leases": float(latest["free_cash_flow_after_leases"]),
        "first_label": combined["calendar_label"].iloc[0], "first_ratio": float(combined["capex_to_ocf"].iloc[0]),
        "peak_ratio": float(combined.loc[peak, "capex_to_ocf"]), "peak_label": combined.loc[peak, "calendar_label"],
        "above_since": None if since is None else combined.loc[since, "calendar_label"],
        "threshold": threshold,
        "negative_fcf_companies": sorted(last_rows.loc[last_rows["free_cash_flow"] < 0, "ticker"]),
    }


def data_through(frame: pd.DataFrame, label: str) -> str:
    """Each company's own period end in the calendar quarter ``label``, as ISO dates grouped by date."""
    rows = frame[(frame["calendar_label"] == label) & (frame["ticker"] != COMBINED)]
    if "period_end" not in rows:
        return ""
    return through_text(dict(zip(rows["ticker"], rows["period_end"], strict=True)))


def verdict_b2(threshold: float = 0.75) -> Verdict:
    """Verdict on B2 from the snapshot (rule in `verdict`)."""
    return verdict(capex_vs_cash(), threshold=threshold)


def verdict(frame: pd.DataFrame, threshold: float = 0.75) -> Verdict:
    """Verdict on B2: hyperscaler capex has approached operating cash flow.

    The claim, as the essay states it: the five hyperscalers (AMZN, MSFT, META, GOOGL, ORCL) together
    now spend on capex nearly all the cash their operations bring in. Rule: *supported* when their
    combined trailing-twelve-month capex is at least ``threshold`` of their combined operating cash
    flow in the latest calendar quarter all five have filed (same calendar quarter for every company).

    Parameters
    ----------
    frame : pandas.DataFrame
        `capex_vs_cash` rows, the ``Combined`` row included.
    threshold : float
        The share of operating cash flow read as "approaching" it.

    Returns
    -------
    Verdict
    """
    summary = combined_summary(frame, threshold=threshold)
    compared = at_least(summary["latest_ratio"], threshold, unit="share",
                        measure=f"combined capex / operating cash flow, twelve months to calendar "
                                f"{summary['latest_label']}")
    combined = frame[frame["ticker"] == COMBINED].dropna(subset=["capex_to_ocf"]).sort_values("quarter_end")
    previous = combined.iloc[-2] if len(combined) > 1 else None
    before = (f" A quarter earlier ({previous['calendar_label']}) it was {previous['capex_to_ocf']:.1%}."
              if previous is not None else "")
    since = (f" The ratio has stayed at or above {threshold:.0%} since {summary['above_since']}."
             if summary["above_since"] else "")
    neg = summary["negative_fcf_companies"]
    neg_text = (f" Trailing free cash flow after capex is already negative for {', '.join(neg)}." if neg
                else " No company's trailing free cash flow is negative yet.")
    text = (
        f"In the twelve months to calendar {summary['latest_label']}, the five hyperscalers together spent "
        f"{summary['latest_ratio']:.1%} of their operating cash flow on capex (${summary['latest_capex'] / 1e9:,.0f}bn "
        f"of ${summary['latest_ocf'] / 1e9:,.0f}bn), up from {summary['first_ratio']:.0%} in "
        f"{summary['first_label']}.{before}{since} Combined free cash flow was "
        f"${summary['latest_fcf'] / 1e9:,.0f}bn.{neg_text}"
    )
    return Verdict(
        summary=text, **compared,
        numbers={"capex_to_ocf": summary["latest_ratio"], "quarter": summary["latest_label"],
                 "threshold": threshold, "capex": summary["latest_capex"], "ocf": summary["latest_ocf"],
                 "previous_capex_to_ocf": None if previous is None else float(previous["capex_to_ocf"])},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(hyperscalers()),
        data_through=data_through(frame, summary["latest_label"]),
    )
