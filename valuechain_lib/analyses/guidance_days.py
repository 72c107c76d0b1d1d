"""Share-price reactions to capex-guidance statements: an event study of claim B3.

Each dated capex-guidance statement in the facts table (`valuechain_lib.analyses.follow_the_money.capex_guidance` for
the hyperscalers, plus the neoclouds' own statements) is an event. Statements are usually made after
the close (earnings releases and calls), so the first reaction is the next trading day, day +1.
The abnormal return of day +1 and its sum over days +1..+3 (the CAR) are measured two ways against
SPY: market-adjusted (stock return minus SPY's) and with a market model (OLS of the stock's daily
return on SPY's over the 250 trading days before the statement). Whether the average CAR could be
chance is judged with a one-sample t-test and an exact sign test (scipy's t and binomial distributions).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from valuechain_lib.analyses.follow_the_money import capex_guidance
from valuechain_lib.claims.verdicts import Verdict, less_than, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import facts, label
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.prices import prices
from valuechain_lib.snapshot.universe import members

#: The market the abnormal returns are measured against.
BENCHMARK = "SPY"
#: Trading days in the market model's estimation window, which ends the trading day before the statement.
ESTIMATION_DAYS = 250
#: Fewer estimation days than this and the stock is measured against SPY alone (market-adjusted).
MIN_ESTIMATION_DAYS = 120
#: The CAR window, in trading days after the statement (day +1 is the first reaction).
CAR_DAYS = 3
#: A first reaction day further than this after the statement means the prices have a gap there.
MAX_DAYS_TO_REACTION = 7
#: The spenders whose statements are events (`valuechain_lib.snapshot.universe.members`): the hyperscalers, and
#: the neoclouds' own capex statements too.
HYPERSCALERS, NEOCLOUDS = "hyperscaler", "neocloud"
#: Upstream suppliers measured on the spenders' guidance days (price tickers).
SUPPLIERS = ("NVDA", "AVGO", "MU", "TSM")
#: Kinds of fact row that date a statement by when it was made (a press report is dated by its article).
STATEMENT_KINDS = ("company statement", "filing")
#: The two ways an abnormal return is measured.
METHODS = ("market_model", "market_adjusted")
#: Event samples a verdict can be scored on.
SAMPLES = ("all", "raises")
#: Spender groups a verdict can be scored on.
GROUPS = ("hyperscaler", "all")
PRICE_SOURCE = ("Daily total-return prices from public datasets derived from Yahoo Finance, spliced on returns "
                "(data/snapshot/prices.csv); SPY as the market")
#: A neocloud facts-table metric states a capex plan (not an actual) when it names both.
_CAPEX_WORD = re.compile(r"\bcapex\b", re.IGNORECASE)
_PLAN_WORD = re.compile(r"\b(?:plan|outlook|guid\w*|expectation)\b", re.IGNORECASE)
_UNIT_SCALE = {"USD billion": 1e9, "USD million": 1e6}
_QUALIFIER_SIGN = {"about": "~", "more than": ">", "less than": "<", "up to": "up to ", "at least": "≥"}


class EventStudyError(ValueChainError):
    """An event study that cannot be run: too few events, or no prices around them."""


# --------------------------------------------------------------------------- statements and events
def _neocloud_guidance() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The neoclouds' capex-plan rows of the facts table: (statements, rows not used with the reason)."""
    table = facts()
    order = {t: i for i, t in enumerate(members(sub_layer=NEOCLOUDS))}  # none in a fork's smaller universe
    table = (table[table["ticker"].isin(list(order))].sort_values("ticker", key=lambda t: t.map(order), kind="stable")
             .reset_index(drop=True))
    metric = table["metric"].fillna("")
    is_plan = metric.str.contains(_CAPEX_WORD) & metric.str.contains(_PLAN_WORD)
    table = table[is_plan & table["unit"].isin(list(_UNIT_SCALE))].copy()
    scale = table["unit"].astype(str).map(_UNIT_SCALE)
    out = pd.DataFrame({"company": table["entity"].astype(str), "fact_id": table["fact_id"].astype(str)})
    out["ticker"] = table["ticker"].astype(str)
    out["plan_period"] = table["period"].fillna("").astype(str)
    for col in ("value", "value_low", "value_high"):
        out[col] = table[col] * scale
    out["qualifier"] = table["qualifier"].fillna("").astype(str)
    out["guided_mid"] = out["value"].fillna((out["value_low"] + out["value_high"]) / 2)
    out["as_of"] = table["as_of"]
    out["as_of_precision"] = table["as_of_precision"].astype(str)
    out["kind"] = table["kind"].astype(str)
    out["confidence"] = table["confidence"].astype(str)
    out["label"] = [label(row) for _, row in table.iterrows()]
    kept = out["kind"].isin(STATEMENT_KINDS)
    not_used = out[~kept].assign(
        reason=lambda f: "kind '" + f["kind"] + "': dated by the page that reported it, not by the statement")
    return out[kept].reset_index(drop=True), not_used.reset_index(drop=True)


