"""Follow the money: hyperscaler capex guidance against cash, and spenders beside their suppliers (claim B2)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from valuechain_lib.calc.metrics import line_items
from valuechain_lib.calc.periods import calendar_label, calendar_quarter, fiscal_label
from valuechain_lib.snapshot.facts import facts, label, segment_series
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.reported_after import reported_after
from valuechain_lib.snapshot.universe import members, universe

#: The spenders (`valuechain_lib.snapshot.universe.members`).
SPENDERS = "hyperscaler"
#: Upstream suppliers whose revenue is set beside hyperscaler capex; all but TSM file in USD.
USD_SUPPLIERS = ("NVDA", "AMD", "AVGO", "MU", "INTC")
TWD_SUPPLIER = "TSM"
SUPPLIERS = (*USD_SUPPLIERS, TWD_SUPPLIER)
#: TSMC's name in the facts table (its results releases: TWD figures and its own USD translations).
TSMC_ENTITY = "TSMC"
#: The rule behind ``fits_inside_cash``: a plan is set against operating cash flow of its own period.
FITS_RULE = ("a plan fits inside cash when its guided capex (the point value, or the top of a range) is at or "
             "below the company's operating cash flow over the same period as the plan (the calendar year for a "
             "calendar-year plan, the fiscal year for a fiscal-year plan): the reported figure once that period "
             "has been filed; before that, the latest reported trailing-twelve-month operating cash flow grown "
             "to the period's end at its own rate of growth over the preceding year (an assumption, stated with "
             "each figure), beside the growth the plan would need")
#: How the supplier/capex ratio must be read.
RATIO_LABEL = "upper-bound association"
_UNIT_SCALE = {"USD billion": 1e9, "USD million": 1e6}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_PLAN_PERIOD = re.compile(r"^FY(\d{4})(?: Q([1-4]))?$")
#: A claim-B2 facts row is a capex plan when its metric says so; B2 also holds reported results (cash flow,
#: capex, leases) that are not plans.
PLAN_METRIC = re.compile(r"\b(?:plan|guide|guidance|expectation|outlook)\b", re.IGNORECASE)


def _fy_end_months() -> dict[str, int]:
    u = universe()
    return dict(zip(u["ticker"], u["fiscal_year_end_month"].astype(int), strict=True))


def _basis(fy_end_month: int) -> str:
    return "calendar year" if fy_end_month == 12 else f"fiscal year to {_MONTHS[fy_end_month - 1]}"


def _plan_basis(period_end: pd.Timestamp, fy_end_month: int) -> str:
    """The year a plan covers: the company's fiscal year when the plan ends in its fiscal-year-end month,
    else the calendar year when it ends in December (Microsoft also guides on calendar 2026)."""
    if pd.isna(period_end) or period_end.month == fy_end_month:
        return _basis(fy_end_month)
    return "calendar year" if period_end.month == 12 else _basis(fy_end_month)


def period_text(basis: str, year: int) -> str:
    """Name a plan period in words: ``calendar 2026`` or ``fiscal year to May 2027``.

    Examples
    --------
    >>> period_text("fiscal year to May", 2027), period_text("calendar year", 2026)
    ('fiscal year to May 2027', 'calendar 2026')
    """
    return f"calendar {int(year)}" if basis == "calendar year" else f"{basis} {int(year)}"


def capex_guidance() -> pd.DataFrame:
    """Each hyperscaler's stated capex plans from the facts table (claim B2), revisions in order.

    Returns
    -------
    pandas.DataFrame
        One row per facts-table row of claim B2 whose ticker is a hyperscaler's and whose metric names
        a plan (`PLAN_METRIC`; B2 also holds reported results):
        ``company, ticker, fact_id, plan_period`` (as stated, e.g. ``FY2026`` or ``FY2026 Q1``),
        ``plan_year`` (int), ``plan_scope`` (``year`` or ``quarter``), ``plan_basis`` (``calendar
        year`` or ``fiscal year to <month>``, from the month the plan's period ends), ``period_end``, ``value, value_low, value_high`` (USD;
        NaN where not given), ``qualifier``, ``guided_top`` (value, or high end of a range; USD),
        ``guided_mid`` (value, or range midpoint; USD), ``has_figure`` (False for a wording-only
        plan), ``wording`` (the quoted evidence, else the metric text), ``as_of``, ``as_of_precision``,
        ``kind``, ``confidence``, ``revision`` (1 for the first statement about a plan period, then
        2, 3, … by ``as_of``, ties by fact_id), ``n_revisions``, ``is_latest``,
        ``includes_finance_leases`` (the stated plan counts finance-lease principal, which cash capex
        does not), ``label`` (`valuechain_lib.snapshot.facts.label`, naming the kind and confidence), ``metric``,
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
    table = table[table["ticker"].isin(members(sub_layer=SPENDERS))
                  & table["metric"].fillna("").str.contains(PLAN_METRIC)].copy()
    months = _fy_end_months()
    out = pd.DataFrame({"company": table["entity"].astype(str), "fact_id": table["fact_id"].astype(str)})
    out["ticker"] = table["ticker"].astype(str)
    period = table["period"].fillna("").astype(str)
    parsed = period.str.extract(_PLAN_PERIOD)
    year = pd.to_numeric(parsed[0], errors="coerce")
    year = year.fillna(table["period_end"].dt.year)
    out["plan_period"] = period.where(period != "", year.astype("Int64").astype(str))
    out["plan_year"] = year.astype("Int64")
    out["plan_scope"] = np.where(parsed[1].notna(), "quarter", "year")
    out["period_end"] = table["period_end"]
    out["plan_basis"] = [_plan_basis(end, months[t]) for t, end in zip(out["ticker"], out["period_end"],
                                                                         strict=True)]
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


