"""Command line: build the snapshot from raw files, print a summary of the committed one.

``python -m valuechain_lib snapshot --from ../shared/data``  (developers; needs the raw files)
``python -m valuechain_lib summary``                          (anyone; reads the committed snapshot)
``python -m valuechain_lib check``                            (anyone; checks every data file a build reads)
``python -m valuechain_lib refresh``                          (live data; needs VALUECHAIN_SEC_IDENTITY)
``python -m valuechain_lib edition``                          (refresh, validate, record, test, build: all or nothing)

A bad input file or argument ends with one line, ``error: <what is wrong, where>``, and exit code 2;
Ctrl-C with one line and exit code 130. A traceback means a bug in the library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

from valuechain_lib.errors import ValueChainError
from valuechain_lib.workflows.checks import data_checks

if TYPE_CHECKING:
    import pandas as pd

#: Exit codes: a problem the user can fix (bad file or argument), and an interrupt (128 + SIGINT).
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


def _cmd_snapshot(args) -> int:
    from tqdm import tqdm

    from valuechain_lib.paths import raw_data_dir
    from valuechain_lib.snapshot.build import build_snapshot, write_snapshot

    raw = args.source or raw_data_dir()
    started = time.perf_counter()
    from valuechain_lib.snapshot.universe import universe

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
    import pandas as pd

    from valuechain_lib.calc.metrics import compute
    from valuechain_lib.calc.periods import fiscal_label
    from valuechain_lib.snapshot.financials import financials
    from valuechain_lib.snapshot.store import manifest
    from valuechain_lib.snapshot.universe import universe

    years = compute(financials(freq="FY"), ["capex_to_ocf"]).reset_index().dropna(subset=["capex_to_ocf"])
    years = years.sort_values("period_end").groupby("ticker").tail(1).set_index("ticker")
    layers = universe().set_index("ticker")["layer"]
    rows = []
    for ticker, info in manifest()["companies"].items():
        year = years.loc[ticker] if ticker in years.index else None
        rows.append({
            "ticker": ticker, "layer": layers.get(ticker, ""),
            "latest period": f"{info['latest_fiscal_period']} (ends {info['latest_period_end']})",
            "latest FY": "" if year is None else fiscal_label(year["fiscal_year"], "FY"),
            "capex / OCF": None if year is None else year["capex_to_ocf"],
            "unit": info["unit"],
        })
    return pd.DataFrame(rows)


def _cmd_summary(args) -> int:
    import pandas as pd

    from valuechain_lib.snapshot.store import manifest

    m = manifest()
    table = summary_table()
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(f"snapshot built {m['built_at']} (library {m['library_version']})")
        print(table.to_string(index=False))
    return 0


def _naming(name: str, message: str) -> str:
    """``message``, prefixed with the data file it concerns unless it already names that file."""
    from valuechain_lib.paths import data_dir
    from valuechain_lib.snapshot.facts import shown_path

    if Path(name).name.replace("*", "") in message or re.match(r"^\S+\.(csv|json)\b", message):
        return message  # it names its file already (another file than the one being checked, perhaps)
    return f"{shown_path(data_dir() / name)}: {message}"


def _cmd_check(args) -> int:
    """Load and validate every data file a build reads; stop at the first broken one."""
    for name, load in data_checks():
        try:
            what = load()
        except ValueChainError as exc:
            raise ValueChainError(_naming(name, _one_line(exc))) from exc
        except (ValueError, OSError) as exc:
            message = data_file_error(exc)
            if message is None:
                raise
            raise ValueChainError(_naming(name, message)) from exc
        if not args.quiet:
            print(f"ok  {name:<30} {what}")
    return 0


def _cmd_build(args) -> int:
    """Check the data files, summarise the committed snapshot, then build the HTML book (no network).

    The check and the summary read the data folder the pages will read (`valuechain_lib.publish.build.build_environment`), so a
    broken file stops the build in one line before any page runs.
    """
    from valuechain_lib.publish.build import build, build_environment, start_pool

    env = build_environment()
    pool = start_pool(env)  # its preload overlaps the checks below and Jupyter Book's start
    os.environ["VALUECHAIN_DATA"] = env["VALUECHAIN_DATA"]
    try:
        _cmd_check(argparse.Namespace(quiet=True))
        _cmd_summary(args)
        return build(pool=pool)
    finally:
        if pool is not None:
            pool.close(terminate=True)  # the build has ended it already unless it stopped before starting


def _cmd_refresh(args) -> int:
    """Download fresh SEC filings and prices; swap in a validated new edition of the snapshot."""
    from valuechain_lib.workflows.edition import render_markdown
    from valuechain_lib.workflows.refresh import refresh

    result = refresh(allow_partial=args.allow_partial, progress=not args.quiet)
    print(f"refreshed {result.target} in {result.seconds:.1f} s")
    print(render_markdown(result.diff))
    return 0


def _append_text(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def _cmd_edition(args) -> int:
    """Make an edition (`valuechain_lib.workflows.edition.run_edition`); with ``--seed``, only record the live
    snapshot's verdicts as its edition when the history lacks it."""
    from valuechain_lib.publish.build import build_environment
    from valuechain_lib.workflows.edition import EditionError, commit_message, run_edition, seed_history

    os.environ["VALUECHAIN_DATA"] = build_environment()["VALUECHAIN_DATA"]
    if args.seed:
        seeded = seed_history()
        print(f"recorded edition {seeded} in data/verdict_history.csv" if seeded
              else "the live snapshot's edition is already in data/verdict_history.csv")
        return 0
    try:
        result = run_edition(allow_partial=args.allow_partial, progress=not args.quiet)
    except EditionError as exc:
        _append_text(args.summary, exc.summary)
        print(exc.summary, file=sys.stderr)
        raise
    _append_text(args.summary, result.summary)
    if args.commit_message:
        Path(args.commit_message).write_text(commit_message(result.diff), encoding="utf-8")
    print(result.summary)
    print(f"edition {result.edition} recorded and built in {result.seconds:.0f} s")
    return 0


