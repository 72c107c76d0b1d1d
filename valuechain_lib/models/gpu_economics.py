"""Unit economics of renting out GPUs by the hour, calibrated to Oracle's reported margins (claims A1, A2).

The model works per **installed GPU-hour** (every hour of every GPU the operator owns, billed or
not), in USD:

- revenue = price per billed GPU-hour × utilization (the share of installed hours billed);
- depreciation = (GPU + rest-of-server capex) × (1 − residual share) / (useful life × 8,760 h),
  straight line;
- power = kW per GPU × PUE × electricity price (full draw charged for every installed hour);
- facility = colocation per kW-month × kW per GPU ÷ 730 h, plus operations per GPU-hour;
- financing = cost of capital × average undepreciated capex ÷ 8,760 h, where the average book value
  of straight-line capex is capex × (1 + residual share) / 2.

Gross margin is taken before financing (as in the accounts); `margin_after_financing` and
`break_even_price_per_hour` add it. The inputs, each cited to the facts table or declared as an
assumption with a range and a rationale, are in ``data/gpu_assumptions.csv`` (`load_assumptions`).

The formula functions are pure: scalars, numpy arrays or pandas Series in, the same out; a zero
denominator gives NaN. `unit_economics`, `margin_grid`, `calibrate_to_reported` and
`required_for_margin` apply them to scenario frames; `score_a1` and `score_a2` are the rules of
claims A1 and A2, and `verdict_a1` and `verdict_a2` run them for the claims ledger.

References
----------
The Information, "Internal Oracle Data Show Financial Challenge of Renting Out Nvidia Chips",
7 October 2025 (facts F01-F06, press report). Essay A, "The AI Value Chain Is Collapsing Inward",
late 2025 (claims A1, A2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from valuechain_lib.claims.verdicts import Verdict, less_than
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import data_dir
from valuechain_lib.snapshot import assumptions, vintage
from valuechain_lib.snapshot.assumptions import KINDS, AssumptionsError, cited_ids
from valuechain_lib.snapshot.facts import facts

__all__ = [
    "ASSUMPTION_COLUMNS",
    "HOURS_PER_MONTH",
    "HOURS_PER_YEAR",
    "INPUTS",
    "KINDS",
    "AssumptionsError",
    "break_even_price_per_hour",
    "calibrate_to_reported",
    "calibration_table",
    "central_values",
    "chart_data_through",
    "cited_fact_ids",
    "data_as_of",
    "get_colocation_cost_per_hour",
    "get_depreciation_per_hour",
    "get_financing_cost_per_hour",
    "get_power_cost_per_hour",
    "get_revenue_per_hour",
    "gross_margin_excluding_depreciation",
    "gross_margin_including_depreciation",
    "load_assumptions",
    "margin_after_financing",
    "margin_grid",
    "oracle_figures",
    "reported_basis_margin",
    "shortest_useful_life",
    "slider_grid",
    "required_for_margin",
    "requirement_table",
    "unit_economics",
    "validate_assumptions",
    "score_a1",
    "score_a2",
    "verdict_a1",
    "verdict_a2",
]

#: Hours in a (non-leap) year: a unit conversion, not an assumption.
HOURS_PER_YEAR = 365 * 24
#: Hours in an average month (8,760 / 12 = 730).
HOURS_PER_MONTH = HOURS_PER_YEAR / 12

#: The model's inputs: every one must be a row of ``data/gpu_assumptions.csv``.
INPUTS = (
    "price_usd_per_gpu_hour", "utilization", "gpu_capex_usd", "server_capex_usd_per_gpu",
    "useful_life_years", "residual_value_share", "power_kw_per_gpu", "pue", "electricity_usd_per_kwh",
    "colocation_usd_per_kw_month", "operations_usd_per_gpu_hour", "cost_of_capital",
)
#: The columns of ``data/gpu_assumptions.csv``: those of every assumptions table, and a ``label`` for display.
ASSUMPTION_COLUMNS = ("name", "label", "value", "low", "high", "unit", "kind", "source", "rationale")
#: The inputs that are costs (for low-cost / high-cost scenarios): a higher value costs more.
COST_INPUTS = ("gpu_capex_usd", "server_capex_usd_per_gpu", "power_kw_per_gpu", "pue", "electricity_usd_per_kwh",
               "colocation_usd_per_kw_month", "operations_usd_per_gpu_hour")
#: The facts rows the chapter and the verdicts rest on (claim A1).
ORACLE_FACTS = {"revenue": "F01", "gross_profit": "F02", "gross_margin": "F03", "margin_low": "F04a",
                "margin_high": "F04b", "margin_average": "F04c", "blackwell_loss": "F05",
                "left_out_depreciation": "F06", "oracle_reply": "F07"}
SOLVABLE = ("utilization", "price_usd_per_gpu_hour")


# --------------------------------------------------------------------------- formulas
def _div(numerator, denominator):
    """numerator / denominator, NaN where the denominator is zero or missing (keeps pandas indexes)."""
    if isinstance(denominator, pd.Series | pd.DataFrame):
        return numerator / denominator.where(denominator != 0)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(numerator, dtype=float) / np.where(den == 0, np.nan, den)
    if isinstance(numerator, pd.Series):
        return pd.Series(out, index=numerator.index, name=numerator.name)
    return float(out) if np.ndim(out) == 0 else out


def get_revenue_per_hour(price, utilization):
    """Revenue per installed GPU-hour: price × utilization.

    Parameters
    ----------
    price : float, array or pandas.Series
        Price per **billed** GPU-hour, USD.
    utilization : float, array or pandas.Series
        Share of installed GPU-hours that are billed, a fraction in [0, 1].

    Returns
    -------
    Same type as the inputs
        USD per installed GPU-hour.

    Examples
    --------
    >>> get_revenue_per_hour(3.0, 0.75)
    2.25
    """
    return price * utilization


def get_depreciation_per_hour(gpu_capex, server_capex, useful_life, residual_share=0.0):
    """Straight-line depreciation per installed GPU-hour.

    Formula: (gpu_capex + server_capex) × (1 − residual_share) / (useful_life × 8,760).
    A zero or missing useful life gives NaN.

    Parameters
    ----------
    gpu_capex : float, array or pandas.Series
        Accelerator purchase price per GPU, USD (a positive outlay).
    server_capex : float, array or pandas.Series
        Rest of the system per GPU (host, memory, network, storage), USD.
    useful_life : float, array or pandas.Series
        Straight-line life, years.
    residual_share : float, array or pandas.Series, default 0
        Resale value at the end of the life as a share of capex.

    Returns
    -------
    Same type as the inputs
        USD per installed GPU-hour.

    Examples
    --------
    A $30,000 GPU over 5 years: $6,000 a year, $0.685 an hour.

    >>> round(get_depreciation_per_hour(30_000, 0, 5), 4)
    0.6849
    """
    return _div((gpu_capex + server_capex) * (1 - residual_share), useful_life * HOURS_PER_YEAR)


def get_power_cost_per_hour(kw_per_gpu, pue, electricity_price):
    """Electricity cost per installed GPU-hour: kW per GPU × PUE × price per kWh.

    Parameters
    ----------
    kw_per_gpu : float, array or pandas.Series
        IT power per GPU including its share of host and network, kW.
    pue : float, array or pandas.Series
        Power usage effectiveness (facility power / IT power), ≥ 1.
    electricity_price : float, array or pandas.Series
        USD per kWh.

    Returns
    -------
    Same type as the inputs
        USD per installed GPU-hour (full draw in every hour: an upper bound for idle hours).

    Examples
    --------
    >>> round(get_power_cost_per_hour(1.0, 1.25, 0.08), 4)
    0.1
    """
    return kw_per_gpu * pue * electricity_price


def get_colocation_cost_per_hour(kw_per_gpu, colocation_per_kw_month, operations_per_hour):
    """Data-centre and operations cost per installed GPU-hour.

    Formula: colocation_per_kw_month × kw_per_gpu / 730 + operations_per_hour.

    Parameters
    ----------
    kw_per_gpu : float, array or pandas.Series
        IT power per GPU, kW (colocation is priced per kW of IT load).
    colocation_per_kw_month : float, array or pandas.Series
        Space, cooling and building cost, power excluded, USD per kW-month.
    operations_per_hour : float, array or pandas.Series
        Staff, maintenance, network and support, USD per installed GPU-hour.

    Returns
    -------
    Same type as the inputs
        USD per installed GPU-hour.

    Examples
    --------
    >>> round(get_colocation_cost_per_hour(1.0, 146.0, 0.1), 4)
    0.3
    """
    return colocation_per_kw_month * kw_per_gpu / HOURS_PER_MONTH + operations_per_hour


def get_financing_cost_per_hour(gpu_capex, server_capex, cost_of_capital, residual_share=0.0):
    """Cost of capital on the average undepreciated capex, per installed GPU-hour.

    Formula: cost_of_capital × (gpu_capex + server_capex) × (1 + residual_share) / 2 / 8,760.
    Straight-line book value falls from capex to residual × capex, so it averages
    capex × (1 + residual) / 2 over the life, whatever the life.

    Parameters
    ----------
    gpu_capex, server_capex : float, array or pandas.Series
        USD per GPU.
    cost_of_capital : float, array or pandas.Series
        Pre-tax rate per year, a fraction.
    residual_share : float, array or pandas.Series, default 0
        Resale value at the end of the life as a share of capex.

    Returns
    -------
    Same type as the inputs
        USD per installed GPU-hour.

    Examples
    --------
    >>> round(get_financing_cost_per_hour(30_000, 0, 0.10), 4)  # 0.10 × 15,000 / 8,760
    0.1712
    """
    return cost_of_capital * (gpu_capex + server_capex) * (1 + residual_share) / 2 / HOURS_PER_YEAR


def gross_margin_excluding_depreciation(revenue, cash_cost):
    """Gross margin before any depreciation: (revenue − cash_cost) / revenue.

    Parameters
    ----------
    revenue : float, array or pandas.Series
        USD per installed GPU-hour (`get_revenue_per_hour`).
    cash_cost : float, array or pandas.Series
        Power, colocation and operations, USD per installed GPU-hour.

    Returns
    -------
    Same type as the inputs
        A fraction; NaN where revenue is zero.

    Examples
    --------
    >>> gross_margin_excluding_depreciation(2.0, 0.5)
    0.75
    """
    return _div(revenue - cash_cost, revenue)


def gross_margin_including_depreciation(revenue, cash_cost, depreciation):
    """Gross margin after depreciation: (revenue − cash_cost − depreciation) / revenue.

    Parameters
    ----------
    revenue, cash_cost, depreciation : float, array or pandas.Series
        USD per installed GPU-hour.

    Returns
    -------
    Same type as the inputs
        A fraction; NaN where revenue is zero.

    Examples
    --------
    >>> gross_margin_including_depreciation(2.0, 0.5, 0.7)
    0.4
    """
    return _div(revenue - cash_cost - depreciation, revenue)


def reported_basis_margin(revenue, cash_cost, depreciation, excluded_share):
    """Gross margin on the reported basis, which leaves a share of the depreciation out.

    The report behind F03 says the ~14% margin counts labour, power and some depreciation, and
    that the depreciation left out would cost about 7 more points (F06). Formula:
    (revenue − cash_cost − depreciation × (1 − excluded_share)) / revenue.

    Parameters
    ----------
    revenue, cash_cost, depreciation : float, array or pandas.Series
        USD per installed GPU-hour.
    excluded_share : float, array or pandas.Series
        Share of depreciation left out of the reported figure, in [0, 1].

    Returns
    -------
    Same type as the inputs
        A fraction; NaN where revenue is zero.

    Examples
    --------
    >>> round(reported_basis_margin(2.0, 0.5, 0.8, 0.25), 6)
    0.45
    """
    return gross_margin_including_depreciation(revenue, cash_cost, depreciation * (1 - excluded_share))


def margin_after_financing(revenue, cash_cost, depreciation, financing):
    """Margin after depreciation and the cost of capital: (revenue − all costs) / revenue.

    Examples
    --------
    >>> round(margin_after_financing(2.0, 0.5, 0.7, 0.2), 6)
    0.3
    """
    return _div(revenue - cash_cost - depreciation - financing, revenue)


def break_even_price_per_hour(cash_cost, depreciation, financing, utilization):
    """Price per billed GPU-hour at which revenue covers the costs given: cost / utilization.

    Parameters
    ----------
    cash_cost, depreciation, financing : float, array or pandas.Series
        USD per installed GPU-hour; pass ``financing=0`` for the accounting (gross-profit) break-even.
    utilization : float, array or pandas.Series
        Share of installed hours billed; zero gives NaN.

    Returns
    -------
    Same type as the inputs
        USD per billed GPU-hour.

    Examples
    --------
    >>> break_even_price_per_hour(0.5, 0.7, 0.2, 0.7)
    2.0
    """
    return _div(cash_cost + depreciation + financing, utilization)


# --------------------------------------------------------------------------- assumptions
def validate_assumptions(frame: pd.DataFrame, facts_table: pd.DataFrame | None = None) -> None:
    """Check a model-assumptions table: the rules of `valuechain_lib.snapshot.assumptions.validate_assumptions`,
    with the columns of `ASSUMPTION_COLUMNS` and one row per name in `INPUTS` (no more, no fewer).

    Raises
    ------
    AssumptionsError
        Naming the row and field at fault.
    """
    assumptions.validate_assumptions(frame, facts_table, names=INPUTS, columns=ASSUMPTION_COLUMNS)


def load_assumptions(path=None) -> pd.DataFrame:
    """Load and validate ``data/gpu_assumptions.csv`` (`valuechain_lib.snapshot.assumptions.load_assumptions`).

    Parameters
    ----------
    path : str or path-like, optional
        Default ``<data_dir()>/gpu_assumptions.csv``.

    Returns
    -------
    pandas.DataFrame
        The columns of `ASSUMPTION_COLUMNS`, value/low/high as float, in file order.

    Raises
    ------
    AssumptionsError
        If the file is missing, is not a CSV table, or breaks a rule of `validate_assumptions`; the
        message starts with the file's path. The citations are checked against the facts rows
        published by the date in effect: before they were, the model cannot be run (`verdict_a2`).
    """
    return assumptions.load_assumptions(data_dir() / "gpu_assumptions.csv" if path is None else path,
                                        names=INPUTS, columns=ASSUMPTION_COLUMNS)


def _as_table(assumptions) -> pd.DataFrame:
    return load_assumptions() if assumptions is None else assumptions


def central_values(assumptions=None, which: str = "value") -> dict[str, float]:
    """The inputs at their central value (or at ``"low"`` / ``"high"``), name → float.

    Parameters
    ----------
    assumptions : pandas.DataFrame or mapping, optional
        The assumptions table (default `load_assumptions`), or a ready name → value mapping
        (returned as a dict unchanged).
    which : {"value", "low", "high"}
    """
    if isinstance(assumptions, Mapping):
        return {k: float(v) for k, v in assumptions.items()}
    table = _as_table(assumptions)
    return dict(zip(table["name"], table[which].astype(float), strict=True))


def _scenario(assumptions, overrides: Mapping | None = None, costs: str = "value") -> dict[str, float]:
    values = central_values(assumptions)
    if costs != "value":
        values.update({k: v for k, v in central_values(assumptions, costs).items() if k in COST_INPUTS})
    values.update({k: float(v) for k, v in (overrides or {}).items()})
    unknown = sorted(set(values) - set(INPUTS))
    if unknown:
        raise AssumptionsError(f"unknown model input(s) {unknown}")
    return values


# --------------------------------------------------------------------------- scenarios
def unit_economics(inputs) -> pd.DataFrame:
    """Apply the model to scenarios: revenue, cost lines, margins and break-even prices per GPU-hour.

    Parameters
    ----------
    inputs : pandas.DataFrame or mapping
        One column (or key) per name in `INPUTS`; a mapping gives a one-row frame.

    Returns
    -------
    pandas.DataFrame
        The inputs plus ``revenue``, ``depreciation``, ``power``, ``colocation_and_operations``,
        ``cash_cost``, ``financing`` (USD per installed GPU-hour), ``gross_margin_excluding_depreciation``,
        ``gross_margin_including_depreciation``, ``margin_after_financing`` (fractions),
        ``break_even_price_gross`` (covers cash costs and depreciation) and ``break_even_price_economic``
        (also the cost of capital), USD per billed GPU-hour.
    """
    frame = pd.DataFrame([dict(inputs)]) if isinstance(inputs, Mapping) else inputs.copy()
    absent = [c for c in INPUTS if c not in frame.columns]
    if absent:
        raise AssumptionsError(f"unit_economics: missing input column(s) {absent}")
    f = frame
    f["revenue"] = get_revenue_per_hour(f["price_usd_per_gpu_hour"], f["utilization"])
    f["depreciation"] = get_depreciation_per_hour(f["gpu_capex_usd"], f["server_capex_usd_per_gpu"],
                                                  f["useful_life_years"], f["residual_value_share"])
    f["power"] = get_power_cost_per_hour(f["power_kw_per_gpu"], f["pue"], f["electricity_usd_per_kwh"])
    f["colocation_and_operations"] = get_colocation_cost_per_hour(
        f["power_kw_per_gpu"], f["colocation_usd_per_kw_month"], f["operations_usd_per_gpu_hour"])
    f["cash_cost"] = f["power"] + f["colocation_and_operations"]
    f["financing"] = get_financing_cost_per_hour(f["gpu_capex_usd"], f["server_capex_usd_per_gpu"],
                                                 f["cost_of_capital"], f["residual_value_share"])
    f["gross_margin_excluding_depreciation"] = gross_margin_excluding_depreciation(f["revenue"], f["cash_cost"])
    f["gross_margin_including_depreciation"] = gross_margin_including_depreciation(
        f["revenue"], f["cash_cost"], f["depreciation"])
    f["margin_after_financing"] = margin_after_financing(f["revenue"], f["cash_cost"], f["depreciation"],
                                                         f["financing"])
    f["break_even_price_gross"] = break_even_price_per_hour(f["cash_cost"], f["depreciation"], 0.0,
                                                            f["utilization"])
    f["break_even_price_economic"] = break_even_price_per_hour(f["cash_cost"], f["depreciation"], f["financing"],
                                                               f["utilization"])
    return f


def margin_grid(assumptions=None, utilization: Iterable[float] = np.linspace(0.6, 0.9, 31),
                useful_life: Iterable[float] = (4, 5, 6), price: Iterable[float] | None = None,
                overrides: Mapping | None = None) -> pd.DataFrame:
    """Margins over a grid of utilization × useful life (× price), other inputs at their central values.

    Parameters
    ----------
    assumptions : pandas.DataFrame or mapping, optional
        The assumptions table (default `load_assumptions`) or name → value.
    utilization : iterable of float
        Shares of installed hours billed (default 60% to 90% in steps of one point).
    useful_life : iterable of float
        Straight-line lives in years.
    price : iterable of float, optional
        Prices per billed GPU-hour; default the central price alone.
    overrides : mapping, optional
        Other inputs to hold at a value other than the central one.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per (price, useful life, utilization) with every column of `unit_economics`,
        sorted by price, useful life and utilization.
    """
    base = _scenario(assumptions, overrides)
    prices = [base["price_usd_per_gpu_hour"]] if price is None else list(price)
    index = pd.MultiIndex.from_product(
        [np.asarray(prices, dtype=float), np.asarray(list(useful_life), dtype=float),
         np.asarray(list(utilization), dtype=float)],
        names=["price_usd_per_gpu_hour", "useful_life_years", "utilization"])
    grid = index.to_frame(index=False)
    for name in INPUTS:
        if name not in grid.columns:
            grid[name] = base[name]
    return unit_economics(grid[list(INPUTS)]).reset_index(drop=True)


def calibrate_to_reported(assumptions=None, reported_margin: float | None = None,
                          left_out_points: float | None = None, solve_for: str = "utilization",
                          overrides: Mapping | None = None, costs: str = "value") -> pd.Series:
    """Find the input consistent with Oracle's reported margins, the others held at their values.

    Two targets, two unknowns. The fully loaded gross margin (all depreciation counted) must equal
    ``reported_margin − left_out_points`` (about 14% − 7%): margins are linear in revenue, so the
    revenue needed is (cash cost + depreciation) / (1 − target), and the utilization (at the
    given price) or the price (at the given utilization) follows. The reported-basis margin must
    equal ``reported_margin``: the share of depreciation left out is then
    left_out_points × revenue / depreciation.

    Parameters
    ----------
    assumptions : pandas.DataFrame or mapping, optional
        Default `load_assumptions`.
    reported_margin, left_out_points : float, optional
        Fractions; default the facts table's F03 (about 14%) and F06 (about 7 points).
    solve_for : {"utilization", "price_usd_per_gpu_hour"}
    overrides : mapping, optional
        Inputs held at other values.
    costs : {"value", "low", "high"}
        Hold the cost inputs (`COST_INPUTS`) at their central, low or high values.

    Returns
    -------
    pandas.Series
        ``solve_for``, ``solved`` (the value found), ``low``, ``high`` (its declared range; NaN when
        the assumptions are a mapping), ``within_range``, ``excluded_depreciation_share``,
        ``reported_margin``, ``left_out_points``, ``target_fully_loaded``, and from the model run at the
        solution: ``model_reported_basis_margin``, ``model_fully_loaded_margin``,
        ``model_margin_excluding_depreciation``, ``model_margin_after_financing``, ``revenue``,
        ``cash_cost``, ``depreciation``, ``financing``, ``price_usd_per_gpu_hour``, ``utilization``,
        ``useful_life_years``, ``costs``.

    Raises
    ------
    AssumptionsError
        For an unknown ``solve_for``.
    """
    if solve_for not in SOLVABLE:
        raise AssumptionsError(f"solve_for must be one of {SOLVABLE}, not {solve_for!r}")
    oracle = oracle_figures() if reported_margin is None or left_out_points is None else None
    reported = oracle["reported_margin"] if reported_margin is None else float(reported_margin)
    gap = oracle["left_out_points"] if left_out_points is None else float(left_out_points)
    values = _scenario(assumptions, overrides, costs)
    base = unit_economics(values).iloc[0]
    target = reported - gap
    needed_revenue = (base["cash_cost"] + base["depreciation"]) / (1 - target)
    if solve_for == "utilization":
        values["utilization"] = needed_revenue / values["price_usd_per_gpu_hour"]
    else:
        values["price_usd_per_gpu_hour"] = needed_revenue / values["utilization"]
    run = unit_economics(values).iloc[0]
    share = gap * run["revenue"] / run["depreciation"]
    table = None if isinstance(assumptions, Mapping) else _as_table(assumptions).set_index("name")
    low, high = (np.nan, np.nan) if table is None else (table.at[solve_for, "low"], table.at[solve_for, "high"])
    solved = values[solve_for]
    return pd.Series({
        "solve_for": solve_for, "solved": solved, "low": low, "high": high,
        "within_range": bool(low <= solved <= high) if table is not None else None,
        "excluded_depreciation_share": share, "reported_margin": reported, "left_out_points": gap,
        "target_fully_loaded": target,
        "model_reported_basis_margin": reported_basis_margin(run["revenue"], run["cash_cost"], run["depreciation"],
                                                             share),
        "model_fully_loaded_margin": run["gross_margin_including_depreciation"],
        "model_margin_excluding_depreciation": run["gross_margin_excluding_depreciation"],
        "model_margin_after_financing": run["margin_after_financing"],
        "revenue": run["revenue"], "cash_cost": run["cash_cost"], "depreciation": run["depreciation"],
        "financing": run["financing"], "price_usd_per_gpu_hour": run["price_usd_per_gpu_hour"],
        "utilization": run["utilization"], "useful_life_years": run["useful_life_years"], "costs": costs,
    })


def required_for_margin(target_margin: float, assumptions=None, solve_for: str = "utilization",
                        overrides: Mapping | None = None, after_financing: bool = False) -> pd.Series:
    """The utilization or price at which the fully loaded gross margin reaches a target.

    Parameters
    ----------
    target_margin : float
        A fraction, e.g. 0.30 for Oracle's low end (F07).
    assumptions : pandas.DataFrame or mapping, optional
        Default `load_assumptions`.
    solve_for : {"utilization", "price_usd_per_gpu_hour"}
    overrides : mapping, optional
        Inputs held at other values (e.g. the price found by `calibrate_to_reported`).
    after_financing : bool, default False
        Count the cost of capital too.

    Returns
    -------
    pandas.Series
        ``target_margin``, ``solve_for``, ``solved``, ``feasible`` (a utilization of at most 100%;
        always True for a price), ``change`` (solved / the value it replaces − 1),
        ``price_usd_per_gpu_hour``, ``utilization``, ``useful_life_years``.
    """
    if solve_for not in SOLVABLE:
        raise AssumptionsError(f"solve_for must be one of {SOLVABLE}, not {solve_for!r}")
    values = _scenario(assumptions, overrides)
    base = unit_economics(values).iloc[0]
    cost = base["cash_cost"] + base["depreciation"] + (base["financing"] if after_financing else 0.0)
    needed_revenue = cost / (1 - target_margin)
    other = "price_usd_per_gpu_hour" if solve_for == "utilization" else "utilization"
    before = values[solve_for]
    values[solve_for] = needed_revenue / values[other]
    return pd.Series({
        "target_margin": target_margin, "solve_for": solve_for, "solved": values[solve_for],
        "feasible": bool(solve_for != "utilization" or values[solve_for] <= 1.0),
        "change": values[solve_for] / before - 1,
        "price_usd_per_gpu_hour": values["price_usd_per_gpu_hour"], "utilization": values["utilization"],
        "useful_life_years": values["useful_life_years"],
    })


# --------------------------------------------------------------------------- facts and tables
def _fact(table: pd.DataFrame, fact_id: str) -> pd.Series:
    hit = table[table["fact_id"] == fact_id]
    if len(hit) != 1:
        raise ValueChainError(f"facts table: expected one row {fact_id!r}, found {len(hit)}")
    return hit.iloc[0]


def _tag(row: pd.Series) -> str:
    return f"{row['fact_id']}: {row['kind']}, {row['confidence']} confidence"


def oracle_figures(table: pd.DataFrame | None = None) -> dict:
    """Oracle's reported GPU-rental figures (claim A1) as fractions and USD, with their facts rows.

    Returns
    -------
    dict
        ``reported_margin`` (F03 / 100), ``left_out_points`` (F06 / 100), ``after_left_out``
        (their difference), ``revenue_musd`` (F01), ``gross_profit_musd`` (F02), ``computed_margin``
        (F02 / F01), ``reply_low``/``reply_high`` (F07 / 100), ``quarter_end`` (F03's period end),
        and ``rows``: fact key → facts row (see `ORACLE_FACTS`).
    """
    table = facts(claim_id="A1") if table is None else table
    rows = {key: _fact(table, fid) for key, fid in ORACLE_FACTS.items()}
    reported = rows["gross_margin"]["value"] / 100
    gap = rows["left_out_depreciation"]["value"] / 100
    return {
        "reported_margin": reported, "left_out_points": gap, "after_left_out": reported - gap,
        "revenue_musd": rows["revenue"]["value"], "gross_profit_musd": rows["gross_profit"]["value"],
        "computed_margin": rows["gross_profit"]["value"] / rows["revenue"]["value"],
        "reply_low": rows["oracle_reply"]["value_low"] / 100, "reply_high": rows["oracle_reply"]["value_high"] / 100,
        "quarter_end": rows["gross_margin"]["period_end"], "rows": rows,
    }


def cost_stack(run: Mapping) -> pd.DataFrame:
    """One installed GPU-hour as a small income statement: each line in dollars and as a share of revenue.

    Parameters
    ----------
    run : mapping or pandas.Series
        One row of `unit_economics`.

    Returns
    -------
    pandas.DataFrame
        ``line``, ``usd_per_installed_hour`` (costs positive, profits signed) and ``share_of_revenue``
        (the margin on the profit lines), in the order revenue, power, data-centre space and operations,
        gross profit excluding depreciation, depreciation, gross profit including depreciation,
        financing, profit after financing.
    """
    revenue = float(run["revenue"])
    profit_before_depreciation = revenue - float(run["power"]) - float(run["colocation_and_operations"])
    profit_after_depreciation = profit_before_depreciation - float(run["depreciation"])
    profit_after_financing = profit_after_depreciation - float(run["financing"])
    lines = [
        ("Revenue (price × utilization)", revenue),
        ("Power", float(run["power"])),
        ("Data-centre space and operations", float(run["colocation_and_operations"])),
        ("Gross profit excluding depreciation", profit_before_depreciation),
        ("Depreciation", float(run["depreciation"])),
        ("Gross profit including depreciation", profit_after_depreciation),
        ("Financing (below gross margin)", float(run["financing"])),
        ("Profit after financing", profit_after_financing),
    ]
    frame = pd.DataFrame(lines, columns=["line", "usd_per_installed_hour"])
    frame["share_of_revenue"] = _div(frame["usd_per_installed_hour"], revenue)
    return frame


def calibration_table(assumptions=None) -> pd.DataFrame:
    """`calibrate_to_reported` for both unknowns, with the cost inputs at their central, low and high values.

    Returns
    -------
    pandas.DataFrame
        One row per (costs, solve_for): the columns of `calibrate_to_reported`.
    """
    table = _as_table(assumptions)
    rows = [calibrate_to_reported(table, solve_for=solve, costs=costs)
            for costs in ("value", "low", "high") for solve in SOLVABLE]
    return pd.DataFrame(rows).reset_index(drop=True)


def requirement_table(assumptions=None, targets: Iterable[float] | None = None) -> pd.DataFrame:
    """What a fully loaded margin target takes: utilization at the central price, price at the central utilization.

    Parameters
    ----------
    targets : iterable of float, optional
        Margin targets as fractions; default Oracle's reply range (F07 low and high).

    Returns
    -------
    pandas.DataFrame
        One row per (target, solve_for, after_financing): the columns of `required_for_margin` plus
        ``after_financing``.
    """
    table = _as_table(assumptions)
    if targets is None:
        o = oracle_figures()
        targets = (o["reply_low"], o["reply_high"])
    rows = [{**required_for_margin(t, table, solve_for=solve, after_financing=fin).to_dict(), "after_financing": fin}
            for t in targets for fin in (False, True) for solve in SOLVABLE]
    return pd.DataFrame(rows).reset_index(drop=True)


def slider_grid(assumptions=None, price_step: float = 0.10, utilization_step: float = 0.01) -> pd.DataFrame:
    """The precomputed grid an interactive chart filters: price × useful life × utilization.

    Prices run in ``price_step`` steps through the central price, inside the price row's declared
    range; utilization from the utilization row's low to its high in ``utilization_step`` steps;
    useful lives are the whole years of the useful-life row's range. Other inputs stay central.

    Returns
    -------
    pandas.DataFrame
        Short column names, since the chart inlines every row in the page: ``price_usd`` (per billed
        GPU-hour), ``life_years``, ``utilization``, ``gross_margin`` (including all depreciation) and
        ``after_financing`` (margin after depreciation and financing), rounded (prices to cents,
        fractions to 4 decimals) so a slider's value matches a row.
    """
    table = _as_table(assumptions).set_index("name")
    p, u, life = (table.loc[n] for n in ("price_usd_per_gpu_hour", "utilization", "useful_life_years"))
    below = math.floor((p["value"] - p["low"]) / price_step + 1e-9)
    above = math.floor((p["high"] - p["value"]) / price_step + 1e-9)
    prices = np.round(p["value"] + price_step * np.arange(-below, above + 1), 2)
    steps = round((u["high"] - u["low"]) / utilization_step)
    utilization = np.round(np.linspace(u["low"], u["high"], steps + 1), 4)
    lives = np.arange(math.ceil(life["low"]), math.floor(life["high"]) + 1)
    grid = margin_grid(table.reset_index(), utilization=utilization, useful_life=lives, price=prices)
    out = pd.DataFrame({
        "price_usd": grid["price_usd_per_gpu_hour"], "life_years": grid["useful_life_years"].astype(int),
        "utilization": grid["utilization"], "gross_margin": grid["gross_margin_including_depreciation"].round(4),
        "after_financing": grid["margin_after_financing"].round(4),
    })
    return out


def cited_fact_ids(assumptions=None) -> list[str]:
    """The fact_ids the cited inputs rest on, in file order."""
    table = _as_table(assumptions)
    ids = [i for s in table.loc[table["kind"] == "cited", "source"] for i in cited_ids(s)]
    return list(dict.fromkeys(ids))


def data_as_of(assumptions=None, facts_table: pd.DataFrame | None = None) -> pd.Timestamp:
    """The latest as-of date among the facts the model and the Oracle figures rest on."""
    facts_table = facts() if facts_table is None else facts_table
    ids = cited_fact_ids(assumptions) + list(ORACLE_FACTS.values())
    return pd.Timestamp(facts_table.loc[facts_table["fact_id"].isin(ids), "as_of"].max())


def chart_data_through(assumptions=None, facts_table: pd.DataFrame | None = None) -> dict[str, pd.Timestamp]:
    """How far the data behind the margin chart run: the facts' own dates, not the day they were read.

    Parameters
    ----------
    assumptions : pandas.DataFrame or path, optional
        The model-assumptions table (`load_assumptions`).
    facts_table : pandas.DataFrame, optional
        `facts` rows (for tests).

    Returns
    -------
    dict
        ``{"Oracle's reported quarter, F03": period end of the reported margin, "Oracle's reply, F07":
        its as-of date, "cited model inputs": the latest as-of date among the inputs' facts rows}``;
        an entry whose rows have no date is left out.
    """
    facts_table = facts() if facts_table is None else facts_table
    by_id = facts_table.set_index("fact_id")
    margin, reply = ORACLE_FACTS["gross_margin"], ORACLE_FACTS["oracle_reply"]
    inputs = facts_table.loc[facts_table["fact_id"].isin(cited_fact_ids(assumptions)), "as_of"]
    ends = {
        f"Oracle's reported quarter, {margin}": by_id.at[margin, "period_end"] if margin in by_id.index else pd.NaT,
        f"Oracle's reply, {reply}": by_id.at[reply, "as_of"] if reply in by_id.index else pd.NaT,
        "cited model inputs": inputs.max(),
    }
    return {k: pd.Timestamp(v) for k, v in ends.items() if pd.notna(v)}


# --------------------------------------------------------------------------- verdicts
def score_a1(figures: Mapping, thin_margin_threshold: float = 0.20) -> Verdict:
    """Verdict on A1: renting out GPUs earns thin margins.

    The claim, as the essay states it: the gross margin on renting out Nvidia GPUs, per the press
    report on Oracle, is thin. Rule: *supported* when the reported gross margin (F03) is below
    ``thin_margin_threshold``, *not supported* at or above it.

    Parameters
    ----------
    figures : mapping
        `oracle_figures` output: ``reported_margin``, ``left_out_points``, ``after_left_out``,
        ``reply_low``, ``reply_high``, ``quarter_end`` and ``rows`` (the facts rows by key).
    thin_margin_threshold : float, default 0.20
        A gross margin below this, as a fraction, is thin.

    Returns
    -------
    Verdict
        ``measured`` = the reported margin (unit ``share``); the distance to a flip is in points.
    """
    o, rows = figures, figures["rows"]
    margin_row = rows["gross_margin"]
    quarter_end = pd.Timestamp(o["quarter_end"])
    period = f"{margin_row['period']}, " if pd.notna(margin_row.get("period")) and margin_row.get("period") else ""
    compared = less_than(float(o["reported_margin"]), thin_margin_threshold, unit="share",
                         measure=f"gross margin reported on Oracle's Nvidia-GPU rentals, quarter to "
                                 f"{quarter_end:%Y-%m-%d} ({margin_row['fact_id']}, press report)")
    side = "below" if compared["status"] == "supported" else "at or above"
    summary = (
        f"The gross margin reported on Oracle's Nvidia-GPU rentals in its quarter to {quarter_end:%B %Y} "
        f"({period}Oracle's fiscal calendar) was about {o['reported_margin']:.0%} ({_tag(margin_row)}), {side} the "
        f"{thin_margin_threshold:.0%} threshold for a thin margin. Counting the depreciation the report says was "
        f"left out (about {o['left_out_points'] * 100:.0f} points, {_tag(rows['left_out_depreciation'])}) leaves "
        f"about {o['after_left_out']:.0%}. Oracle's reply that AI-infrastructure contracts can earn "
        f"{o['reply_low'] * 100:.0f}–{o['reply_high']:.0%} ({_tag(rows['oracle_reply'])}, known only as reported) "
        "is a claim about future contracts, not a reported result."
    )
    numbers = {"reported_margin": o["reported_margin"], "left_out_points": o["left_out_points"],
               "margin_after_left_out": o["after_left_out"], "threshold": thin_margin_threshold,
               "oracle_reply_low": o["reply_low"], "oracle_reply_high": o["reply_high"]}
    return Verdict(
        summary=summary, **compared, numbers={k: float(v) for k, v in numbers.items()},
        sources="; ".join(f"{r['fact_id']} ({r['kind']}, {r['confidence']} confidence, {r['publisher']})"
                          for r in (margin_row, rows["left_out_depreciation"], rows["oracle_reply"])),
        data_through=f"{quarter_end:%Y-%m-%d} (Oracle, {margin_row['fact_id']})",
    )


def verdict_a1(thin_margin_threshold: float = 0.20, facts_table: pd.DataFrame | None = None) -> Verdict:
    """Verdict on A1 from the facts table (rule in `score_a1`).

    Parameters
    ----------
    thin_margin_threshold : float, default 0.20
        From the claims ledger: the top of the range the same report gives for the prior year
        (F04b, slightly over 20%) and well under a cloud segment's usual margin.
    facts_table : pandas.DataFrame, optional
        Default ``facts(claim_id="A1")`` (as published by the ledger's date, if one is set).

    Returns
    -------
    Verdict
    """
    return score_a1(oracle_figures(facts_table), thin_margin_threshold)


#: Why A2 cannot be tested, whatever the model shows.
A2_REASON = ("No citable source gives Oracle's GPU utilization: the essay's {low}–{high} range was not found in "
             "one, and no cloud discloses the share of GPU-hours it bills.")


def score_a2(assumptions: pd.DataFrame) -> Verdict:
    """Verdict on A2: utilization drives cloud GPU profitability (Oracle at 60–90% of capacity).

    The claim, as the essay states it: Oracle's data centres run at 60–90% utilization, and that
    utilization drives the profitability of renting GPUs. Rule: *not testable with public data*,
    since no company discloses its GPU utilization; the summary adds what the model shows at the
    central inputs: the fully loaded margin at the ends of the utilization range, the points gained
    per 10 points of utilization, the break-even utilization and the effect of the useful life.

    Parameters
    ----------
    assumptions : pandas.DataFrame
        A validated assumptions table (`load_assumptions`); the utilization range is the
        ``utilization`` row's low and high.

    Returns
    -------
    Verdict
        Status ``"not testable with public data"``; no measured figure or threshold.
    """
    table = assumptions
    util = table.set_index("name").loc["utilization"]
    values = central_values(table)
    lo_hi = unit_economics(pd.DataFrame([{**values, "utilization": util["low"]},
                                         {**values, "utilization": util["high"]}]))
    m_lo, m_hi = lo_hi["gross_margin_including_depreciation"]
    per_ten = (m_hi - m_lo) / (util["high"] - util["low"]) * 0.10
    even = required_for_margin(0.0, table, solve_for="utilization")["solved"]
    life = values["useful_life_years"]
    shortest = shortest_useful_life(table)
    lives = margin_grid(table, utilization=[values["utilization"]], useful_life=[shortest, life])
    life_gain = (lives["gross_margin_including_depreciation"].iloc[-1]
                 - lives["gross_margin_including_depreciation"].iloc[0])
    summary = (
        A2_REASON.format(low=f"{util['low'] * 100:.0f}", high=f"{util['high']:.0%}")
        + f" In the model (central inputs, ${values['price_usd_per_gpu_hour']:.2f} per GPU-hour, {life:.0f}-year "
        f"life) the fully loaded gross margin rises from {m_lo:.0%} at {util['low']:.0%} utilization to "
        f"{m_hi:.0%} at {util['high']:.0%}, about {per_ten * 100:.0f} points per 10 points of utilization, and "
        f"breaks even at {even:.0%}; stretching the useful life from {shortest:.0f} to {life:.0f} years adds "
        f"{life_gain * 100:.0f} points at {values['utilization']:.0%}."
    )
    return Verdict(
        status="not testable with public data", summary=summary,
        numbers={k: float(v) for k, v in {
            "utilization_low": util["low"], "utilization_high": util["high"], "margin_at_low": m_lo,
            "margin_at_high": m_hi, "points_per_10pt_utilization": per_ten * 100,
            "break_even_utilization": even, "life_gain_points": life_gain * 100}.items()},
        sources="model (valuechain_lib.models.gpu_economics) on data/gpu_assumptions.csv; utilization is a model "
                "assumption, not a cited figure",
        data_through=f"{data_as_of(table):%Y-%m-%d} (latest facts-table row behind the model's inputs)",
    )


def verdict_a2(assumptions=None) -> Verdict:
    """Verdict on A2 from the model's assumptions (rule in `score_a2`).

    At a date before the model's cited inputs were published (the ledger's "at the essay's date"),
    the model cannot be run; the verdict is then the reason alone, with the inputs that were missing.

    Parameters
    ----------
    assumptions : pandas.DataFrame, optional
        Default `load_assumptions`.

    Returns
    -------
    Verdict
        Status ``"not testable with public data"``.
    """
    if assumptions is not None:
        return score_a2(assumptions)
    try:
        table = load_assumptions()
    except AssumptionsError as exc:
        if vintage.current() is None:
            raise
        raw = pd.read_csv(data_dir() / "gpu_assumptions.csv", dtype=str, keep_default_na=False)
        util = raw.set_index("name").loc["utilization"]
        low, high = float(util["low"]), float(util["high"])
        return Verdict(
            status="not testable with public data",
            summary=(A2_REASON.format(low=f"{low * 100:.0f}", high=f"{high:.0%}")
                     + f" The model that shows the sensitivity rests on inputs not yet published by "
                       f"{vintage.current():%Y-%m-%d} ({exc})."),
            sources="data/gpu_assumptions.csv; utilization is a model assumption, not a cited figure",
        )
    return score_a2(table)


def shortest_useful_life(assumptions=None) -> float:
    """The shortest useful life in the assumptions' range (the ``useful_life_years`` row's low)."""
    return float(_as_table(assumptions).set_index("name").at["useful_life_years", "low"])
