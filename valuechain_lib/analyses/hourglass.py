"""Margins by company, the profit pool by layer and the hourglass like for like (claims A3, A8)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from valuechain_lib.calc.aggregate import profit_pool
from valuechain_lib.calc.metrics import get_gross_margin, get_gross_profit, get_operating_margin, line_items
from valuechain_lib.calc.periods import calendar_label, calendar_period
from valuechain_lib.claims.verdicts import Verdict, format_distance, format_value, through_text, within
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import (
    CONFIDENCES,
    SEGMENT_MARGIN_PAIRS,
    FactsError,
    facts,
    label,
    segment_series,
    segment_tickers,
)
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.universe import universe

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
                               f"(first gap {calendar_label(lacking[0] // 4, lacking[0] % 4 + 1)})")
        if missing:
            excluded[ticker] = "; ".join(missing)
        else:
            kept.append(ticker)
    return kept, excluded


@memoized
def layer_pool(since_year: int = 2021, freq: str = "TTM") -> tuple[pd.DataFrame, dict[str, str]]:
    """Revenue and operating income pooled by layer, by calendar quarter, over a fixed set of companies.

    Only companies reporting in USD with every quarter of the window are pooled, so the pool does
    not jump when a company enters the data; the others are returned with the reason, a universe row
    the snapshot holds nothing for yet among them ("not yet fetched").

    Returns
    -------
    (pool, excluded)
        ``pool``: one row per layer and calendar quarter with ``revenue``, ``operating_income`` (USD)
        and ``operating_margin``, ``companies`` (the tickers pooled), ``quarter_end`` and
        ``period_end`` (the latest of the pooled companies' own period ends in that quarter);
        ``excluded``: ticker → reason.
    """
    u = universe()
    table = financials(freq=freq, calendar=True, metrics=list(POOL_METRICS))
    not_fetched = dict(table.attrs.get("not_yet_fetched", {}))
    usd = set(u.loc[u["currency"] == "USD", "ticker"])
    other_currency = {t: f"reports in {c} (no exchange rate applied)" for t, c in
                      u.set_index("ticker")["currency"].items() if t not in usd and t in set(table["ticker"])}
    table = table[table["ticker"].isin(usd)]
    kept, excluded = complete_panel(table, POOL_METRICS, since_year)
    excluded.update(other_currency)
    excluded.update(not_fetched)
    if not kept:
        left_out = "; ".join(f"{t}: {why}" for t, why in sorted(excluded.items())) or "the universe has none in USD"
        raise ValueChainError(f"layer_pool: no company has every quarter of {', '.join(POOL_METRICS)} since "
                              f"{since_year}, so no layer can be pooled ({left_out})")
    last_q = table[table["ticker"].isin(kept) & table["value"].notna()]
    last = last_q.groupby("ticker").apply(
        lambda g: int(g["calendar_year"].max()) * 4 + int(g.loc[g["calendar_year"] == g["calendar_year"].max(),
                                                               "calendar_quarter"].max()) - 1,
        include_groups=False).min()
    table = table[table["ticker"].isin(kept) & (table["calendar_year"] >= since_year)]
    qi = table["calendar_year"].astype(int) * 4 + table["calendar_quarter"].astype(int) - 1
    table = table[qi <= last]
    pool = profit_pool(table, u, metrics=POOL_METRICS)
    wide = line_items(pool, POOL_METRICS, keys=["layer", "calendar_year", "calendar_quarter", "quarter_end"],
                      keep_empty=True).reset_index()
    # The latest own period end among each layer's companies in the quarter (Nvidia's Q1 ends in April).
    ends = (table[table["value"].notna()].assign(layer=table["ticker"].map(u.set_index("ticker")["layer"]))
            .groupby(["layer", "calendar_year", "calendar_quarter"])["period_end"].max().rename("period_end"))
    wide = wide.join(ends, on=["layer", "calendar_year", "calendar_quarter"])
    wide["operating_margin"] = get_operating_margin(wide["operating_income"], wide["revenue"])
    members = u[u["ticker"].isin(kept)].groupby("layer")["ticker"].agg(lambda t: ", ".join(sorted(t)))
    wide["companies"] = wide["layer"].map(members)
    cols = ["layer", "calendar_year", "calendar_quarter", "operating_income", "revenue", "period_end",
            "operating_margin", "companies", "quarter_end"]
    return wide[cols].sort_values(["layer", "quarter_end"]).reset_index(drop=True), excluded


def pooled_tickers(pool: pd.DataFrame) -> list[str]:
    """The tickers `layer_pool` pooled, across all layers (for source lines and as-of dates)."""
    return sorted({t for members in pool["companies"].dropna().unique() for t in members.split(", ")})


@memoized
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
    keys = ["ticker", "calendar_year", "calendar_quarter", "quarter_end", "fiscal_label", "period_end", "unit"]
    wide = line_items(table, ["revenue", "gross_profit", "cost_of_revenue", "operating_income"], keys=keys,
                      keep_empty=True).reset_index()
    computed = wide["gross_profit"].isna() & wide["revenue"].notna() & wide["cost_of_revenue"].notna()
    wide["gross_profit_basis"] = np.where(wide["gross_profit"].notna(), "reported",
                                          np.where(computed, "computed: revenue − cost of revenue", "missing"))
    wide["gross_profit"] = wide["gross_profit"].where(
        ~computed, get_gross_profit(wide["revenue"], wide["cost_of_revenue"]))
    wide["gross_margin"] = get_gross_margin(wide["gross_profit"], wide["revenue"])
    wide["operating_margin"] = get_operating_margin(wide["operating_income"], wide["revenue"])
    wide["layer"] = wide["ticker"].map(u["layer"])
    wide["sub_layer"] = wide["ticker"].map(u["sub_layer"])
    wide = wide.dropna(subset=["revenue"])
    cols = ["ticker", "layer", "sub_layer", "calendar_year", "calendar_quarter", "quarter_end", "fiscal_label",
            "period_end", "revenue", "gross_profit", "operating_income", "gross_margin", "operating_margin",
            "gross_profit_basis", "unit"]
    return wide[cols].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


def common_quarter_margins(margins: pd.DataFrame) -> pd.DataFrame:
    """`company_margins` rows for one calendar quarter: the latest one most companies have reached.

    Companies with different fiscal years are compared over the same calendar quarter (each row
    keeps its own ``fiscal_label`` and ``period_end``); a company that has not reached it is left out.

    Returns
    -------
    pandas.DataFrame
        Rows of that ``quarter_end`` with an operating margin, widest margin first.
    """
    have = margins.dropna(subset=["operating_margin"])
    latest = have.groupby("ticker")["quarter_end"].max()
    quarter = latest.mode().min()  # ties: the earlier quarter, which more companies cover
    return have[have["quarter_end"] == quarter].sort_values("operating_margin", ascending=False).reset_index(
        drop=True)


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


# --------------------------------------------------------------------------- A8: the hourglass, like for like
#: Cloud segments compared in the middle of the hourglass (the company each belongs to is the ticker of its
#: facts-table rows, `valuechain_lib.snapshot.facts.segment_tickers`).
CLOUD_SEGMENTS = ("AWS", "Google Cloud", "Microsoft Intelligent Cloud")
#: Midstream companies without a cloud business to measure: Meta rents out no computing capacity
#: (its capex serves its own apps and its income is advertising), so it is left out of the cloud views.
NO_CLOUD_BUSINESS = ("META",)
#: The model owners the essay puts at the top of the hourglass (private: facts table only).
MODEL_OWNERS = ("OpenAI", "Anthropic")
ORACLE_CLOUD = ("Oracle cloud", "cloud revenue (IaaS plus SaaS)")
_RUN_RATE = re.compile(r"run[- ]rate|annuali[sz]ed|\bARR\b", re.IGNORECASE)
_MILLION = 1e6
ROLES = ("bottom", "middle", "top", "beside")


def quarter_label(end) -> str:
    """A calendar quarter end as ``"2026 Q1"`` (`valuechain_lib.calc.periods.calendar_label`)."""
    end = pd.Timestamp(end)
    return calendar_label(end.year, end.quarter)


def window_label(quarters) -> str:
    """Consecutive calendar quarters as ``"2025 Q3–2026 Q1 (3 quarters)"``."""
    quarters = sorted(quarters)
    span = quarter_label(quarters[0]) if len(quarters) == 1 else \
        f"{quarter_label(quarters[0])}–{quarter_label(quarters[-1])}"
    return f"{span} ({len(quarters)} quarter{'s' if len(quarters) > 1 else ''})"


def _lowest_confidence(values) -> str:
    return max((str(v) for v in values), key=CONFIDENCES.index)


@memoized
def cloud_segment_quarters(segments=CLOUD_SEGMENTS) -> tuple[pd.DataFrame, dict[str, str]]:
    """Quarterly revenue and operating income of cloud segments by calendar quarter, from the facts table.

    Parameters
    ----------
    segments : sequence of str
        Segment names as in `facts.SEGMENT_MARGIN_PAIRS`.

    Returns
    -------
    (rows, missing)
        ``rows``: one row per segment and quarter with both figures: ``segment, company,
        calendar_year, calendar_quarter, quarter_end, period, period_end, revenue,
        operating_income`` (USD), ``operating_margin``, ``confidence`` (the lower of the two
        figures'), ``kinds``, ``fact_ids`` and ``approximate`` (either figure rounded);
        ``missing``: segment → why it has no quarter (e.g. not yet published at the
        `valuechain_lib.snapshot.vintage.as_of` date).
    """
    rows, missing = [], {}
    companies = segment_tickers()
    for segment in segments:
        rev_metric, oi_metric = SEGMENT_MARGIN_PAIRS[segment]
        try:
            rev = segment_series(segment, rev_metric).set_index("period_end")
            oi = segment_series(segment, oi_metric).set_index("period_end")
        except FactsError as exc:
            missing[segment] = str(exc)
            continue
        both = rev.index.intersection(oi.index)
        if both.empty:
            missing[segment] = "no quarter with both revenue and operating income in the facts table"
            continue
        for end in both:
            r, o = rev.loc[end], oi.loc[end]
            if r["unit"] != "USD million" or o["unit"] != "USD million":
                raise FactsError(f"segment {segment!r} {end:%Y-%m-%d}: figures in {r['unit']} and {o['unit']}, "
                                 "not USD million")
            rows.append({"segment": segment, "company": companies.get(segment, ""), "period": r["period"],
                         "period_end": end, "revenue": r["value"] * _MILLION,
                         "operating_income": o["value"] * _MILLION,
                         "confidence": _lowest_confidence([r["confidence"], o["confidence"]]),
                         "kinds": " / ".join(dict.fromkeys([str(r["kind"]), str(o["kind"])])),
                         "fact_ids": f"{r['fact_id']}, {o['fact_id']}",
                         "approximate": bool(r["qualifier"] or o["qualifier"])})
    columns = ["segment", "company", "calendar_year", "calendar_quarter", "quarter_end", "period", "period_end",
               "revenue", "operating_income", "operating_margin", "confidence", "kinds", "fact_ids", "approximate"]
    if not rows:
        return pd.DataFrame(columns=columns), missing
    out = pd.DataFrame(rows)
    out = out.join(calendar_period(out["period_end"])[["calendar_year", "calendar_quarter", "quarter_end"]])
    out["operating_margin"] = get_operating_margin(out["operating_income"], out["revenue"])
    return out[columns].sort_values(["segment", "quarter_end"]).reset_index(drop=True), missing


def common_window(quarters: pd.DataFrame, last_end, min_segments: int = 2,
                  max_quarters: int = 4) -> tuple[list[str], list[pd.Timestamp]]:
    """Choose the cloud segments and calendar quarters to pool.

    The end is the latest calendar quarter, not after ``last_end``, in which at least
    ``min_segments`` segments have both figures; the segments are those; the window runs back from
    the end over up to ``max_quarters`` consecutive quarters in which every one of them has both.

    Parameters
    ----------
    quarters : pandas.DataFrame
        `cloud_segment_quarters` rows (``segment``, ``quarter_end``).
    last_end : datetime-like
        The last calendar quarter end allowed (the other layers' latest quarter).
    min_segments, max_quarters : int

    Returns
    -------
    (segments, window)
        Sorted segment names and the window's calendar quarter ends, oldest first.

    Raises
    ------
    ValueChainError
        When no quarter up to ``last_end`` has ``min_segments`` segments.
    """
    have = quarters[quarters["quarter_end"] <= pd.Timestamp(last_end)]
    counts = have.groupby("quarter_end")["segment"].nunique()
    enough = counts[counts >= min_segments]
    if enough.empty:
        raise ValueChainError(f"A8: no calendar quarter up to {pd.Timestamp(last_end):%Y-%m-%d} with figures for "
                              f"{min_segments} cloud segments in the facts table")
    end = enough.index.max()
    segments = sorted(have.loc[have["quarter_end"] == end, "segment"].unique())
    present = {s: set(have.loc[have["segment"] == s, "quarter_end"]) for s in segments}
    window, quarter = [], end
    while len(window) < max_quarters and all(quarter in present[s] for s in segments):
        window.append(quarter)
        quarter = (quarter - pd.offsets.QuarterEnd(1)).normalize()
    return segments, sorted(window)


def segment_latest_year(segment: str) -> dict | None:
    """A segment's latest fiscal year with both revenue and operating income in the facts table.

    Returns
    -------
    dict or None
        ``period``, ``period_end``, ``revenue``, ``operating_income`` (USD), ``operating_margin``,
        ``confidence``, ``kinds``, ``fact_ids``; None when no year has both.
    """
    rev_metric, oi_metric = SEGMENT_MARGIN_PAIRS[segment]
    rows = facts(segment=segment)
    rows = rows[rows["period"].str.fullmatch(r"FY\d{4}").fillna(False) & rows["value"].notna()]
    rev = rows[rows["metric"] == rev_metric].set_index("period")
    oi = rows[rows["metric"] == oi_metric].set_index("period")
    both = rev.index.intersection(oi.index)
    if both.empty:
        return None
    period = max(both, key=lambda p: rev.loc[p, "period_end"])
    r, o = rev.loc[period], oi.loc[period]
    return {"period": period, "period_end": r["period_end"], "revenue": r["value"] * _MILLION,
            "operating_income": o["value"] * _MILLION,
            "operating_margin": _scalar_margin(o["value"], r["value"]),
            "confidence": _lowest_confidence([r["confidence"], o["confidence"]]),
            "kinds": " / ".join(dict.fromkeys([str(r["kind"]), str(o["kind"])])),
            "fact_ids": f"{r['fact_id']}, {o['fact_id']}"}


def oracle_cloud_share() -> dict | None:
    """Oracle's cloud revenue (IaaS plus SaaS, facts table) as a share of its revenue (filings) in the
    latest fiscal quarter where both exist; None when there is none.

    Returns
    -------
    dict or None
        ``share``, ``fiscal_label``, ``period_end``, ``fact_id``, ``confidence``.
    """
    segment, metric = ORACLE_CLOUD
    try:
        cloud = segment_series(segment, metric)
    except FactsError:
        return None
    revenue = financials("ORCL", freq="Q", metrics="revenue").dropna(subset=["value"])
    revenue = revenue.set_index("period_end")
    for _, row in cloud.sort_values("period_end", ascending=False).iterrows():
        if row["period_end"] in revenue.index:
            total = revenue.loc[row["period_end"]]
            return {"share": row["value"] * _MILLION / total["value"], "period_end": row["period_end"],
                    "fiscal_label": total["fiscal_label"],
                    "fact_id": row["fact_id"], "confidence": str(row["confidence"])}
    return None


def _owner_margins(rows: pd.DataFrame) -> pd.DataFrame:
    """An owner's operating margins from the facts rows: stated margins (percent) and operating
    income or loss paired with revenue of the same period and unit."""
    metric = rows["metric"].str.lower()
    found = []
    for _, r in rows[metric.str.startswith("operating margin") & (rows["unit"] == "percent")].iterrows():
        found.append({"margin": r["value"] / 100, "period": r["period"], "as_of": r["as_of"],
                      "label": label(r), "fact_ids": r["fact_id"], "confidence": str(r["confidence"])})
    revenue = rows[metric == "revenue"]
    for _, r in rows[metric.isin(["operating income", "operating loss"])].iterrows():
        match = revenue[(revenue["period"] == r["period"]) & (revenue["unit"] == r["unit"])]
        if match.empty or not r["period"]:
            continue
        rev = match.iloc[0]
        income = -abs(r["value"]) if r["metric"].lower() == "operating loss" else r["value"]
        found.append({"margin": income / rev["value"], "period": r["period"], "as_of": r["as_of"],
                      "label": f"{label(rev)}; {label(r)}", "fact_ids": f"{rev['fact_id']}, {r['fact_id']}",
                      "confidence": _lowest_confidence([r["confidence"], rev["confidence"]])})
    return pd.DataFrame(found, columns=["margin", "period", "as_of", "label", "fact_ids", "confidence"])


def model_owner_figures(table: pd.DataFrame | None = None, owners=MODEL_OWNERS) -> pd.DataFrame:
    """Each model owner's latest cited revenue run rate and, where a source gives one, operating margin.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        `facts` rows (default: the facts table as of the current `vintage` date).
    owners : sequence of str
        Entity names exactly as in the table.

    Returns
    -------
    pandas.DataFrame
        One row per owner: ``owner, run_rate`` (USD billion, NaN if none), ``run_rate_label`` (with
        kind and confidence), ``run_rate_fact``, ``run_rate_as_of``, ``margin`` (fraction, NaN when
        no cited profit or loss), ``margin_label``, ``margin_period``, ``margin_facts``,
        ``margin_confidence``, ``margin_as_of``. The latest by ``as_of`` is kept; a run rate is a
        ``USD billion`` row whose metric names a run rate, annualized revenue or ARR.
    """
    table = facts() if table is None else table
    out = []
    for owner in owners:
        rows = table[table["entity"] == owner]
        rates = rows[(rows["unit"] == "USD billion") & rows["value"].notna()
                     & rows["metric"].str.contains(_RUN_RATE, na=False)]
        rates = rates.assign(_c=rates["confidence"].map(CONFIDENCES.index).astype(int))
        rate = rates.sort_values(["as_of", "_c"], ascending=[True, False]).tail(1)
        found = _owner_margins(rows).sort_values("as_of").tail(1)
        out.append({
            "owner": owner,
            "run_rate": float(rate["value"].iloc[0]) if len(rate) else np.nan,
            "run_rate_label": label(rate.iloc[0]) if len(rate) else "",
            "run_rate_fact": rate["fact_id"].iloc[0] if len(rate) else "",
            "run_rate_as_of": rate["as_of"].iloc[0] if len(rate) else pd.NaT,
            "margin": float(found["margin"].iloc[0]) if len(found) else np.nan,
            "margin_label": found["label"].iloc[0] if len(found) else "",
            "margin_period": found["period"].iloc[0] if len(found) else "",
            "margin_facts": found["fact_ids"].iloc[0] if len(found) else "",
            "margin_confidence": found["confidence"].iloc[0] if len(found) else "",
            "margin_as_of": found["as_of"].iloc[0] if len(found) else pd.NaT,
        })
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Hourglass:
    """The hourglass of claim A8 over one window of calendar quarters (see `hourglass`).

    Attributes
    ----------
    layers : pandas.DataFrame
        One row per group: ``group, role`` (bottom, middle, top, or beside for context),
        ``label, revenue, operating_income`` (USD), ``operating_margin, members, basis,
        confidence, period``.
    segments : pandas.DataFrame
        The pooled cloud segments, one row each, summed over the window (as `cloud_segment_quarters`).
    owners : pandas.DataFrame
        `model_owner_figures`.
    quarters : list of pandas.Timestamp
        The window's calendar quarter ends.
    excluded : dict
        Company → why it is not in the consolidated pools (`layer_pool`).
    not_pooled : dict
        Cloud segment → why it is not in the cloud pool.
    through : dict
        Company, segment or owner → the last period end (or date) its figures cover.
    sources : str
    """

    layers: pd.DataFrame
    segments: pd.DataFrame
    owners: pd.DataFrame
    quarters: list
    excluded: dict = field(default_factory=dict)
    not_pooled: dict = field(default_factory=dict)
    through: dict = field(default_factory=dict)
    sources: str = ""


def _scalar_margin(operating_income, revenue) -> float:
    """Operating income / revenue for two numbers; NaN where revenue is zero or missing."""
    return float(get_operating_margin(pd.Series([operating_income], dtype=float),
                                      pd.Series([revenue], dtype=float)).iloc[0])


def _sum_row(group, role, label_, revenue, operating_income, members, basis, confidence, period) -> dict:
    return {"group": group, "role": role, "label": label_, "revenue": revenue, "operating_income": operating_income,
            "operating_margin": _scalar_margin(operating_income, revenue),
            "members": members, "basis": basis, "confidence": confidence, "period": period}


def _companies_in_window(tickers, quarters) -> tuple[pd.DataFrame, dict[str, str]]:
    """Quarterly revenue and operating income (USD) of companies with both for every window quarter."""
    table = financials(freq="Q", calendar=True, metrics=list(POOL_METRICS))
    table = table[table["ticker"].isin(list(tickers)) & table["quarter_end"].isin(quarters) & table["value"].notna()]
    wide = line_items(table, POOL_METRICS, keys=["ticker", "quarter_end"])
    ends = table.groupby(["ticker", "quarter_end"])["period_end"].max()
    kept, excluded = [], {}
    for ticker in tickers:
        got = wide.loc[ticker].dropna() if ticker in wide.index.get_level_values(0) else pd.DataFrame()
        lacking = len(quarters) - len(got)
        if lacking or set(POOL_METRICS) - set(got.columns):
            excluded[ticker] = f"lacks revenue or operating income in {lacking} of {len(quarters)} window quarters"
        else:
            kept.append(ticker)
    rows = wide.loc[kept].reset_index() if kept else pd.DataFrame(columns=["ticker", "quarter_end", *POOL_METRICS])
    if kept:
        rows["period_end"] = ends.loc[list(zip(rows["ticker"], rows["quarter_end"], strict=True))].to_numpy()
    return rows, excluded


@memoized
def hourglass(since_year: int = 2021, min_segments: int = 2, max_quarters: int = 4) -> Hourglass:
    """The three layers of the essay's hourglass over the same calendar quarters, with context beside.

    Bottom: the chip suppliers' pooled consolidated operating margin (filings, the `layer_pool`
    panel). Middle: the cloud segments' pooled operating margin (facts table; `common_window`
    picks the segments and quarters, ending no later than the chip suppliers' last quarter). Top:
    the model owners' operating margin where a cited source gives one (`model_owner_figures`; NaN
    otherwise, with their run rates in ``basis``). Beside: the cloud segments over their own latest
    quarters when the facts table runs beyond the filings, Nvidia alone, each unpooled cloud segment's latest fiscal year, the midstream with the giants'
    other businesses set aside where segments allow (the cloud segments in place of their companies,
    Meta left out, the other hyperscalers and neoclouds consolidated), the consolidated midstream
    and the listed application software.

    Parameters
    ----------
    since_year : int
        First year of the `layer_pool` panel (which companies are pooled).
    min_segments, max_quarters : int
        See `common_window`.

    Returns
    -------
    Hourglass
    """
    pool, excluded = layer_pool(since_year=since_year, freq="Q")
    seg_rows, not_pooled = cloud_segment_quarters()
    segments, quarters = common_window(seg_rows, pool["quarter_end"].max(), min_segments, max_quarters)
    period = window_label(quarters)
    in_window = seg_rows[seg_rows["segment"].isin(segments) & seg_rows["quarter_end"].isin(quarters)]
    by_segment = in_window.groupby("segment").agg(
        company=("company", "first"), revenue=("revenue", "sum"), operating_income=("operating_income", "sum"),
        confidence=("confidence", _lowest_confidence), kinds=("kinds", lambda k: " / ".join(dict.fromkeys(
            part for text in k for part in text.split(" / ")))),
        fact_ids=("fact_ids", ", ".join), approximate=("approximate", "any"),
        period_end=("period_end", "max")).reset_index()
    by_segment["operating_margin"] = get_operating_margin(by_segment["operating_income"], by_segment["revenue"])
    layers_ = pool[pool["quarter_end"].isin(quarters)].groupby("layer").agg(
        revenue=("revenue", "sum"), operating_income=("operating_income", "sum"), companies=("companies", "first"))
    seg_conf = _lowest_confidence(by_segment["confidence"])
    seg_kinds = " / ".join(dict.fromkeys(part for text in by_segment["kinds"] for part in text.split(" / ")))
    rows = [
        _sum_row("chips", "bottom", "Chip suppliers", layers_.loc["upstream", "revenue"],
                 layers_.loc["upstream", "operating_income"], layers_.loc["upstream", "companies"],
                 "consolidated, SEC filings", "high (filings)", period),
        _sum_row("cloud", "middle", "Cloud segments", by_segment["revenue"].sum(),
                 by_segment["operating_income"].sum(), ", ".join(segments),
                 f"segment figures, facts table ({seg_kinds})", seg_conf, period),
    ]
    # Context beside the three ends.
    latest_segments, latest_quarters = common_window(seg_rows, seg_rows["quarter_end"].max(), min_segments,
                                                     max_quarters)
    if latest_quarters != list(quarters):
        latest = seg_rows[seg_rows["segment"].isin(latest_segments) & seg_rows["quarter_end"].isin(latest_quarters)]
        rows.append(_sum_row("cloud_latest", "beside", f"Cloud segments, {window_label(latest_quarters)}",
                             latest["revenue"].sum(), latest["operating_income"].sum(), ", ".join(latest_segments),
                             "segment figures, facts table; the latest quarters, beyond the chip suppliers' filings "
                             "in the snapshot", _lowest_confidence(latest["confidence"]),
                             window_label(latest_quarters)))
    nvda, _ = _companies_in_window(["NVDA"], quarters)
    if len(nvda):
        rows.append(_sum_row("nvidia", "beside", "Nvidia alone", nvda["revenue"].sum(),
                             nvda["operating_income"].sum(), "NVDA", "consolidated, SEC filings", "high (filings)",
                             period))
    for segment in [s for s in CLOUD_SEGMENTS if s not in segments]:
        year = segment_latest_year(segment)
        why = "no quarterly figures for the window in the facts table"
        not_pooled.setdefault(segment, why)
        if year is not None:
            rows.append(_sum_row("year_" + re.sub(r"\W+", "_", segment.lower()), "beside", f"{segment}, {year['period']} (not pooled)",
                                 year["revenue"], year["operating_income"], segment,
                                 f"segment figures, facts table ({year['kinds']}; {year['fact_ids']}); {why}",
                                 year["confidence"], f"{year['period']} (to {year['period_end']:%Y-%m-%d})"))
    usd_mid = universe().query("layer == 'midstream' and currency == 'USD'")["ticker"].tolist()
    companies = segment_tickers()
    replaced = {companies[s] for s in segments}
    others = [t for t in usd_mid if t not in replaced and t not in NO_CLOUD_BUSINESS]
    company_rows, not_complete = _companies_in_window(others, quarters)
    oracle = oracle_cloud_share()
    not_pooled[ORACLE_CLOUD[0]] = "the facts table has its revenue only; Oracle reports no cloud operating income"
    members = [f"{s} (segment)" for s in segments] + [f"{t} (consolidated)" for t in sorted(company_rows["ticker"]
                                                                                           .unique())]
    basis = (f"cloud segments in place of {', '.join(sorted(replaced))}; {', '.join(NO_CLOUD_BUSINESS)} left out "
             "(no cloud business)")
    if oracle is not None:
        basis += (f"; Oracle whole: cloud was {oracle['share']:.0%} of its revenue in {oracle['fiscal_label']}, "
                  "the rest mostly software licences and support")
    if not_complete:
        basis += "; not pooled: " + "; ".join(f"{t} ({r})" for t, r in not_complete.items())
    rows.append(_sum_row("cloud_set_aside", "beside", f"Midstream with {' and '.join(sorted(replaced))} as cloud "
                         f"segments and {' and '.join(NO_CLOUD_BUSINESS)} left out",
                         by_segment["revenue"].sum() + company_rows["revenue"].sum(),
                         by_segment["operating_income"].sum() + company_rows["operating_income"].sum(),
                         ", ".join(members), basis, f"{seg_conf} (segments); high (filings)", period))
    rows.append(_sum_row("midstream_consolidated", "beside", "Midstream consolidated (retail and ads included)",
                         layers_.loc["midstream", "revenue"], layers_.loc["midstream", "operating_income"],
                         layers_.loc["midstream", "companies"], "consolidated, SEC filings (retail, ads included)",
                         "high (filings)", period))
    rows.append(_sum_row("listed_software", "beside", "Listed application software",
                         layers_.loc["downstream", "revenue"], layers_.loc["downstream", "operating_income"],
                         layers_.loc["downstream", "companies"], "consolidated, SEC filings", "high (filings)", period))
    owners = model_owner_figures()
    rows.append(_top_row(owners))
    layers = pd.DataFrame(rows)
    layers["role"] = pd.Categorical(layers["role"], categories=ROLES, ordered=True)
    layers = layers.sort_values("role", kind="stable").reset_index(drop=True)

    through = {}
    chip_tickers = layers_.loc["upstream", "companies"].split(", ")
    chips_last, _ = _companies_in_window(chip_tickers, quarters[-1:])
    through.update(dict(zip(chips_last["ticker"], chips_last["period_end"], strict=True)))
    through.update(dict(zip(by_segment["segment"], by_segment["period_end"], strict=True)))
    for _, o in owners[owners["margin"].notna()].iterrows():
        through[o["owner"]] = o["margin_as_of"]
    fact_ids = ", ".join(by_segment["fact_ids"])
    owner_facts = ", ".join(filter(None, [*owners["margin_facts"], *owners["run_rate_fact"]]))
    sources = (f"SEC EDGAR XBRL filings (10-K, 10-Q) of {', '.join(chip_tickers)}; cloud segments: facts table "
               f"{fact_ids} ({seg_kinds}; lowest confidence {seg_conf}); model owners: facts table {owner_facts}")
    return Hourglass(layers=layers, segments=by_segment, owners=owners, quarters=list(quarters), excluded=excluded,
                     not_pooled=not_pooled, through=through, sources=sources)


def _top_row(owners: pd.DataFrame) -> dict:
    """The model owners' row: the mean of their cited margins (their periods differ, so their figures
    are not added), or NaN with what the facts table holds instead."""
    measured = owners[owners["margin"].notna()]
    rates = "; ".join(o["run_rate_label"] for _, o in owners.iterrows() if o["run_rate_label"]) or "none"
    if measured.empty:
        return _sum_row("model_owners", "top", "Model owners", np.nan, np.nan, ", ".join(owners["owner"]),
                        f"no cited operating profit or loss; run rates only: {rates}", "", "")
    basis = "cited margins: " + "; ".join(measured["margin_label"])
    confidence = _lowest_confidence(measured["margin_confidence"])
    row = _sum_row("model_owners", "top", "Model owners", np.nan, np.nan, ", ".join(measured["owner"]), basis,
                   confidence, "; ".join(
                       f"{o['owner']} {o['margin_period']}" for _, o in measured.iterrows()))
    row["operating_margin"] = float(measured["margin"].mean())
    return row


def hourglass_verdict(layers: pd.DataFrame, data_through: str = "", sources: str = "") -> Verdict:
    """Verdict on A8: value piles up at the ends of the chain and the cloud businesses in the middle are squeezed.

    The claim, as the essay states it: chip suppliers (bottom) and model owners (top) earn more than
    the cloud businesses between them. Rule: *supported* when the cloud segments' pooled operating
    margin is below both ends' margins; *mixed* when below one; *not supported* when below neither.
    An end whose margin is not measured (no cited profit or loss) cannot count as shown, so without
    the model owners' margin the verdict rests on the chip suppliers alone and is at best mixed. The
    distance to a flip is to the nearest measured end: crossing it changes the count.

    Parameters
    ----------
    layers : pandas.DataFrame
        `Hourglass.layers`: rows with ``role`` bottom, middle and top (``operating_margin``,
        ``label``, ``members``, ``basis``, ``confidence``, ``period``); rows beside are context.
    data_through, sources : str
        Passed to the `Verdict`.

    Returns
    -------
    Verdict
    """
    ends = {role: layers[layers["role"] == role].iloc[0] for role in ("bottom", "middle", "top")}
    middle = float(ends["middle"]["operating_margin"])
    if np.isnan(middle):
        raise ValueChainError("A8: the cloud segments' margin is missing")
    measured_ends = {r: float(ends[r]["operating_margin"]) for r in ("bottom", "top")
                     if not np.isnan(float(ends[r]["operating_margin"]))}
    below = {r: middle < m for r, m in measured_ends.items()}
    count = sum(below.values())
    status = {2: "supported", 1: "mixed", 0: "not supported"}[count]
    nearest = min(measured_ends, key=lambda r: abs(middle - measured_ends[r]))
    threshold = measured_ends[nearest]
    distance = abs(middle - threshold)
    end_name = {"bottom": "chip suppliers'", "top": "model owners'"}
    side = "below" if middle < threshold else "above"
    becomes = {2: "mixed", 1: ("not supported" if below[nearest] else "supported"), 0: "mixed"}[count]
    flip = (f"{format_distance(distance, 'share')} {side} the {end_name[nearest]} {format_value(threshold, 'share')}; "
            f"a {'rise' if side == 'below' else 'fall'} of more than that makes it {becomes}")
    mid, bot, top = ends["middle"], ends["bottom"], ends["top"]

    def said(row):
        return f"{row['operating_margin']:.1%} ({row['members']})"

    sentences = [
        f"Over calendar {mid['period']}, the cloud segments pooled earned an operating margin of {said(mid)}, "
        f"against {said(bot)} for the chip suppliers on consolidated filings; the lowest confidence among the "
        f"segment figures is {mid['confidence']}."]
    if "top" in measured_ends:
        sentences.append(f"The model owners' margin, from cited figures ({top['period']}; lowest confidence "
                         f"{top['confidence']}), was {top['operating_margin']:.1%}, so the cloud segments are "
                         f"{'below' if below['top'] else 'not below'} the top as well as "
                         f"{'below' if below['bottom'] else 'not below'} the bottom.")
    else:
        sentences.append(f"The model owners' margin cannot be measured: the facts table has no profit or loss for "
                         f"{' or '.join(top['members'].split(', '))}, only revenue run rates, so the top end is not compared and the claim "
                         "can be at most mixed.")
    beside = layers[(layers["role"] == "beside") & (layers["period"] == mid["period"])].set_index("group")
    context = [f"{row['label'][0].lower()}{row['label'][1:]} {row['operating_margin']:.1%}" for g, row in beside.iterrows()
               if g in ("midstream_consolidated", "cloud_set_aside", "listed_software")]
    if context:
        sentences.append("For context, over the same quarters: " + "; ".join(context) + ".")
    beside = layers[layers["role"] == "beside"].set_index("group")["operating_margin"]
    numbers = {"cloud_margin": middle, "chips_margin": float(bot["operating_margin"]),
               "model_owners_margin": float(top["operating_margin"]), "window": mid["period"],
               **{f"cloud_minus_{ {'bottom': 'chips', 'top': 'model_owners'}[r]}": middle - m
                  for r, m in measured_ends.items()},
               **{f"{g}_margin": float(v) for g, v in beside.items()}}
    return Verdict(status=status, summary=" ".join(sentences), measured=middle, threshold=threshold, unit="share",
                   measure=f"pooled operating margin of the cloud segments ({mid['members']}), {mid['period']}",
                   distance_to_flip=distance, flip=flip, numbers=numbers, sources=sources, data_through=data_through)


def verdict_a8(since_year: int = 2021, min_segments: int = 2, max_quarters: int = 4) -> Verdict:
    """Verdict on A8 from the snapshot and the facts table (rule in `hourglass_verdict`)."""
    hg = hourglass(since_year=since_year, min_segments=min_segments, max_quarters=max_quarters)
    return hourglass_verdict(hg.layers, data_through=through_text(hg.through), sources=hg.sources)


# --------------------------------------------------------------------------- chart helpers: labels at line ends
def segment_companies() -> dict[str, str]:
    """Every segment the facts table holds margins for (`valuechain_lib.snapshot.facts.SEGMENT_MARGIN_PAIRS`, in
    that order) and its company's ticker, whose colour it takes in charts (`segment_tickers`)."""
    companies = segment_tickers()
    return {segment: companies[segment] for segment in SEGMENT_MARGIN_PAIRS}




