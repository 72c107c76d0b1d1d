"""Command line: build the snapshot from raw files, print a summary of the committed one.

``python -m valuechain_lib snapshot --from ../shared/data``  (developers; needs the raw files)
``python -m valuechain_lib summary``                          (anyone; reads the committed snapshot)
``python -m valuechain_lib refresh``                          (live data; needs VALUECHAIN_SEC_IDENTITY)
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from .errors import ValueChainError


def _cmd_snapshot(args) -> int:
    from tqdm import tqdm

    from .paths import raw_data_dir
    from .snapshot import build_snapshot, write_snapshot

    raw = args.source or raw_data_dir()
    started = time.perf_counter()
    from .universe import universe

    total = int(universe()["sec_source"].notna().sum())
    with tqdm(desc="SEC companies", unit="co", total=total, disable=args.quiet) as bar:
        tables = build_snapshot(raw, progress=lambda ticker: (bar.set_postfix_str(ticker), bar.update()))
    target = write_snapshot(tables)
    m = tables["manifest"]
    print(f"snapshot written to {target} in {time.perf_counter() - started:.1f} s")
    for name in ("financials", "facts_reported", "restatements", "crosschecks", "prices"):
        print(f"  {name:<16} {len(tables[name]):>8,} rows")
    c = m["crosschecks"]
    print(f"  cross-checks: {c['matched']:,} of {c['compared']:,} match within ±$2M; "
          f"{c['explained']} explained, {c['unexplained']} unexplained")
    return 0


def summary_table() -> pd.DataFrame:
    """One row per company with SEC data: layer, latest period, latest fiscal year's capex / OCF."""
    from .financials import financials
    from .metrics import compute
    from .snapshot import manifest
    from .universe import universe

    years = compute(financials(freq="FY"), ["capex_to_ocf"]).reset_index().dropna(subset=["capex_to_ocf"])
    years = years.sort_values("period_end").groupby("ticker").tail(1).set_index("ticker")
    layers = universe().set_index("ticker")["layer"]
    rows = []
    for ticker, info in manifest()["companies"].items():
        year = years.loc[ticker] if ticker in years.index else None
        rows.append({
            "ticker": ticker, "layer": layers.get(ticker, ""),
            "latest period": f"{info['latest_fiscal_period']} (ends {info['latest_period_end']})",
            "latest FY": "" if year is None else f"FY{year['fiscal_year']}",
            "capex / OCF": None if year is None else year["capex_to_ocf"],
            "unit": info["unit"],
        })
    return pd.DataFrame(rows)


def _cmd_summary(args) -> int:
    from .snapshot import manifest

    m = manifest()
    table = summary_table()
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(f"snapshot built {m['built_at']} (library {m['library_version']})")
        print(table.to_string(index=False))
    return 0


def _cmd_build(args) -> int:
    """Summarise the committed snapshot, then build the HTML book from it (no network)."""
    from .book import build

    _cmd_summary(args)
    return build()


def _cmd_refresh(args) -> int:
    """Download fresh SEC filings and prices; swap in a validated new edition of the snapshot."""
    from .edition import render_markdown
    from .refresh import refresh

    try:
        result = refresh(allow_partial=args.allow_partial, progress=not args.quiet)
    except KeyboardInterrupt:
        print("error: refresh interrupted; the snapshot was not changed", file=sys.stderr)
        return 130
    print(f"refreshed {result.target} in {result.seconds:.1f} s")
    print(render_markdown(result.diff))
    return 0


def _cmd_new_chapter(args) -> int:
    from .scaffold import new_chapter

    written = new_chapter(args.title, args.claim_id, args.claim)
    for what, path in written.items():
        print(f"{what:<8} {path}")
    print("next: write the chapter, set its rule in data/claims.csv, then `python -m valuechain_lib build`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="valuechain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="build data/snapshot from raw public files (developers)")
    snap.add_argument("--from", dest="source", help="folder holding sec/ and prices/ (default ../shared/data)")
    snap.add_argument("--quiet", action="store_true", help="no progress bar")
    snap.set_defaults(func=_cmd_snapshot)
    summ = sub.add_parser("summary", help="print a summary table of the committed snapshot")
    summ.set_defaults(func=_cmd_summary)
    fresh = sub.add_parser("refresh", help="download fresh SEC filings and prices into a new snapshot edition "
                           "(needs the network and VALUECHAIN_SEC_IDENTITY)")
    fresh.add_argument("--allow-partial", action="store_true",
                       help="keep the previous rows of companies/tickers that fail instead of failing")
    fresh.add_argument("--quiet", action="store_true", help="no progress bar")
    fresh.set_defaults(func=_cmd_refresh)
    build = sub.add_parser("build", help="build the book from the committed snapshot (no network)")
    build.set_defaults(func=_cmd_build)
    new = sub.add_parser("new-chapter", help="scaffold a thesis chapter: notebook, TOC entry, claim row, smoke test")
    new.add_argument("title", help="the chapter's title")
    new.add_argument("--claim-id", required=True, help="a new claim id, e.g. C1")
    new.add_argument("--claim", required=True, help="the claim the chapter tests, in one sentence")
    new.set_defaults(func=_cmd_new_chapter)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