def _cmd_new_chapter(args) -> int:
    from valuechain_lib.publish.scaffold import new_chapter

    written = new_chapter(args.title, args.claim_id, args.claim, book_claim=args.book_claim)
    for what, path in written.items():
        print(f"{what:<8} {path}")
    rule = written.get("rule")
    print("next: write the chapter"
          + (f", edit the starter rule in {rule.relative_to(rule.parents[2])}" if rule else "")
          + ", point the claim's row in data/claims.csv at it, then `python -m valuechain_lib build`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="valuechain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="build data/snapshot from raw public files (developers)")
    snap.add_argument("--from", dest="source", help="folder holding sec/ and prices/ (default ../shared/data)")
    snap.add_argument("--quiet", action="store_true", help="no progress bar")
    snap.set_defaults(func=_cmd_snapshot, interrupted="snapshot interrupted; the committed snapshot was not changed")
    summ = sub.add_parser("summary", help="print a summary table of the committed snapshot")
    summ.set_defaults(func=_cmd_summary)
    fresh = sub.add_parser("refresh", help="download fresh SEC filings and prices into a new snapshot edition "
                           "(needs the network and VALUECHAIN_SEC_IDENTITY)")
    fresh.add_argument("--allow-partial", action="store_true",
                       help="keep the previous rows of companies/tickers that fail instead of failing")
    fresh.add_argument("--quiet", action="store_true", help="no progress bar")
    fresh.set_defaults(func=_cmd_refresh, interrupted="refresh interrupted; the snapshot was not changed")
    ed = sub.add_parser("edition", help="refresh, validate, record the verdicts, run the tests and build the book; "
                        "if any step fails nothing is recorded (needs the network and VALUECHAIN_SEC_IDENTITY)")
    ed.add_argument("--allow-partial", action="store_true", help="as for refresh")
    ed.add_argument("--quiet", action="store_true", help="no progress bar")
    ed.add_argument("--summary", metavar="FILE", help="append the Markdown report to FILE, pass or fail "
                    "(in GitHub Actions: $GITHUB_STEP_SUMMARY)")
    ed.add_argument("--commit-message", metavar="FILE", help="on success, write the edition's commit message to FILE")
    ed.add_argument("--seed", action="store_true", help="no refresh: record the live snapshot's verdicts as its "
                    "edition in data/verdict_history.csv if they are not there yet")
    ed.set_defaults(func=_cmd_edition, interrupted="edition interrupted; the snapshot and verdict history were put "
                    "back as they were")
    build = sub.add_parser("build", help="check the data files, then build the book from the committed snapshot "
                           "(no network)")
    build.set_defaults(func=_cmd_build, interrupted="build interrupted: _build/html is incomplete; run "
                       "`python -m valuechain_lib build` again (pages already executed come from the cache)")
    check = sub.add_parser("check", help="load and validate every data file a build reads (one line each)")
    check.add_argument("--quiet", action="store_true", help="print nothing when every file is valid")
    check.set_defaults(func=_cmd_check)
    new = sub.add_parser("new-chapter", help="scaffold a thesis chapter: notebook, TOC entry, claim row, smoke test")
    new.add_argument("title", help="the chapter's title")
    new.add_argument("--claim-id", required=True, help="a new fork claim id, e.g. X1 (X ids are reserved for forks)")
    new.add_argument("--book-claim", action="store_true",
                     help="scaffold one of the book's own claims (a C id) instead of a fork's")
    new.add_argument("--claim", required=True, help="the claim the chapter tests, in one sentence")
    new.set_defaults(func=_cmd_new_chapter)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_SUFFIXES = (".csv", ".json", ".md", ".yml")