def get_projected_ocf(base_ocf, prior_ocf, quarters_ahead):
    """Operating cash flow projected to a later date at its own growth over the preceding year.

    Formula: base_ocf × (base_ocf / prior_ocf) ** (quarters_ahead / 4), where base_ocf is a
    trailing-twelve-month figure and prior_ocf the same company's trailing twelve months one year
    earlier. Unit: the inputs' currency. NaN where prior_ocf is zero, negative or missing, or
    quarters_ahead is not positive.

    Parameters
    ----------
    base_ocf, prior_ocf : pandas.Series
        Latest trailing-twelve-month operating cash flow, and the one ending a year before it.
    quarters_ahead : pandas.Series
        Calendar quarters from the end of ``base_ocf`` to the end of the period projected.

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> get_projected_ocf(pd.Series([120.0]), pd.Series([100.0]), pd.Series([2])).round(4).tolist()
    [131.4534]
    """
    growth = base_ocf / prior_ocf.where(prior_ocf > 0)
    quarters = quarters_ahead.astype(float).where(quarters_ahead > 0)
    return base_ocf * growth ** (quarters / 4)


def get_growth_needed(plan, base_ocf, quarters_ahead):
    """Yearly growth of operating cash flow a plan needs to fit inside it by the plan period's end.

    Formula: (plan / base_ocf) ** (4 / quarters_ahead) − 1. Unit: fraction per year. NaN where
    base_ocf is zero, negative or missing, or quarters_ahead is not positive.

    Parameters
    ----------
    plan : pandas.Series
        Guided capex for the period (USD).
    base_ocf : pandas.Series
        Latest trailing-twelve-month operating cash flow (USD).
    quarters_ahead : pandas.Series
        Calendar quarters from the end of ``base_ocf`` to the end of the plan period.

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> get_growth_needed(pd.Series([144.0]), pd.Series([100.0]), pd.Series([8])).round(4).tolist()
    [0.2]
    """
    quarters = quarters_ahead.astype(float).where(quarters_ahead > 0)
    return (plan / base_ocf.where(base_ocf > 0)) ** (4 / quarters) - 1