def guided_text(row) -> str:
    """A short text of what a statement guided: ``FY2026: $175–185B`` or ``FY2026 Q1: >$30B``."""

    def billions(x: float) -> str:
        return f"{x / 1e9:,.1f}".rstrip("0").rstrip(".")

    sign = _QUALIFIER_SIGN.get(str(row["qualifier"]), "")
    if pd.notna(row["value"]):
        amount = f"{sign}${billions(row['value'])}B"
    else:
        amount = f"{sign}${billions(row['value_low'])}–{billions(row['value_high'])}B"
    return f"{row['plan_period']}: {amount}" if row["plan_period"] else amount


def classify_revisions(statements: pd.DataFrame) -> pd.Series:
    """Whether each statement raised, cut or kept the company's previous figure for the same plan period.

    Parameters
    ----------
    statements : pandas.DataFrame
        ``ticker, plan_period, as_of, fact_id, guided_mid`` (USD; the value or the midpoint of a range).

    Returns
    -------
    pandas.Series
        Aligned with ``statements``: ``first`` (no earlier statement for that period), ``raise``,
        ``cut`` or ``unchanged`` (midpoints equal to the million), comparing midpoints.
    """
    ordered = statements.sort_values(["ticker", "plan_period", "as_of", "fact_id"])
    previous = ordered.groupby(["ticker", "plan_period"])["guided_mid"].shift(1)
    change = (ordered["guided_mid"] - previous).round(-6)
    direction = np.select([previous.isna(), change > 0, change < 0], ["first", "raise", "cut"], "unchanged")
    return pd.Series(direction, index=ordered.index).reindex(statements.index)