def _file_of(value) -> str | None:
    """A data file named by a local variable: a path, a path string or an open file."""
    if isinstance(value, types.ModuleType | type):
        return None
    name = getattr(value, "name", None) if hasattr(value, "read") else value
    if isinstance(name, str | os.PathLike) and str(name).endswith(_SUFFIXES):
        return str(name)
    return None


def _file_in_traceback(exc: BaseException) -> str | None:
    """The innermost library frame's data file when ``exc`` was raised while reading it, else None."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__", "").startswith("valuechain_lib"):
            for value in frame.f_locals.values():
                found = _file_of(value) or found
        tb = tb.tb_next
    return found


def data_file_error(exc: BaseException) -> str | None:
    """One line for a raw parse error raised while the library read one of its files; None for a bug.

    The library's readers turn what they can into `ValueChainError` naming the file and row; this is
    the safety net for the rest: JSON and CSV parse errors, undecodable text, a file that cannot be opened.

    Parameters
    ----------
    exc : BaseException
        The exception the command raised.

    Returns
    -------
    str or None
        E.g. ``"cannot read data/universe.csv: Integer column has NA values in column 5"``.
    """
    import pandas as pd

    where = _file_in_traceback(exc)
    shown = where or "a data file"
    if isinstance(exc, json.JSONDecodeError):
        return f"{shown} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; truncated?)"
    if isinstance(exc, UnicodeDecodeError):
        return f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot open {exc.filename}: {exc.strerror or _one_line(exc)}"
    if isinstance(exc, pd.errors.ParserError | pd.errors.EmptyDataError):
        return f"cannot read {shown} as a CSV table: {_one_line(exc)}"
    if isinstance(exc, ValueError) and where and _raised_in_pandas_reader(exc):
        return f"cannot read {where}: {_one_line(exc)} (a short or malformed row?)"
    return None


def _raised_in_pandas_reader(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("pandas.io."):
            return True
        tb = tb.tb_next
    return False


def main(argv=None) -> int:
    """Run a command; a user's error prints ``error: ...`` (exit 2), Ctrl-C one line (exit 130).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The command's exit code.
    """
    args = None
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        print(getattr(args, "interrupted", "interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueChainError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, OSError) as exc:
        message = data_file_error(exc)
        if message is None:
            raise  # not a bad input: a bug, whose traceback belongs in a report
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
