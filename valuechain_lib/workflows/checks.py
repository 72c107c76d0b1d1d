"""The data files a build reads, each with the check that loads and validates it (``check`` command, editions)."""

from __future__ import annotations

from collections.abc import Callable


def data_checks() -> list[tuple[str, Callable[[], str]]]:
    """The data files a build reads, each with the function that loads and validates it.

    Returns
    -------
    list of (str, callable)
        A file's name relative to the data folder and a function of no arguments returning a short
        description of what it holds; each raises a `ValueChainError` on a broken file.
    """
    from valuechain_lib.analyses import depreciation, who_pays_for_the_build_out
    from valuechain_lib.claims import ledger as claims
    from valuechain_lib.models import gpu_economics
    from valuechain_lib.snapshot import store as snapshot
    from valuechain_lib.snapshot.facts import facts
    from valuechain_lib.snapshot.prices import resolve_price_tickers
    from valuechain_lib.snapshot.universe import check_snapshot_ciks, lacking_in_snapshot, universe

    def companies() -> str:
        check_snapshot_ciks()
        lacking = lacking_in_snapshot()
        waiting = sorted({t for tickers in lacking.values() for t in tickers})
        note = f"; not yet fetched: {', '.join(waiting)} (run `python -m valuechain_lib refresh`)" if waiting else ""
        return f"{len(universe())} companies, CIKs match the snapshot{note}"

    def tables() -> str:
        files = snapshot.verify_snapshot()
        rows = sum(len(snapshot.load_table(name)) for name in snapshot.TABLE_FILES)
        return f"{len(files)} tables match their sha256, {rows:,} rows"

    return [
        ("universe.csv", companies),
        ("benchmarks.csv", lambda: f"{len(resolve_price_tickers())} price tickers with benchmarks"),
        ("snapshot/manifest.json", lambda: f"built {snapshot.manifest()['built_at']}"),
        ("snapshot/*.csv", tables),
        ("facts.csv", lambda: f"{len(facts())} facts"),
        ("essays.csv", lambda: f"{len(claims.essays())} essays"),
        ("claims.csv", lambda: f"{len(claims.ledger())} claims"),
        ("gpu_assumptions.csv", lambda: f"{len(gpu_economics.load_assumptions())} assumptions"),
        ("depreciation_assumptions.csv", lambda: f"{len(depreciation.load_assumptions())} assumptions"),
        ("financing_nil_lines.csv", lambda: f"{len(who_pays_for_the_build_out.nil_lines())} nil cash-flow lines"),
    ]