def guidance_statements() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every capex-guidance statement of the spenders in the facts table, with its revision direction.

    The hyperscalers' rows come from `valuechain_lib.analyses.follow_the_money.capex_guidance`; CoreWeave's and Nebius's
    from their own facts-table rows whose metric is a capex plan, guide or outlook. Only rows of
    kind ``company statement`` or ``filing`` are statements: a press report or estimate is dated by
    the page that reported it, so it cannot place the reaction day.

    Returns
    -------
    statements : pandas.DataFrame
        One row per statement: ``group`` (``hyperscaler`` or ``neocloud``), ``company, ticker,
        fact_id, plan_period, value, value_low, value_high, qualifier, guided_mid`` (USD),
        ``as_of, as_of_precision, kind, confidence, label``, ``direction`` (`classify_revisions`)
        and ``guided`` (`guided_text`).
    not_used : pandas.DataFrame
        Neocloud capex-plan rows left out, with ``reason``.
    """
    cols = ["company", "ticker", "fact_id", "plan_period", "value", "value_low", "value_high", "qualifier",
            "guided_mid", "as_of", "as_of_precision", "kind", "confidence", "label"]
    hyper = capex_guidance()
    hyper = hyper[hyper["kind"].isin(STATEMENT_KINDS)][cols].assign(group="hyperscaler")
    neo, not_used = _neocloud_guidance()
    statements = pd.concat([hyper, neo[cols].assign(group="neocloud")], ignore_index=True)
    statements["direction"] = classify_revisions(statements)
    statements["guided"] = [guided_text(r) for _, r in statements.iterrows()]
    order = ["group", *cols, "direction", "guided"]
    return statements[order].sort_values(["as_of", "ticker", "fact_id"]).reset_index(drop=True), not_used


def step_ups(statements: pd.DataFrame) -> pd.DataFrame:
    """Each first figure for a new year beside the company's last plan, stated before it, for the year before.

    Parameters
    ----------
    statements : pandas.DataFrame
        `guidance_statements` rows (``company, ticker, fact_id, plan_period, guided_mid, as_of,
        direction``); annual periods are labelled ``FY<year>``.

    Returns
    -------
    pandas.DataFrame
        ``company, fact_id, plan_period, guided_mid, previous_fact_id, previous_mid, step_up``
        (``guided_mid / previous_mid``) for the first statements of an annual plan that have such a
        previous plan; quarter plans and first plans with no earlier year are left out.
    """
    year = statements["plan_period"].str.extract(r"^FY(\d{4})$")[0].astype(float)
    annual = statements.assign(year=year).dropna(subset=["year"])
    rows = []
    for _, first in annual[annual["direction"] == "first"].iterrows():
        before = annual[(annual["ticker"] == first["ticker"]) & (annual["year"] == first["year"] - 1)
                        & (annual["as_of"] <= first["as_of"])].sort_values(["as_of", "fact_id"])
        if before.empty:
            continue
        prev = before.iloc[-1]
        rows.append({"company": first["company"], "fact_id": first["fact_id"], "plan_period": first["plan_period"],
                     "guided_mid": first["guided_mid"], "previous_fact_id": prev["fact_id"],
                     "previous_mid": prev["guided_mid"], "step_up": first["guided_mid"] / prev["guided_mid"]})
    return pd.DataFrame(rows, columns=["company", "fact_id", "plan_period", "guided_mid", "previous_fact_id",
                                       "previous_mid", "step_up"])


def _date_text(date, precision: str) -> str:
    return f"{date:%Y-%m}" if precision == "month" else f"{date:%Y}" if precision == "year" else f"{date:%Y-%m-%d}"


def group_events(statements: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One event per company and statement day; statements not dated to the day are dropped.

    Parameters
    ----------
    statements : pandas.DataFrame
        `guidance_statements` rows (``group, company, ticker, fact_id, as_of, as_of_precision,
        direction, guided``).

    Returns
    -------
    events : pandas.DataFrame
        ``group, company, ticker, statement_date, fact_ids`` (``"F101, F102"``), ``guided``
        (``"; "``-joined), ``directions`` (the distinct directions, ``"; "``-joined) and ``is_raise``
        (some statement of the day raised a plan), sorted by date.
    dropped : pandas.DataFrame
        ``company, ticker, fact_ids, stated, reason`` for statements dated only to the month or year.
    """
    by_day = statements["as_of_precision"].eq("day") & statements["as_of"].notna()
    undated = statements[~by_day]
    dropped = pd.DataFrame({
        "company": undated["company"], "ticker": undated["ticker"], "fact_ids": undated["fact_id"],
        "stated": [_date_text(d, p) if pd.notna(d) else "no date"
                   for d, p in zip(undated["as_of"], undated["as_of_precision"], strict=True)],
        "reason": [f"dated only to the {p}: the reaction day cannot be placed" if pd.notna(d) else "no date"
                   for d, p in zip(undated["as_of"], undated["as_of_precision"], strict=True)],
    })
    dated = statements[by_day].sort_values(["as_of", "ticker", "fact_id"])
    rows = []
    for (ticker, day), g in dated.groupby(["ticker", "as_of"], sort=False):
        rows.append({
            "group": g["group"].iloc[0], "company": g["company"].iloc[0], "ticker": ticker, "statement_date": day,
            "fact_ids": ", ".join(g["fact_id"]), "guided": "; ".join(g["guided"]),
            "directions": "; ".join(dict.fromkeys(g["direction"])), "is_raise": bool(g["direction"].eq("raise").any()),
        })
    columns = ["group", "company", "ticker", "statement_date", "fact_ids", "guided", "directions", "is_raise"]
    events = pd.DataFrame(rows, columns=columns).sort_values(["statement_date", "ticker"]).reset_index(drop=True)
    return events, dropped.reset_index(drop=True)


# --------------------------------------------------------------------------- returns
def daily_returns(price_table: pd.DataFrame) -> pd.DataFrame:
    """Daily total returns, one column per ticker, from each ticker's own trading days.

    Parameters
    ----------
    price_table : pandas.DataFrame
        Rows of `valuechain_lib.snapshot.prices.prices` (``date, ticker, total_return_index``).

    Returns
    -------
    pandas.DataFrame
        Index ``date``; columns tickers; the simple return from the ticker's previous trading day
        (a fraction). NaN on a ticker's first day and on dates it did not trade.
    """
    series = {}
    for ticker, g in price_table.groupby("ticker", sort=True):
        level = g.set_index("date")["total_return_index"].dropna().sort_index()
        series[ticker] = level.pct_change().iloc[1:]
    return pd.DataFrame(series).sort_index()


def reaction_position(dates: pd.DatetimeIndex, statement_date) -> int:
    """Position in ``dates`` of day +1: the first trading day strictly after the statement date.

    A statement made on a weekend or holiday therefore reacts on the next trading day. Returns
    ``len(dates)`` when no trading day follows.
    """
    return int(np.searchsorted(dates.to_numpy(), pd.Timestamp(statement_date).to_datetime64(), side="right"))


def market_model(stock: np.ndarray, market: np.ndarray) -> tuple[float, float]:
    """OLS intercept and slope of ``stock = alpha + beta * market`` (daily returns, fractions).

    Returns
    -------
    (alpha, beta) : tuple of float
    """
    x = np.column_stack([np.ones(len(market)), market])
    (alpha, beta), *_ = np.linalg.lstsq(x, stock, rcond=None)
    return float(alpha), float(beta)


