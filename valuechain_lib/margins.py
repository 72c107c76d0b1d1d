"""Margins by company and the profit pool by layer, calendar-aligned (claims A3, A8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .aggregate import profit_pool
from .errors import ValueChainError
from .financials import financials
from .metrics import get_gross_margin, get_gross_profit, get_operating_margin
from .periods import calendar_quarter_end
from .universe import universe
from .verdicts import Verdict, within

POOL_METRICS = ("revenue", "operating_income")


def complete_panel(table: pd.DataFrame, metrics, since_year: int, until=None) -> tuple[list[str], dict[str, str]]:
    """Split companies into those with every calendar quarter of ``metrics`` in the window and the rest.

    Parameters
    ----------
    table : pandas.DataFrame
        Calendar-aligned tidy rows (one frequency).
    metrics : sequence of str
    since_year : int
        First calendar year of the window.
    until : tuple (year, quarter), optional
        Last calendar quarter of the window; defaults to the most common last quarter among the
        companies (the earlier one on a tie), so a quarter only a few have reported does not
        exclude the rest.

    Returns
    -------
    (kept, excluded)
        ``kept``: tickers with a value for every metric and quarter; ``excluded``: ticker → reason
        (first and last quarter present, or the quarters missing).
    """
    rows = table[table["metric"].isin(metrics) & (table["calendar_year"] >= since_year)]
    rows = rows.assign(qi=rows["calendar_year"].astype(int) * 4 + rows["calendar_quarter"].astype(int) - 1)
    have = rows[rows["value"].notna()]
    if until is None:
        last_by_company = have.groupby("ticker")["qi"].max()
        last = int(last_by_company.mode().min())  # the quarter most companies have reached; ties: earlier
    else:
        last = until[0] * 4 + until[1] - 1
    first = since_year * 4
    span = set(range(first, last + 1))
    kept, excluded = [], {}
    for ticker, group in rows.groupby("ticker"):
        missing = []
        for metric in metrics:
            got = set(group.loc[(group["metric"] == metric) & group["value"].notna(), "qi"])
            lacking = sorted(span - got)
            if lacking:
                missing.append(f"{metric} lacks {len(lacking)} of {len(span)} quarters "
                               f"(first gap {lacking[0] // 4} Q{lacking[0] % 4 + 1})")
        if missing:
            excluded[ticker] = "; ".join(missing)
        else:
            kept.append(ticker)
    return kept, excluded


def layer_pool(since_year: int = 2021, freq: str = "TTM") -> tuple[pd.DataFrame, dict[str, str]]:
    """Revenue and operating income pooled by layer, by calendar quarter, over a fixed set of companies.

    Only companies reporting in USD with every quarter of the window are pooled, so the pool does
    not jump when a company enters the data; the others are returned with the reason.

    Returns
    -------
    (pool, excluded)
        ``pool``: one row per layer and calendar quarter with ``revenue``, ``operating_income`` (USD)
        and ``operating_margin``, ``companies`` (the tickers pooled) and ``quarter_end``;
        ``excluded``: ticker → reason.
    """
    u = universe()
    table = financials(freq=freq, calendar=True, metrics=list(POOL_METRICS))
    usd = set(u.loc[u["currency"] == "USD", "ticker"])
    other_currency = {t: f"reports in {c} (no exchange rate applied)" for t, c in
                      u.set_index("ticker")["currency"].items() if t not in usd and t in set(table["ticker"])}
    table = table[table["ticker"].isin(usd)]
    kept, excluded = complete_panel(table, POOL_METRICS, since_year)
    excluded.update(other_currency)
    last_q = table[table["ticker"].isin(kept) & table["value"].notna()]
    last = last_q.groupby("ticker").apply(
        lambda g: int(g["calendar_year"].max()) * 4 + int(g.loc[g["calendar_year"] == g["calendar_year"].max(),
                                                               "calendar_quarter"].max()) - 1,
        include_groups=False).min()
    table = table[table["ticker"].isin(kept) & (table["calendar_year"] >= since_year)]
    qi = table["calendar_year"].astype(int) * 4 + table["calendar_quarter"].astype(int) - 1
    table = table[qi <= last]
    pool = profit_pool(table, u, metrics=POOL_METRICS)
    wide = pool.set_index(["layer", "calendar_year", "calendar_quarter", "metric"])["value"].unstack("metric")
    wide = wide.reset_index()
    wide["operating_margin"] = get_operating_margin(wide["operating_income"], wide["revenue"])
    members = u[u["ticker"].isin(kept)].groupby("layer")["ticker"].agg(lambda t: ", ".join(sorted(t)))
    wide["companies"] = wide["layer"].map(members)
    wide["quarter_end"] = calendar_quarter_end(wide["calendar_year"], wide["calendar_quarter"])
    return wide.sort_values(["layer", "quarter_end"]).reset_index(drop=True), excluded


def pooled_tickers(pool: pd.DataFrame) -> list[str]:
    """The tickers `layer_pool` pooled, across all layers (for source lines and as-of dates)."""
    return sorted({t for members in pool["companies"].dropna().unique() for t in members.split(", ")})


def company_margins(since_year: int = 2021, freq: str = "TTM") -> pd.DataFrame:
    """Gross and operating margins per company by calendar quarter.

    Gross profit is the reported line where there is one; for companies that report cost of revenue
    but no gross-profit line (Alphabet, Meta, Amazon) it is computed as revenue − cost of revenue,
    and ``gross_profit_basis`` says so. Companies with neither (Oracle after fiscal 2018) stay NaN.

    Returns
    -------
    pandas.DataFrame
        ``ticker, layer, sub_layer, calendar_year, calendar_quarter, quarter_end, fiscal_label, period_end``
        (the company's own period end), ``revenue,
        gross_profit, operating_income, gross_margin, operating_margin, gross_profit_basis, unit``.
    """
    u = universe().set_index("ticker")
    table = financials(freq=freq, calendar=True,
                       metrics=["revenue", "gross_profit", "cost_of_revenue", "operating_income"])
    table = table[table["calendar_year"] >= since_year]
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    wide = table.set_index([*keys, "metric"])["value"].unstack("metric")
    labels = table.groupby(keys).agg(fiscal_year=("fiscal_year", "first"), fiscal_period=("fiscal_period", "first"),
                                     unit=("unit", "first"), period_end=("period_end", "max"))
    wide = wide.join(labels).reset_index()
    computed = wide["gross_profit"].isna() & wide["revenue"].notna() & wide["cost_of_revenue"].notna()
    wide["gross_profit_basis"] = np.where(wide["gross_profit"].notna(), "reported",
                                          np.where(computed, "computed: revenue − cost of revenue", "missing"))
    wide["gross_profit"] = wide["gross_profit"].where(
        ~computed, get_gross_profit(wide["revenue"], wide["cost_of_revenue"]))
    wide["gross_margin"] = get_gross_margin(wide["gross_profit"], wide["revenue"])
    wide["operating_margin"] = get_operating_margin(wide["operating_income"], wide["revenue"])
    wide["layer"] = wide["ticker"].map(u["layer"])
    wide["sub_layer"] = wide["ticker"].map(u["sub_layer"])
    wide["fiscal_label"] = "FY" + wide["fiscal_year"].astype(str) + " " + wide["fiscal_period"]
    wide["quarter_end"] = calendar_quarter_end(wide["calendar_year"], wide["calendar_quarter"])
    wide = wide.dropna(subset=["revenue"])
    cols = ["ticker", "layer", "sub_layer", "calendar_year", "calendar_quarter", "quarter_end", "fiscal_label",
            "period_end", "revenue", "gross_profit", "operating_income", "gross_margin", "operating_margin",
            "gross_profit_basis", "unit"]
    return wide[cols].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


def latest_margins(margins: pd.DataFrame) -> pd.DataFrame:
    """The latest calendar quarter of `company_margins` per company."""
    return margins.sort_values("quarter_end").groupby("ticker").tail(1).sort_values(
        "operating_margin", ascending=False).reset_index(drop=True)


def hourglass_verdict(pool: pd.DataFrame) -> str:
    """Return the verdict on claim A8 (value at the ends, the middle squeezed) from `layer_pool`.

    Rule: *supported* when, in the latest calendar quarter, the pooled operating margin of the
    midstream is below both the upstream's and the downstream's; *mixed* when below one of them;
    *not supported* when above both. Consolidated figures mix businesses (Amazon's retail, Microsoft's
    Office), which the chapter shows beside segment figures.
    """
    latest = pool[pool["quarter_end"] == pool["quarter_end"].max()].set_index("layer")["operating_margin"]
    mid = latest["midstream"]
    below = int(mid < latest["upstream"]) + int(mid < latest["downstream"])
    status = {2: "supported", 1: "mixed", 0: "not supported"}[below]
    quarter = pool["quarter_end"].max()
    return (
        f"**Verdict on A8: {status}.** On consolidated figures, in the twelve months to {quarter:%Y-%m-%d} the "
        f"pooled operating margin was {latest['upstream']:.0%} upstream, {mid:.0%} in the middle and "
        f"{latest['downstream']:.0%} downstream."
    )


def verdict_a3(claimed: float = 0.70, tolerance: float = 0.05) -> Verdict:
    """Verdict on A3 from the snapshot (rule in `nvidia_verdict`)."""
    return nvidia_verdict(company_margins(), claimed=claimed, tolerance=tolerance)


def nvidia_verdict(margins: pd.DataFrame, claimed: float = 0.70, tolerance: float = 0.05) -> Verdict:
    """Verdict on A3: Nvidia captures the rent with an operating margin of about 70%.

    The claim, as the essay states it: Nvidia's operating margin, from its filings, is about 70%.
    Rule: *supported* when Nvidia's trailing-twelve-month operating margin in its latest quarter is
    within ``tolerance`` of ``claimed``; the distance to a flip is to the nearer band edge.

    Parameters
    ----------
    margins : pandas.DataFrame
        `company_margins` rows (``ticker``, ``quarter_end``, ``period_end``, ``fiscal_label``,
        ``operating_margin``); only Nvidia's are read.
    claimed : float
        The essay's figure, as a fraction.
    tolerance : float
        Half-width of the band read as "about", in fraction points.

    Returns
    -------
    Verdict
    """
    m = margins
    nvda = m[(m["ticker"] == "NVDA") & m["operating_margin"].notna()].sort_values("quarter_end")
    if nvda.empty:
        raise ValueChainError("A3: no trailing-twelve-month operating margin for NVDA in the data")
    last = nvda.iloc[-1]
    peak = nvda.loc[nvda["operating_margin"].idxmax()]
    compared = within(float(last["operating_margin"]), claimed, tolerance, unit="share",
                      measure=f"Nvidia's operating margin, twelve months to {last['period_end']:%Y-%m-%d}")
    summary = (
        f"Nvidia's operating margin over the twelve months to its {last['fiscal_label']} (ended "
        f"{last['period_end']:%Y-%m-%d}) was {last['operating_margin']:.1%}; the essay says about {claimed:.0%} "
        f"and the rule allows ±{tolerance * 100:.0f} points. Its trailing peak in the data was "
        f"{peak['operating_margin']:.1%}, in {peak['fiscal_label']}."
    )
    return Verdict(summary=summary, **compared,
                   numbers={"nvda_operating_margin": float(last["operating_margin"]), "claimed": claimed,
                            "tolerance": tolerance, "peak_operating_margin": float(peak["operating_margin"]),
                            "peak_quarter": peak["fiscal_label"]},
                   sources=f"SEC EDGAR XBRL filings (10-K, 10-Q) of NVDA, latest {last['fiscal_label']}",
                   data_through=f"{last['period_end']:%Y-%m-%d} (NVDA)")


def _as_verdict(text: str, claim: str, numbers: dict, sources: str):
    status = text.split(f"Verdict on {claim}: ", 1)[1].split("**", 1)[0].rstrip(".").strip()
    return Verdict(status=status, summary=text.split("** ", 1)[1].strip(), numbers=numbers, sources=sources)


def verdict_a8(since_year: int = 2021):
    """Claim A8 as a `Verdict` (rule in `hourglass_verdict`)."""
    pool, _ = layer_pool(since_year=since_year)
    latest = pool[pool["quarter_end"] == pool["quarter_end"].max()].set_index("layer")["operating_margin"]
    return _as_verdict(hourglass_verdict(pool), "A8", {k: float(v) for k, v in latest.items()},
                       "SEC EDGAR XBRL filings (10-K, 10-Q)")
