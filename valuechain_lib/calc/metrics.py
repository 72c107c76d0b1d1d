"""Value-chain metrics as pure functions of named line items.

Each ``get_<metric>`` takes pandas Series (or DataFrames) aligned on period and returns the formula's
result; no fetching, no row selection. Units: ratios are plain fractions (0.42, not 42%); money
stays in the inputs' currency units. Sign convention: capex, finance-lease principal payments, debt
repaid, buybacks, dividends and interest expense are positive outflows, debt issued a positive inflow.
A zero or missing input gives NaN, never 0.

`line_items` and `compute` are the thin layer that picks rows of the tidy table and calls them.
`check_names`, `check_flag`, `check_choice` and `check_tidy` check the public readers' arguments, so a
wrong type fails with one line naming the argument instead of being read as something else
(``calendar="no"`` as True, a price table as financials).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from valuechain_lib.errors import UnknownMetricError, ValueChainError


class ArgumentError(ValueChainError, TypeError):
    """An argument of the wrong type; the message names the function, the argument and what it got."""


class MissingInputError(ValueChainError):
    """A derived metric whose input has no value in any of the rows given."""


def _got(value) -> str:
    """``int 123``, ``str 'no'``: the type and a short repr of a bad argument."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def check_names(value, argument: str, where: str, *, optional: bool = True) -> list[str] | None:
    """Return a name or names as a list, or raise `ArgumentError` naming ``where`` and ``argument``.

    Parameters
    ----------
    value : str, sequence of str or None
        A ticker or metric name, or a list/tuple (also a pandas Index/Series or numpy array) of them.
    argument : str
        The argument's name, for the message (``"tickers"``).
    where : str
        The function, for the message (``"financials"``).
    optional : bool
        Whether ``None`` is allowed (it is returned as None, meaning "all").

    Returns
    -------
    list of str or None

    Examples
    --------
    >>> check_names("NVDA", "tickers", "financials")
    ['NVDA']
    """
    if value is None and optional:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping, pd.DataFrame)):
        names = list(value)
        bad = [n for n in names if not isinstance(n, str)]
        if not bad:
            return names
        raise ArgumentError(f"{where}: {argument} must be names (strings); got {_got(bad[0])} in {_got(value)}")
    raise ArgumentError(f"{where}: {argument} must be a string or a list of strings, not {_got(value)}")


def check_flag(value, argument: str, where: str) -> bool:
    """Return ``value`` if it is a boolean, else raise `ArgumentError` (``"no"`` is not False).

    Parameters
    ----------
    value : bool
        The argument as given (a numpy bool counts as a boolean).
    argument, where : str
        The argument's and the function's names, for the message.

    Returns
    -------
    bool

    Examples
    --------
    >>> check_flag(True, "calendar", "financials")
    True
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ArgumentError(f"{where}: {argument} must be True or False, not {_got(value)}")


def check_choice(value, argument: str, where: str, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (strings), else raise `ValueChainError` listing them.

    Parameters
    ----------
    value : str
        The argument as given; a non-string raises `ArgumentError`.
    argument, where : str
        The argument's and the function's names, for the message.
    choices : sequence of str
        The allowed values.

    Returns
    -------
    str
    """
    if not isinstance(value, str):
        raise ArgumentError(f"{where}: {argument} must be one of {tuple(choices)}, not {_got(value)}")
    if value not in choices:
        raise ValueChainError(f"{where}: {argument} must be one of {tuple(choices)}, not {value!r}")
    return value


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


def get_net_debt_issued(debt_issued, debt_repaid):
    """Net debt issued: debt_issued − debt_repaid (currency units).

    Both inputs are positive cash amounts (proceeds an inflow, repayments an outflow), so the result is
    positive when a company borrowed more than it repaid and negative when it paid debt down. NaN where
    either is missing: a company that files no repayment line (Meta) has no net figure, never its gross
    proceeds passed off as net.

    Examples
    --------
    >>> get_net_debt_issued(pd.Series([46.1, 0.0, 5.0]), pd.Series([6.9, 3.2, float("nan")])).round(1).tolist()
    [39.2, -3.2, nan]
    """
    return debt_issued - debt_repaid


def get_ebitda_like(operating_income, depreciation):
    """An EBITDA-like cash earnings figure: operating_income + depreciation (currency units).

    ``depreciation`` is depreciation and amortization where a company tags it, else depreciation only
    (Microsoft, Alphabet and Oracle tag no us-gaap D&A total); the caller says which it passed.

    Examples
    --------
    >>> get_ebitda_like(pd.Series([100.0]), pd.Series([30.0])).tolist()
    [130.0]
    """
    return operating_income + depreciation


def get_coverage(numerator, denominator):
    """One amount per unit of another: numerator / denominator (a multiple, e.g. debt / operating cash
    flow, or EBITDA-like / interest expense). NaN where the denominator is zero or missing.

    Examples
    --------
    >>> get_coverage(pd.Series([50.0, 1.0]), pd.Series([100.0, 0.0])).tolist()
    [0.5, nan]
    """
    return _ratio(numerator, denominator)


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
    "net_debt_issued": (get_net_debt_issued, ("debt_issued", "debt_repaid")),
}

PERIOD_KEYS = ["ticker", "freq", "fiscal_year", "fiscal_period", "period_end", "calendar_year", "calendar_quarter"]