def abnormal_returns(stock: pd.Series, market: pd.Series, statement_date, *,
                     estimation_days: int = ESTIMATION_DAYS, min_estimation_days: int = MIN_ESTIMATION_DAYS,
                     car_days: int = CAR_DAYS) -> dict:
    """Abnormal returns of one stock after one statement, market-adjusted and by market model.

    Parameters
    ----------
    stock, market : pandas.Series
        Daily returns (fractions) indexed by date; only the dates both have are used.
    statement_date : str or Timestamp
        The day the statement was made (assumed after the close).
    estimation_days : int
        Trading days in the market model's window, which ends the trading day before the statement
        day (day -1; the statement day is day 0, the last trading day on or before the statement).
    min_estimation_days : int
        With fewer days of history the market-model columns repeat the market-adjusted ones and
        ``model`` says so.
    car_days : int
        Days +1..+``car_days`` are summed into the CAR.

    Returns
    -------
    dict
        ``reaction_date`` (day +1), ``window_end`` (day +``car_days``), ``ar1_market_adjusted``,
        ``car_market_adjusted``, ``ar1_market_model``, ``car_market_model`` (fractions),
        ``alpha``, ``beta`` (NaN without a market model), ``estimation_days`` (trading days used)
        and ``model`` (``market model`` or ``SPY only (<n> days of history)``).

    Raises
    ------
    EventStudyError
        No trading day within `MAX_DAYS_TO_REACTION` days after the statement, or fewer than
        ``car_days`` trading days after it in the data.
    """
    both = pd.concat([stock.rename("stock"), market.rename("market")], axis=1, join="inner").dropna().sort_index()
    dates = pd.DatetimeIndex(both.index)
    day = pd.Timestamp(statement_date)
    first = reaction_position(dates, day)
    if first >= len(dates) or (dates[first] - day).days > MAX_DAYS_TO_REACTION:
        raise EventStudyError(f"no trading day within {MAX_DAYS_TO_REACTION} days after {day:%Y-%m-%d} "
                              f"(prices run to {dates[-1]:%Y-%m-%d})" if len(dates) else "no prices")
    if first + car_days > len(dates):
        raise EventStudyError(f"the {car_days}-day window after {day:%Y-%m-%d} ends after the last price date "
                              f"{dates[-1]:%Y-%m-%d}")
    window = both.iloc[first:first + car_days]
    estimation = both.iloc[max(0, first - 1 - estimation_days):max(0, first - 1)]
    adjusted = (window["stock"] - window["market"]).to_numpy()
    n_est = len(estimation)
    if n_est >= min_estimation_days:
        alpha, beta = market_model(estimation["stock"].to_numpy(), estimation["market"].to_numpy())
        modelled = (window["stock"] - (alpha + beta * window["market"])).to_numpy()
        model = "market model"
    else:
        alpha, beta, modelled = math.nan, math.nan, adjusted
        model = f"SPY only ({n_est} days of history)"
    return {
        "reaction_date": window.index[0], "window_end": window.index[-1],
        "ar1_market_adjusted": float(adjusted[0]), "car_market_adjusted": float(adjusted.sum()),
        "ar1_market_model": float(modelled[0]), "car_market_model": float(modelled.sum()),
        "alpha": alpha, "beta": beta, "estimation_days": n_est, "model": model,
    }


def measure_events(events: pd.DataFrame, returns: pd.DataFrame, *, benchmark: str = BENCHMARK,
                   ticker_column: str = "ticker") -> tuple[pd.DataFrame, pd.DataFrame]:
    """`abnormal_returns` for every event; events whose window cannot be measured are dropped and named.

    Parameters
    ----------
    events : pandas.DataFrame
        `group_events` rows (``statement_date`` and ``ticker_column``).
    returns : pandas.DataFrame
        `daily_returns` with the event tickers and ``benchmark``.

    Returns
    -------
    measured : pandas.DataFrame
        The events with the columns of `abnormal_returns` added.
    dropped : pandas.DataFrame
        ``company, ticker, fact_ids, stated, reason``.
    """
    if benchmark not in returns.columns:
        raise EventStudyError(f"no returns for the benchmark {benchmark}")
    rows, dropped = [], []
    for _, event in events.iterrows():
        ticker = event[ticker_column]
        try:
            if ticker not in returns.columns:
                raise EventStudyError(f"no prices for {ticker}")
            result = abnormal_returns(returns[ticker], returns[benchmark], event["statement_date"])
        except EventStudyError as exc:
            dropped.append({"company": event.get("company", ticker), "ticker": ticker,
                            "fact_ids": event.get("fact_ids", ""), "stated": f"{event['statement_date']:%Y-%m-%d}",
                            "reason": str(exc)})
            continue
        rows.append({**event.to_dict(), **result})
    measured = pd.DataFrame(rows)
    if measured.empty:
        measured = pd.DataFrame(columns=[*events.columns, "reaction_date", "window_end", "ar1_market_adjusted",
                                         "car_market_adjusted", "ar1_market_model", "car_market_model", "alpha",
                                         "beta", "estimation_days", "model"])
    return measured, pd.DataFrame(dropped, columns=["company", "ticker", "fact_ids", "stated", "reason"])


