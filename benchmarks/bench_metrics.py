"""Benchmark: calendar alignment, derived metrics and calendar sums on a synthetic universe.

Builds N companies x 40 fiscal quarters in the tidy-table layout of `valuechain_lib.snapshot.financials`
(random fiscal-year-end months, some on 52/53-week years, seeded RNG), then times

  (a) calendar alignment: `periods.calendar_quarter` and `periods.fiscal_year_quarter` over every
      row's period end (fiscal_year_quarter is called once per (fiscal-year-end month, 52/53-week)
      group, as it takes those as scalars; a per-company variant is timed too, for information);
  (b) `metrics.compute(table, [capex_to_ocf, free_cash_flow, capex_intensity, operating_margin,
      gross_margin, da_to_capex])`;
  (c) `aggregate.calendar_sum(table, by=["layer"])` over all companies;

for N in 250, 1000, 4000 (``--sizes`` to change), and prints seconds and rows/s per stage and in total,
whether 1,000 companies finish under 1 s, and whether 1,000 -> 4,000 grows roughly linearly (ratio <= 5).

Run: ``python benchmarks/bench_metrics.py`` (add ``--profile`` to profile the slowest stage at 1,000).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from valuechain_lib import aggregate, metrics
from valuechain_lib.calc import periods
from valuechain_lib.snapshot.quarters import TIDY_COLUMNS

N_QUARTERS = 40
LINE_ITEMS = ["revenue", "cost_of_revenue", "gross_profit", "operating_income", "operating_cash_flow", "capex",
              "depreciation_amortization"]
DERIVED = ["capex_to_ocf", "free_cash_flow", "capex_intensity", "operating_margin", "gross_margin", "da_to_capex"]
LAYERS = np.array(["upstream", "midstream", "downstream"])
SEED = 20261126


def synthetic_universe(n_companies: int, seed: int = SEED) -> pd.DataFrame:
    """Tidy quarterly rows for ``n_companies`` x `N_QUARTERS` x `LINE_ITEMS` (values in USD)."""
    rng = np.random.default_rng(seed)
    fy_month = rng.integers(1, 13, n_companies)
    week_year = rng.random(n_companies) < 0.3
    tickers = np.array([f"C{i:05d}" for i in range(n_companies)])
    layer = LAYERS[rng.integers(0, 3, n_companies)]

    # Quarter ends: month ends stepping back 3 months from each company's last fiscal quarter (ending
    # in its fiscal-year-end month in 2025); 52/53-week companies end up to 6 days before the month end.
    company = np.repeat(np.arange(n_companies), N_QUARTERS)
    step = np.tile(np.arange(N_QUARTERS)[::-1], n_companies)  # 39 .. 0 quarters before the last
    month_index = (2025 * 12 + fy_month[company] - 1) - 3 * step
    month_start = pd.to_datetime({"year": month_index // 12, "month": month_index % 12 + 1, "day": 1})
    ends = month_start + pd.offsets.MonthEnd(0)
    shift = np.where(week_year[company], rng.integers(0, 7, company.size), 0)
    ends = ends - pd.to_timedelta(shift, unit="D")
    starts = ends - pd.Timedelta(days=90)
    quarters = pd.DataFrame({
        "ticker": tickers[company], "period_start": starts.to_numpy(), "period_end": ends.to_numpy(),
        "fiscal_period": "Q" + ((N_QUARTERS - 1 - step) % 4 + 1).astype(str),
        "fiscal_year": 2025 - step // 4,
    })
    n_rows = len(quarters) * len(LINE_ITEMS)
    table = quarters.loc[quarters.index.repeat(len(LINE_ITEMS))].reset_index(drop=True)
    table["metric"] = np.tile(LINE_ITEMS, len(quarters))
    scale = rng.lognormal(20, 1.5, n_companies)[np.repeat(company, len(LINE_ITEMS))]
    share = {"revenue": 1.0, "cost_of_revenue": 0.45, "gross_profit": 0.55, "operating_income": 0.25,
             "operating_cash_flow": 0.3, "capex": 0.15, "depreciation_amortization": 0.08}
    table["value"] = np.round(scale * table["metric"].map(share).to_numpy() * rng.uniform(0.8, 1.2, n_rows), -3)
    gaps = rng.random(n_rows) < 0.01
    table.loc[gaps, "value"] = np.nan
    table["missing_reason"] = np.where(gaps, "no fact for this period under any mapped tag in the source", None)
    cal = periods.calendar_quarter(table["period_end"])
    table["calendar_year"] = cal["calendar_year"]
    table["calendar_quarter"] = cal["calendar_quarter"]
    table["freq"] = "Q"
    table["unit"] = "USD"
    for col in ("accession", "form", "tag", "source", "derivation"):
        table[col] = "synthetic"
    table["filed"] = table["period_end"] + pd.Timedelta(days=35)
    table = table[TIDY_COLUMNS].copy()
    table["layer"] = layer[np.repeat(company, len(LINE_ITEMS))]
    # Fiscal calendars go in ordinary columns: DataFrame.attrs is deep-copied by every pandas operation,
    # which would make each step O(companies) and the benchmark quadratic.
    table["fy_end_month"] = fy_month[np.repeat(company, len(LINE_ITEMS))]
    table["week_year"] = week_year[np.repeat(company, len(LINE_ITEMS))]
    return table


def stage_calendar(table: pd.DataFrame) -> pd.DataFrame:
    ends = table["period_end"]
    cal = periods.calendar_quarter(ends)
    parts = [periods.fiscal_year_quarter(ends[idx], int(m), bool(w))
             for (m, w), idx in ends.groupby([table["fy_end_month"], table["week_year"]]).groups.items()]
    return pd.concat([cal, pd.concat(parts).reindex(ends.index)], axis=1)


def stage_calendar_per_company(table: pd.DataFrame) -> None:
    ends = table.drop_duplicates(["ticker", "period_end"])
    for (_ticker, month, week), group in ends.groupby(["ticker", "fy_end_month", "week_year"])["period_end"]:
        periods.calendar_quarter(group)
        periods.fiscal_year_quarter(group, int(month), bool(week))


def stage_metrics(table: pd.DataFrame) -> pd.DataFrame:
    return metrics.compute(table, DERIVED)


def stage_calendar_sum(table: pd.DataFrame) -> pd.DataFrame:
    return aggregate.calendar_sum(table, by=["layer"])


STAGES = {"calendar alignment": stage_calendar, "metrics.compute": stage_metrics,
          "calendar_sum": stage_calendar_sum}


def timed(func, arg, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(arg)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 1000, 4000])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per stage")
    parser.add_argument("--profile", action="store_true", help="profile every stage at 1,000 companies")
    args = parser.parse_args(argv)

    print(f"synthetic universe: N companies x {N_QUARTERS} quarters x {len(LINE_ITEMS)} line items, "
          f"seed {SEED}; best of {args.repeat} runs; pandas {pd.__version__}, numpy {np.__version__}")
    totals = {}
    per_stage = {}
    for n in args.sizes:
        table = synthetic_universe(n)
        rows = len(table)
        print(f"\nN = {n:,} companies ({rows:,} tidy rows)")
        total = 0.0
        for name, func in STAGES.items():
            seconds = timed(func, table, args.repeat)
            total += seconds
            per_stage[(n, name)] = seconds
            print(f"  {name:<22} {seconds:8.3f} s  {rows / seconds:14,.0f} rows/s")
        print(f"  {'total':<22} {total:8.3f} s  {rows / total:14,.0f} rows/s")
        seconds = timed(stage_calendar_per_company, table, 1)
        print(f"  (info) calendar alignment called per company: {seconds:.3f} s "
              f"({n / seconds:,.0f} companies/s)")
        totals[n] = total

    print()
    if 1000 in totals:
        verdict = "yes" if totals[1000] < 1.0 else "NO"
        print(f"1,000 companies under 1 s: {verdict} ({totals[1000]:.3f} s)")
        slow = [name for name in STAGES if not per_stage[(1000, name)] <= 1.0]
        if slow:
            print(f"  stage(s) over 1 s at 1,000 companies: {', '.join(slow)}")
    if 1000 in totals and 4000 in totals:
        ratio = totals[4000] / totals[1000]
        print(f"growth 1,000 -> 4,000 companies: x{ratio:.2f} total "
              f"({'roughly linear' if ratio <= 5 else 'WORSE than linear'}; 4.0 = linear)")
        for name in STAGES:
            print(f"  {name:<22} x{per_stage[(4000, name)] / per_stage[(1000, name)]:.2f}")

    if args.profile:
        table = synthetic_universe(1000)
        for name, func in STAGES.items():
            profiler = cProfile.Profile()
            profiler.enable()
            func(table)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(12)
            print(f"\n--- profile: {name} at 1,000 companies ---")
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
