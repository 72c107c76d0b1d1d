"""Quarters of a year-to-date total of zero: a flow that is never negative was zero in each of them.

Companies often leave a cash-flow line untagged in a 10-Q whose columns are all nil, and tag it only in
the 10-K, where another year's column is not (Microsoft's debt proceeds, Oracle's senior notes). The
quarters then cannot be derived by subtraction, yet a reported six-month, nine-month or fiscal-year total
of exactly zero for a metric the library keeps non-negative (debt proceeds and repayments, buybacks,
dividends) leaves only one possibility for every quarter inside it: zero. This is arithmetic on a
reported figure, not a fill: a quarter no reported zero covers stays missing with its reason.
"""

from __future__ import annotations

import pandas as pd

#: The financing flows kept as non-negative amounts (their sign checks refuse a negative input). Capex and
#: finance-lease principal are never negative either, but are not listed: the rule would turn Meta's
#: fiscal 2017 finance-lease quarters from missing to 0, and their published series are left as they were.
NON_NEGATIVE = ("debt_issued", "debt_repaid", "buybacks", "dividends")
#: The last fiscal quarter a year-to-date duration covers.
LAST_QUARTER = {"6M": 2, "9M": 3, "FY": 4}
_NAMES = {"6M": "6M YTD", "9M": "9M YTD", "FY": "FY"}


def zero_totals(reported: pd.DataFrame, metrics=NON_NEGATIVE) -> pd.DataFrame:
    """The fiscal quarters that a reported year-to-date total of zero covers, one row per quarter.

    Parameters
    ----------
    reported : pandas.DataFrame
        Reported periods (`valuechain_lib.snapshot.standardize.REPORTED_COLUMNS`).
    metrics : sequence of str
        The metrics that are never negative (default `NON_NEGATIVE`).

    Returns
    -------
    pandas.DataFrame
        ``ticker, metric, fiscal_year, fiscal_period`` (``Q1``…``Q4``), ``accession, form, filed, tag,
        source, unit`` of the zero total, and ``derivation`` naming it; where several zero totals cover
        a quarter, the shortest one.

    Examples
    --------
    >>> rep = pd.DataFrame({"ticker": "MSFT", "metric": "debt_issued", "kind": "flow", "duration": "6M",
    ...                     "fiscal_year": [2022], "value": [0.0], "accession": ["a"], "form": "10-Q",
    ...                     "filed": pd.Timestamp("2022-01-25"), "tag": "T", "source": "s", "unit": "USD"})
    >>> zero_totals(rep)[["fiscal_period", "derivation"]].values.tolist()
    [['Q1', '6M YTD (a) = 0 and debt_issued is never negative'], ['Q2', '6M YTD (a) = 0 and debt_issued is never negative']]
    """
    rows = reported[reported["metric"].isin(list(metrics)) & reported["kind"].eq("flow")
                    & reported["duration"].isin(list(LAST_QUARTER)) & reported["value"].eq(0)]
    rows = rows.assign(last=rows["duration"].map(LAST_QUARTER)).sort_values("last", kind="stable")
    parts = []
    for k in (1, 2, 3, 4):
        covering = rows[rows["last"] >= k]
        parts.append(covering.assign(fiscal_period=f"Q{k}"))
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates(["ticker", "metric", "fiscal_year", "fiscal_period"], keep="first")
    out["derivation"] = (out["duration"].map(_NAMES) + " (" + out["accession"].fillna("no accession") + ") = 0 and "
                         + out["metric"] + " is never negative")
    out["fiscal_year"] = out["fiscal_year"].astype(int)
    cols = ["ticker", "metric", "fiscal_year", "fiscal_period", "accession", "form", "filed", "tag", "source", "unit",
            "derivation"]
    return out[cols].sort_values(cols[:4]).reset_index(drop=True)


def fill_zero_quarters(quarters: pd.DataFrame, reported: pd.DataFrame, metrics=NON_NEGATIVE) -> pd.DataFrame:
    """Set to zero the missing quarters that a reported year-to-date zero covers (`zero_totals`).

    Parameters
    ----------
    quarters : pandas.DataFrame
        The quarterly rows of `valuechain_lib.snapshot.quarters.tidy_periods` (one per company, metric and
        fiscal quarter, dates already placed).
    reported : pandas.DataFrame
        The reported periods they were derived from.

    Returns
    -------
    pandas.DataFrame
        ``quarters`` with those rows' ``value`` 0 and the zero total's accession, form, filing date,
        tag, source and derivation; every other row unchanged.
    """
    zeros = zero_totals(reported, metrics)
    if zeros.empty:
        return quarters
    keys = ["ticker", "metric", "fiscal_year", "fiscal_period"]
    found = quarters[keys].merge(zeros, on=keys, how="left")
    fill = (quarters["value"].isna() & found["derivation"].notna()).to_numpy()
    out = quarters.copy()
    out.loc[fill, "value"] = 0.0
    for col in ("accession", "form", "filed", "tag", "source", "unit", "derivation"):
        out.loc[fill, col] = found.loc[fill, col].to_numpy()
    return out
