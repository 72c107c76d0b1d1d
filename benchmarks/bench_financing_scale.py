"""Benchmark: what reading and standardizing SEC facts costs per fact, scaled to every US filer.

The local raw files (``../shared/data/sec``) are trimmed to a few concepts per company, so their count of
files says nothing about the bulk archive; their count of **facts** does. This script reads every local
SEC file with the library's own reader (`valuechain_lib.sources.sec.read_company`), standardizes the facts
the way the snapshot build does (tags mapped, restatements kept, periods placed, quarters derived), and
prints per fact: seconds, bytes on disk, bytes as SEC serves them (compact JSON) and bytes in memory. It then
scales to SEC's bulk companyfacts archive (``companyfacts.zip``, about ``ARCHIVE_BYTES`` uncompressed): the
archive's fact count is taken as its size over the compact bytes per fact measured here.

If the ``duckdb`` package can be imported (it is not a dependency of the book), the same facts are also read
with one DuckDB query over the JSON files, typed and unnested, and its rate is printed too.

Run: ``python benchmarks/bench_financing_scale.py [--repeat 3] [--raw ../shared/data]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from valuechain_lib.paths import raw_data_dir
from valuechain_lib.snapshot.build import _ifrs_only_tags
from valuechain_lib.snapshot.quarters import tidy_periods
from valuechain_lib.snapshot.standardize import (
    canonical_metrics,
    latest_filed,
    mapped_facts,
    place_in_calendar,
)
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.sources.sec import read_company, source_files

#: SEC's bulk companyfacts archive uncompressed, in bytes: the issue's "~20 GB".
ARCHIVE_BYTES = 20e9
FACT_KEYS = ("start", "end", "val", "accn", "fy", "fp", "form", "filed", "frame")


def companies() -> pd.DataFrame:
    u = universe()
    return u[u["sec_source"].notna()]


def read_all(raw_sec: Path) -> tuple[list[pd.DataFrame], float]:
    ifrs_only = _ifrs_only_tags()
    start = time.perf_counter()
    frames = [read_company(raw_sec, c.ticker, c.cik, c.sec_source, ifrs_only) for c in companies().itertuples()]
    return frames, time.perf_counter() - start


def standardize_all(frames: list[pd.DataFrame]) -> tuple[int, float]:
    start = time.perf_counter()
    reported, mapped = [], 0
    for raw, (_, company) in zip(frames, companies().iterrows(), strict=True):
        facts = mapped_facts(raw, company)
        mapped += len(facts)
        kept, _ = latest_filed(facts)
        reported.append(place_in_calendar(kept, company))
    tidy_periods(pd.concat(reported, ignore_index=True), canonical_metrics())
    return mapped, time.perf_counter() - start


def compact_bytes(raw_sec: Path) -> tuple[int, int]:
    """Facts in the local JSON files and their size re-serialised compactly, as SEC's API serves them."""
    facts = size = 0
    for company in companies().itertuples():
        for path in source_files(raw_sec, company.ticker, company.sec_source):
            if not path.name.endswith(".json") or "flujo" in path.name:
                continue
            doc = json.loads(path.read_text(encoding="utf-8"))
            concepts = ([doc] if "concept" in doc else
                        [c for taxonomy in doc["facts"].values() for c in taxonomy.values()])
            for concept in concepts:
                for unit_facts in concept["units"].values():
                    for fact in unit_facts:
                        facts += 1
                        size += len(json.dumps({k: fact[k] for k in FACT_KEYS if k in fact}, separators=(",", ":")))
    return facts, size


