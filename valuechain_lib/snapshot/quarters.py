"""Discrete quarters, fiscal years and trailing twelve months from reported periods.

Flow metrics: a quarter is the reported three-month figure where there is one, else derived from
year-to-date figures (Q2 = H1 − Q1, Q3 = 9M − H1, Q4 = FY − 9M). Balance-sheet metrics are the
instant at the quarter end. Every value that cannot be had stays NaN with a reason, never 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from valuechain_lib.calc.periods import calendar_quarter, calendar_year_of_fiscal_year
from valuechain_lib.paths import MAPPINGS_DIR
from valuechain_lib.snapshot.zero_totals import fill_zero_quarters

TIDY_COLUMNS = [
    "ticker", "metric", "freq", "fiscal_year", "fiscal_period", "period_start", "period_end",
    "calendar_year", "calendar_quarter", "value", "unit", "accession", "form", "filed", "tag", "source",
    "derivation", "missing_reason",
]
_FACT_FIELDS = ["value", "period_start", "period_end", "accession", "form", "filed", "tag", "source", "unit"]


@lru_cache(maxsize=1)
def missing_reasons() -> pd.DataFrame:
    """Return the reasons for metrics a company does not carry (``mappings/missing_reasons.csv``)."""
    return pd.read_csv(MAPPINGS_DIR / "missing_reasons.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _reason_lookup() -> dict[tuple[str, str], str]:
    table = missing_reasons()
    return dict(zip(zip(table["ticker"], table["metric"], strict=True), table["reason"], strict=True))


def reason_for(ticker: str, metric: str, has_any: bool) -> str:
    """Return why a metric is missing for a company.

    The company's own reason comes first; a metric-wide reason (``*``) applies only when the
    company has no value of that metric at all; otherwise the generic reason.
    """
    lookup = _reason_lookup()
    if (ticker, metric) in lookup:
        return lookup[(ticker, metric)]
    if (ticker, "*") in lookup:
        return lookup[(ticker, "*")]
    if not has_any and ("*", metric) in lookup:
        return lookup[("*", metric)]
    return lookup.get(("*", "*"), "no fact for this period under any mapped tag in the source")


def _slot(reported: pd.DataFrame, duration: str, quarter: int | None = None) -> pd.DataFrame:
    rows = reported[reported["duration"] == duration]
    if quarter is not None:
        rows = rows[rows["fiscal_quarter"] == quarter]
    return rows.set_index(["ticker", "metric", "fiscal_year"])[_FACT_FIELDS]


def _flow_quarters(reported: pd.DataFrame) -> pd.DataFrame:
    flows = reported[reported["kind"] == "flow"]
    three = {q: _slot(flows, "3M", q) for q in (1, 2, 3, 4)}
    ytd = {2: _slot(flows, "6M"), 3: _slot(flows, "9M"), 4: _slot(flows, "FY")}
    index = flows.set_index(["ticker", "metric", "fiscal_year"]).index.unique()
    out = []
    # ytd_value[k]: the year-to-date total through quarter k (reported, or built from quarters).
    ytd_value = {1: three[1]["value"].reindex(index)}
    ytd_text = {1: pd.Series("Q1", index=index)}
    ytd_accn = {1: three[1]["accession"].reindex(index)}
    prev_end = three[1]["period_end"].reindex(index)
    q1 = three[1].reindex(index).assign(derivation="reported (3 months)")
    q1["fiscal_period"] = "Q1"
    out.append(q1)
    for k in (2, 3, 4):
        rep = three[k].reindex(index)
        cum = ytd[k].reindex(index)
        name = {2: "6M YTD", 3: "9M YTD", 4: "FY"}[k]
        derived_value = cum["value"] - ytd_value[k - 1]
        use_reported = rep["value"].notna()
        derived = cum.copy()
        derived["value"] = derived_value
        derived["period_start"] = prev_end + pd.Timedelta(days=1)
        derived["derivation"] = (
            name + " (" + cum["accession"].fillna("no accession") + ") − "
            + ytd_text[k - 1] + " (" + ytd_accn[k - 1].fillna("no accession") + ")"
        )
        derived.loc[derived["value"].isna(), "derivation"] = np.nan
        quarter = derived.copy()
        quarter.loc[use_reported, _FACT_FIELDS] = rep.loc[use_reported, _FACT_FIELDS]
        quarter.loc[use_reported, "derivation"] = "reported (3 months)"
        quarter["fiscal_period"] = f"Q{k}"
        out.append(quarter)
        # Year-to-date through k: reported cumulative figure if any, else previous YTD + this quarter.
        built = ytd_value[k - 1] + quarter["value"]
        ytd_value[k] = cum["value"].where(cum["value"].notna(), built)
        ytd_text[k] = pd.Series(name, index=index).where(cum["value"].notna(), ytd_text[k - 1] + f"+Q{k}")
        ytd_accn[k] = cum["accession"].where(cum["value"].notna(), rep["accession"])
        prev_end = quarter["period_end"].where(quarter["period_end"].notna(), cum["period_end"])
    quarters = pd.concat(out).reset_index()
    quarters["freq"] = "Q"
    return quarters


def _stock_points(reported: pd.DataFrame) -> pd.DataFrame:
    stocks = reported[(reported["kind"] == "stock") & (reported["duration"] == "instant")].copy()
    stocks["fiscal_period"] = "Q" + stocks["fiscal_quarter"].astype(int).astype(str)
    stocks["derivation"] = "reported (balance at quarter end)"
    stocks["freq"] = "Q"
    return stocks


def _fiscal_years(reported: pd.DataFrame, quarters: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """Reported fiscal years (flows) and fiscal year-end balances, one row per metric and year.

    Every company gets a row for every metric and fiscal year from its first to its last reported
    fiscal year, NaN where the value is missing (the reason is filled later).
    """
    flows = reported[(reported["kind"] == "flow") & (reported["duration"] == "FY")].copy()
    flows["derivation"] = "reported (fiscal year)"
    is_stock = quarters["metric"].map(metrics).eq("stock")
    stocks = quarters[is_stock & (quarters["fiscal_period"] == "Q4") & quarters["value"].notna()].copy()
    stocks["derivation"] = "reported (balance at fiscal year end)"
    years = pd.concat([flows, stocks], ignore_index=True).drop(columns=["fiscal_period", "freq", "missing_reason"],
                                                                 errors="ignore")
    years["fiscal_year"] = years["fiscal_year"].astype(int)
    span = years.groupby("ticker")["fiscal_year"].agg(["min", "max"])
    grid = pd.DataFrame(
        [(t, m, y) for t, (lo, hi) in span.iterrows() for m in metrics for y in range(int(lo), int(hi) + 1)],
        columns=["ticker", "metric", "fiscal_year"])
    years = grid.merge(years, on=["ticker", "metric", "fiscal_year"], how="left")
    gap = years["value"].isna()
    known_end = years.dropna(subset=["period_end"]).groupby(["ticker", "fiscal_year"])["period_end"].max()
    fill = years.set_index(["ticker", "fiscal_year"]).index.map(known_end).to_series(index=years.index)
    years.loc[gap, "period_end"] = fill[gap]
    years["missing_reason"] = pd.Series(pd.NA, index=years.index, dtype=object)
    years["fiscal_period"] = "FY"
    years["freq"] = "FY"
    return years


def _ttm(quarters: pd.DataFrame, kinds: pd.Series) -> pd.DataFrame:
    q = quarters.copy()
    q["qi"] = q["fiscal_year"].astype(int) * 4 + q["fiscal_period"].str[1].astype(int)
    q = q.sort_values(["ticker", "metric", "qi"])
    groups = q.groupby(["ticker", "metric"], sort=False)
    total = q["value"].copy()
    complete = q["value"].notna()
    for lag in (1, 2, 3):
        lagged = groups["value"].shift(lag)
        consecutive = (q["qi"] - groups["qi"].shift(lag)).eq(lag)
        total = total + lagged
        complete &= lagged.notna() & consecutive
    first_start = groups["period_start"].shift(3)
    is_stock = q["metric"].map(kinds).eq("stock")
    ttm = q.copy()
    ttm["value"] = np.where(is_stock, q["value"], total.where(complete))
    ttm["period_start"] = pd.to_datetime(first_start).mask(is_stock)
    ttm["derivation"] = np.where(is_stock, "balance at quarter end", "sum of the four fiscal quarters to this one")
    ttm["missing_reason"] = pd.Series(pd.NA, index=q.index, dtype=object).mask(
        ~is_stock & q["value"].notna() & ~complete, "one of the four quarters is missing")
    ttm["freq"] = "TTM"
    ttm = ttm.drop(columns="qi")
    ttm.loc[ttm["value"].isna(), ["accession", "form", "tag"]] = None
    ttm.loc[ttm["value"].isna(), "filed"] = pd.NaT
    return ttm


def _grid(reported: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Every (ticker, metric, fiscal year, quarter) from each company's first to last quarter."""
    placed = reported.dropna(subset=["fiscal_year", "fiscal_quarter"])
    qi = placed["fiscal_year"].astype(int) * 4 + placed["fiscal_quarter"].astype(int) - 1
    spans = qi.groupby(placed["ticker"]).agg(["min", "max"])
    rows = []
    for ticker, (lo, hi) in spans.iterrows():
        for metric in metrics:
            for i in range(lo, hi + 1):
                rows.append((ticker, metric, i // 4, f"Q{i % 4 + 1}"))
    return pd.DataFrame(rows, columns=["ticker", "metric", "fiscal_year", "fiscal_period"])


def _fill_reasons(table: pd.DataFrame, present: set) -> pd.DataFrame:
    missing = table["value"].isna() & table["missing_reason"].isna()
    if missing.any():
        pairs = table.loc[missing, ["ticker", "metric"]].drop_duplicates()
        reasons = {(t, m): reason_for(t, m, (t, m) in present)
                   for t, m in zip(pairs["ticker"], pairs["metric"], strict=True)}
        keys = zip(table.loc[missing, "ticker"], table.loc[missing, "metric"], strict=True)
        table.loc[missing, "missing_reason"] = [reasons[k] for k in keys]
    return table


def tidy_periods(reported: pd.DataFrame, metrics: dict[str, str], fiscal_year_ends: dict | None = None
                 ) -> pd.DataFrame:
    """Build the tidy table of quarters (``Q``), fiscal years (``FY``) and trailing twelve months.

    Parameters
    ----------
    reported : pandas.DataFrame
        Output of `valuechain_lib.snapshot.standardize.standardize_company` for one or more companies.
    metrics : dict
        ``{metric: kind}`` of every canonical metric; a metric a company lacks gets NaN rows with
        the reason.

    Returns
    -------
    pandas.DataFrame
        `TIDY_COLUMNS`; ``value`` in units of ``unit`` (e.g. USD, not millions); ``derivation`` says
        how the value was obtained (reported, or which year-to-date figures were subtracted, with
        their accessions); ``missing_reason`` is set exactly where ``value`` is NaN.
    """
    present = set(zip(reported["ticker"], reported["metric"], strict=True))
    flows = _flow_quarters(reported)
    stocks = _stock_points(reported)
    quarters = pd.concat([flows, stocks], ignore_index=True)
    quarters = quarters.dropna(subset=["fiscal_year"])
    quarters["fiscal_year"] = quarters["fiscal_year"].astype(int)
    grid = _grid(reported, list(metrics))
    quarters = grid.merge(quarters, on=["ticker", "metric", "fiscal_year", "fiscal_period"], how="left")
    quarters["missing_reason"] = pd.Series(pd.NA, index=quarters.index, dtype=object)
    quarters["freq"] = "Q"
    # A gap keeps its quarter's dates (taken from the company's other metrics) so it aligns in calendar time.
    keys = ["ticker", "fiscal_year", "fiscal_period"]
    gap = quarters["value"].isna()
    is_flow = quarters["metric"].map(metrics).eq("flow")
    for col, rows in (("period_end", gap), ("period_start", gap & is_flow)):  # a balance has no start
        known = quarters.dropna(subset=[col]).groupby(keys)[col].max()
        fill = quarters.set_index(keys).index.map(known).to_series(index=quarters.index)
        quarters.loc[rows, col] = quarters.loc[rows, col].fillna(fill[rows])
    quarters = fill_zero_quarters(quarters, reported)
    # A derived quarter whose inputs are missing says which.
    no_value = quarters["value"].isna() & quarters["metric"].map(metrics).eq("flow")
    own_reason = quarters.set_index(["ticker", "metric"]).index.map(
        lambda key: key in _reason_lookup() or (key[0], "*") in _reason_lookup())
    partial = no_value & quarters.set_index(["ticker", "metric"]).index.isin(list(present)) & ~own_reason
    quarters.loc[partial & quarters["fiscal_period"].ne("Q1"), "missing_reason"] = (
        "not reported for 3 months and not derivable: a year-to-date figure it needs is missing")
    years = _fiscal_years(reported, quarters, metrics)
    ttm = _ttm(quarters, pd.Series(metrics))
    table = pd.concat([quarters, years, ttm], ignore_index=True)
    table = _fill_reasons(table, present)
    ends = table["period_end"]
    cal = calendar_quarter(ends.fillna(pd.Timestamp("1900-01-01")))
    table["calendar_year"] = cal["calendar_year"].where(ends.notna())
    table["calendar_quarter"] = cal["calendar_quarter"].where(ends.notna() & table["freq"].ne("FY"))
    fy_rows = table["freq"].eq("FY") & ends.notna()
    table.loc[fy_rows, "calendar_year"] = calendar_year_of_fiscal_year(ends[fy_rows])
    table["calendar_year"] = table["calendar_year"].astype("Int64")
    table["calendar_quarter"] = table["calendar_quarter"].astype("Int64")
    table["fiscal_year"] = table["fiscal_year"].astype(int)
    if "unit" in table:
        units = reported.groupby("ticker")["unit"].first()
        table["unit"] = table["unit"].fillna(table["ticker"].map(units))
    for col in ("period_start", "period_end", "filed"):
        table[col] = pd.to_datetime(table[col])
    table = table[TIDY_COLUMNS].sort_values(["ticker", "metric", "freq", "fiscal_year", "fiscal_period"])
    return table.reset_index(drop=True)
