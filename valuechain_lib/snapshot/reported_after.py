"""Figures reported after the snapshot: cited facts for periods the snapshot's filings do not reach yet.

``data/reported_after.csv`` maps a facts-table row (results, cash flow, backlog read through copies of
filings made after the snapshot) to the series of the snapshot it would extend: company, metric and
frequency. `reported_after` returns the rows whose period the snapshot has not filed, in the series'
own units, labelled, for charts to draw as distinct marks beside the filed series. They are never
added to the snapshot's series: once a refresh brings the filed figure for a period, the row drops out.
"""

from __future__ import annotations

import pandas as pd

from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import data_dir
from valuechain_lib.snapshot.facts import facts, label
from valuechain_lib.snapshot.financials import financials

#: What a chart legend or caption calls these marks.
LABEL = "reported after the snapshot (facts table)"
#: Scale of a facts-table unit to the snapshot's base unit (USD, TWD).
UNIT_SCALE = {"USD million": 1e6, "USD billion": 1e9, "TWD billion": 1e9}
UNIT_CURRENCY = {"USD million": "USD", "USD billion": "USD", "TWD billion": "TWD"}
#: A filed period this close to a cited one is the same period (52/53-week calendars shift by days).
SAME_PERIOD_DAYS = 10
COLUMNS = ["fact_id", "ticker", "metric", "freq", "period_end", "value", "unit", "kind", "confidence",
           "source_date", "label", "note"]


class ReportedAfterError(ValueChainError):
    """A row of ``data/reported_after.csv`` that names an unknown fact or a unit the snapshot does not use."""


def mapping() -> pd.DataFrame:
    """``data/reported_after.csv``: fact_id → (ticker, metric, freq) of the snapshot series it extends."""
    path = data_dir() / "reported_after.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("fact_id", "ticker", "metric", "freq", "note") if c not in table.columns]
    if missing:
        raise ReportedAfterError(f"{path}: missing column(s) {missing}")
    return table


def drop_filed(rows: pd.DataFrame, filed: pd.DataFrame, days: int = SAME_PERIOD_DAYS) -> pd.DataFrame:
    """Keep the cited rows whose period the filed series has no value for.

    Parameters
    ----------
    rows : pandas.DataFrame
        Cited figures with ``ticker``, ``metric``, ``freq`` and ``period_end``.
    filed : pandas.DataFrame
        Tidy rows of `financials` (``ticker, metric, freq, period_end, value``).
    days : int
        Period ends this many days apart or fewer are the same period.

    Returns
    -------
    pandas.DataFrame
        ``rows`` without those a filing now covers.
    """
    have = filed[filed["value"].notna()]
    keep = []
    for row in rows.itertuples():
        same = have[(have["ticker"] == row.ticker) & (have["metric"] == row.metric) & (have["freq"] == row.freq)]
        gap = (same["period_end"] - row.period_end).abs()
        keep.append(not (gap <= pd.Timedelta(days=days)).any())
    return rows[keep].reset_index(drop=True)


def reported_after(tickers=None, metrics=None, freq: str | None = None) -> pd.DataFrame:
    """Cited figures for periods after the snapshot, in the snapshot's units, for distinct chart marks.

    Parameters
    ----------
    tickers, metrics : str or list of str, optional
        Keep these companies / snapshot metrics.
    freq : {"Q", "TTM", "FY"}, optional

    Returns
    -------
    pandas.DataFrame
        `COLUMNS`: ``value`` in USD (or TWD) like `financials`, ``label`` naming the figure, its kind
        and confidence; only periods the snapshot has not filed.

    Raises
    ------
    ReportedAfterError
        A mapped fact_id that is not in the facts table, or a unit with no base-unit scale.
    """
    table = mapping()
    for name, wanted in (("ticker", tickers), ("metric", metrics)):
        if wanted is not None:
            table = table[table[name].isin([wanted] if isinstance(wanted, str) else list(wanted))]
    if freq is not None:
        table = table[table["freq"] == freq]
    cited = facts().set_index("fact_id")
    unknown = sorted(set(table["fact_id"]) - set(cited.index))
    if unknown:
        raise ReportedAfterError(f"data/reported_after.csv names fact(s) {unknown} that the facts table lacks")
    rows = []
    for r in table.itertuples():
        fact = cited.loc[r.fact_id]
        if fact["unit"] not in UNIT_SCALE:
            raise ReportedAfterError(f"data/reported_after.csv: {r.fact_id} is in {fact['unit']!r}, which has no "
                                     f"scale to the snapshot's units ({', '.join(UNIT_SCALE)})")
        rows.append({"fact_id": r.fact_id, "ticker": r.ticker, "metric": r.metric, "freq": r.freq,
                     "period_end": fact["period_end"], "value": float(fact["value"]) * UNIT_SCALE[fact["unit"]],
                     "unit": UNIT_CURRENCY[fact["unit"]], "kind": str(fact["kind"]),
                     "confidence": str(fact["confidence"]), "source_date": fact["source_date"],
                     "label": label(fact),
                     "note": r.note})
    out = pd.DataFrame(rows, columns=COLUMNS)
    if out.empty:
        return out
    filed = financials(sorted(out["ticker"].unique()), metrics=sorted(out["metric"].unique()), freq="Q")
    for other in sorted(set(out["freq"]) - {"Q"}):
        filed = pd.concat([filed, financials(sorted(out["ticker"].unique()), freq=other,
                                             metrics=sorted(out["metric"].unique()))], ignore_index=True)
    return drop_filed(out, filed)