# --------------------------------------------------------------------------- chart helpers: what the data cover
def last_filed_quarters(tickers) -> dict[str, pd.Timestamp]:
    """Each company's last quarter end with revenue in the snapshot (as of the date evaluated).

    Returns
    -------
    dict
        ticker → period end; a company with no quarterly revenue is left out.
    """
    table = financials(sorted(set(tickers)), freq="Q", metrics="revenue")
    have = table[table["value"].notna()]
    return have.groupby("ticker")["period_end"].max().to_dict()


def mark_after_snapshot(rows: pd.DataFrame, company: pd.Series, last_filed: dict) -> pd.DataFrame:
    """Flag facts-table points whose period ends after their company's last quarter in the snapshot.

    Such a figure was reported after the snapshot was taken: charts draw it as a distinct mark
    labelled `valuechain_lib.snapshot.reported_after.LABEL`, never as part of a series the snapshot covers.

    Parameters
    ----------
    rows : pandas.DataFrame
        Points with ``period_end``.
    company : pandas.Series
        The ticker each row belongs to (aligned with ``rows``); NaN for none.
    last_filed : dict
        ticker → the company's last period end in the snapshot (`last_filed_quarters`).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with ``company``, ``after_snapshot`` (bool; False where the company has no filed
        quarter to compare with) and ``series`` (the label, or "facts table").
    """
    from valuechain_lib.snapshot.reported_after import LABEL

    ends = pd.to_datetime(company.map(last_filed))
    after = (pd.to_datetime(rows["period_end"]) > ends).fillna(False).astype(bool)
    return rows.assign(company=company, after_snapshot=after, series=np.where(after, LABEL, "facts table"))


