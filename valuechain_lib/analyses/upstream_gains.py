"""Share-price gains over a window, by company and layer, against a benchmark (claim B1).

Returns are price returns from the close on or before the window's start to the close on or before
its end, each in the currency the shares trade in. A return in won is never compared with a dollar
benchmark nor pooled with dollar returns: the snapshot holds no exchange rate.
"""

from __future__ import annotations

import pandas as pd

from valuechain_lib.claims.verdicts import Verdict, format_distance, format_value, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.prices import (
    last_complete_date,
    price_return,
    prices,
    resolve_price_tickers,
    total_return,
)
from valuechain_lib.snapshot.universe import not_yet_fetched, universe

#: A close more than this many calendar days before a window's end is stale: longer than the
#: longest exchange holiday in the data (Korea's Lunar New Year, up to five days with a weekend).
MAX_STALE_DAYS = 7


class PriceWindowError(ValueChainError):
    """A window the price data do not cover: no close at its start, or none near its end."""


def common_last_date(table: pd.DataFrame) -> pd.Timestamp:
    """Return the latest date on which every ticker in ``table`` has a complete close."""
    return last_complete_date(table).min()


def _last_close_dates(table: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    """Per price ticker, the date of the last close on or before ``end`` (NaT if none)."""
    closes = table[table["close"].notna() & (table["date"] <= end)]
    return closes.groupby("ticker")["date"].max()


def gains(tickers, base, ends) -> pd.DataFrame:
    """Price and total returns from the close on/before ``base`` to each end date, per ticker.

    Parameters
    ----------
    tickers : list of str
        Universe tickers (mapped to their price tickers) or benchmark tickers.
    base : str or pandas.Timestamp
        The window's start; the return runs from the last close on or before it.
    ends : iterable
        End dates; ``None`` stands for the latest date all ``tickers`` share.

    Returns
    -------
    pandas.DataFrame
        One row per ticker and end date: ``ticker`` (as given), ``price_ticker``, ``name``, ``layer``
        (``benchmark`` for ETFs), ``sub_layer``, ``currency`` (the trading currency), ``base``,
        ``end`` (the date used), ``end_label``, ``price_date`` (the date of the close used at the
        end), ``price_return`` and ``total_return`` (fractions; NaN where the data do not reach,
        never 0), ``bridged`` (whether an adjusted-return bridge was used inside the window) and
        ``close_sources`` (the raw sources of the closes in the window). ``attrs["excluded"]``:
        ticker → reason for each of ``tickers`` left out because the snapshot has no prices for it yet.

    Raises
    ------
    PriceWindowError
        An end date before ``base``.
    """
    u = universe().set_index("ticker")
    unfetched = not_yet_fetched("prices")
    left_out = {t: unfetched[t] for t in tickers if t in unfetched}  # named in attrs["excluded"], never dropped silently
    tickers = [t for t in tickers if t not in left_out]
    price_tickers = resolve_price_tickers(tickers)
    table = prices(price_tickers)
    shared_end = common_last_date(table)
    base_ts = pd.Timestamp(base)
    rows = []
    for end in ends:
        end_ts = shared_end if end is None else pd.Timestamp(end)
        if pd.isna(end_ts) or end_ts < base_ts:
            raise PriceWindowError(f"the window from {base_ts:%Y-%m-%d} ends before it starts (end {end_ts}); "
                                   "the prices available stop earlier")
        label = f"to {end_ts:%Y-%m-%d}" + (" (latest date all share)" if end is None else "")
        pr = price_return(table, base_ts, end_ts)
        tr = total_return(table, base_ts, end_ts)
        used = _last_close_dates(table, end_ts)
        window = table[(table["date"] >= base_ts - pd.Timedelta(days=MAX_STALE_DAYS)) & (table["date"] <= end_ts)]
        bridged = window.groupby("ticker")["close_method"].agg(lambda m: "adjusted-return bridge" in set(m))
        sources = window.groupby("ticker")["close_source"].agg(lambda s: ", ".join(sorted(set(s.dropna()))))
        for given, pt in zip(tickers, price_tickers, strict=True):
            info = u.loc[given] if given in u.index else None
            rows.append({
                "ticker": given, "price_ticker": pt,
                "name": info["name"] if info is not None else given,
                "layer": info["layer"] if info is not None else "benchmark",
                "sub_layer": info["sub_layer"] if info is not None else "benchmark",
                "currency": table.loc[table["ticker"] == pt, "currency"].iloc[0],
                "base": base_ts, "end": end_ts, "end_label": label, "price_date": used.get(pt, pd.NaT),
                "price_return": pr.get(pt, float("nan")), "total_return": tr.get(pt, float("nan")),
                "bridged": bool(bridged.get(pt, False)), "close_sources": sources.get(pt, ""),
            })
    out = pd.DataFrame(rows)
    out.attrs["excluded"] = left_out
    return out


def layer_medians(frame: pd.DataFrame, currency: str | None = "USD") -> pd.DataFrame:
    """Median price return by layer and end date, over the companies whose shares trade in ``currency``.

    Parameters
    ----------
    frame : pandas.DataFrame
        `gains` rows.
    currency : str or None, default "USD"
        Keep only returns in this trading currency, so a median never pools currencies; None keeps
        all rows (for frames already in one currency).

    Returns
    -------
    pandas.DataFrame
        ``end_label``, ``layer``, ``median_price_return`` and ``companies`` (how many returns the
        median is taken over); benchmarks are a layer of their own. With a ``price_date`` column in
        ``frame``, also ``last_price_date``: the latest close behind the median (how far its data run).
    """
    kept = frame if currency is None else frame[frame["currency"] == currency]
    grouped = kept.groupby(["end_label", "layer"])["price_return"]
    out = pd.DataFrame({"median_price_return": grouped.median(), "companies": grouped.count()})
    if "price_date" in kept.columns:
        priced = kept[kept["price_return"].notna()]
        out["last_price_date"] = priced.groupby(["end_label", "layer"])["price_date"].max().reindex(out.index)
    return out.reset_index()


def upstream_vs_benchmark(frame: pd.DataFrame, benchmark: str = "SPY") -> pd.DataFrame:
    """Each upstream company's return beside the benchmark's, over one window.

    Only a return in the benchmark's currency is compared with it; for the others the table gives,
    instead, how far their currency would have had to fall against the benchmark's over the window
    for them to trail it: ``1 − (1 + benchmark return) / (1 + company return)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        `gains` rows for a single end date, including the benchmark's row.
    benchmark : str, default "SPY"

    Returns
    -------
    pandas.DataFrame
        One row per upstream company, those in the benchmark's currency first, each group by
        descending return: ``ticker``, ``name``, ``sub_layer``, ``currency``, ``price_return``,
        ``total_return``, ``price_date``, ``benchmark``, ``benchmark_return``, ``benchmark_date``,
        ``base``, ``end``, ``compared`` (same currency as the benchmark), ``excess_return`` (NaN
        where not compared), ``beats_benchmark`` (``pd.NA`` where not compared),
        ``currency_fall_to_trail`` (NaN for compared rows and where the company already trails) and
        ``note`` (why a row is not compared).

    Raises
    ------
    ValueChainError
        More than one end date, or no benchmark row.
    """
    if frame["end"].nunique() != 1:
        raise ValueChainError(f"upstream_vs_benchmark needs one end date, got {sorted(frame['end'].unique())}")
    bench = frame[frame["ticker"] == benchmark]
    if bench.empty:
        raise ValueChainError(f"no {benchmark} row among the returns")
    bench = bench.iloc[0]
    up = frame[frame["layer"] == "upstream"].copy()
    compared = up["currency"] == bench["currency"]
    up["benchmark"] = benchmark
    up["benchmark_return"] = bench["price_return"]
    up["benchmark_date"] = bench["price_date"]
    up["compared"] = compared
    up["excess_return"] = (up["price_return"] - bench["price_return"]).where(compared)
    up["beats_benchmark"] = (up["price_return"] > bench["price_return"]).astype("boolean").where(compared, pd.NA)
    fall = 1 - (1 + bench["price_return"]) / (1 + up["price_return"])
    up["currency_fall_to_trail"] = fall.where(~compared & (fall > 0))
    up["note"] = ""
    up.loc[~compared, "note"] = [f"return in {c}; no {c}/{bench['currency']} rate in the snapshot, so not "
                                 f"compared with {benchmark}" for c in up.loc[~compared, "currency"]]
    up = up.sort_values(["compared", "price_return"], ascending=[False, False], kind="stable")
    columns = ["ticker", "name", "sub_layer", "currency", "price_return", "total_return", "price_date",
               "benchmark", "benchmark_return", "benchmark_date", "base", "end", "compared", "excess_return",
               "beats_benchmark", "currency_fall_to_trail", "note"]
    return up[columns].reset_index(drop=True)


def _turns(passed: int, total: int, target: float, up: bool) -> int:
    """How many companies must change side for ``passed / total`` to reach ``target`` (up) or
    fall below it (down)."""
    k = 0
    while (up and (passed + k) / total < target) or (not up and (passed - k) / total >= target):
        k += 1
    return k


def _companies(n: int) -> str:
    return f"{n} compan{'y' if n == 1 else 'ies'}"


#: How a summary names a currency.
CURRENCY_NAMES = {"USD": "the dollar", "KRW": "the won", "TWD": "the Taiwan dollar"}


def _currency_name(code: str) -> str:
    return CURRENCY_NAMES.get(code, code)


def _named(rows: pd.DataFrame) -> str:
    """'Micron Technology (MU) +241.8%' for each row, joined as an English list."""
    items = [f"{r['name']} ({r['ticker']}) {r['price_return']:+.1%}" for _, r in rows.iterrows()]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def score_b1(comparison: pd.DataFrame, supported_share: float = 0.75, mixed_share: float = 0.5,
             sources: str = "") -> Verdict:
    """Verdict on B1: upstream hardware makers had exceptional year-to-date gains.

    The claim, as the essay states it: the upstream hardware makers, as a group, gained far more
    than the market. Rule: of the upstream makers whose shares trade in the benchmark's currency,
    *supported* when a share of at least ``supported_share`` beat the benchmark's price return over
    the window, *mixed* when at least ``mixed_share`` did (so the median maker beat it) but fewer
    than ``supported_share``, *not supported* below ``mixed_share``; listings in another currency
    are reported apart and not counted.

    Parameters
    ----------
    comparison : pandas.DataFrame
        `upstream_vs_benchmark` rows for one window.
    supported_share, mixed_share : float
        The two thresholds, as fractions (``0 < mixed_share <= supported_share <= 1``).
    sources : str
        The price sources, for the verdict's ``sources``.

    Returns
    -------
    Verdict
        ``measured`` = the share of compared makers beating the benchmark (unit ``share``);
        ``threshold`` = the threshold nearest to it; ``distance_to_flip`` in share points.

    Raises
    ------
    ValueChainError
        No upstream maker in the benchmark's currency, or one without a return.
    """
    if not 0 < mixed_share <= supported_share <= 1:
        raise ValueError(f"B1 thresholds: need 0 < mixed_share <= supported_share <= 1, got "
                         f"{mixed_share}, {supported_share}")
    c = comparison
    same = c[c["compared"]]
    apart = c[~c["compared"]]
    if same.empty:
        raise ValueChainError("B1: no upstream maker trades in the benchmark's currency")
    missing = same.loc[same["price_return"].isna(), "ticker"].tolist()
    if missing or pd.isna(c["benchmark_return"].iloc[0]):
        raise PriceWindowError(f"B1: no return over the window for {missing or c['benchmark'].iloc[0]}")
    benchmark, bench = c["benchmark"].iloc[0], float(c["benchmark_return"].iloc[0])
    base, end = pd.Timestamp(c["base"].iloc[0]), pd.Timestamp(c["end"].iloc[0])
    total, passed = len(same), int(same["beats_benchmark"].sum())
    share = passed / total
    pct = lambda v: format_value(v, "share")  # noqa: E731
    if share >= supported_share:
        status, threshold = "supported", supported_share
        distance = share - supported_share
        k = _turns(passed, total, supported_share, up=False)
        flip = (f"{format_distance(distance, 'share')} above the {pct(supported_share)} threshold; "
                f"{_companies(k)} falling behind {benchmark} would make it mixed")
    elif share >= mixed_share:
        status = "mixed"
        up_by, down_by = supported_share - share, share - mixed_share
        threshold, distance = (supported_share, up_by) if up_by <= down_by else (mixed_share, down_by)
        k_up, k_down = _turns(passed, total, supported_share, up=True), _turns(passed, total, mixed_share, up=False)
        flip = (f"between the {pct(mixed_share)} and {pct(supported_share)} thresholds: "
                f"{format_distance(up_by, 'share')} ({_companies(k_up)}) more beating {benchmark} would make it "
                f"supported, {format_distance(down_by, 'share')} ({_companies(k_down)}) fewer not supported")
    else:
        status, threshold = "not supported", mixed_share
        distance = mixed_share - share
        k = _turns(passed, total, mixed_share, up=True)
        flip = (f"{format_distance(distance, 'share')} below the {pct(mixed_share)} threshold; "
                f"{_companies(k)} more beating {benchmark} would make it mixed")
    beat, trail = same[same["beats_benchmark"].astype(bool)], same[~same["beats_benchmark"].astype(bool)]
    currency = same["currency"].iloc[0]
    summary = (
        f"From the close on {base:%Y-%m-%d} to {end:%Y-%m-%d}, {passed} of the {total} upstream makers whose "
        f"shares trade in {currency} beat {benchmark}'s price return of {bench:+.1%}"
        + (f": {_named(beat)}" if passed else "")
        + (f"; {_named(trail)} trailed it" if len(trail) else "")
        + f". The median of the {total} gained {same['price_return'].median():+.1%}."
    )
    if not apart.empty:
        local_passed = passed + int((apart["price_return"] > bench).sum())
        currencies = sorted(set(apart["currency"]))
        falls = [f"{r['currency_fall_to_trail']:.0%} ({r['name']})" for _, r in apart.iterrows()
                 if pd.notna(r["currency_fall_to_trail"])]
        summary += (
            f" {_named(apart)} gained in {' and '.join(currencies)} and are left out of the count, as the snapshot "
            f"has no exchange rate"
            + (f"; they would trail {benchmark} in {currency} only if {_currency_name(currencies[0])} had fallen by "
               f"more than {' and '.join(falls)} against {_currency_name(currency)} over the window"
               if len(falls) == len(apart) and len(currencies) == 1 else "")
            + f". Counted in their own currency they would make it {local_passed} of {total + len(apart)} "
              f"({local_passed / (total + len(apart)):.0%})."
        )
    numbers = {"share_beating": share, "companies_beating": passed, "companies_compared": total,
               "benchmark_return": bench, "median_compared": float(same["price_return"].median()),
               "supported_share": supported_share, "mixed_share": mixed_share,
               "window_start": f"{base:%Y-%m-%d}", "window_end": f"{end:%Y-%m-%d}"}
    numbers.update({f"{r['ticker']}_price_return": float(r["price_return"]) for _, r in c.iterrows()})
    numbers.update({f"{r['ticker']}_currency_fall_to_trail": float(r["currency_fall_to_trail"])
                    for _, r in apart.iterrows()})
    dates = {r["ticker"]: r["price_date"] for _, r in c.iterrows()}
    dates[benchmark] = c["benchmark_date"].iloc[0]
    return Verdict(
        status=status, summary=summary, measured=float(share), threshold=float(threshold), unit="share",
        measure=f"share of {currency}-listed upstream makers beating {benchmark}'s price return, "
                f"{base:%Y-%m-%d} to {end:%Y-%m-%d}",
        distance_to_flip=float(distance), flip=flip, numbers=numbers, sources=sources,
        data_through=through_text(dates),
    )


def check_window(frame: pd.DataFrame, max_stale_days: int = MAX_STALE_DAYS) -> None:
    """Raise `PriceWindowError` when a return in ``frame`` lacks a start or rests on a stale end close.

    Parameters
    ----------
    frame : pandas.DataFrame
        `gains` rows.
    max_stale_days : int
        The most calendar days the close used may lie before the window's end.
    """
    no_start = frame.loc[frame["price_return"].isna(), "ticker"].tolist()
    if no_start:
        raise PriceWindowError(f"no close on or before {frame['base'].iloc[0]:%Y-%m-%d} for {no_start}")
    stale = frame[(frame["end"] - frame["price_date"]).dt.days > max_stale_days]
    if not stale.empty:
        last = ", ".join(f"{r['ticker']} {r['price_date']:%Y-%m-%d}" for _, r in stale.iterrows())
        raise PriceWindowError(f"the prices stop before the window's end {stale['end'].iloc[0]:%Y-%m-%d}: "
                               f"last closes {last}")


def price_source_line(frame: pd.DataFrame) -> str:
    """The sources of the closes behind ``frame``'s returns, for a chart or a verdict."""
    names = sorted({s.strip() for text in frame["close_sources"] for s in text.split(",") if s.strip()})
    bridged = sorted(frame.loc[frame["bridged"], "ticker"].unique())
    return (f"Daily closes in data/snapshot/prices.csv from public datasets derived from Yahoo Finance "
            f"({', '.join(names)}), spliced on returns"
            + ("; dates without a raw close bridged with dividend-adjusted returns" if bridged else ""))


def verdict_b1(benchmark: str = "SPY", base: str = "2025-12-31", end: str | None = None,
               supported_share: float = 0.75, mixed_share: float = 0.5) -> Verdict:
    """Verdict on B1 from the price snapshot (rule in `score_b1`).

    Parameters
    ----------
    benchmark : str
        The market the makers are measured against.
    base, end : str
        The window; ``end`` None means the latest date every upstream maker and the benchmark share.
    supported_share, mixed_share : float
        Thresholds of `score_b1`.

    Raises
    ------
    PriceWindowError
        Prices that do not reach the window's end (as on a date before it) or its start.
    """
    up = universe()
    tickers = up.loc[up["layer"] == "upstream", "ticker"].tolist() + [benchmark]
    frame = gains(tickers, base=base, ends=(end,))
    check_window(frame)
    return score_b1(upstream_vs_benchmark(frame, benchmark), supported_share=supported_share,
                    mixed_share=mixed_share, sources=price_source_line(frame))