def duckdb_rate(raw_sec: Path, repeat: int) -> tuple[int, float] | None:
    """Facts and seconds for one DuckDB query that types and unnests every fact of the local JSON files."""
    try:
        import duckdb
    except ImportError:
        return None
    fact_type = "[{" + ",".join(f'"{k}":"{"DOUBLE" if k == "val" else "VARCHAR"}"' for k in FACT_KEYS) + "}]"
    query = f"""
        SELECT count(*) FROM (
          SELECT unnest(from_json(u.value, '{fact_type}'), recursive := true)
          FROM read_json_objects('{raw_sec}/*.companyfacts.json') d,
               json_each(d.json, '$.facts."us-gaap"') c, json_each(c.value, '$.units') u
          UNION ALL
          SELECT unnest(from_json(u.value, '{fact_type}'), recursive := true)
          FROM read_json_objects('{raw_sec}/supplement/*/*.json') d, json_each(d.json, '$.units') u)"""
    con = duckdb.connect()
    con.sql("SET threads = 1")  # per core, comparable with the single-process library reader
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = con.sql(query).fetchall()[0][0]
        best = min(best, time.perf_counter() - start)
    return count, best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is kept")
    parser.add_argument("--raw", type=Path, default=raw_data_dir(), help="folder holding sec/")
    args = parser.parse_args(argv)
    raw_sec = args.raw / "sec"
    if not raw_sec.is_dir():
        print(f"no raw SEC folder at {raw_sec}: this benchmark needs the developers' ../shared/data")
        return 1
    disk = sum(p.stat().st_size for c in companies().itertuples()
               for p in source_files(raw_sec, c.ticker, c.sec_source))
    read_s = std_s = float("inf")
    for _ in range(args.repeat):
        frames, seconds = read_all(raw_sec)
        read_s = min(read_s, seconds)
        mapped, seconds = standardize_all(frames)
        std_s = min(std_s, seconds)
    facts = sum(len(f) for f in frames)
    in_memory = sum(int(f.memory_usage(deep=True).sum()) for f in frames)
    tracemalloc.start()
    frames, _ = read_all(raw_sec)
    standardize_all(frames)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    json_facts, json_bytes = compact_bytes(raw_sec)
    per_fact_compact = json_bytes / json_facts
    rate = facts / (read_s + std_s)
    archive_facts = ARCHIVE_BYTES / per_fact_compact
    print(f"local SEC files: {len(companies())} companies, {disk / 1e6:.1f} MB on disk, {facts:,} facts "
          f"({mapped:,} of them under a mapped tag); best of {args.repeat}")
    print(f"  read (library reader):        {read_s:6.2f} s  {facts / read_s:>10,.0f} facts/s")
    print(f"  standardize (snapshot build): {std_s:6.2f} s  {facts / std_s:>10,.0f} facts/s")
    print(f"  read + standardize:           {read_s + std_s:6.2f} s  {rate:>10,.0f} facts/s")
    print(f"  bytes per fact: {disk / facts:,.0f} on disk (indented files), {per_fact_compact:,.0f} as compact JSON "
          f"(SEC's format; {json_facts:,} JSON facts), {in_memory / facts:,.0f} in memory (raw table)")
    print(f"  peak traced memory, read + standardize: {peak / 1e6:,.0f} MB; process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:,.0f} MB")
    duck = duckdb_rate(raw_sec, args.repeat)
    if duck is None:
        print("  duckdb: not installed (it is not a dependency of the book); skipped")
    else:
        count, seconds = duck
        print(f"  duckdb, one thread, typed and unnested: {count:,} facts in {seconds:.3f} s, "
              f"{count / seconds:,.0f} facts/s")
    print(f"\nscaled to SEC's bulk companyfacts archive, {ARCHIVE_BYTES / 1e9:.0f} GB uncompressed:")
    print(f"  facts: {ARCHIVE_BYTES / 1e9:.0f} GB / {per_fact_compact:,.0f} bytes per fact = {archive_facts / 1e6:,.0f} "
          "million")
    print(f"  library reader, one process: {archive_facts / rate / 3600:,.1f} h; in memory at once "
          f"{archive_facts * in_memory / facts / 1e9:,.0f} GB (so: a company at a time)")
    if duck is not None:
        count, seconds = duck
        print(f"  duckdb, one thread: {archive_facts / (count / seconds) / 60:,.1f} min to type and unnest every fact")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