def line_items(table: pd.DataFrame, items, keys=None, keep_empty: bool = False) -> pd.DataFrame:
    """Pivot the tidy table to one column per line item, one row per company and period.

    The one long-to-wide pivot of the package: every function that needs line items side by side
    calls it rather than pivoting itself.

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy rows: ``metric``, ``value`` and the ``keys`` columns (rows of
        `valuechain_lib.snapshot.financials` of one frequency, or of `valuechain_lib.calc.aggregate.calendar_sum`).
    items : sequence of str
        Metric names, in the order of the result's columns; a name absent from ``table`` becomes an
        all-NaN column.
    keys : sequence of str, optional
        The columns identifying a row of the result, in the order of its index (default: the
        `PERIOD_KEYS` the table has). A column that is constant within a row (a label, the period end)
        may be added so that it comes along.
    keep_empty : bool
        Keep the rows with no value for any item (dropped by default).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``keys`` (sorted), one float column per item; where ``table`` repeats a key and
        metric, the first value is kept.

    Examples
    --------
    >>> tidy = pd.DataFrame({"ticker": ["A", "A", "B"], "calendar_year": 2026, "metric": ["revenue", "capex", "revenue"],
    ...                      "value": [10.0, 4.0, 7.0]})
    >>> line_items(tidy, ["revenue", "capex"], keys=["ticker"]).to_dict("index")
    {'A': {'revenue': 10.0, 'capex': 4.0}, 'B': {'revenue': 7.0, 'capex': nan}}
    """
    keys = [k for k in PERIOD_KEYS if k in table.columns] if keys is None else list(keys)
    subset = table[table["metric"].isin(items)]
    # groupby, not pivot_table(dropna=False): that would build every combination of the keys.
    wide = subset.groupby([*keys, "metric"], dropna=False, sort=True)["value"].first().unstack("metric")
    if not keep_empty:
        wide = wide.dropna(how="all")
    for item in items:
        if item not in wide.columns:
            wide[item] = np.nan
    wide.columns.name = None
    return wide[list(items)]


#: Columns `compute` needs: the tidy layout of `valuechain_lib.snapshot.financials`.
TIDY_REQUIRED = ("ticker", "metric", "period_end", "value")


def check_tidy(table, where: str, required=None) -> pd.DataFrame:
    """Return ``table`` if it has the tidy financials layout, else raise naming the missing columns.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of `valuechain_lib.snapshot.financials`.
    where : str
        The calling function, for the message.
    required : sequence of str, optional
        The columns the caller reads (default: those every tidy table has, `TIDY_REQUIRED`).

    Returns
    -------
    pandas.DataFrame
        ``table`` itself.
    """
    if not isinstance(table, pd.DataFrame):
        raise ArgumentError(f"{where}: table must be a pandas DataFrame of financials() rows, not {_got(table)}")
    missing = [c for c in (required or TIDY_REQUIRED) if c not in table.columns]
    if missing:
        raise ValueChainError(
            f"{where}: the table is not in the tidy financials() layout: missing column(s) {missing} "
            f"(it has {list(table.columns)[:8]}); pass rows of valuechain_lib.snapshot.financials()")
    return table


def _absent_inputs(table: pd.DataFrame, wide: pd.DataFrame, name: str) -> list[str]:
    """The inputs of ``name`` with no value in any row, when ``name`` came out NaN everywhere."""
    if wide.empty or wide[name].notna().any():
        return []
    return [i for i in DERIVED_METRICS[name][1] if wide[i].isna().all()]


def _reason(table: pd.DataFrame, items: list[str]) -> str:
    """``: <missing_reason>`` of the first absent item's rows, when the table carries one."""
    if "missing_reason" not in table.columns:
        return ""
    reasons = table.loc[table["metric"].isin(items), "missing_reason"].dropna().astype(str)
    reasons = reasons[reasons.str.strip() != ""]
    return f": {reasons.iloc[0]}" if len(reasons) else ""


def compute(table: pd.DataFrame, names) -> pd.DataFrame:
    """Compute derived metrics by name from the tidy table.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of `valuechain_lib.snapshot.financials` (at least the columns `TIDY_REQUIRED`).
    names : str or sequence of str
        Keys of `DERIVED_METRICS`.

    Returns
    -------
    pandas.DataFrame
        Indexed by company and period, one column per requested metric plus the line items used.
        A value is NaN where an input is missing or a denominator zero (never 0).

    Raises
    ------
    ArgumentError
        ``table`` is not a DataFrame, or ``names`` not a string or list of strings.
    ValueChainError
        ``table`` lacks tidy columns (the message names them).
    UnknownMetricError
        A name that is not in `DERIVED_METRICS`.
    MissingInputError
        A metric that would be NaN in every row because an input has no value in any row given
        (the message names the metric, the input and the tickers), rather than a silent all-NaN column.
    """
    check_tidy(table, "compute")
    names = check_names(names, "names", "compute", optional=False)
    unknown = [n for n in names if n not in DERIVED_METRICS]
    if unknown:
        raise UnknownMetricError(f"unknown derived metric(s) {unknown}; known: {', '.join(DERIVED_METRICS)}")
    needed = list(dict.fromkeys(item for n in names for item in DERIVED_METRICS[n][1]))
    wide = line_items(table, needed)
    for name in names:
        func, inputs = DERIVED_METRICS[name]
        wide[name] = func(*(wide[i] for i in inputs))
        absent = _absent_inputs(table, wide, name)
        if absent:
            tickers = sorted(table["ticker"].dropna().astype(str).unique())
            shown = ", ".join(tickers[:8]) + (f" and {len(tickers) - 8} more" if len(tickers) > 8 else "")
            verb = "which has" if len(absent) == 1 else "which have"
            raise MissingInputError(
                f"compute: metric {name!r} needs {' and '.join(map(repr, absent))}, {verb} no value in "
                f"the rows given (tickers {shown or 'none'}){_reason(table, absent)}")
    return wide