# --------------------------------------------------------------------------- tests of the mean
def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    return float(2.0 * stats.t.sf(abs(t), df))


def t_critical(alpha: float, df: float) -> float:
    """The t > 0 with two-sided tail probability ``alpha``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} is not between 0 and 1")
    return float(stats.t.isf(alpha / 2.0, df))


def t_test(values) -> dict:
    """One-sample t-test of a zero mean.

    Parameters
    ----------
    values : array-like of float
        NaNs are dropped.

    Returns
    -------
    dict
        ``n, mean, sd`` (ddof=1), ``se, t, df`` and ``p`` (two-sided).

    Raises
    ------
    EventStudyError
        Fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        raise EventStudyError(f"a t-test needs at least two events; there are {len(x)}")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    se = sd / math.sqrt(len(x))
    if se == 0.0:
        t = math.copysign(math.inf, mean) if mean else 0.0
    else:
        t = mean / se
    return {"n": len(x), "mean": mean, "sd": sd, "se": se, "t": t, "df": len(x) - 1,
            "p": 1.0 if t == 0.0 else t_two_sided_p(t, len(x) - 1)}


def sign_test(values) -> dict:
    """Exact two-sided sign test: are negatives and positives equally likely?

    Parameters
    ----------
    values : array-like of float
        NaNs and exact zeros are dropped.

    Returns
    -------
    dict
        ``n`` (non-zero values), ``negatives``, ``positives`` and ``p``: twice the smaller binomial
        tail of ``negatives`` under Binomial(n, 1/2), capped at 1 (1 when n is 0).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x) & (x != 0.0)]
    n, k = len(x), int((x < 0).sum())
    if n == 0:
        return {"n": 0, "negatives": 0, "positives": 0, "p": 1.0}
    lower, upper = stats.binom.cdf(k, n, 0.5), stats.binom.sf(k - 1, n, 0.5)
    return {"n": n, "negatives": k, "positives": n - k, "p": float(min(1.0, 2.0 * min(lower, upper)))}


def average_reaction(values) -> dict:
    """Mean of a set of abnormal returns with its t-test and sign test.

    Returns
    -------
    dict
        ``n, mean, median, t, p_t`` (two-sided t-test), ``negatives``, ``p_sign`` (sign test); NaN
        statistics (never 0) when there are fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    signs = sign_test(x)
    out = {"n": len(x), "mean": float(x.mean()) if len(x) else math.nan,
           "median": float(np.median(x)) if len(x) else math.nan,
           "negatives": signs["negatives"], "p_sign": signs["p"] if len(x) else math.nan}
    try:
        tt = t_test(x)
        out.update(t=tt["t"], p_t=tt["p"], se=tt["se"])
    except EventStudyError:
        out.update(t=math.nan, p_t=math.nan, se=math.nan)
    return out


def select(measured: pd.DataFrame, *, group: str = "hyperscaler", sample: str = "all") -> pd.DataFrame:
    """The events a verdict is scored on: ``group`` (`GROUPS`) and ``sample`` (`SAMPLES`)."""
    if group not in GROUPS:
        raise EventStudyError(f"group {group!r} is not one of {GROUPS}")
    if sample not in SAMPLES:
        raise EventStudyError(f"sample {sample!r} is not one of {SAMPLES}")
    rows = measured if group == "all" else measured[measured["group"] == group]
    return rows[rows["is_raise"].astype(bool)] if sample == "raises" else rows


