"""Sums across companies and across quarters, only over aligned calendar periods and one currency.

Companies with different fiscal years are added up only over the same calendar quarter (each
fiscal quarter belongs to the calendar quarter whose end is nearest its period end). A sum over
a period where a company lacks a value is NaN, with the missing companies named; never a partial
sum passed off as the whole. A company the snapshot holds nothing for yet (a universe row added
since it was built) is in no sum and is named in the result's ``attrs["excluded"]``.
"""

from __future__ import annotations

import pandas as pd

from valuechain_lib.calc.metrics import check_tidy
from valuechain_lib.calc.periods import calendar_label
from valuechain_lib.errors import CurrencyError, PeriodError

CAL_KEYS = ["calendar_year", "calendar_quarter"]
#: The calendar quarter's end and name, carried along where the rows have them (`financials` rows do).
CAL_LABELS = ["quarter_end", "calendar_label"]


def check_one_currency(table: pd.DataFrame, fx: dict[str, float] | None = None) -> pd.DataFrame:
    """Return ``table`` in one currency: unchanged if it has one, converted with ``fx`` otherwise.

    Parameters
    ----------
    fx : dict, optional
        ``{currency: units of the target currency per unit}``, e.g. ``{"TWD": 0.031, "USD": 1.0}``.

    Raises
    ------
    CurrencyError
        Several currencies and no rate for one of them.
    """
    units = sorted(table["unit"].dropna().unique())
    if len(units) <= 1:
        return table
    if fx is None or any(u not in fx for u in units):
        by_unit = table.groupby("unit")["ticker"].unique().to_dict()
        raise CurrencyError(
            f"cannot add up values in {units} without exchange rates "
            f"({', '.join(f'{u}: {sorted(t)}' for u, t in by_unit.items())}); pass fx={{currency: rate}}"
        )
    out = table.copy()
    out["value"] = out["value"] * out["unit"].map(fx)
    out["unit"] = "converted"
    return out


def calendar_sum(table: pd.DataFrame, by: list[str] | None = None, fx=None) -> pd.DataFrame:
    """Add up companies' quarterly values by calendar quarter (and optional groups such as layer).

    Parameters
    ----------
    table : pandas.DataFrame
        Quarterly rows of the tidy table (``freq`` ``Q`` or ``TTM``), with ``calendar_year`` and
        ``calendar_quarter``.
    by : list of str, optional
        Extra grouping columns, e.g. ``["layer", "metric"]``; ``metric`` is always included.

    Returns
    -------
    pandas.DataFrame
        ``value`` (NaN where any company in the group lacks that quarter), ``n_companies``,
        ``missing`` (the tickers without a value), and ``unit``; ``quarter_end`` and ``calendar_label``
        where ``table`` has them (`CAL_LABELS`). ``attrs["excluded"]``: ticker →
        reason for each company left out of every sum because the snapshot holds nothing for it yet
        (``table.attrs["not_yet_fetched"]``, set by `valuechain_lib.snapshot.financials.financials`).
    """
    check_tidy(table, "calendar_sum", ["ticker", "metric", "freq", *CAL_KEYS, "value", "unit"])
    excluded = dict(table.attrs.get("not_yet_fetched", {}))
    if table["freq"].isin(["FY"]).any():
        raise PeriodError("calendar_sum adds quarters (freq Q or TTM); fiscal years are not aligned")
    table = check_one_currency(table, fx)
    keys = list(dict.fromkeys(["metric", "freq", *(by or []), *CAL_KEYS]))
    group_keys = [k for k in keys if k not in CAL_KEYS]
    # Work on integer codes of the text keys, factorised once: every groupby, duplicate check and
    # join below would otherwise hash the strings again.
    labels = {}
    work = table[list(dict.fromkeys(["ticker", *keys, "value", "unit"]))].copy()
    for col in ["ticker", *group_keys]:
        if work[col].dtype == object:
            work[col], labels[col] = pd.factorize(work[col])
    dup = work.duplicated(["ticker", "metric", "freq", *CAL_KEYS])
    if dup.any():
        row = table[dup.to_numpy()].iloc[0]
        raise PeriodError(
            f"{row['ticker']}: two {row['metric']} values fall in calendar "
            f"{calendar_label(row['calendar_year'], row['calendar_quarter'])}: periods are misaligned"
        )
    grouped = work.groupby(keys, sort=False)
    out = pd.DataFrame({
        "value": grouped["value"].sum(min_count=1),
        "unit": grouped["unit"].first(),
        "n_companies": grouped["value"].count(),
    }).reset_index()
    expected = work.groupby(group_keys)["ticker"].nunique().rename("n_expected")
    out = out.join(expected, on=group_keys)
    incomplete = out["n_companies"] < out["n_expected"]
    out["missing"] = ""
    if incomplete.any():
        # Who is missing, by anti-join: every expected member of an incomplete group, less those present.
        members = work[[*group_keys, "ticker"]].drop_duplicates()
        wanted = out.loc[incomplete, keys].reset_index().merge(members, on=group_keys)
        present = work.loc[work["value"].notna(), [*keys, "ticker"]].drop_duplicates().assign(_present=True)
        wanted = wanted.merge(present, on=[*keys, "ticker"], how="left")
        absent = wanted[wanted["_present"].isna()]
        names = absent["ticker"].map(dict(enumerate(labels["ticker"]))) if "ticker" in labels else absent["ticker"]
        names = names.groupby(absent["index"]).agg(lambda t: ", ".join(sorted(t)))
        out.loc[names.index, "missing"] = names
        out.loc[incomplete, "value"] = float("nan")
    for col, uniques in labels.items():
        if col in out:
            out[col] = uniques.take(out[col].to_numpy())
    out = out.sort_values(keys).reset_index(drop=True).drop(columns="n_expected")
    labels = [c for c in CAL_LABELS if c in table.columns]
    if labels:
        out = out.join(table.drop_duplicates(CAL_KEYS).set_index(CAL_KEYS)[labels], on=CAL_KEYS)
    out.attrs = {"excluded": excluded}
    return out


