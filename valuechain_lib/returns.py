"""Share-price gains by layer over a window, against benchmarks (claim B1)."""

from __future__ import annotations

import pandas as pd

from .prices import last_complete_date, price_return, prices, resolve_price_tickers, total_return
from .universe import universe

ESSAY_DATE = "2026-07-02"  # Essay B's Bloomberg data date
BASE_DATE = "2025-12-31"  # year-to-date gains run from the 2025 year-end close


def common_last_date(table: pd.DataFrame) -> pd.Timestamp:
    """Return the latest date on which every ticker in ``table`` has a complete close."""
    return last_complete_date(table).min()


def gains(tickers, base=BASE_DATE, ends=(ESSAY_DATE, None)) -> pd.DataFrame:
    """Price and total returns from the close on/before ``base`` to each end date, per ticker.

    Parameters
    ----------
    tickers : list of str
        Universe tickers (mapped to their price tickers) or benchmark tickers.
    base : str
        The base date; the return runs from the last close on or before it.
    ends : tuple
        End dates; ``None`` stands for the latest date all ``tickers`` share.

    Returns
    -------
    pandas.DataFrame
        One row per ticker and end date: ``ticker`` (as given), ``price_ticker``, ``name``, ``layer``
        (``benchmark`` for ETFs), ``sub_layer``, ``currency``, ``end`` (the date used), ``end_label``,
        ``price_return`` and ``total_return`` (fractions; NaN where the data do not reach, never 0),
        ``bridged`` (whether an adjusted-return bridge was used inside the window).
    """
    u = universe().set_index("ticker")
    price_tickers = resolve_price_tickers(tickers)
    table = prices(price_tickers)
    shared_end = common_last_date(table)
    rows = []
    for end in ends:
        end_ts = shared_end if end is None else pd.Timestamp(end)
        label = f"to {end_ts:%Y-%m-%d}" + (" (latest date all share)" if end is None else "")
        pr = price_return(table, base, end_ts)
        tr = total_return(table, base, end_ts)
        window = table[(table["date"] > pd.Timestamp(base)) & (table["date"] <= end_ts)]
        bridged = window.groupby("ticker")["close_method"].agg(lambda m: "adjusted-return bridge" in set(m))
        for given, pt in zip(tickers, price_tickers, strict=True):
            info = u.loc[given] if given in u.index else None
            rows.append({
                "ticker": given, "price_ticker": pt,
                "name": info["name"] if info is not None else given,
                "layer": info["layer"] if info is not None else "benchmark",
                "sub_layer": info["sub_layer"] if info is not None else "benchmark",
                "currency": table.loc[table["ticker"] == pt, "currency"].iloc[0],
                "end": end_ts, "end_label": label,
                "price_return": pr.get(pt, float("nan")), "total_return": tr.get(pt, float("nan")),
                "bridged": bool(bridged.get(pt, False)),
            })
    return pd.DataFrame(rows)


def layer_medians(frame: pd.DataFrame) -> pd.DataFrame:
    """Median price return by layer and end date (benchmarks listed on their own)."""
    return (frame.groupby(["end_label", "layer"])["price_return"].median().rename("median_price_return")
            .reset_index())


def verdict(frame: pd.DataFrame, benchmark: str = "SPY") -> str:
    """Return the verdict on claim B1 from `gains`: did upstream beat the benchmark to the essay date?

    Rule: *supported* when the median upstream price return to the essay date exceeds both the
    broad-market benchmark and the median of the other layers; *mixed* when it beats only one.
    """
    essay = frame[frame["end_label"].str.startswith(f"to {ESSAY_DATE}")]
    up = essay.loc[essay["layer"] == "upstream", "price_return"].median()
    others = essay.loc[essay["layer"].isin(["midstream", "downstream"]), "price_return"].median()
    bench = essay.loc[essay["ticker"] == benchmark, "price_return"].iloc[0]
    beats = int(up > bench) + int(up > others)
    status = {2: "supported", 1: "mixed", 0: "not supported"}[beats]
    latest = frame[~frame["end_label"].str.startswith(f"to {ESSAY_DATE}")]
    up_latest = latest.loc[latest["layer"] == "upstream", "price_return"].median()
    bench_latest = latest.loc[latest["ticker"] == benchmark, "price_return"].iloc[0]
    best = essay[essay["layer"] == "upstream"].sort_values("price_return", ascending=False).iloc[0]
    return (
        f"**Verdict on B1: {status}.** From the 2025 year-end close to {ESSAY_DATE}, the median upstream "
        f"company gained {up:.0%} in price against {bench:.0%} for {benchmark} and {others:.0%} for the median "
        f"midstream and downstream company; the best was {best['name']} ({best['price_return']:+.0%}, "
        f"{best['currency']}). To {latest['end'].iloc[0]:%Y-%m-%d}, the upstream median stood at "
        f"{up_latest:+.0%} against {bench_latest:+.0%} for {benchmark}."
    )


def verdict_b1(benchmark: str = "SPY"):
    """Claim B1 as a `Verdict` (see `verdict` for the rule)."""
    from .universe import universe as _universe
    from .verdicts import Verdict

    frame = gains(_universe()["ticker"].tolist() + [benchmark])
    text = verdict(frame, benchmark=benchmark)
    status = text.split("Verdict on B1: ", 1)[1].split(".**", 1)[0]
    essay = frame[frame["end_label"].str.startswith(f"to {ESSAY_DATE}")]
    return Verdict(
        status=status, summary=text.split("** ", 1)[1],
        numbers={"upstream_median": float(essay.loc[essay["layer"] == "upstream", "price_return"].median()),
                 benchmark: float(essay.loc[essay["ticker"] == benchmark, "price_return"].iloc[0])},
        sources="Daily prices from public datasets derived from Yahoo Finance",
    )
