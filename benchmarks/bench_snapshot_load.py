"""Benchmark: loading the committed snapshot (cold and cached) and `financials()` calls.

Cold = the table cache cleared before each load (`valuechain_lib.snapshot.store.load_table.cache_clear`),
so the CSV is parsed again; warm = served from the cache (a copy is still returned). Prints seconds.
Also times the integrity check every load makes (each table file's sha256 against the manifest: hashed
once per file version and process, then a ``stat``), and `metrics.compute` on the snapshot's quarters,
the chapters' usual next step.

Run: ``python benchmarks/bench_snapshot_load.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import valuechain_lib as vl
from valuechain_lib.snapshot import store as snapshot

REPEAT = 5


def best(func, repeat: int = REPEAT, cold: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            snapshot.load_table.cache_clear()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    folder = snapshot.snapshot_dir()
    print(f"snapshot: {folder} (built {vl.manifest()['built_at']}); best of {REPEAT} runs")
    print("\nload_table, cold (cache cleared) / warm (cached copy):")
    cold_total = 0.0
    for name, filename in snapshot.TABLE_FILES.items():
        rows = len(vl.load_table(name))
        size = (folder / filename).stat().st_size / 1e6
        cold = best(lambda n=name: vl.load_table(n), cold=True)
        warm = best(lambda n=name: vl.load_table(n))
        cold_total += cold
        print(f"  {name:<18} {rows:>8,} rows {size:6.1f} MB   cold {cold:7.3f} s   warm {warm:7.4f} s")
    print(f"  {'all tables, cold':<18} {cold_total:7.3f} s")
    cold_manifest = best(vl.manifest)
    print(f"  {'manifest()':<18} {cold_manifest:7.4f} s")

    print("\nintegrity check (sha256 against the manifest), first per process / then per load:")
    hash_total = load_total = 0.0
    for name in snapshot.TABLE_FILES:
        first = best(lambda n=name: snapshot.verify_table(n), cold=True)
        again = best(lambda n=name: snapshot.verify_table(n))
        load = best(lambda n=name: vl.load_table(n), cold=True)
        hash_total, load_total = hash_total + first, load_total + load
        print(f"  {name:<18} first {first:7.4f} s ({first / load:4.0%} of its cold load {load:6.3f} s)   "
              f"then {again * 1e6:6.1f} µs")
    print(f"  {'all tables':<18} first {hash_total:7.4f} s ({hash_total / load_total:4.0%} of {load_total:.3f} s)")

    print("\nfinancials() calls (first call cold, then cached):")
    calls = {
        'financials()': lambda: vl.financials(),
        'financials("NVDA", metrics="revenue")': lambda: vl.financials("NVDA", metrics="revenue"),
        'financials(freq="TTM")': lambda: vl.financials(freq="TTM"),
        'financials(freq="FY")': lambda: vl.financials(freq="FY"),
        'financials(calendar=True)': lambda: vl.financials(calendar=True),
        'financials(freq="FY", calendar=True)': lambda: vl.financials(freq="FY", calendar=True),
    }
    for label, func in calls.items():
        cold = best(func, cold=True)
        warm = best(func)
        print(f"  {label:<40} cold {cold:7.3f} s   warm {warm:7.3f} s   ({len(func()):,} rows)")

    quarters = vl.financials(freq="Q")
    names = ["capex_to_ocf", "free_cash_flow", "capex_intensity", "operating_margin", "gross_margin", "da_to_capex"]
    seconds = best(lambda: vl.compute(quarters, names), repeat=1)
    print(f"\nmetrics.compute(financials(), 6 ratios) on {len(quarters):,} quarterly rows: {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