def calendar_years(quarters: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Build calendar years from calendar-aligned quarters: flows summed, balances at Q4.

    A calendar year needs all four of its quarters for a flow metric; otherwise its value is NaN
    with the missing quarters named. Companies whose fiscal year is the calendar year get back
    their reported annual figures.
    """
    q = quarters[quarters["freq"] == "Q"].copy()
    q["is_stock"] = q["metric"].map(kinds).eq("stock")
    keys = ["ticker", "metric", "calendar_year"]
    q["present_quarter"] = q["calendar_quarter"].where(q["value"].notna())
    grouped = q.groupby(keys)
    stats = grouped.agg(
        n_quarters=("value", "count"),
        period_start=("period_start", "min"), period_end=("period_end", "max"),
        unit=("unit", "first"), is_stock=("is_stock", "first"),
    ).reset_index()
    stats["value_sum"] = grouped["value"].sum(min_count=1).to_numpy()  # same group order as agg
    q4 = q[q["calendar_quarter"] == 4].set_index(keys)["value"]
    stock_rows = stats["is_stock"].astype(bool)
    balance_at_q4 = pd.Series(stats.set_index(keys).index.map(q4), index=stats.index, dtype=float)
    stats["value"] = stats["value_sum"].where(stats["n_quarters"] == 4).where(~stock_rows, balance_at_q4)
    # The quarters a year has are listed only for the flow years left incomplete (a Python step per group).
    incomplete = stats["value"].isna() & ~stock_rows
    has = q.merge(stats.loc[incomplete, keys], on=keys).dropna(subset=["present_quarter"])
    present = has.groupby(keys)["present_quarter"].agg(lambda c: sorted(int(x) for x in c))
    stats["missing_reason"] = [
        None if pd.notna(v) else ("no balance at calendar Q4" if stock
                                  else f"calendar quarters present: {present.get(key, [])}; a calendar year needs all four")
        for v, stock, key in zip(stats["value"], stock_rows, stats[keys].itertuples(index=False, name=None), strict=True)
    ]
    stats["freq"] = "CY"
    stats["calendar_quarter"] = pd.array([pd.NA] * len(stats), dtype="Int64")
    stats["derivation"] = "sum of the four calendar-aligned quarters"
    stats["derivation"] = stats["derivation"].where(~stock_rows, "balance at the calendar Q4 period end")
    return stats.drop(columns=["value_sum", "is_stock"])


def profit_pool(table: pd.DataFrame, universe: pd.DataFrame, metrics=("revenue", "gross_profit", "operating_income"),
                fx=None) -> pd.DataFrame:
    """Pool revenue, gross profit and operating income by layer and calendar quarter.

    Parameters
    ----------
    table : pandas.DataFrame
        Quarterly tidy rows (``freq`` ``Q`` or ``TTM``).
    universe : pandas.DataFrame
        The universe table (for each ticker's layer).
    fx : dict, optional
        Exchange rates; without them a layer mixing currencies raises `CurrencyError`.

    Returns
    -------
    pandas.DataFrame
        As `calendar_sum` by layer; ``attrs["excluded"]`` names the companies not yet fetched.
    """
    rows = table[table["metric"].isin(metrics)].merge(universe[["ticker", "layer"]], on="ticker")
    rows.attrs = dict(table.attrs)  # a merge drops them: keep the names of companies not yet fetched
    return calendar_sum(rows, by=["layer"], fx=fx)
