"""A perpetual-inventory model of the hyperscalers' depreciation wave: capex vintages to D&A (claim A9).

Each year's *investment* (cash capex plus, where tagged, finance-lease principal payments) is a
vintage depreciated straight-line over one useful life with the **half-year convention**: half a
year's charge in the year of purchase, full charges after, the remainder in the last year (100 over
5 years → 10, 20, 20, 20, 20, 10). Finance-lease principal payments are the available *proxy* for
assets added under finance leases (the additions themselves are not tagged): they lag the additions,
but leaving them out would understate lease-heavy spenders (Amazon above all). The assets on the
books before the first modelled vintage enter as an *initial stock*: ``stock_scale`` × net PP&E at
the end of the base year, depreciated straight-line over the remaining half of the useful life (an
average asset is taken to be half-way through its life; the scale absorbs land and construction in
progress, which do not depreciate, and longer-lived buildings).

Capex is depreciated from the year it is paid for: the model has no construction-in-progress stage
(the snapshot has no such line), so assets still being built, which a company does not depreciate
until they are in service, are charged early. With large data-centre programmes under way this
front-loads the modelled depreciation; `reconciliation` sets the model's year against what was
booked.

Pure functions take Series and numbers; `company_inputs`, `calibrate`, `calibration_table`,
`downstream_run_rate`, `central_projection` and `booked_depreciation` are the layer that reads the
snapshot (`valuechain_lib.snapshot.financials`) and the facts table. Money is in USD, growth rates and errors
are plain fractions, years are integers (calendar years; Microsoft's fiscal years where stated).

Which reported depreciation a company is fitted to: ``depreciation_amortization`` where tagged
(Amazon, Meta; it includes amortization the vintages do not produce, e.g. Amazon's capitalized
content and operating-lease assets, which the fitted life and scale absorb), else ``depreciation``
(Alphabet, Microsoft, Oracle). Alphabet's us-gaap Depreciation is filed from 2021; its 2019 and 2020
come from facts-table rows (`DA_FACTS_FILL`, labelled, with confidence). Microsoft's depreciation is
tagged by fiscal year only before 2025, so it is calibrated on fiscal years (ending June), ``basis``
says so.

Because every company's fitted life misses the years after the fit by more than `ERROR_FLAG`, the
chapter reports coverage years as a range (`coverage_scenarios`, `coverage_span`) across the fitted
and the stated server lives and the growth assumptions, the fitted case being one of them.

The companies' stated server lives are `valuechain_lib.analyses.depreciation.current_lives`, re-exported
here for the chapter.

References
----------
Essay A, "The AI Value Chain Is Collapsing Inward" (late 2025), claim A9; Essay B (Tiger Brokers,
July 2026), claims B5 and B11 (downstream run rates against capex).

Examples
--------
>>> from valuechain_lib.analyses import depreciation_wave as dw
>>> [round(float(w), 2) for w in dw.vintage_weights(5, 6)]
[0.1, 0.2, 0.2, 0.2, 0.2, 0.1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valuechain_lib.analyses.depreciation import current_lives
from valuechain_lib.analyses.training_to_inference import latest_run_rates, run_rates
from valuechain_lib.calc.metrics import line_items
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.universe import members

__all__ = [
    "CAPEX_GROWTHS", "CENTRAL", "DA_FACTS_FILL", "ERROR_FLAG", "LIFE_GRID", "LIVES",
    "REVENUE_GROWTHS", "InsufficientDataError", "booked_depreciation", "calibrate", "calibration_table",
    "central_projection", "company_inputs", "coverage_scenarios", "coverage_span", "coverage_year", "current_lives",
    "depreciation_schedule", "downstream_revenue", "downstream_run_rate", "fit_life", "fitted_da", "mape",
    "out_of_sample_errors", "project", "projection_through", "reconciliation", "scenario_grid", "stated_lives", "stock_weights",
    "summary", "vintage_weights",
]

#: The companies modelled (`valuechain_lib.snapshot.universe.members`).
SUB_LAYER = "hyperscaler"
#: Useful lives (years) the calibration searches, a quarter-year apart.
LIFE_GRID = tuple(np.round(np.arange(2.0, 15.0001, 0.25), 2))
#: Out-of-sample mean absolute percentage error above which a company is flagged.
ERROR_FLAG = 0.10
#: Largest initial-stock scale the calibration allows (× net PP&E at the end of the base year).
MAX_STOCK_SCALE = 3.0
#: Depreciation of years the filings' tags lack, from the facts table (ticker → year → fact id).
#: Alphabet's us-gaap Depreciation is filed from 2021; 2019 and 2020 are the cash-flow line
#: "Depreciation and impairment of property and equipment" (F147, F148: filing, medium confidence),
#: which includes impairment.
DA_FACTS_FILL = {"GOOGL": {2019: "F147", 2020: "F148"}}
#: Slider values of the interactive chart (kept few: the page ships the whole grid).
LIVES = (4, 5, 6, 8, 10)
CAPEX_GROWTHS = (0.0, 0.15, 0.30)
REVENUE_GROWTHS = (0.25, 0.50, 0.75, 1.00)
#: Central assumptions (stated, not estimated): future investment grows 15% a year from the last
#: full calendar year (slower than 2024–2025, when it rose by half or more a year); the model
#: providers' combined run rate grows 50% a year (slower than its 2025–2026 pace, which more than
#: doubled). The central useful life is each company's fitted life.
CENTRAL = {"capex_growth": 0.15, "revenue_growth": 0.50}


class InsufficientDataError(ValueChainError):
    """A company whose reported depreciation or capex history cannot support a calibration."""


# --------------------------------------------------------------------------- schedules

def vintage_weights(useful_life: float, n_years: int) -> np.ndarray:
    """Share of one vintage's cost charged in each year of age, straight-line, half-year convention.

    Formula: cumulative share ``F(k) = min(1, (k + 0.5) / L)`` at the end of age ``k`` (0 = the year
    of purchase); weight ``w_k = F(k) − F(k − 1)`` with ``F(−1) = 0``.

    Parameters
    ----------
    useful_life : float
        ``L`` in years (> 0; need not be whole).
    n_years : int
        Number of ages returned.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_years,)``, fractions summing to 1 once ``n_years >= L + 1``.

    Examples
    --------
    >>> [round(float(w), 3) for w in vintage_weights(4, 6)]
    [0.125, 0.25, 0.25, 0.25, 0.125, 0.0]
    """
    if not useful_life > 0:
        raise ValueChainError(f"useful life must be positive, not {useful_life!r}")
    k = np.arange(n_years, dtype=float)
    cum = np.minimum(1.0, (k + 0.5) / useful_life)
    return np.diff(np.concatenate([[0.0], cum]))


def stock_weights(remaining_life: float, n_years: int) -> np.ndarray:
    """Share of an opening stock charged in each following year: straight-line, full years.

    Formula: ``F(k) = min(1, (k + 1) / R)`` for the ``k``-th year after the stock date.

    Examples
    --------
    >>> [round(float(w), 2) for w in stock_weights(2.5, 4)]
    [0.4, 0.4, 0.2, 0.0]
    """
    if not remaining_life > 0:
        raise ValueChainError(f"remaining life must be positive, not {remaining_life!r}")
    k = np.arange(n_years, dtype=float)
    return np.diff(np.concatenate([[0.0], np.minimum(1.0, (k + 1) / remaining_life)]))


def depreciation_schedule(investment: pd.Series, useful_life: float, years: Sequence[int] | None = None,
                          initial_stock: float = 0.0, stock_year: int | None = None) -> pd.Series:
    """Projected D&A per year from investment vintages (and an opening stock), perpetual inventory.

    Formula: ``D_t = Σ_v I_v · w_{t−v}(L) + K · s_{t−b−1}(L / 2)`` with `vintage_weights` ``w``,
    `stock_weights` ``s``, investment ``I_v`` in year ``v``, opening stock ``K`` at the end of year
    ``b`` (``stock_year``).

    Parameters
    ----------
    investment : pandas.Series
        Investment by year (USD; index of ints). NaN counts as no investment that year.
    useful_life : float
        Years.
    years : sequence of int, optional
        Years returned; default from the first vintage to the year the last one is written off.
    initial_stock : float
        Opening net book value (USD) at the end of ``stock_year``.
    stock_year : int, optional
        Required when ``initial_stock`` is non-zero.

    Returns
    -------
    pandas.Series
        D&A by year (USD), named ``da``.

    Examples
    --------
    >>> depreciation_schedule(pd.Series({2020: 100.0}), 5).round(9).tolist()
    [10.0, 20.0, 20.0, 20.0, 20.0, 10.0]
    """
    inv = investment.dropna().astype(float)
    if years is None:
        if inv.empty:
            raise ValueChainError("no investment and no years to schedule")
        years = range(int(inv.index.min()), int(inv.index.max()) + int(np.ceil(useful_life)) + 1)
    years = pd.Index([int(y) for y in years], name="year")
    out = np.zeros(len(years))
    span = int(years.max() - min(years.min(), inv.index.min() if not inv.empty else years.min())) + 1
    weights = vintage_weights(useful_life, span)
    for v, amount in inv.items():
        age = years.to_numpy() - int(v)
        ok = (age >= 0) & (age < span)
        out[ok] += amount * weights[age[ok]]
    if initial_stock:
        if stock_year is None:
            raise ValueChainError("an initial stock needs its stock_year")
        age = years.to_numpy() - int(stock_year) - 1
        sw = stock_weights(useful_life / 2, max(int(age.max()) + 1, 1))
        ok = age >= 0
        out[ok] += initial_stock * sw[age[ok]]
    return pd.Series(out, index=years, name="da")


def mape(predicted, actual) -> float:
    """Mean absolute percentage error ``mean(|p − a| / a)`` over years where both are present and a ≠ 0.

    Examples
    --------
    >>> mape(pd.Series([110.0, 90.0]), pd.Series([100.0, 100.0]))
    0.1
    """
    p, a = pd.Series(predicted, dtype=float), pd.Series(actual, dtype=float)
    p, a = p.align(a, join="inner")
    ok = p.notna() & a.notna() & (a != 0)
    if not ok.any():
        return float("nan")
    return float(((p[ok] - a[ok]).abs() / a[ok].abs()).mean())


# --------------------------------------------------------------------------- calibration

def fit_life(investment: pd.Series, reported: pd.Series, initial_stock: float = 0.0,
             stock_year: int | None = None, lives: Sequence[float] = LIFE_GRID, fit_scale: bool = True) -> dict:
    """Choose the useful life (and opening-stock scale) that best fits reported D&A.

    For each life ``L`` in ``lives`` the model is ``A_t(L) + c · B_t(L)`` (vintages ``A``, opening
    stock ``B``); ``c`` minimises the sum of squared *relative* errors ``Σ((A + cB − y) / y)²`` in
    closed form, clipped to ``[0, MAX_STOCK_SCALE]`` (``c = 1`` when ``fit_scale`` is false); the
    life with the smallest sum wins (ties: the shorter life).

    Parameters
    ----------
    investment : pandas.Series
        Investment by year (USD).
    reported : pandas.Series
        Reported D&A by year (USD): the years fitted.
    initial_stock, stock_year
        As in `depreciation_schedule`.
    lives : sequence of float
        Candidate lives (years).
    fit_scale : bool
        Fit the opening-stock scale too.

    Returns
    -------
    dict
        ``useful_life, stock_scale, in_sample_mape, n_years``.
    """
    y = reported.dropna().astype(float)
    y = y[y != 0]
    if len(y) < 2:
        raise InsufficientDataError(f"{len(y)} reported year(s) to fit: need at least 2")
    best = None
    for life in lives:
        a = depreciation_schedule(investment, life, y.index)
        b = (depreciation_schedule(pd.Series(dtype=float), life, y.index, initial_stock, stock_year)
             if initial_stock else pd.Series(0.0, index=a.index))
        ra, rb, ry = a.to_numpy() / y.to_numpy(), b.to_numpy() / y.to_numpy(), np.ones(len(y))
        if fit_scale and (rb ** 2).sum() > 0:
            scale = float(np.clip((rb * (ry - ra)).sum() / (rb ** 2).sum(), 0.0, MAX_STOCK_SCALE))
        else:
            scale = 1.0
        sse = float(((ra + scale * rb - ry) ** 2).sum())
        if best is None or sse < best[0] - 1e-12:
            best = (sse, float(life), scale, a + scale * b)
    _, life, scale, fitted = best
    return {"useful_life": life, "stock_scale": scale, "in_sample_mape": mape(fitted, y), "n_years": len(y)}


def _wide(ticker: str, calendar: bool) -> pd.DataFrame:
    metrics = ["capex", "finance_lease_principal_payments", "depreciation_amortization", "depreciation", "ppe_net"]
    rows = financials(ticker, freq="FY", calendar=calendar, metrics=metrics)
    key = "calendar_year" if calendar else "fiscal_year"
    rows = rows[rows[key].notna()]
    wide = line_items(rows, metrics, keys=[key])
    wide.index = wide.index.astype(int)
    wide.index.name = "year"
    ends = pd.to_datetime(rows.groupby(key)["period_end"].max())
    ends.index = ends.index.astype(int)
    wide.attrs["december_year_end"] = bool(len(ends)) and bool((ends.dt.month == 12).all())
    # Each year's last period end (the company's own quarter or year end), for "data through".
    wide["period_end"] = ends.reindex(wide.index)
    return wide


def _with_facts(ticker: str, series: pd.Series) -> tuple[pd.Series, list[str]]:
    """``series`` with the years the filings lack filled from `DA_FACTS_FILL`; the fact labels used."""
    fill = {y: f for y, f in DA_FACTS_FILL.get(ticker, {}).items() if pd.isna(series.get(y))}
    if not fill:
        return series, []
    table = facts(claim_id="A9").set_index("fact_id")
    known = {y: f for y, f in fill.items() if f in table.index}
    extra = pd.Series({y: float(table.loc[f, "value"]) * 1e6 for y, f in known.items()}, dtype=float)
    labels = [f"{y}: {f}, {label(table.loc[f].rename(f))}" for y, f in known.items()]
    return pd.concat([series, extra]).sort_index(), labels


def company_inputs(ticker: str, fit_until: int = 2021) -> dict:
    """One company's investment, reported D&A and opening stock, from the snapshot (and facts table).

    Basis: calendar years. A company whose fiscal year ends in December is read on its own fiscal
    years (they are calendar years, and the annual filings hold years the quarterly tags lack:
    Alphabet's depreciation from 2021); another on calendar years summed from calendar-aligned
    quarters (`financials` with ``calendar=True``) when its reported depreciation has at least two
    such years up to ``fit_until``, else on its fiscal years (Microsoft, ``basis`` says so).
    Measure: the first of ``depreciation_amortization``, ``depreciation`` it reports; a year the
    filings lack is filled from `DA_FACTS_FILL` (labelled in ``da_source``). Investment = capex +
    finance-lease principal payments (the proxy for finance-lease additions; NaN counted as none, and
    ``lease_years`` lists the years it was present). Base year: the first year with net PP&E after
    which capex is complete.

    Returns
    -------
    dict
        ``ticker, basis, da_measure`` (with the years filled from facts), ``da_item`` (the snapshot
        line), ``da_source, investment`` (Series by year), ``capex``,
        ``lease``, ``reported`` (Series), ``base_year``, ``initial_stock`` (net PP&E at its end),
        ``lease_years``, ``calendar_investment`` (calendar-year investment for projections),
        ``period_ends`` (year → the company's own last period end of that year, on the basis fitted)
        and ``calendar_period_ends`` (the same for the calendar years of ``calendar_investment``).

    Raises
    ------
    InsufficientDataError
        When no depreciation figure or no net PP&E can be found; the message says which.
    """
    fiscal = _wide(ticker, calendar=False)
    december = fiscal.attrs.get("december_year_end", False)
    cal = fiscal if december else _wide(ticker, calendar=True)
    frames = [(fiscal, "calendar")] if december else [(cal, "calendar"), (fiscal, "fiscal")]
    wide, basis, measure, reported, filled = None, None, None, None, []
    for frame, frame_basis in frames:
        for item in ("depreciation_amortization", "depreciation"):
            if frame[item].dropna().empty:  # facts fill the gaps of a line the filings carry, never a whole line
                continue
            series, labels = _with_facts(ticker, frame[item].dropna())
            if (series.index <= fit_until).sum() >= 2:
                wide, basis, measure, reported, filled = frame, frame_basis, item, series, labels
                item_used = item
                break
        if wide is not None:
            break
    if wide is None:
        raise InsufficientDataError(f"{ticker}: fewer than two years of reported depreciation up to "
                                    f"{fit_until}, by calendar or fiscal year")
    source = "SEC EDGAR XBRL" + (f"; years the filings lack from the facts table: {'; '.join(filled)}"
                                 if filled else "")
    if filled:
        measure = f"{measure} ({', '.join(y.split(':')[0] for y in filled)} from the facts table)"
    ppe = wide["ppe_net"].dropna()
    first_da = int(reported.index.min())
    candidates = [y for y in ppe.index if y < first_da or y == ppe.index.min()]
    if not candidates:
        raise InsufficientDataError(f"{ticker}: no net PP&E balance before its first depreciation year")
    base = int(max(y for y in candidates if y < max(first_da, ppe.index.min() + 1)))
    capex = wide["capex"]
    lease = wide["finance_lease_principal_payments"]
    years = [y for y in wide.index if y > base]
    if capex.reindex(years).isna().any():
        gaps = [y for y in years if pd.isna(capex.get(y))]
        raise InsufficientDataError(f"{ticker}: capex missing for {gaps} after the base year {base}")
    investment = capex.reindex(years) + lease.reindex(years).fillna(0.0)
    cal_years = [y for y in cal.index if y > base and pd.notna(cal["capex"].get(y))]
    cal_inv = cal["capex"].reindex(cal_years) + cal["finance_lease_principal_payments"].reindex(cal_years).fillna(0.0)
    return {"ticker": ticker, "basis": basis, "da_measure": measure, "da_item": item_used, "da_source": source,
            "investment": investment.rename("investment"), "capex": capex.reindex(years),
            "lease": lease.reindex(years), "reported": reported.rename("reported"), "base_year": base,
            "initial_stock": float(ppe.loc[base]),
            "lease_years": [int(y) for y in lease.reindex(years).dropna().index if lease[y] > 0],
            "calendar_investment": cal_inv.rename("investment"),
            "period_ends": wide["period_end"].rename("period_end"),
            "calendar_period_ends": cal["period_end"].reindex(cal_years).rename("period_end")}


def calibrate(company: str, fit_until: int = 2021, inputs: Mapping | None = None,
              lives: Sequence[float] = LIFE_GRID) -> dict:
    """Fit one company's useful life and opening-stock scale to its reported D&A up to ``fit_until``.

    Parameters
    ----------
    company : str
        Ticker (a hyperscaler, `SUB_LAYER`).
    fit_until : int
        Last year fitted (in-sample); later years are for `out_of_sample_errors`.
    inputs : mapping, optional
        `company_inputs` output (read from the snapshot when omitted); a synthetic mapping with
        ``investment, reported, initial_stock, base_year`` works too.
    lives : sequence of float
        Candidate lives.

    Returns
    -------
    dict
        The `fit_life` result plus ``ticker, fit_until, fit_years`` (first–last), ``inputs``.
    """
    inputs = company_inputs(company, fit_until) if inputs is None else inputs
    reported = inputs["reported"]
    fit = reported[(reported.index > inputs["base_year"]) & (reported.index <= fit_until)]
    if fit.dropna().shape[0] < 2:
        raise InsufficientDataError(f"{company}: fewer than two reported years between the base year "
                                    f"{inputs['base_year']} and {fit_until}")
    result = fit_life(inputs["investment"], fit, inputs["initial_stock"], inputs["base_year"], lives)
    return {"ticker": company, "fit_until": fit_until,
            "fit_years": f"{int(fit.index.min())}–{int(fit.index.max())}", **result, "inputs": inputs}


def fitted_da(calibration: Mapping, years: Sequence[int] | None = None) -> pd.Series:
    """The calibrated model's D&A by year (vintages plus scaled opening stock)."""
    inp = calibration["inputs"]
    years = inp["reported"].index[inp["reported"].index > inp["base_year"]] if years is None else years
    return depreciation_schedule(inp["investment"], calibration["useful_life"], years,
                                 calibration["stock_scale"] * inp["initial_stock"], inp["base_year"])


def out_of_sample_errors(calibrations: Sequence[Mapping], threshold: float = ERROR_FLAG) -> pd.DataFrame:
    """Per company, the error of the calibrated model on reported D&A after ``fit_until``.

    Parameters
    ----------
    calibrations : sequence of dict
        `calibrate` results.
    threshold : float
        MAPE (fraction) above which ``flag`` is set (strictly greater).

    Returns
    -------
    pandas.DataFrame
        ``ticker, oos_years, oos_mape, oos_bias, flag``: ``oos_bias`` is the mean signed error
        ``mean((p − a) / a)`` (positive: the model over-predicts); ``oos_mape`` NaN and ``flag``
        False when no later year.
    """
    rows = []
    for cal in calibrations:
        reported = cal["inputs"]["reported"]
        later = reported[reported.index > cal["fit_until"]].dropna()
        pred = fitted_da(cal, later.index) if not later.empty else pd.Series(dtype=float)
        err = mape(pred, later) if not later.empty else float("nan")
        bias = float(((pred - later) / later).mean()) if not later.empty else float("nan")
        rows.append({"ticker": cal["ticker"],
                     "oos_years": f"{int(later.index.min())}–{int(later.index.max())}" if not later.empty else "",
                     "oos_mape": err, "oos_bias": bias, "flag": bool(err > threshold) if np.isfinite(err) else False})
    return pd.DataFrame(rows, columns=["ticker", "oos_years", "oos_mape", "oos_bias", "flag"])


def calibration_table(tickers: Sequence[str] | None = None, fit_until: int = 2021,
                      threshold: float = ERROR_FLAG) -> tuple[pd.DataFrame, list[dict]]:
    """Calibrate every company; a company that cannot be calibrated gets a row with the reason.

    Parameters
    ----------
    tickers : sequence of str, optional
        Default the hyperscalers (``members(sub_layer="hyperscaler")``).
    fit_until : int
        Last year fitted.
    threshold : float
        Out-of-sample error flagged (`out_of_sample_errors`).

    Returns
    -------
    (pandas.DataFrame, list of dict)
        The table ``ticker, basis, da_measure, base_year, fit_years, useful_life, stock_scale,
        in_sample_mape, oos_years, oos_mape, oos_bias, flag, lease_years, at_grid_edge, skipped``
        (``at_grid_edge``: the fitted life is the shortest or longest searched) and the `calibrate`
        results of the companies calibrated. Both in the order of the first year fitted (the longest
        history first), then of ticker; the companies that cannot be calibrated last.
    """
    rows, cals = [], []
    for t in (members(sub_layer=SUB_LAYER) if tickers is None else tickers):
        try:
            cal = calibrate(t, fit_until)
        except InsufficientDataError as exc:
            rows.append({"ticker": t, "skipped": str(exc)})
            continue
        cals.append(cal)
        inp = cal["inputs"]
        lease = inp["lease_years"]
        rows.append({"ticker": t, "basis": inp["basis"], "da_measure": inp["da_measure"],
                     "base_year": inp["base_year"], "fit_years": cal["fit_years"],
                     "useful_life": cal["useful_life"], "stock_scale": cal["stock_scale"],
                     "in_sample_mape": cal["in_sample_mape"],
                     "lease_years": f"{lease[0]}–{lease[-1]}" if lease else "none tagged",
                     "at_grid_edge": cal["useful_life"] in (min(LIFE_GRID), max(LIFE_GRID)), "skipped": ""})
    cals.sort(key=lambda c: (c["inputs"]["base_year"], c["ticker"]))
    order = {c["ticker"]: i for i, c in enumerate(cals)}
    rows.sort(key=lambda r: order.get(r["ticker"], len(order)))
    table = pd.DataFrame(rows)
    oos = out_of_sample_errors(cals, threshold)
    table = table.merge(oos, on="ticker", how="left")
    cols = ["ticker", "basis", "da_measure", "base_year", "fit_years", "useful_life", "stock_scale",
            "in_sample_mape", "oos_years", "oos_mape", "oos_bias", "flag", "lease_years", "at_grid_edge", "skipped"]
    return table.reindex(columns=cols), cals


# --------------------------------------------------------------------------- projection and coverage

def project(capex_growth: float, useful_life: float, years: Sequence[int], *, investment: pd.Series,
            last_year: int | None = None, initial_stock: float = 0.0, stock_year: int | None = None) -> pd.DataFrame:
    """D&A of investment already made and of future investment growing at ``capex_growth``.

    Future investment in year ``t > T`` (``T`` = ``last_year``, default the last year of
    ``investment``) is ``I_T · (1 + g)^(t − T)``; both parts use `depreciation_schedule`.

    Parameters
    ----------
    capex_growth : float
        ``g``, a fraction per year.
    useful_life : float
        Years.
    years : sequence of int
        Years returned.
    investment : pandas.Series
        Investment by year (USD) up to ``T``.
    last_year : int, optional
        ``T``; later entries of ``investment`` are ignored.
    initial_stock, stock_year
        As in `depreciation_schedule` (part of the existing D&A).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``year``: ``da_existing, da_future, da_total`` (USD).

    Examples
    --------
    >>> p = project(0.0, 5, [2021, 2022], investment=pd.Series({2020: 100.0}))
    >>> p["da_existing"].tolist(), p["da_future"].tolist()
    ([20.0, 20.0], [10.0, 30.0])
    """
    inv = investment.dropna().astype(float)
    last = int(inv.index.max()) if last_year is None else int(last_year)
    inv = inv[inv.index <= last]
    years = [int(y) for y in years]
    existing = depreciation_schedule(inv, useful_life, years, initial_stock, stock_year)
    future_years = range(last + 1, max(years) + 1)
    future_inv = pd.Series({t: inv.loc[last] * (1 + capex_growth) ** (t - last) for t in future_years}, dtype=float)
    future = (depreciation_schedule(future_inv, useful_life, years) if not future_inv.empty
              else pd.Series(0.0, index=existing.index))
    return pd.DataFrame({"da_existing": existing.to_numpy(), "da_future": future.to_numpy(),
                         "da_total": (existing + future).to_numpy()}, index=pd.Index(years, name="year"))


def downstream_revenue(run_rate: float, revenue_growth: float, years: Sequence[int], as_of: float) -> pd.Series:
    """Downstream revenue in each calendar year: the run rate at mid-year, grown from ``as_of``.

    Formula: ``R_t = R_0 · (1 + g)^(t + 0.5 − as_of)`` with ``as_of`` a decimal year (2026.25 =
    the start of April 2026).

    Examples
    --------
    >>> downstream_revenue(100.0, 1.0, [2026], 2025.5).tolist()
    [200.0]
    """
    years = [int(y) for y in years]
    return pd.Series([run_rate * (1 + revenue_growth) ** (y + 0.5 - as_of) for y in years],
                     index=pd.Index(years, name="year"), name="revenue")


def coverage_year(downstream_run_rate: float, revenue_growth: float, depreciation: pd.Series,
                  as_of: float) -> int | None:
    """The first year in which downstream revenue is at least the depreciation, or None if none.

    Parameters
    ----------
    downstream_run_rate : float
        Combined annualized revenue run rate (USD) at ``as_of``.
    revenue_growth : float
        Growth a year (fraction).
    depreciation : pandas.Series
        D&A by year (USD): the years examined.
    as_of : float
        Decimal year of the run rate.

    Examples
    --------
    >>> coverage_year(10.0, 1.0, pd.Series({2026: 30.0, 2027: 30.0, 2028: 30.0}), 2026.5)
    2028
    >>> coverage_year(10.0, 0.0, pd.Series({2026: 30.0}), 2026.5) is None
    True
    """
    dep = depreciation.dropna()
    revenue = downstream_revenue(downstream_run_rate, revenue_growth, dep.index, as_of)
    hit = dep.index[revenue.to_numpy() >= dep.to_numpy()]
    return int(hit[0]) if len(hit) else None


def _decimal_year(date: pd.Timestamp) -> float:
    start = pd.Timestamp(year=date.year, month=1, day=1)
    return date.year + (date - start).days / (366 if date.is_leap_year else 365)


def downstream_run_rate(min_confidence: str | None = None) -> dict:
    """OpenAI's plus Anthropic's latest run rates from the facts table (`backlog.latest_run_rates`).

    Parameters
    ----------
    min_confidence : {"high", "medium", "low"}, optional
        Consider only facts rated at least this high (``"medium"``: the companies' own statements,
        leaving out low-confidence press reports).

    Returns
    -------
    dict
        ``usd`` (sum), ``as_of`` (decimal year of the *earlier* of the two dates, so growth is not
        overstated), ``date``, ``rows`` (the facts rows with label, kind and confidence).
    """
    rows = latest_run_rates(run_rates(), min_confidence=min_confidence)
    date = rows["point_date"].min()
    return {"usd": float(rows["usd"].sum()), "as_of": _decimal_year(date), "date": date, "rows": rows}


def central_projection(calibrations: Sequence[Mapping], years: Sequence[int], capex_growth: float,
                       lives: Mapping[str, float] | None = None, last_year: int | None = None) -> pd.DataFrame:
    """Each company's projected D&A on its calendar-year investment, summed with a ``combined`` row.

    Parameters
    ----------
    calibrations : sequence of dict
        `calibrate` results (their fitted lives, unless ``lives`` overrides them).
    years : sequence of int
        Years projected.
    capex_growth : float
        Growth of future investment a year.
    lives : mapping, optional
        ticker → useful life (years), one common life in the interactive chart.
    last_year : int, optional
        Last year of investment already made; default the last year all companies have.

    Returns
    -------
    pandas.DataFrame
        ``ticker, year, useful_life, da_existing, da_future, da_total`` (USD), with ``ticker ==
        "combined"`` rows summing the companies.
    """
    last = last_year or min(int(c["inputs"]["calendar_investment"].index.max()) for c in calibrations)
    parts = []
    for cal in calibrations:
        life = cal["useful_life"] if lives is None else lives[cal["ticker"]]
        inv = cal["inputs"]["calendar_investment"]
        p = project(capex_growth, life, years, investment=inv, last_year=last).reset_index()
        parts.append(p.assign(ticker=cal["ticker"], useful_life=life))
    out = pd.concat(parts, ignore_index=True)
    combined = out.groupby("year")[["da_existing", "da_future", "da_total"]].sum().reset_index()
    out = pd.concat([out, combined.assign(ticker="combined", useful_life=np.nan)], ignore_index=True)
    return out[["ticker", "year", "useful_life", "da_existing", "da_future", "da_total"]]


def projection_through(calibrations: Sequence[Mapping], last_year: int | None = None) -> dict[str, pd.Timestamp]:
    """How far the investment behind a projection runs: each company's own last period end in it.

    The projection (`central_projection`) depreciates calendar-year investment up to the last year
    every company has (or ``last_year``); this is the last day of each company's own quarters in that
    year (Oracle's calendar year ends with its quarter to November), for a chart's "data through".

    Parameters
    ----------
    calibrations : sequence of dict
        `calibrate` results whose ``inputs`` hold ``calendar_investment`` and ``calendar_period_ends``.
    last_year : int, optional
        As in `central_projection`.

    Returns
    -------
    dict
        ticker → period end (Timestamp).

    Examples
    --------
    >>> cal = {"ticker": "X", "inputs": {"calendar_investment": pd.Series({2024: 1.0, 2025: 2.0}),
    ...        "calendar_period_ends": pd.Series({2024: pd.Timestamp("2024-11-30"), 2025: pd.Timestamp("2025-11-30")})}}
    >>> projection_through([cal])
    {'X': Timestamp('2025-11-30 00:00:00')}
    """
    last = last_year or min(int(c["inputs"]["calendar_investment"].index.max()) for c in calibrations)
    return {c["ticker"]: pd.Timestamp(c["inputs"]["calendar_period_ends"].loc[last]) for c in calibrations}


def scenario_grid(calibrations: Sequence[Mapping], run_rate: Mapping, years: Sequence[int],
                  lives: Sequence[float] = LIVES, capex_growths: Sequence[float] = CAPEX_GROWTHS,
                  revenue_growths: Sequence[float] = REVENUE_GROWTHS) -> pd.DataFrame:
    """The precomputed grid behind the interactive chart: combined D&A and downstream revenue.

    One row per (useful life common to all companies, capex growth, revenue growth, year), values in
    USD billion rounded to 0.1 so the page stays small.

    Returns
    -------
    pandas.DataFrame
        ``useful_life, capex_growth, revenue_growth, year, da_existing_bn, da_total_bn, revenue_bn``.
    """
    rows = []
    for life in lives:
        for g in capex_growths:
            p = central_projection(calibrations, years, g, lives={c["ticker"]: life for c in calibrations})
            comb = p[p["ticker"] == "combined"].set_index("year")
            for rg in revenue_growths:
                rev = downstream_revenue(run_rate["usd"], rg, years, run_rate["as_of"])
                for y in years:
                    rows.append({"useful_life": life, "capex_growth": g, "revenue_growth": rg, "year": int(y),
                                 "da_existing_bn": round(comb.loc[y, "da_existing"] / 1e9, 1),
                                 "da_total_bn": round(comb.loc[y, "da_total"] / 1e9, 1),
                                 "revenue_bn": round(rev.loc[y] / 1e9, 1)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- coverage range

def stated_lives(calibrations: Sequence[Mapping], lives: pd.Series | None = None) -> dict[str, float]:
    """Each calibrated company's stated server life (years), from the cited ``current_life_<TICKER>`` rows.

    Parameters
    ----------
    calibrations : sequence of dict
        `calibrate` results.
    lives : pandas.Series, optional
        ticker → life (`depreciation.current_lives`); read when omitted.
    """
    lives = current_lives() if lives is None else lives
    missing = [c["ticker"] for c in calibrations if c["ticker"] not in lives.index]
    if missing:
        raise ValueChainError(f"no stated server life for {missing} in depreciation_assumptions.csv")
    return {c["ticker"]: float(lives[c["ticker"]]) for c in calibrations}


def coverage_scenarios(calibrations: Sequence[Mapping], run_rate_cases: Mapping[str, Mapping],
                       years: Sequence[int], life_cases: Mapping[str, Mapping[str, float]],
                       capex_growths: Sequence[float] = CAPEX_GROWTHS,
                       revenue_growths: Sequence[float] = REVENUE_GROWTHS) -> pd.DataFrame:
    """The coverage years under every combination of lives, investment growth, revenue growth and run rate.

    For each combination, `central_projection` gives the combined D&A and `coverage_year` the first
    year downstream revenue reaches it, for the investment already made (``existing_year``) and
    with future investment (``total_year``); NA when not reached by the last of ``years``.

    Parameters
    ----------
    calibrations : sequence of dict
        `calibrate` results.
    run_rate_cases : mapping
        name → `downstream_run_rate` result (e.g. every source, or company statements only).
    years : sequence of int
        Years projected.
    life_cases : mapping
        name → (ticker → useful life in years), e.g. the fitted lives and the stated server lives.
    capex_growths, revenue_growths : sequence of float
        Growth rates a year (fractions).

    Returns
    -------
    pandas.DataFrame
        ``lives, run_rate, capex_growth, revenue_growth, existing_year, total_year`` (Int64).
    """
    rows = []
    for lives_name, lives in life_cases.items():
        for g in capex_growths:
            proj = central_projection(calibrations, years, g, lives=lives)
            comb = proj[proj["ticker"] == "combined"].set_index("year")
            for rr_name, rr in run_rate_cases.items():
                for rg in revenue_growths:
                    rows.append({"lives": lives_name, "run_rate": rr_name, "capex_growth": g, "revenue_growth": rg,
                                 "existing_year": coverage_year(rr["usd"], rg, comb["da_existing"], rr["as_of"]),
                                 "total_year": coverage_year(rr["usd"], rg, comb["da_total"], rr["as_of"])})
    out = pd.DataFrame(rows)
    for col in ("existing_year", "total_year"):
        out[col] = pd.array([pd.NA if v is None or pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    return out


def coverage_span(scenarios: pd.DataFrame, column: str, central: Mapping) -> dict:
    """The range of one coverage year across scenarios, the assumptions at each end, and the central case.

    Each end is described by the scenario reaching it that departs least from ``central`` (in grid
    steps of each assumption, plus one for each named case that differs), so the end is explained by
    the smallest change of assumption that produces it.

    Parameters
    ----------
    scenarios : pandas.DataFrame
        `coverage_scenarios` output.
    column : {"existing_year", "total_year"}
    central : mapping
        The central scenario's ``lives, run_rate, capex_growth, revenue_growth``.

    Returns
    -------
    dict
        ``earliest`` (int or None if no scenario covers), ``latest`` (int, or None when some scenario
        does not cover by the last year), ``earliest_case``, ``latest_case`` (dicts of assumptions),
        ``central`` (the central scenario's year or None), ``n_scenarios``, ``n_not_covered``.

    Examples
    --------
    >>> sc = pd.DataFrame({"lives": ["f", "s"], "run_rate": "r", "capex_growth": 0.15, "revenue_growth": 0.5,
    ...                    "existing_year": pd.array([2027, pd.NA], dtype="Int64"), "total_year": pd.NA})
    >>> span = coverage_span(sc, "existing_year", {"lives": "f", "run_rate": "r", "capex_growth": 0.15,
    ...                                            "revenue_growth": 0.5})
    >>> span["earliest"], span["latest"], span["latest_case"]["lives"], span["central"]
    (2027, None, 's', 2027)
    """
    keys = ["lives", "run_rate", "capex_growth", "revenue_growth"]
    steps = {k: (np.diff(sorted(scenarios[k].unique())).min() if scenarios[k].nunique() > 1 else 1.0)
             for k in ("capex_growth", "revenue_growth")}

    def departure(frame):
        d = sum((frame[k] != central[k]).astype(float) for k in ("lives", "run_rate"))
        return d + sum((frame[k] - central[k]).abs() / steps[k] for k in steps)

    def nearest(frame):
        return frame.assign(_d=departure(frame)).sort_values("_d", kind="stable").iloc[0][keys].to_dict()

    values = scenarios[column]
    covered = scenarios[values.notna()]
    open_ = scenarios[values.isna()]
    hit = scenarios
    for k in keys:
        hit = hit[hit[k] == central[k]]
    central_year = None if hit.empty or pd.isna(hit[column].iloc[0]) else int(hit[column].iloc[0])
    earliest = None if covered.empty else int(covered[column].min())
    if open_.empty:
        latest = int(covered[column].max())
        latest_case = nearest(covered[covered[column] == latest])
    else:
        latest, latest_case = None, nearest(open_)
    return {"earliest": earliest, "latest": latest,
            "earliest_case": None if covered.empty else nearest(covered[covered[column] == earliest]),
            "latest_case": latest_case, "central": central_year, "n_scenarios": len(scenarios),
            "n_not_covered": len(open_)}


# --------------------------------------------------------------------------- reconciliation with booked depreciation

def booked_depreciation(calibrations: Sequence[Mapping]) -> pd.DataFrame:
    """Depreciation booked in the latest twelve months every company has, on the line each is fitted to.

    The window is the latest calendar quarter in which every company has TTM depreciation on its
    line (`financials` with ``calendar=True``: each fiscal quarter labelled with the calendar quarter
    whose end is nearest); ``booked_run_rate`` is the last single quarter of that window times four.

    Returns
    -------
    pandas.DataFrame
        ``ticker, da_item, calendar_label, fiscal_label, period_end, booked_ttm, booked_run_rate`` (USD).

    Raises
    ------
    ValueChainError
        When the companies share no calendar quarter with TTM depreciation.
    """
    items = {c["ticker"]: c["inputs"]["da_item"] for c in calibrations}
    tickers = list(items)
    frames = []
    for freq in ("TTM", "Q"):
        rows = financials(tickers, freq=freq, calendar=True, metrics=sorted(set(items.values())))
        rows = rows[rows["metric"] == rows["ticker"].map(items)]
        frames.append(rows.assign(qi=rows["calendar_year"].astype(int) * 4 + rows["calendar_quarter"].astype(int) - 1))
    ttm, quarters = frames
    have = ttm.dropna(subset=["value"])
    counts = have.groupby("qi")["ticker"].nunique()
    complete = counts[counts == len(tickers)]
    if complete.empty:
        raise ValueChainError(f"no calendar quarter with twelve months of depreciation for all of {tickers}")
    qi = int(complete.index.max())
    at = have[have["qi"] == qi].set_index("ticker")
    last_q = quarters[quarters["qi"] == qi].set_index("ticker")["value"]
    out = pd.DataFrame({
        "ticker": tickers, "da_item": [items[t] for t in tickers],
        "calendar_label": [at.loc[t, "calendar_label"] for t in tickers],
        "fiscal_label": [at.loc[t, "fiscal_label"] for t in tickers],
        "period_end": [pd.Timestamp(at.loc[t, "period_end"]) for t in tickers],
        "booked_ttm": [float(at.loc[t, "value"]) for t in tickers],
        "booked_run_rate": [float(last_q.get(t, np.nan)) * 4 for t in tickers],
    })
    return out


def reconciliation(booked: pd.DataFrame, model: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """The model's depreciation for a year against what was booked, per company and combined.

    Formula: ``<case>_vs_booked = model_<case> / booked_ttm − 1`` (fraction; positive: the model is
    above the booked twelve months). The combined row adds the companies over the same calendar
    window; a company lacking a figure makes the combined figure NaN.

    Parameters
    ----------
    booked : pandas.DataFrame
        `booked_depreciation` output.
    model : mapping
        case name → (ticker → modelled depreciation, USD), e.g. the 2026 figure under fitted lives.

    Returns
    -------
    pandas.DataFrame
        ``booked`` plus ``model_<case>`` and ``<case>_vs_booked`` columns, and a ``combined`` row.

    Examples
    --------
    >>> b = pd.DataFrame({"ticker": ["A", "B"], "booked_ttm": [100.0, 50.0], "booked_run_rate": [120.0, 60.0]})
    >>> r = reconciliation(b, {"fitted": {"A": 110.0, "B": 40.0}})
    >>> r[["ticker", "model_fitted", "fitted_vs_booked"]].round(2).values.tolist()
    [['A', 110.0, 0.1], ['B', 40.0, -0.2], ['combined', 150.0, 0.0]]
    """
    out = booked.copy()
    for case, values in model.items():
        out[f"model_{case}"] = out["ticker"].map(lambda t, v=values: v.get(t, np.nan)).astype(float)
    sums = {c: out[c].sum(min_count=len(out)) for c in out.columns
            if c.startswith("model_") or c in ("booked_ttm", "booked_run_rate")}
    shared = {c: out[c].iloc[0] for c in ("calendar_label",) if c in out}
    out = pd.concat([out, pd.DataFrame([{"ticker": "combined", **shared, **sums}])], ignore_index=True)
    for case in model:
        out[f"{case}_vs_booked"] = out[f"model_{case}"] / out["booked_ttm"].where(out["booked_ttm"] != 0) - 1
    return out


def summary(table: pd.DataFrame, spans: Mapping[str, Mapping], recon: pd.DataFrame, cases: Sequence[str],
            run_rate: Mapping, years: Sequence[int], threshold: float = ERROR_FLAG) -> str:
    """The chapter's closing paragraph: the out-of-sample test, the coverage ranges and the reconciliation.

    Parameters
    ----------
    table : pandas.DataFrame
        `calibration_table` output.
    spans : mapping
        ``{"existing_year": coverage_span(...), "total_year": coverage_span(...)}``.
    recon : pandas.DataFrame
        `reconciliation` output.
    cases : sequence of str
        The model cases in ``recon`` (first: the fitted lives).
    run_rate : mapping
        The central `downstream_run_rate` result.
    years : sequence of int
        Years projected.
    """
    done = table[table["skipped"].fillna("") == ""]
    flagged = done[done["flag"]]
    y1 = max(years)

    def rng(span):
        if span["earliest"] is None:
            return f"not by {y1} in any of the {span['n_scenarios']} scenarios"
        top = f"{span['latest']}" if span["latest"] is not None else f"later than {y1}"
        if span["latest"] == span["earliest"]:
            return f"in {span['earliest']} in every scenario"
        return f"between {span['earliest']} and {top}"

    def central(span):
        return f"{span['central']}" if span["central"] is not None else f"not by {y1}"

    parts = [
        f"Fitted on reported depreciation up to {int(done['fit_years'].str[-4:].astype(int).max())}, the "
        "perpetual-inventory model misses the later years by "
        + ", ".join(f"{r.ticker} {r.oos_mape:.0%} ({'over' if r.oos_bias > 0 else 'under'})"
                    for r in done.itertuples()) + "; "
        + (f"{len(flagged)} of {len(done)} companies exceed the {threshold:.0%} flag, so no single fitted life "
           "is a forecast. " if len(flagged) else f"none exceeds the {threshold:.0%} flag. ")]
    ex, tot = spans["existing_year"], spans["total_year"]
    parts.append(
        f"Across the fitted and the stated server lives, investment growing {', '.join(f'{g:.0%}' for g in CAPEX_GROWTHS)} "
        f"a year and the model providers' revenue {', '.join(f'{g:.0%}' for g in REVENUE_GROWTHS)} a year from "
        f"two run-rate bases ({ex['n_scenarios']} scenarios), downstream revenue covers the depreciation of the "
        f"capex already spent {rng(ex)} (fitted central case: {central(ex)}), and total projected depreciation "
        f"{rng(tot)} (fitted central case: {central(tot)}). ")
    comb = recon[recon["ticker"] == "combined"].iloc[0]
    first = cases[0]
    parts.append(
        f"For {min(years)} the model gives ${comb[f'model_{first}'] / 1e9:,.0f}bn of depreciation with fitted lives"
        + "".join(f" and ${comb[f'model_{c}'] / 1e9:,.0f}bn with {c}" for c in cases[1:])
        + f", against ${comb['booked_ttm'] / 1e9:,.0f}bn booked in the twelve months to calendar "
        f"{comb['calendar_label']} (the latest quarter annualised: ${comb['booked_run_rate'] / 1e9:,.0f}bn).")
    return "".join(parts)