def ttm_ocf_base(ttm: pd.DataFrame) -> pd.DataFrame:
    """Each company's latest trailing-twelve-month operating cash flow and the one a year earlier.

    Parameters
    ----------
    ttm : pandas.DataFrame
        `financials(freq="TTM", calendar=True, metrics="operating_cash_flow")` rows: ``ticker,
        calendar_year, calendar_quarter, period_end, value``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ticker: ``ocf_base`` (USD), ``ocf_base_end`` (the company's own period end),
        ``ocf_base_quarter`` (calendar quarter, e.g. ``2026 Q1``), ``ocf_prior`` (the TTM ending four
        calendar quarters earlier; NaN where the snapshot lacks it) and ``ocf_growth`` (ocf_base /
        ocf_prior − 1).
    """
    ttm = ttm.dropna(subset=["value"]).copy()
    ttm["q_index"] = ttm["calendar_year"].astype(int) * 4 + ttm["calendar_quarter"].astype(int) - 1
    last = ttm.sort_values("period_end").groupby("ticker").tail(1).set_index("ticker")
    by_quarter = ttm.set_index(["ticker", "q_index"])["value"]
    prior = [by_quarter.get((t, q - 4), np.nan) for t, q in zip(last.index, last["q_index"], strict=True)]
    out = pd.DataFrame({
        "ocf_base": last["value"].astype(float),
        "ocf_base_end": last["period_end"],
        "ocf_base_quarter": [calendar_label(q // 4, q % 4 + 1) for q in last["q_index"]],
        "ocf_base_q_index": last["q_index"].astype(int),
        "ocf_prior": np.asarray(prior, dtype=float),
    }, index=last.index)
    out["ocf_growth"] = out["ocf_base"] / out["ocf_prior"].where(out["ocf_prior"] > 0) - 1
    return out


def match_plans_to_cash(plans: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Set each plan against operating cash flow of its own period (the rule in `FITS_RULE`).

    Parameters
    ----------
    plans : pandas.DataFrame
        One row per plan: ``ticker``, ``plan_period_end`` (the last day of the plan's period),
        ``guided_top`` (USD) and ``operating_cash_flow`` (USD, reported for that same period; NaN while
        it has not been filed).
    base : pandas.DataFrame
        `ttm_ocf_base` output, indexed by ticker.

    Returns
    -------
    pandas.DataFrame
        ``plans`` with ``ocf_base, ocf_base_end, ocf_base_quarter, ocf_prior, ocf_growth`` (the
        company's latest TTM and its growth over the preceding year), ``quarters_ahead`` (calendar
        quarters from that TTM's end to the plan period's end), ``cash_basis`` (``reported`` where the
        period has been filed, ``projected`` where not), ``ocf_projected`` (`get_projected_ocf`),
        ``ocf_matched`` (the reported figure, else the projection), ``growth_needed``
        (`get_growth_needed`; NaN where the period has been filed), ``fits_inside_cash`` (boolean;
        NA where ``ocf_matched`` or the plan is missing) and ``cash_reason`` (why ``ocf_matched`` is
        missing, else empty).
    """
    out = plans.join(base, on="ticker")
    end_q = calendar_quarter(out["plan_period_end"])
    end_index = end_q["calendar_year"].astype(float) * 4 + end_q["calendar_quarter"].astype(float) - 1
    out["quarters_ahead"] = end_index - out["ocf_base_q_index"]
    reported = out["operating_cash_flow"].notna()
    out["cash_basis"] = np.where(reported, "reported", "projected")
    out["ocf_projected"] = get_projected_ocf(out["ocf_base"], out["ocf_prior"], out["quarters_ahead"]).where(
        ~reported)
    out["ocf_matched"] = out["operating_cash_flow"].where(reported, out["ocf_projected"])
    out["growth_needed"] = get_growth_needed(out["guided_top"], out["ocf_base"], out["quarters_ahead"]).where(
        ~reported)
    fits = (out["guided_top"] <= out["ocf_matched"]).astype("boolean")
    out["fits_inside_cash"] = fits.where(out["guided_top"].notna() & out["ocf_matched"].notna(), pd.NA)
    reason = np.select(
        [reported, out["ocf_base"].isna(), ~(out["quarters_ahead"] > 0), ~(out["ocf_prior"] > 0)],
        ["", "no trailing operating cash flow in the snapshot",
         "the period ended but its year is not in the snapshot",
         "no positive trailing operating cash flow a year before the latest"], default="")
    out["cash_reason"] = np.where(out["ocf_matched"].isna(), reason, "")
    return out.drop(columns=["ocf_base_q_index"])


def _actuals_wide(rows: pd.DataFrame, year_col: str) -> pd.DataFrame:
    wide = line_items(rows, ["capex", "operating_cash_flow"], keys=["ticker", year_col], keep_empty=True)
    # Every company in every year of the table (a year a company lacks is a row of NaN).
    wide = wide.reindex(pd.MultiIndex.from_product(wide.index.levels, names=wide.index.names))
    ends = rows.groupby(["ticker", year_col])[["period_start", "period_end"]].agg({"period_start": "min",
                                                                                  "period_end": "max"})
    return wide.join(ends).reset_index().rename(columns={year_col: "year"})


def guidance_vs_cash(since: int = 2022) -> pd.DataFrame:
    """Actual capex and operating cash flow beside the latest capex guidance, per company and year.

    Calendar years for every hyperscaler come from ``financials(freq="FY", calendar=True)`` (four
    calendar-aligned quarters). Microsoft (year to June) and Oracle (year to May) guide on their
    fiscal years, so those plans are set beside the matching fiscal-year actuals
    (``financials(freq="FY")``) in extra rows whose ``basis`` says so; a fiscal plan is never
    compared with a calendar year, nor a calendar plan with a fiscal year. Each plan is compared
    with operating cash flow of its own period (`FITS_RULE`, `match_plans_to_cash`).

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
        guidance_as_of, revision, n_revisions, kind, confidence, label, includes_finance_leases,
        plan_period_end``; NaN where there is none), ``period_text`` (``calendar 2026``, ``fiscal
        year to May 2027``), the comparison with cash of the same period in rows with a plan
        (`match_plans_to_cash`: ``ocf_base, ocf_base_end, ocf_base_quarter, ocf_prior, ocf_growth,
        quarters_ahead, cash_basis, ocf_projected, ocf_matched, growth_needed, fits_inside_cash,
        cash_reason``; `FITS_RULE`) and ``capex_minus_guided_mid`` (USD, where both exist).
        Quarter-only and wording-only plans are not matched here (see `capex_guidance`).

    Examples
    --------
    >>> gvc = guidance_vs_cash()
    >>> sorted(gvc["basis"].unique())
    ['calendar year', 'fiscal year to June', 'fiscal year to May']
    """
    tickers = members(sub_layer=SPENDERS)
    months = _fy_end_months()
    plans = capex_guidance()
    annual = plans[(plans["plan_scope"] == "year") & plans["has_figure"]]
    latest = annual[annual["is_latest"]]
    cal = financials(tickers, freq="FY", calendar=True, metrics=["capex", "operating_cash_flow"])
    frame = _actuals_wide(cal, "calendar_year").assign(basis="calendar year")
    frame["period_label"] = frame["year"].astype(int).astype(str)
    fiscal_tickers = sorted(set(latest.loc[latest["plan_basis"] != "calendar year", "ticker"]))
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
    frame["period_label"] = [
        f"{fiscal_label(y, 'FY')} (to {_MONTHS[months[t] - 1][:3]} {y})" if is_fiscal else str(y)
        for t, y, is_fiscal in zip(frame["ticker"], frame["year"], fiscal, strict=True)]
    frame = frame[frame["year"] >= since]
    plan_cols = latest.rename(columns={"value": "guided_value", "value_low": "guided_low",
                                       "value_high": "guided_high", "as_of": "guidance_as_of",
                                       "plan_basis": "basis"})
    plan_cols = plan_cols.assign(year=plan_cols["plan_year"].astype(int), plan_period_end=plan_cols["period_end"])[
        ["ticker", "basis", "year", "fact_id", "plan_period_end", "guided_value", "guided_low", "guided_high",
         "guided_top", "guided_mid", "qualifier", "guidance_as_of", "revision", "n_revisions", "kind", "confidence",
         "label", "includes_finance_leases"]]
    frame = frame.merge(plan_cols, on=["ticker", "basis", "year"], how="left")
    frame["period_text"] = [period_text(b, y) for b, y in zip(frame["basis"], frame["year"], strict=True)]
    ttm = financials(tickers, freq="TTM", calendar=True, metrics="operating_cash_flow")
    has_plan = frame["guided_top"].notna()
    matched = match_plans_to_cash(frame[has_plan], ttm_ocf_base(ttm))
    frame = frame.join(matched[[c for c in matched.columns if c not in frame.columns]])
    frame["fits_inside_cash"] = frame["fits_inside_cash"].astype("boolean")
    frame["cash_basis"] = frame["cash_basis"].fillna("")
    frame["cash_reason"] = frame["cash_reason"].fillna("")
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
    first_end, last_end = grouped["period_end"].min(), grouped["period_end"].max()
    out = pd.DataFrame({
        "nvidia_dc_quarters": grouped["calendar_quarter"].nunique(),
        "nvidia_dc_period": ("Nvidia's quarters ending " + first_end.dt.strftime("%Y-%m-%d") + " to "
                             + last_end.dt.strftime("%Y-%m-%d")),
        "nvidia_dc_period_end": last_end,
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
          to the totals), ``nvidia_dc_fact_ids``, ``nvidia_dc_lowest_confidence``,
          ``nvidia_dc_period`` (the dates of Nvidia's own quarters summed, e.g. ``Nvidia's quarters
          ending 2025-04-27 to 2026-01-25``);
        - ``period_end_<TICKER>`` for every spender and supplier: the company's own last period end
          in the calendar year (Oracle's calendar 2025 ends 2025-11-30, Nvidia's 2026-01-25), NaT
          where it has no figure; ``nvidia_dc_period_end`` the same for the cited Data Center quarters;
        - ``tsmc_gap``: why TSMC is left out of a year's USD totals (``no TWD/USD rate cited for
          2024``, ``no FY2025 annual report in the snapshot``), else empty;
        - ``ratio_upper_bound`` = upstream_total / capex_total, ``ratio_ex_tsmc`` =
          upstream_total_ex_tsmc / capex_total, ``ratio_with_tsmc`` (``ratio_upper_bound`` only in
          years where TSMC is converted, so a line of it never silently drops TSMC),
          ``nvidia_dc_to_capex``; ``ratio_label`` is `RATIO_LABEL`.

    Notes
    -----
    The ratio is an **upper-bound association, not an attribution**: suppliers also sell to other
    customers (PCs, phones, cars, other clouds), hyperscaler capex also buys land, buildings and power
    gear, and the supplier sum double-counts: TSMC's revenue partly reappears in Nvidia's, AMD's and
    Broadcom's cost of sales, and Micron's (like SK hynix's) high-bandwidth memory is inside Nvidia's
    cost of goods, so adding memory and GPU revenue counts the same dollar twice. Nvidia's Data
    Center revenue beside hyperscaler capex is an association too: Nvidia sells to many other
    buyers. A zero or missing input gives NaN.

    Examples
    --------
    >>> flows = spenders_to_suppliers()
    >>> flows.loc[2024, "upstream_excluded"]
    'TSM (kept in TWD: no cited annual TWD/USD rate)'
    """
    spenders = members(sub_layer=SPENDERS)
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
    keep = ["ticker", "calendar_year", "period_end"]
    ends = pd.concat([part.loc[part["value"].notna(), keep].astype({"calendar_year": int})
                      for part in (capex, rev, tsm.assign(calendar_year=tsm["period_end"].dt.year))])
    ends = ends.pivot_table(index="calendar_year", columns="ticker", values="period_end", aggfunc="max")
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
    out["tsmc_gap"] = [
        "" if pd.notna(out.at[y, "revenue_TSM"])
        else f"no TWD/USD rate cited for {y}" if pd.notna(out.at[y, "revenue_TSM_twd"])
        else f"no FY{y} annual report in the snapshot" for y in years]
    dc = _nvidia_data_center().reindex(years)
    out["nvidia_data_center"] = dc["nvidia_data_center"].to_numpy(dtype=float)
    out["nvidia_dc_fact_ids"] = dc["nvidia_dc_fact_ids"].where(dc["nvidia_data_center"].notna(), "").fillna("")
    out["nvidia_dc_lowest_confidence"] = dc["nvidia_dc_lowest_confidence"].where(
        dc["nvidia_data_center"].notna(), "").fillna("")
    out["nvidia_dc_period"] = dc["nvidia_dc_period"].where(dc["nvidia_data_center"].notna(), "").fillna("")
    out["nvidia_dc_period_end"] = pd.to_datetime(dc["nvidia_dc_period_end"].where(dc["nvidia_data_center"].notna()))
    denom = out["capex_total"].where(out["capex_total"] != 0)
    out["ratio_upper_bound"] = out["upstream_total"] / denom
    out["ratio_ex_tsmc"] = out["upstream_total_ex_tsmc"] / denom
    out["ratio_with_tsmc"] = out["ratio_upper_bound"].where(out["revenue_TSM"].notna())
    out["nvidia_dc_to_capex"] = out["nvidia_data_center"] / denom
    out["ratio_label"] = RATIO_LABEL
    for t in (*spenders, *SUPPLIERS):
        column = ends[t] if t in ends.columns else pd.Series(dtype="datetime64[ns]")
        out[f"period_end_{t}"] = pd.to_datetime(column.reindex(years)).to_numpy()
    return out


def period_ends(money: pd.DataFrame, columns: Mapping[str, str]) -> dict[str, pd.Timestamp]:
    """How far each company's figures in a chart run: its own last period end among the years with a value.

    Parameters
    ----------
    money : pandas.DataFrame
        `spenders_to_suppliers` rows of the years shown.
    columns : mapping
        ticker → the value column drawn for it (``capex_AMZN``, ``revenue_TSM``, ...).

    Returns
    -------
    dict
        ticker → the latest ``period_end_<ticker>`` in a year where its value column has a figure
        (companies with none are left out).
    """
    out = {}
    for ticker, column in columns.items():
        ends = money.loc[money[column].notna(), f"period_end_{ticker}"].dropna()
        if not ends.empty:
            out[ticker] = pd.Timestamp(ends.max())
    return out


def tsmc_reported_after() -> pd.DataFrame:
    """TSMC's revenue for periods after its last filing in the snapshot, from its results releases.

    The snapshot holds TSMC's annual reports (20-F, in TWD) to its latest filed fiscal year. Later
    revenue cited in the facts table is returned for charts to draw apart, never added to the filed
    series: the TWD figure (mapped in ``data/reported_after.csv``, `reported_after`) beside the
    company's own US-dollar translation of it (facts rows of `TSMC_ENTITY` in USD billion for the
    same period end). A period the snapshot files drops out.

    Returns
    -------
    pandas.DataFrame
        One row per period: ``fact_id`` (TWD figure), ``freq`` (``FY`` or ``Q``), ``period``
        (as cited, e.g. ``FY2025``, ``2026-Q2``), ``period_end``, ``value_twd`` (TWD),
        ``usd_fact_id``, ``value_usd`` (USD, TSMC's translation; NaN where none is cited),
        ``label`` and ``usd_label`` (facts-table labels naming kind and confidence), ``kind``,
        ``confidence``, ``last_filed`` (the last period end of TSMC's filed revenue).
    """
    rows = reported_after(TWD_SUPPLIER, "revenue")
    filed = financials(TWD_SUPPLIER, freq="FY", metrics="revenue")
    last_filed = filed.loc[filed["value"].notna(), "period_end"].max()
    cited = facts(entity=TSMC_ENTITY)
    usd = cited[(cited["unit"] == "USD billion") & (cited["period_end"] > last_filed)
                & cited["metric"].fillna("").str.contains("US dollars", case=False)]
    usd = usd.sort_values("fact_id").drop_duplicates("period_end").set_index("period_end")
    period = cited.set_index("fact_id")["period"]
    out = pd.DataFrame({
        "fact_id": rows["fact_id"], "freq": rows["freq"], "period": rows["fact_id"].map(period).astype(str),
        "period_end": rows["period_end"], "value_twd": rows["value"],
        "usd_fact_id": rows["period_end"].map(usd["fact_id"]).fillna("").astype(str),
        "value_usd": rows["period_end"].map(usd["value"]).astype(float) * _UNIT_SCALE["USD billion"],
        "label": rows["label"],
        "usd_label": [label(usd.loc[end].rename(usd.at[end, "fact_id"])) if end in usd.index else ""
                      for end in rows["period_end"]],
        "kind": rows["kind"], "confidence": rows["confidence"], "last_filed": last_filed,
    })
    return out.sort_values("period_end").reset_index(drop=True)


#: How `tsmc_revenue` names the filed series.
FILED_LABEL = "filed (20-F, in the snapshot)"


def tsmc_revenue(start_year: int = 2019) -> pd.DataFrame:
    """TSMC's filed annual revenue beside the revenue it reported after the snapshot, for one chart.

    Parameters
    ----------
    start_year : int
        First fiscal year of the filed series (TSMC's fiscal year is the calendar year).

    Returns
    -------
    pandas.DataFrame
        One row per period, filed years first: ``status`` (`FILED_LABEL`, or
        `valuechain_lib.snapshot.reported_after.LABEL` for `tsmc_reported_after` rows), ``freq``, ``period``,
        ``period_end``, ``value_twd`` (TWD), ``value_usd`` (USD: TSMC's own translation for the
        later figures, NaN for the filed years, whose rates are in `spenders_to_suppliers`),
        ``source`` (accession, or fact ids) and ``label``. The two kinds are never summed.
    """
    from valuechain_lib.snapshot.reported_after import LABEL

    filed = financials(TWD_SUPPLIER, freq="FY", metrics="revenue")
    filed = filed[filed["value"].notna() & (filed["period_end"].dt.year >= start_year)]
    rows = pd.DataFrame({
        "status": FILED_LABEL, "freq": "FY", "period": filed["fiscal_label"],
        "period_end": filed["period_end"], "value_twd": filed["value"].astype(float), "value_usd": np.nan,
        "source": "accession " + filed["accession"].astype(str),
        "label": filed["form"].astype(str) + " filed " + pd.to_datetime(filed["filed"]).dt.strftime("%Y-%m-%d"),
    })
    after = tsmc_reported_after()
    later = pd.DataFrame({
        "status": LABEL, "freq": after["freq"], "period": after["period"], "period_end": after["period_end"],
        "value_twd": after["value_twd"], "value_usd": after["value_usd"],
        "source": ("facts " + after["fact_id"] + np.where(after["usd_fact_id"] != "", ", " + after["usd_fact_id"], "")),
        "label": after["label"] + np.where(after["usd_label"] != "", "; " + after["usd_label"], ""),
    })
    return pd.concat([rows, later], ignore_index=True)


#: Why supplier revenue beside hyperscaler capex is not an attribution, for notes and sentences.
DOUBLE_COUNT_NOTE = ("The supplier sum counts some dollars twice: TSMC's revenue partly reappears in Nvidia's, "
                     "AMD's and Broadcom's cost of sales, and Micron's (like SK hynix's) high-bandwidth memory is "
                     "inside Nvidia's cost of goods, so adding memory and GPU revenue counts the same dollar twice.")
NVIDIA_DC_NOTE = ("Nvidia's Data Center revenue beside hyperscaler capex is an association, not an attribution: "
                  "Nvidia sells to many buyers besides these five (other clouds, neoclouds, model developers, "
                  "enterprises, governments), and the five also buy from others.")


def tsmc_gap_text(money: pd.DataFrame, years=None) -> str:
    """Name the years TSMC is left out of the USD totals, with the reason for each.

    Parameters
    ----------
    money : pandas.DataFrame
        `spenders_to_suppliers` output.
    years : iterable of int, optional
        Calendar years to consider (default: every year with a capex total).

    Returns
    -------
    str
        E.g. ``"TSMC left out of 2024 (no TWD/USD rate cited for 2024) and 2025 (no FY2025 annual
        report in the snapshot)"``; empty when TSMC is in every year.
    """
    rows = money[money["capex_total"].notna()] if years is None else money.loc[list(years)]
    rows = rows[rows["tsmc_gap"] != ""]
    parts = [f"{y} ({r})" for y, r in rows["tsmc_gap"].items()]
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"TSMC left out of {listed}"


def _bn(x: float) -> str:
    return f"${x / 1e9:,.0f}bn"


def plan_vs_cash_text(row) -> str:
    """One plan set against operating cash flow of its own period, in words.

    Parameters
    ----------
    row : pandas.Series or namedtuple
        A `guidance_vs_cash` row with a plan.

    Returns
    -------
    str
        E.g. ``"AMZN calendar 2026: plan $200bn vs $181bn projected (the twelve months to
        2026-03-31, $149bn, grown for 3 quarters at its rate over the preceding year, +30% a year;
        the plan needs +49% a year)"``.
    """
    head = f"{row.ticker} {row.period_text}: plan {_bn(row.guided_top)} vs "
    if row.cash_basis == "reported":
        return head + f"{_bn(row.ocf_matched)} reported for the same period"
    if pd.isna(row.ocf_matched):
        return head + f"no operating cash flow for the same period ({row.cash_reason})"
    return head + (f"{_bn(row.ocf_matched)} projected (the twelve months to {row.ocf_base_end:%Y-%m-%d}, "
                   f"{_bn(row.ocf_base)}, grown for {int(row.quarters_ahead)} quarters at its rate over the "
                   f"preceding year, {row.ocf_growth:+.0%} a year; the plan needs {row.growth_needed:+.0%} a year)")


def flow_summary(money: pd.DataFrame, gvc: pd.DataFrame) -> str:
    """Return the chapter's summary as Markdown, every number computed from the two frames.

    Parameters
    ----------
    money : pandas.DataFrame
        `spenders_to_suppliers` output.
    gvc : pandas.DataFrame
        `guidance_vs_cash` output.

    Returns
    -------
    str
    """
    full = money.dropna(subset=["capex_total", "upstream_total_ex_tsmc"])
    first, last = full.index[0], full.index[-1]
    f, lrow = full.loc[first], full.loc[last]
    text = (
        f"**Follow the money (B2).** Capex of the five hyperscalers rose from {_bn(f['capex_total'])} in calendar "
        f"{first} to {_bn(lrow['capex_total'])} in calendar {last}; the revenue of Nvidia, AMD, Broadcom, Micron "
        f"and Intel over the same calendar years went from {_bn(f['upstream_total_ex_tsmc'])} to "
        f"{_bn(lrow['upstream_total_ex_tsmc'])}, so their revenue per dollar of hyperscaler capex moved from "
        f"{f['ratio_ex_tsmc']:.2f} to {lrow['ratio_ex_tsmc']:.2f} (an {RATIO_LABEL}, not an attribution; "
        f"it also counts memory inside GPUs twice)."
    )
    dc = money.dropna(subset=["nvidia_dc_to_capex"])
    if not dc.empty:
        y = dc.index[-1]
        text += (f" Nvidia's Data Center segment took in {_bn(dc.at[y, 'nvidia_data_center'])} in calendar {y} "
                 f"({dc.at[y, 'nvidia_dc_period']}), an amount equal to {dc.at[y, 'nvidia_dc_to_capex']:.0%} of "
                 f"that year's hyperscaler capex: an association, not an attribution, since Nvidia also sells to "
                 f"many other buyers.")
    plans = gvc.dropna(subset=["guided_top"])
    for basis, intro in (("reported", "periods already filed, against reported operating cash flow of the same "
                                      "period"),
                         ("projected", "periods not yet filed, against operating cash flow of the same period "
                                       "projected from the company's latest twelve months at its growth over the "
                                       "year before")):
        rows = plans[plans["cash_basis"] == basis]
        if rows.empty:
            continue
        over = rows[rows["fits_inside_cash"].fillna(True).eq(False)]
        untested = int(rows["fits_inside_cash"].isna().sum())
        text += (f" Of the {len(rows)} latest plans for {intro}, {len(over)} "
                 + ("exceeds" if len(over) == 1 else "exceed") + " it"
                 + (": " + "; ".join(plan_vs_cash_text(r) for r in over.itertuples()) if len(over) else "")
                 + (f" ({untested} cannot be compared: "
                    + "; ".join(plan_vs_cash_text(r) for r in rows[rows['fits_inside_cash'].isna()].itertuples())
                    + ")" if untested else "")
                 + ".")
    return text
