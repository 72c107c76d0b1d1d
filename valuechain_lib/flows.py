"""Follow the money: hyperscaler capex guidance against cash, and spenders beside their suppliers (claim B2)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .capex import hyperscalers
from .facts import facts, label, segment_series
from .financials import financials
from .periods import calendar_quarter
from .universe import universe

#: Facts-table entity name of each hyperscaler.
ENTITY_TICKERS = {"Amazon": "AMZN", "Microsoft": "MSFT", "Alphabet": "GOOGL", "Meta": "META", "Oracle": "ORCL"}
#: Upstream suppliers whose revenue is set beside hyperscaler capex; all but TSM file in USD.
USD_SUPPLIERS = ("NVDA", "AMD", "AVGO", "MU", "INTC")
TWD_SUPPLIER = "TSM"
SUPPLIERS = (*USD_SUPPLIERS, TWD_SUPPLIER)
#: The rule behind ``fits_inside_cash``.
FITS_RULE = ("a plan fits inside cash when its guided capex (the point value, or the top of a range) is at or "
             "below the company's latest trailing-twelve-month operating cash flow in the snapshot")
#: How the supplier/capex ratio must be read.
RATIO_LABEL = "upper-bound association"
_UNIT_SCALE = {"USD billion": 1e9, "USD million": 1e6}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_PLAN_PERIOD = re.compile(r"^FY(\d{4})(?: Q([1-4]))?$")


def _fy_end_months() -> dict[str, int]:
    u = universe()
    return dict(zip(u["ticker"], u["fiscal_year_end_month"].astype(int), strict=True))


def _basis(fy_end_month: int) -> str:
    return "calendar year" if fy_end_month == 12 else f"fiscal year to {_MONTHS[fy_end_month - 1]}"


def capex_guidance() -> pd.DataFrame:
    """Each hyperscaler's stated capex plans from the facts table (claim B2), revisions in order.

    Returns
    -------
    pandas.DataFrame
        One row per facts-table row of claim B2 whose entity is a hyperscaler:
        ``company, ticker, fact_id, plan_period`` (as stated, e.g. ``FY2026`` or ``FY2026 Q1``),
        ``plan_year`` (int), ``plan_scope`` (``year`` or ``quarter``), ``plan_basis`` (``calendar
        year`` or ``fiscal year to <month>``), ``period_end``, ``value, value_low, value_high`` (USD;
        NaN where not given), ``qualifier``, ``guided_top`` (value, or high end of a range; USD),
        ``guided_mid`` (value, or range midpoint; USD), ``has_figure`` (False for a wording-only
        plan), ``wording`` (the quoted evidence, else the metric text), ``as_of``, ``as_of_precision``,
        ``kind``, ``confidence``, ``revision`` (1 for the first statement about a plan period, then
        2, 3, … by ``as_of``, ties by fact_id), ``n_revisions``, ``is_latest``,
        ``includes_finance_leases`` (the stated plan counts finance-lease principal, which cash capex
        does not), ``label`` (`valuechain_lib.facts.label`, naming the kind and confidence), ``metric``,
        ``source_title``, ``publisher``, ``url``.

    Notes
    -----
    Units other than USD million / USD billion leave the USD columns NaN (kept as wording).

    References
    ----------
    ``data/facts.csv`` rows with ``claim_id`` B2; ``data/FACTS.md`` for the columns.

    Examples
    --------
    >>> g = capex_guidance()
    >>> g.loc[g["fact_id"] == "F79", ["ticker", "plan_year", "revision"]].values.tolist()
    [['GOOGL', 2025, 3]]
    """
    table = facts(claim_id="B2")
    table = table[table["entity"].isin(list(ENTITY_TICKERS))].copy()
    months = _fy_end_months()
    out = pd.DataFrame({"company": table["entity"].astype(str), "fact_id": table["fact_id"].astype(str)})
    out["ticker"] = out["company"].map(ENTITY_TICKERS)
    period = table["period"].fillna("").astype(str)
    parsed = period.str.extract(_PLAN_PERIOD)
    year = pd.to_numeric(parsed[0], errors="coerce")
    year = year.fillna(table["period_end"].dt.year)
    out["plan_period"] = period.where(period != "", year.astype("Int64").astype(str))
    out["plan_year"] = year.astype("Int64")
    out["plan_scope"] = np.where(parsed[1].notna(), "quarter", "year")
    out["plan_basis"] = out["ticker"].map(lambda t: _basis(months[t]))
    out["period_end"] = table["period_end"]
    scale = table["unit"].astype(str).map(_UNIT_SCALE)
    for col in ("value", "value_low", "value_high"):
        out[col] = table[col] * scale
    out["qualifier"] = table["qualifier"].fillna("").astype(str)
    out["guided_top"] = out["value"].fillna(out["value_high"])
    out["guided_mid"] = out["value"].fillna((out["value_low"] + out["value_high"]) / 2)
    out["has_figure"] = out["guided_top"].notna()
    evidence = table["evidence"].fillna("").astype(str).str.strip()
    out["wording"] = evidence.where(evidence != "", table["metric"].astype(str))
    out["as_of"] = table["as_of"]
    out["as_of_precision"] = table["as_of_precision"].astype(str)
    out["kind"] = table["kind"].astype(str)
    out["confidence"] = table["confidence"].astype(str)
    text = (table["metric"].fillna("") + " " + table["note"].fillna("")).str.lower()
    out["includes_finance_leases"] = text.str.contains("finance-lease|finance lease", regex=True).to_numpy()
    out["label"] = [label(row) for _, row in table.iterrows()]
    for col in ("metric", "source_title", "publisher", "url"):
        out[col] = table[col].fillna("").astype(str)
    out = out.sort_values(["ticker", "plan_period", "as_of", "fact_id"]).reset_index(drop=True)
    grouped = out.groupby(["ticker", "plan_period"])
    out["revision"] = grouped.cumcount() + 1
    out["n_revisions"] = grouped["fact_id"].transform("count")
    out["is_latest"] = out["revision"] == out["n_revisions"]
    return out


def _latest_ttm_ocf(tickers) -> pd.DataFrame:
    ttm = financials(tickers, freq="TTM", calendar=True, metrics="operating_cash_flow").dropna(subset=["value"])
    last = ttm.sort_values("period_end").groupby("ticker").tail(1)
    return pd.DataFrame({
        "ticker": last["ticker"],
        "latest_ttm_ocf": last["value"],
        "latest_ttm_label": [f"{int(y)} Q{int(q)}" for y, q in zip(last["calendar_year"], last["calendar_quarter"],
                                                                   strict=True)],
        "latest_ttm_end": last["period_end"],
    }).set_index("ticker")


def _actuals_wide(rows: pd.DataFrame, year_col: str) -> pd.DataFrame:
    wide = rows.pivot_table(index=["ticker", year_col], columns="metric", values="value", aggfunc="first",
                            dropna=False)
    wide = wide.reindex(columns=["capex", "operating_cash_flow"])
    ends = rows.groupby(["ticker", year_col])[["period_start", "period_end"]].agg({"period_start": "min",
                                                                                  "period_end": "max"})
    return wide.join(ends).reset_index().rename(columns={year_col: "year"})


def guidance_vs_cash(since: int = 2022) -> pd.DataFrame:
    """Actual capex and operating cash flow beside the latest capex guidance, per company and year.

    Calendar years for every hyperscaler come from ``financials(freq="FY", calendar=True)`` (four
    calendar-aligned quarters). Microsoft (year to June) and Oracle (year to May) guide on their
    fiscal years, so those plans are set beside the matching fiscal-year actuals
    (``financials(freq="FY")``) in extra rows whose ``basis`` says so; a fiscal plan is never
    compared with a calendar year.

    Parameters
    ----------
    since : int
        First year shown (calendar or fiscal).

    Returns
    -------
    pandas.DataFrame
        One row per ticker, ``basis`` and ``year``: ``period_label`` (``2025`` or ``FY2026 (to May
        2026)``), ``capex`` and ``operating_cash_flow`` (USD, positive; NaN while the year is
        incomplete), ``period_start``, ``period_end``, the latest plan for that period
        (``fact_id, guided_value, guided_low, guided_high, guided_top, guided_mid, qualifier,
        guidance_as_of, revision, n_revisions, kind, confidence, label, includes_finance_leases``;
        NaN where there is none), ``latest_ttm_ocf`` with ``latest_ttm_label`` (calendar quarter
        of the company's latest trailing twelve months in the snapshot), ``fits_inside_cash``
        (`FITS_RULE`; NA without a numeric plan) and ``capex_minus_guided_mid`` (USD, where both
        exist). Quarter-only and wording-only plans are not matched here (see `capex_guidance`).

    Examples
    --------
    >>> gvc = guidance_vs_cash()
    >>> sorted(gvc["basis"].unique())
    ['calendar year', 'fiscal year to June', 'fiscal year to May']
    """
    tickers = hyperscalers()
    months = _fy_end_months()
    plans = capex_guidance()
    annual = plans[(plans["plan_scope"] == "year") & plans["has_figure"]]
    latest = annual[annual["is_latest"]]
    cal = financials(tickers, freq="FY", calendar=True, metrics=["capex", "operating_cash_flow"])
    frame = _actuals_wide(cal, "calendar_year").assign(basis="calendar year")
    frame["period_label"] = frame["year"].astype(int).astype(str)
    fiscal_tickers = sorted({t for t in latest["ticker"] if months[t] != 12})
    pieces = [frame]
    if fiscal_tickers:
        fy = financials(fiscal_tickers, freq="FY", metrics=["capex", "operating_cash_flow"])
        fy_frame = _actuals_wide(fy, "fiscal_year")
        fy_frame["basis"] = fy_frame["ticker"].map(lambda t: _basis(months[t]))
        pieces.append(fy_frame)
    frame = pd.concat(pieces, ignore_index=True)
    frame["year"] = frame["year"].astype(int)
    # Plan periods with no actual rows yet (e.g. 2026, Oracle FY2027).
    keys = latest.assign(basis=latest["plan_basis"], year=latest["plan_year"].astype(int))[["ticker", "basis",
                                                                                              "year"]]
    frame = frame.merge(keys, on=["ticker", "basis", "year"], how="outer")
    fiscal = frame["basis"] != "calendar year"
    frame["period_label"] = np.where(
        fiscal,
        "FY" + frame["year"].astype(str) + " (to " + frame["ticker"].map(
            lambda t: _MONTHS[months[t] - 1][:3]) + " " + frame["year"].astype(str) + ")",
        frame["year"].astype(str))
    frame = frame[frame["year"] >= since]
    plan_cols = latest.rename(columns={"value": "guided_value", "value_low": "guided_low",
                                       "value_high": "guided_high", "as_of": "guidance_as_of",
                                       "plan_basis": "basis"})
    plan_cols = plan_cols.assign(year=plan_cols["plan_year"].astype(int))[
        ["ticker", "basis", "year", "fact_id", "guided_value", "guided_low", "guided_high", "guided_top",
         "guided_mid", "qualifier", "guidance_as_of", "revision", "n_revisions", "kind", "confidence", "label",
         "includes_finance_leases"]]
    frame = frame.merge(plan_cols, on=["ticker", "basis", "year"], how="left")
    frame = frame.join(_latest_ttm_ocf(tickers), on="ticker")
    has_plan = frame["guided_top"].notna()
    fits = (frame["guided_top"] <= frame["latest_ttm_ocf"]).astype("boolean")
    frame["fits_inside_cash"] = fits.where(has_plan, pd.NA)
    frame["capex_minus_guided_mid"] = frame["capex"] - frame["guided_mid"]
    order = ["ticker", "basis", "year", "period_label", "capex", "operating_cash_flow", "period_start",
             "period_end"]
    rest = [c for c in frame.columns if c not in order]
    return frame[order + rest].sort_values(["ticker", "basis", "year"]).reset_index(drop=True)


def _fx_rates() -> pd.DataFrame:
    """Cited annual-average TWD per USD rates by calendar year (monthly rates are not used)."""
    table = facts()
    rows = table[(table["unit"] == "TWD per USD") & table["period"].str.fullmatch(r"\d{4}").fillna(False)
                 & table["value"].notna()]
    rows = rows[rows["claim_id"].fillna("") == ""]
    out = pd.DataFrame({"calendar_year": rows["period"].astype(int), "twd_per_usd": rows["value"],
                        "fx_fact_id": rows["fact_id"].astype(str)})
    return out.sort_values(["calendar_year", "fx_fact_id"]).drop_duplicates("calendar_year").set_index(
        "calendar_year")


def _nvidia_data_center() -> pd.DataFrame:
    """Nvidia Data Center segment revenue (USD) summed to calendar years that have all four quarters cited."""
    seg = segment_series("Nvidia Data Center", "revenue")
    scale = seg["unit"].map(_UNIT_SCALE)
    cal = calendar_quarter(seg["period_end"])
    seg = seg.assign(usd=seg["value"] * scale, confidence=seg["confidence"].astype(str),
                     fact_id=seg["fact_id"].astype(str), calendar_year=cal["calendar_year"].astype(int),
                     calendar_quarter=cal["calendar_quarter"].astype(int))
    grouped = seg.groupby("calendar_year")
    out = pd.DataFrame({
        "nvidia_dc_quarters": grouped["calendar_quarter"].nunique(),
        "nvidia_data_center": grouped["usd"].sum(),
        "nvidia_dc_fact_ids": grouped["fact_id"].agg(lambda s: ", ".join(s.astype(str))),
        "nvidia_dc_lowest_confidence": grouped["confidence"].agg(
            lambda s: max((str(c) for c in s), key=["high", "medium", "low"].index)),
    })
    out.loc[out["nvidia_dc_quarters"] < 4, "nvidia_data_center"] = np.nan
    return out


def spenders_to_suppliers(start_year: int = 2019) -> pd.DataFrame:
    """Yearly hyperscaler capex beside upstream suppliers' revenue, and their ratio (an upper bound).

    Parameters
    ----------
    start_year : int
        First calendar year.

    Returns
    -------
    pandas.DataFrame
        One row per calendar year, indexed by ``calendar_year``:

        - ``capex_<TICKER>`` for AMZN, MSFT, GOOGL, META, ORCL (USD, calendar years from four
          calendar-aligned quarters) and ``capex_total`` (NaN where any company lacks the year;
          ``capex_missing`` names them);
        - ``revenue_<TICKER>`` for NVDA, AMD, AVGO, MU, INTC (USD, calendar years) and
          ``revenue_TSM`` (USD, TSMC's December fiscal year = calendar year, converted at the cited
          annual-average rate ``twd_per_usd`` of facts row ``fx_fact_id``; NaN without a rate),
          ``revenue_TSM_twd`` (TWD, always);
        - ``upstream_total_ex_tsmc`` (the five USD filers; NaN where any lacks the year),
          ``upstream_total`` (that plus TSMC when converted; TSMC in TWD is left out and named in
          ``upstream_excluded``);
        - ``nvidia_data_center`` (USD; Nvidia's Data Center segment from the facts table summed to
          calendar years where all four quarters are cited; a part of ``revenue_NVDA``, never added
          to the totals), ``nvidia_dc_fact_ids``, ``nvidia_dc_lowest_confidence``;
        - ``ratio_upper_bound`` = upstream_total / capex_total, ``ratio_ex_tsmc`` =
          upstream_total_ex_tsmc / capex_total, ``ratio_with_tsmc`` (``ratio_upper_bound`` only in
          years where TSMC is converted, so a line of it never silently drops TSMC),
          ``nvidia_dc_to_capex``; ``ratio_label`` is `RATIO_LABEL`.

    Notes
    -----
    The ratio is an **upper-bound association, not an attribution**: suppliers also sell to other
    customers (PCs, phones, cars, other clouds), hyperscaler capex also buys land, buildings and power
    gear, and TSMC's revenue partly reappears in Nvidia's, AMD's and Broadcom's cost of sales (so the
    sum double-counts). A zero or missing input gives NaN.

    Examples
    --------
    >>> flows = spenders_to_suppliers()
    >>> flows.loc[2024, "upstream_excluded"]
    'TSM (kept in TWD: no cited annual TWD/USD rate)'
    """
    spenders = hyperscalers()
    capex = financials(spenders, freq="FY", calendar=True, metrics="capex")
    capex_w = capex.pivot_table(index="calendar_year", columns="ticker", values="value", aggfunc="first",
                                dropna=False).reindex(columns=spenders)
    rev = financials(list(USD_SUPPLIERS), freq="FY", calendar=True, metrics="revenue")
    rev_w = rev.pivot_table(index="calendar_year", columns="ticker", values="value", aggfunc="first",
                            dropna=False).reindex(columns=list(USD_SUPPLIERS))
    tsm = financials(TWD_SUPPLIER, freq="FY", metrics="revenue")
    tsm = tsm[(tsm["period_end"].dt.month == 12) & (tsm["period_start"].dt.month == 1)]
    tsm_twd = tsm.set_index(tsm["period_end"].dt.year)["value"].rename("revenue_TSM_twd")
    years = sorted(set(capex_w.index.astype(int)) | set(rev_w.index.astype(int)) | set(tsm_twd.index))
    years = [y for y in years if y >= start_year]
    out = pd.DataFrame(index=pd.Index(years, name="calendar_year"))
    for t in spenders:
        out[f"capex_{t}"] = capex_w[t].reindex(years).to_numpy(dtype=float)
    cap = out[[f"capex_{t}" for t in spenders]]
    out["capex_total"] = cap.sum(axis=1, min_count=len(spenders)).where(cap.notna().all(axis=1))
    out["capex_missing"] = [", ".join(t for t in spenders if pd.isna(out.at[y, f"capex_{t}"])) for y in years]
    for t in USD_SUPPLIERS:
        out[f"revenue_{t}"] = rev_w[t].reindex(years).to_numpy(dtype=float)
    out["revenue_TSM_twd"] = tsm_twd.reindex(years).to_numpy(dtype=float)
    fx = _fx_rates().reindex(years)
    out["twd_per_usd"] = fx["twd_per_usd"].to_numpy(dtype=float)
    out["fx_fact_id"] = fx["fx_fact_id"].fillna("").to_numpy()
    out["revenue_TSM"] = out["revenue_TSM_twd"] / out["twd_per_usd"]
    usd = out[[f"revenue_{t}" for t in USD_SUPPLIERS]]
    out["upstream_missing"] = [", ".join(t for t in USD_SUPPLIERS if pd.isna(out.at[y, f"revenue_{t}"]))
                               for y in years]
    out["upstream_total_ex_tsmc"] = usd.sum(axis=1, min_count=len(USD_SUPPLIERS)).where(usd.notna().all(axis=1))
    out["upstream_total"] = out["upstream_total_ex_tsmc"] + out["revenue_TSM"].fillna(0.0)
    out["upstream_excluded"] = np.where(
        out["revenue_TSM"].isna(),
        np.where(out["revenue_TSM_twd"].notna(), "TSM (kept in TWD: no cited annual TWD/USD rate)",
                 "TSM (no annual revenue in the snapshot)"),
        "")
    dc = _nvidia_data_center().reindex(years)
    out["nvidia_data_center"] = dc["nvidia_data_center"].to_numpy(dtype=float)
    out["nvidia_dc_fact_ids"] = dc["nvidia_dc_fact_ids"].where(dc["nvidia_data_center"].notna(), "").fillna("")
    out["nvidia_dc_lowest_confidence"] = dc["nvidia_dc_lowest_confidence"].where(
        dc["nvidia_data_center"].notna(), "").fillna("")
    denom = out["capex_total"].where(out["capex_total"] != 0)
    out["ratio_upper_bound"] = out["upstream_total"] / denom
    out["ratio_ex_tsmc"] = out["upstream_total_ex_tsmc"] / denom
    out["ratio_with_tsmc"] = out["ratio_upper_bound"].where(out["revenue_TSM"].notna())
    out["nvidia_dc_to_capex"] = out["nvidia_data_center"] / denom
    out["ratio_label"] = RATIO_LABEL
    return out


def flow_summary(money: pd.DataFrame, gvc: pd.DataFrame) -> str:
    """Return the chapter's summary as Markdown, every number computed from the two frames.

    Parameters
    ----------
    money : pandas.DataFrame
        `spenders_to_suppliers` output.
    gvc : pandas.DataFrame
        `guidance_vs_cash` output.
    """
    full = money.dropna(subset=["capex_total", "upstream_total_ex_tsmc"])
    first, last = full.index[0], full.index[-1]
    f, lrow = full.loc[first], full.loc[last]
    text = (
        f"**Follow the money (B2).** Calendar-year capex of the five hyperscalers rose from "
        f"${f['capex_total'] / 1e9:,.0f}bn in {first} to ${lrow['capex_total'] / 1e9:,.0f}bn in {last}; the "
        f"revenue of Nvidia, AMD, Broadcom, Micron and Intel went from ${f['upstream_total_ex_tsmc'] / 1e9:,.0f}bn "
        f"to ${lrow['upstream_total_ex_tsmc'] / 1e9:,.0f}bn, so their revenue per dollar of hyperscaler capex "
        f"moved from {f['ratio_ex_tsmc']:.2f} to {lrow['ratio_ex_tsmc']:.2f} (an {RATIO_LABEL}, not an "
        f"attribution)."
    )
    dc = money.dropna(subset=["nvidia_dc_to_capex"])
    if not dc.empty:
        y = dc.index[-1]
        text += (f" Nvidia's Data Center segment alone took in ${dc.at[y, 'nvidia_data_center'] / 1e9:,.0f}bn in "
                 f"{y}, {dc.at[y, 'nvidia_dc_to_capex']:.0%} of that year's hyperscaler capex.")
    plans = gvc.dropna(subset=["guided_top"])
    future = plans[plans["capex"].isna()]
    if not future.empty:
        fit = future[future["fits_inside_cash"] == True]  # noqa: E712 - nullable boolean
        over = future[future["fits_inside_cash"] == False]  # noqa: E712
        def names(rows):
            return ", ".join(f"{r.ticker} {r.period_label} (${r.guided_top / 1e9:,.0f}bn vs "
                             f"${r.latest_ttm_ocf / 1e9:,.0f}bn)" for r in rows.itertuples())
        text += (f" Of the {len(future)} latest plans for periods not yet complete, {len(fit)} fit inside the "
                 f"company's latest trailing operating cash flow" + (f" ({names(fit)})" if len(fit) else "")
                 + f" and {len(over)} exceed it" + (f" ({names(over)})" if len(over) else "") + ".")
    return text