def averages(measured: pd.DataFrame, *, group: str = "hyperscaler") -> pd.DataFrame:
    """`average_reaction` of AR(+1) and CAR(+1..+3), both methods, for all events and raises.

    Returns
    -------
    pandas.DataFrame
        One row per ``sample`` (``all``, ``raises``) and ``method`` (`METHODS`) with ``n, mean_ar1,
        mean_car, median_car, t, p_t, negatives, p_sign`` (the tests on the CARs).
    """
    rows = []
    for sample in SAMPLES:
        chosen = select(measured, group=group, sample=sample)
        for method in METHODS:
            car = average_reaction(chosen[f"car_{method}"])
            ar1 = average_reaction(chosen[f"ar1_{method}"])
            rows.append({"sample": sample, "method": method, "n": car["n"], "mean_ar1": ar1["mean"],
                         "p_t_ar1": ar1["p_t"], "mean_car": car["mean"], "median_car": car["median"],
                         "t": car["t"], "p_t": car["p_t"], "negatives": car["negatives"], "p_sign": car["p_sign"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- suppliers
def supplier_reactions(measured: pd.DataFrame, returns: pd.DataFrame, *, suppliers=SUPPLIERS,
                       benchmark: str = BENCHMARK) -> pd.DataFrame:
    """Suppliers' abnormal returns on the spenders' guidance days, one row per statement date and supplier.

    Several spenders guiding on the same day make one supplier observation (the suppliers' returns
    that day are the same whichever spender moved them).

    Parameters
    ----------
    measured : pandas.DataFrame
        `measure_events` rows of the spenders (``statement_date, ticker, is_raise``).
    returns : pandas.DataFrame
        `daily_returns` with the suppliers and ``benchmark``.

    Returns
    -------
    pandas.DataFrame
        ``statement_date, spenders`` (tickers, ``", "``-joined), ``is_raise`` (some spender raised),
        ``supplier`` and the columns of `abnormal_returns`; a ``basket`` row per date holds the
        equal-weighted mean of the suppliers' abnormal returns.
    """
    days = (measured.groupby("statement_date", sort=True)
            .agg(spenders=("ticker", lambda t: ", ".join(sorted(set(t)))), is_raise=("is_raise", "any"))
            .reset_index())
    rows = []
    for _, day in days.iterrows():
        per_day = []
        for supplier in suppliers:
            if supplier not in returns.columns:
                raise EventStudyError(f"no prices for the supplier {supplier}")
            try:
                result = abnormal_returns(returns[supplier], returns[benchmark], day["statement_date"])
            except EventStudyError:
                continue  # the spenders' event was measured, so this is a gap in one supplier's prices
            per_day.append({**day.to_dict(), "supplier": supplier, **result})
        rows += per_day
        if per_day:
            basket = {col: float(np.mean([r[col] for r in per_day]))
                      for col in ("ar1_market_adjusted", "car_market_adjusted", "ar1_market_model", "car_market_model")}
            rows.append({**day.to_dict(), "supplier": "basket", "reaction_date": per_day[0]["reaction_date"],
                         "window_end": per_day[0]["window_end"], **basket, "alpha": math.nan, "beta": math.nan,
                         "estimation_days": min(r["estimation_days"] for r in per_day),
                         "model": f"mean of {len(per_day)} suppliers"})
    return pd.DataFrame(rows)


def supplier_averages(reactions: pd.DataFrame, *, method: str = "market_model") -> pd.DataFrame:
    """Mean CAR(+1..+3) per supplier and for the basket, on all guidance days and on raise days.

    Returns
    -------
    pandas.DataFrame
        One row per ``supplier`` and ``sample``: ``n, mean_car, p_t, negatives, p_sign`` and
        ``last_window_end`` (the last trading day of the latest window averaged: how far the prices
        behind the mean run; NaT for an empty sample).
    """
    rows = []
    for supplier, g in reactions.groupby("supplier", sort=False):
        for sample in SAMPLES:
            chosen = g[g["is_raise"].astype(bool)] if sample == "raises" else g
            stats = average_reaction(chosen[f"car_{method}"])
            rows.append({"supplier": supplier, "sample": sample, "n": stats["n"], "mean_car": stats["mean"],
                         "p_t": stats["p_t"], "negatives": stats["negatives"], "p_sign": stats["p_sign"],
                         "last_window_end": pd.to_datetime(chosen["window_end"]).max()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the whole study
@dataclass(frozen=True)
class GuidanceStudy:
    """The event study on the snapshot (or as of the date set by `valuechain_lib.snapshot.vintage.as_of`).

    Attributes
    ----------
    statements : pandas.DataFrame
        `guidance_statements`.
    events : pandas.DataFrame
        Measured spender events (`measure_events`), hyperscalers and neoclouds.
    dropped : pandas.DataFrame
        Statements and events left out, with the reason (``company, ticker, fact_ids, stated, reason``).
    suppliers : pandas.DataFrame
        `supplier_reactions` on the hyperscalers' guidance days.
    last_price_date : pandas.Timestamp
        The benchmark's last price date in the data used.
    """

    statements: pd.DataFrame
    events: pd.DataFrame
    dropped: pd.DataFrame
    suppliers: pd.DataFrame
    last_price_date: pd.Timestamp


@memoized
def guidance_study() -> GuidanceStudy:
    """Run the event study on the facts table and the price snapshot (see the module docstring).

    Raises
    ------
    EventStudyError
        No statement of any spender can be measured.
    """
    statements, not_used = guidance_statements()
    events, undated = group_events(statements)
    tickers = sorted(set(events["ticker"]) | set(SUPPLIERS) | {BENCHMARK})
    table = prices(tickers)
    returns = daily_returns(table)
    measured, unmeasured = measure_events(events, returns)
    if measured.empty:
        raise EventStudyError("no capex-guidance statement dated to the day has prices around it yet")
    not_used = pd.DataFrame({"company": not_used["company"], "ticker": not_used["ticker"],
                             "fact_ids": not_used["fact_id"],
                             "stated": [_date_text(d, p) for d, p in zip(not_used["as_of"], not_used["as_of_precision"],
                                                                         strict=True)],
                             "reason": not_used["reason"]})
    dropped = pd.concat([undated, unmeasured, not_used], ignore_index=True)
    hyper = measured[measured["group"] == "hyperscaler"]
    suppliers = supplier_reactions(hyper, returns) if not hyper.empty else pd.DataFrame()
    return GuidanceStudy(statements=statements, events=measured, dropped=dropped.reset_index(drop=True),
                         suppliers=suppliers, last_price_date=table.loc[table["ticker"] == BENCHMARK, "date"].max())


def event_table(events: pd.DataFrame) -> pd.DataFrame:
    """The measured events as a readable table: ISO dates, returns in percent with one decimal.

    Returns
    -------
    pandas.DataFrame
        Text columns ``Company, Statement, Day +1, Facts, Guided, AR +1 (MM), CAR +1..+3 (MM),
        AR +1 (MA), CAR +1..+3 (MA), Estimation days`` (MM = market model, MA = market-adjusted;
        the estimation column names the SPY-only fallback).
    """
    def pct(x: float) -> str:
        return f"{x * 100:+.1f}%"

    out = pd.DataFrame({
        "Company": events["company"],
        "Statement": events["statement_date"].dt.strftime("%Y-%m-%d"),
        "Day +1": pd.to_datetime(events["reaction_date"]).dt.strftime("%Y-%m-%d"),
        "Facts": events["fact_ids"],
        "Guided": events["guided"] + " (" + events["directions"] + ")",
        "AR +1 (MM)": events["ar1_market_model"].map(pct),
        "CAR +1..+3 (MM)": events["car_market_model"].map(pct),
        "AR +1 (MA)": events["ar1_market_adjusted"].map(pct),
        "CAR +1..+3 (MA)": events["car_market_adjusted"].map(pct),
        "Estimation days": [str(n) if m == "market model" else f"{n} (SPY only)"
                            for n, m in zip(events["estimation_days"], events["model"], strict=True)],
    })
    return out.reset_index(drop=True)


def dropped_text(dropped: pd.DataFrame) -> str:
    """The statements left out, as one line: ``F81 (Alphabet, 2026-04: dated only to the month ...)``."""
    return "; ".join(f"{r.fact_ids} ({r.company}, {r.stated}: {r.reason})" for r in dropped.itertuples())


# --------------------------------------------------------------------------- verdict
def score_b3(events: pd.DataFrame, *, alpha: float = 0.10, sample: str = "all", method: str = "market_model",
             group: str = "hyperscaler", suppliers: pd.DataFrame | None = None,
             dropped: pd.DataFrame | None = None, last_price_date=None) -> Verdict:
    """Verdict on B3: investors punish high capex guidance.

    The claim, as the essay states it: when a hyperscaler issues or raises high capex guidance, its
    shares fall relative to the market over the following days. Rule: over the ``group``'s guidance
    events (``sample``: every statement, or raises only), the mean CAR(+1..+3) by ``method`` must
    be negative and a two-sided one-sample t-test must reject a zero mean at ``alpha``. That is the
    same as the mean lying below the critical mean ``-t(alpha, n-1) * s / sqrt(n)``, which is the
    threshold reported; the distance to a flip is how far the mean is from it, in percentage points.

    Parameters
    ----------
    events : pandas.DataFrame
        `measure_events` rows.
    alpha : float
        Significance level of the two-sided t-test.
    sample, method, group : str
        See `SAMPLES`, `METHODS`, `GROUPS`.
    suppliers : pandas.DataFrame, optional
        `supplier_reactions`, summarised in the numbers and the summary.
    dropped : pandas.DataFrame, optional
        Statements left out, named in the sources.
    last_price_date : Timestamp, optional
        The prices' last date, for ``data_through``.

    Returns
    -------
    Verdict

    Raises
    ------
    EventStudyError
        Fewer than two events in the sample.
    """
    if method not in METHODS:
        raise EventStudyError(f"method {method!r} is not one of {METHODS}")
    chosen = select(events, group=group, sample=sample)
    who = "hyperscaler" if group == "hyperscaler" else "spender"
    what = "raised a capex plan" if sample == "raises" else "stated a capex plan"
    if len(chosen) < 2:
        raise EventStudyError(f"only {len(chosen)} day(s) on which a {who} {what} have prices after them; "
                              "the t-test needs at least two")
    cars = chosen[f"car_{method}"].to_numpy(dtype=float)
    tt = t_test(cars)
    signs = sign_test(cars)
    critical = -t_critical(alpha, tt["df"]) * tt["se"]
    method_words = {"market_model": "market model", "market_adjusted": "market-adjusted (stock minus SPY)"}
    compared = less_than(tt["mean"], critical, unit="percent return",
                         measure=f"mean CAR over trading days +1..+3 after a {who} {what} "
                                 f"({method_words[method]}, {tt['n']} events); threshold = the mean at which a "
                                 f"two-sided t-test rejects zero at alpha = {alpha:g}")
    other = "market_adjusted" if method == "market_model" else "market_model"
    other_stats = average_reaction(chosen[f"car_{other}"])
    other_sample = "raises" if sample == "all" else "all"
    alt_stats = average_reaction(select(events, group=group, sample=other_sample)[f"car_{method}"])
    first, last = chosen["statement_date"].min(), chosen["statement_date"].max()
    decided = "distinguishable from zero" if tt["p"] < alpha else "not distinguishable from zero"
    summary = (
        f"On the {tt['n']} days from {first:%Y-%m-%d} to {last:%Y-%m-%d} on which a {who} {what}, its shares "
        f"moved {tt['mean']:+.1%} on average against the {method_words[method]} over "
        f"the three trading days that followed, down on {signs['negatives']} of {signs['n']}: {decided} at the "
        f"{alpha:.0%} level (t-test p = {tt['p']:.3f}, sign test p = {signs['p']:.3f}). "
        f"{method_words[other][0].upper()}{method_words[other][1:]}, the mean is {other_stats['mean']:+.1%} "
        f"(p = {other_stats['p_t']:.3f}); on the {alt_stats['n']} "
        f"{'raises alone' if other_sample == 'raises' else 'statements of every kind'} it is "
        f"{alt_stats['mean']:+.1%} (p = {alt_stats['p_t']:.3f})."
    )
    numbers = {"n_events": tt["n"], "mean_car": tt["mean"], "median_car": float(np.median(cars)),
               "p_t": tt["p"], "t": tt["t"], "negatives": signs["negatives"], "p_sign": signs["p"],
               "critical_mean": critical, "alpha": alpha, "sample": sample, "method": method, "group": group,
               "mean_ar1": float(np.nanmean(chosen[f"ar1_{method}"])),
               f"mean_car_{other}": other_stats["mean"], f"p_t_{other}": other_stats["p_t"],
               f"n_{other_sample}": alt_stats["n"], f"mean_car_{other_sample}": alt_stats["mean"],
               f"p_t_{other_sample}": alt_stats["p_t"]}
    if suppliers is not None and not suppliers.empty:
        basket = suppliers[suppliers["supplier"] == "basket"]
        basket = basket[basket["is_raise"].astype(bool)] if sample == "raises" else basket
        stats = average_reaction(basket[f"car_{method}"])
        numbers.update(supplier_days=stats["n"], supplier_mean_car=stats["mean"], supplier_p_t=stats["p_t"])
        summary += (f" The suppliers ({', '.join(SUPPLIERS)}, equal-weighted) moved "
                    f"{stats['mean']:+.1%} on the same {stats['n']} days "
                    f"(p = {stats['p_t']:.3f}).")
    sources = (f"{PRICE_SOURCE}. Capex-guidance statements in the facts table: "
               f"{', '.join(chosen['fact_ids'])} (company statements as reported; see each row's confidence).")
    if dropped is not None and group == "hyperscaler":
        dropped = dropped[dropped["ticker"].isin(members(sub_layer=HYPERSCALERS))]
    if dropped is not None and not dropped.empty:
        sources += f" Not used: {dropped_text(dropped)}."
    last_price = last_price_date if last_price_date is not None else chosen["window_end"].max()
    data_through = (f"{through_text({BENCHMARK: pd.Timestamp(last_price)})} prices; statements to "
                    f"{last:%Y-%m-%d} (facts table)")
    return Verdict(summary=summary, numbers=numbers, sources=sources, data_through=data_through, **compared)


def verdict_b3(alpha: float = 0.10, sample: str = "all", method: str = "market_model",
               group: str = "hyperscaler") -> Verdict:
    """Verdict on B3 from the facts table and the price snapshot (rule in `score_b3`)."""
    study = guidance_study()
    return score_b3(study.events, alpha=alpha, sample=sample, method=method, group=group,
                    suppliers=study.suppliers, dropped=study.dropped, last_price_date=study.last_price_date)