def segment_margin_points(rows: pd.DataFrame | None = None, last_filed: dict | None = None) -> pd.DataFrame:
    """Quarterly segment margins (`valuechain_lib.snapshot.facts.segment_margins`), each flagged as filed-period or later.

    Parameters
    ----------
    rows : pandas.DataFrame, optional
        `segment_margins` rows (for tests).
    last_filed : dict, optional
        ticker → last period end in the snapshot; default `last_filed_quarters` of the segments'
        companies (`segment_companies`).

    Returns
    -------
    pandas.DataFrame
        The rows with ``company``, ``after_snapshot`` and ``series`` (`mark_after_snapshot`).
    """
    from valuechain_lib.snapshot.facts import segment_margins

    rows = segment_margins() if rows is None else rows
    company = rows["segment"].map(segment_companies())
    if last_filed is None:
        last_filed = last_filed_quarters(company.dropna().unique())
    return mark_after_snapshot(rows, company, last_filed)


def latest_cloud_window(seg_rows: pd.DataFrame | None = None, min_segments: int = 2, max_quarters: int = 4,
                        last_filed: dict | None = None) -> pd.DataFrame:
    """The segment quarters behind the hourglass's "cloud segments, latest quarters" context row.

    The same window `hourglass` draws beside the ends (`common_window` up to the latest quarter in
    the facts table), each quarter flagged where it ends after the company's last quarter in the
    snapshot, so a chart can say which of its figures were reported after the snapshot.

    Parameters
    ----------
    seg_rows : pandas.DataFrame, optional
        `cloud_segment_quarters` rows (for tests).
    min_segments, max_quarters : int
        As for `hourglass`.
    last_filed : dict, optional
        ticker → last period end in the snapshot; default `last_filed_quarters`.

    Returns
    -------
    pandas.DataFrame
        ``segment, company, quarter_end, period, period_end, fact_ids, after_snapshot, series``.
    """
    seg_rows = cloud_segment_quarters()[0] if seg_rows is None else seg_rows
    segments, quarters = common_window(seg_rows, seg_rows["quarter_end"].max(), min_segments, max_quarters)
    window = seg_rows[seg_rows["segment"].isin(segments) & seg_rows["quarter_end"].isin(quarters)]
    if last_filed is None:
        last_filed = last_filed_quarters(window["company"].unique())
    window = mark_after_snapshot(window.drop(columns="company"), window["company"], last_filed)
    return window[["segment", "company", "quarter_end", "period", "period_end", "fact_ids", "after_snapshot",
                   "series"]].reset_index(drop=True)


def pooled_period_ends(pool: pd.DataFrame, freq: str = "TTM") -> dict[str, pd.Timestamp]:
    """Each pooled company's own period end in the pool's last calendar quarter, for "data through".

    Parameters
    ----------
    pool : pandas.DataFrame
        `layer_pool` rows.
    freq : {"TTM", "Q"}
        The frequency the pool was built on.

    Returns
    -------
    dict
        ticker → period end (Oracle's quarter in calendar Q1 ends in February, Nvidia's in April).
    """
    last = pd.Timestamp(pool["quarter_end"].max())
    table = financials(pooled_tickers(pool), freq=freq, calendar=True, metrics=list(POOL_METRICS))
    rows = table[(table["calendar_year"] == last.year) & (table["calendar_quarter"] == last.quarter)
                 & table["value"].notna()]
    return rows.groupby("ticker")["period_end"].max().to_dict()
