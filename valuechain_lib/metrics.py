"""Value-chain metrics as pure functions of named line items.

Each ``get_<metric>`` takes pandas Series (or DataFrames) aligned on period and returns the formula's
result; no fetching, no row selection. Units: ratios are plain fractions (0.42, not 42%); money
stays in the inputs' currency units. Sign convention: capex and finance-lease principal payments
are positive outflows. A zero or missing input gives NaN, never 0.

`line_items` and `compute` are the thin layer that picks rows of the tidy table and calls them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _ratio(numerator, denominator):
    """Divide, giving NaN where the denominator is zero or missing."""
    denominator = denominator.where(denominator != 0)
    return numerator / denominator


def get_capex_to_ocf(capex, operating_cash_flow):
    """Capex as a share of operating cash flow.

    Formula: capex / operating_cash_flow. Unit: fraction. NaN where OCF is zero or missing.

    Parameters
    ----------
    capex : pandas.Series
        Cash capital expenditure, a positive outflow.
    operating_cash_flow : pandas.Series
        Net cash provided by operating activities.

    Examples
    --------
    >>> get_capex_to_ocf(pd.Series([30.0, 5.0]), pd.Series([60.0, 0.0])).tolist()
    [0.5, nan]
    """
    return _ratio(capex, operating_cash_flow)


def get_free_cash_flow(operating_cash_flow, capex):
    """Free cash flow: operating_cash_flow − capex (currency units).

    Examples
    --------
    >>> get_free_cash_flow(pd.Series([60.0]), pd.Series([45.0])).tolist()
    [15.0]
    """
    return operating_cash_flow - capex


def get_free_cash_flow_after_leases(operating_cash_flow, capex, finance_lease_principal_payments):
    """Free cash flow less finance-lease principal: OCF − capex − finance-lease principal payments.

    Lease-heavy spenders (Microsoft, Amazon, Meta) acquire servers and data centres under finance
    leases that cash capex does not show; subtracting the principal repaid shows that spending.

    Examples
    --------
    >>> get_free_cash_flow_after_leases(pd.Series([60.0]), pd.Series([45.0]), pd.Series([5.0])).tolist()
    [10.0]
    """
    return operating_cash_flow - capex - finance_lease_principal_payments


def get_capex_intensity(capex, revenue):
    """Capex intensity: capex / revenue (fraction). NaN where revenue is zero or missing.

    Examples
    --------
    >>> get_capex_intensity(pd.Series([25.0]), pd.Series([100.0])).tolist()
    [0.25]
    """
    return _ratio(capex, revenue)


def get_gross_margin(gross_profit, revenue):
    """Gross margin: gross_profit / revenue (fraction).

    Examples
    --------
    >>> get_gross_margin(pd.Series([75.0]), pd.Series([100.0])).tolist()
    [0.75]
    """
    return _ratio(gross_profit, revenue)


def get_gross_profit(revenue, cost_of_revenue):
    """Gross profit computed from its parts: revenue − cost_of_revenue (currency units).

    For companies that report no gross-profit line but do report cost of revenue (Alphabet, Meta);
    the book labels such figures as computed.
    """
    return revenue - cost_of_revenue


def get_operating_margin(operating_income, revenue):
    """Operating margin: operating_income / revenue (fraction).

    Examples
    --------
    >>> get_operating_margin(pd.Series([62.0]), pd.Series([100.0])).tolist()
    [0.62]
    """
    return _ratio(operating_income, revenue)


def get_da_to_capex(depreciation_amortization, capex):
    """Depreciation and amortization per dollar of capex: D&A / capex (fraction).

    Below 1 while the asset base grows; it rises toward 1 as past capex turns into depreciation.

    Examples
    --------
    >>> get_da_to_capex(pd.Series([20.0]), pd.Series([80.0])).tolist()
    [0.25]
    """
    return _ratio(depreciation_amortization, capex)


def get_growth(series, periods: int = 4):
    """Growth over ``periods`` steps: series / series.shift(periods) − 1 (fraction).

    With quarterly data, ``periods=4`` gives year-over-year growth. NaN where the base is zero or
    missing.
    """
    return _ratio(series, series.shift(periods)) - 1


# name -> (function, the line items it takes, in order)
DERIVED_METRICS = {
    "capex_to_ocf": (get_capex_to_ocf, ("capex", "operating_cash_flow")),
    "free_cash_flow": (get_free_cash_flow, ("operating_cash_flow", "capex")),
    "free_cash_flow_after_leases": (
        get_free_cash_flow_after_leases, ("operating_cash_flow", "capex", "finance_lease_principal_payments")),
    "capex_intensity": (get_capex_intensity, ("capex", "revenue")),
    "gross_margin": (get_gross_margin, ("gross_profit", "revenue")),
    "operating_margin": (get_operating_margin, ("operating_income", "revenue")),
    "da_to_capex": (get_da_to_capex, ("depreciation_amortization", "capex")),
}

PERIOD_KEYS = ["ticker", "freq", "fiscal_year", "fiscal_period", "period_end", "calendar_year", "calendar_quarter"]


def line_items(table: pd.DataFrame, items) -> pd.DataFrame:
    """Pivot the tidy table to one column per line item, one row per company and period.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of `valuechain_lib.financials` (one frequency).
    items : sequence of str
        Canonical metric names; a name absent from ``table`` becomes an all-NaN column.
    """
    keys = [k for k in PERIOD_KEYS if k in table.columns]
    subset = table[table["metric"].isin(items)]
    # groupby, not pivot_table(dropna=False): that would build every combination of the keys.
    wide = subset.groupby([*keys, "metric"], dropna=False, sort=True)["value"].first().unstack("metric")
    wide = wide.dropna(how="all")
    for item in items:
        if item not in wide.columns:
            wide[item] = np.nan
    wide.columns.name = None
    return wide[list(items)]


def compute(table: pd.DataFrame, names) -> pd.DataFrame:
    """Compute derived metrics by name from the tidy table.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of `valuechain_lib.financials`.
    names : str or sequence of str
        Keys of `DERIVED_METRICS`.

    Returns
    -------
    pandas.DataFrame
        Indexed by company and period, one column per requested metric plus the line items used.
    """
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in DERIVED_METRICS]
    if unknown:
        from .errors import UnknownMetricError
        raise UnknownMetricError(f"unknown derived metric(s) {unknown}; known: {', '.join(DERIVED_METRICS)}")
    needed = list(dict.fromkeys(item for n in names for item in DERIVED_METRICS[n][1]))
    wide = line_items(table, needed)
    for name in names:
        func, inputs = DERIVED_METRICS[name]
        wide[name] = func(*(wide[i] for i in inputs))
    return wide
