"""Benchmark (issue 16): build time, what a data change re-runs, first-visit bytes and first chart, against a
base commit, as ratios measured in one run.

Two trees are copied to a temporary folder -- this working tree and the base commit (default ``2103eb2``,
the commit before issue 16's first change; taken with ``git worktree``, or ``--base PATH``) -- and each is
measured the same way, the two interleaved so that a busy machine slows both alike:

  cold build      ``valuechain_lib.publish.build.build()`` with no ``_build`` (every page runs): wall time
                  (median of ``--runs``) and the CPU seconds of the build and all its processes;  <= 20 s
  warm build      the same again, nothing changed;
  one-table change  one close price in ``data/snapshot/prices.csv`` raised 1 % and its sha256 written to the
                  manifest (as a refresh would): the rebuild's time and the pages it ran (a page ran when
                  myst-nb or the notebook pool logged running it), which should be the pages that read
                  prices only;
  first visit     every chapter loaded once with a cold cache in headless Chromium from a server that
                  compresses like GitHub Pages (gzip): the bytes on the wire (Chromium's count, headers
                  included); the largest chapter is shown;                                <= 350 KB
  first chart     navigation start to the first chart drawn over an emulated 10 Mbit/s, 40 ms link
                  (Chromium's network emulation), median of ``--page-runs`` loads per chapter, the slowest
                  chapter shown, with the bytes fetched before that chart;                   <= 0.7 s

Run: ``python benchmarks/bench_speed.py`` (``--base PATH`` a checked-out base tree instead of a git
worktree; ``--runs N`` cold builds per tree, default 2; ``--page-runs N``, default 3; ``--keep``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere: the repository's tests/ helpers

from tests.browser_tools import INSTALL_HINT, Browser, find_chromium  # noqa: E402
from tests.gzip_server import SLOW_LINK, GzipServer, first_visit  # noqa: E402

BASE_COMMIT = "2103eb2"
TARGETS = {"cold": 20.0, "visit": 350_000, "first_chart": 0.7}
_SKIP = shutil.ignore_patterns(".git", "_build", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__",
                               "*.egg-info", ".benchmarks", ".ipynb_checkpoints", "snapshot.previous", ".snapshot-new-*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=_SKIP, symlinks=True)
    shutil.rmtree(dest / "book" / "_static" / "data", ignore_errors=True)  # made by the build
    return dest


def build(tree: Path, log: Path) -> dict:
    """One build of ``tree`` with its own library and data: wall and CPU seconds, pages run, return code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("VALUECHAIN_DATA", None)
    # The base commit's build lives in the page helpers' module; this tree's in its own.
    cmd = [sys.executable, "-c", "try:\n    from valuechain_lib.publish.build import build\n"
           "except ImportError:\n    from valuechain_lib.publish.book import build\nraise SystemExit(build())"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = _ANSI.sub("", done.stdout + done.stderr)
    with open(log, "a", encoding="utf-8") as out:
        out.write(text)
    ran = set(re.findall(r"^vc_execute: (\S+): ran in", text, re.M))
    ran |= {Path(p).relative_to(tree).with_suffix("").as_posix()
            for p in re.findall(r"^(\S+\.(?:md|ipynb)): Executing notebook using", text, re.M)}
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "ran": sorted(ran), "rc": done.returncode}


def cold(tree: Path, log: Path) -> dict:
    shutil.rmtree(tree / "_build", ignore_errors=True)
    shutil.rmtree(tree / "book" / "_static" / "data", ignore_errors=True)
    return build(tree, log)


def change_one_table(tree: Path) -> str:
    """Raise one close price by 1 % in prices.csv and record the file's new sha256 in the manifest."""
    table = tree / "data" / "snapshot" / "prices.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = lines[2].rstrip("\n").split(",")
    column = header.index("close")
    row[column] = repr(round(float(row[column]) * 1.01, 4))
    lines[2] = ",".join(row) + "\n"
    table.write_text("".join(lines), encoding="utf-8")
    manifest_path = tree / "data" / "snapshot" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tables"]["prices"]["sha256"] = hashlib.sha256(table.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return "data/snapshot/prices.csv"


def pages(tree: Path, page_runs: int) -> dict:
    """First-visit bytes and first-chart times of every chapter of ``tree``'s built book."""
    html = tree / "_build" / "html"
    out = {}
    with GzipServer(html) as server, Browser() as browser:
        for page in sorted((html / "chapters").glob("*.html")):
            rel = f"chapters/{page.name}"
            visit = first_visit(browser, server, rel)
            slow = [first_visit(browser, server, rel, SLOW_LINK) for _ in range(page_runs)]
            firsts = [v["first_chart"] for v in slow if v["first_chart"] is not None]
            out[page.stem] = {"wire": visit["wire"],
                              "first_chart": statistics.median(firsts) if firsts else None,
                              "before_chart": statistics.median(v["before_chart"] for v in slow)}
    return out


def _fmt(value, unit: str) -> str:
    if value is None:
        return "-"
    return {"s": f"{value:.1f} s", "ms": f"{value:.2f} s", "KB": f"{value / 1000:.0f} KB"}.get(unit, str(value))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, help=f"a checked-out base tree (default: git worktree of {BASE_COMMIT})")
    parser.add_argument("--base-commit", default=BASE_COMMIT)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--page-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not find_chromium():
        print(f"chromium is not installed; install it with: {INSTALL_HINT}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="vc-bench-speed-"))
    worktree = None
    try:
        if args.base is None:
            worktree = tmp / "base-worktree"
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(worktree),
                            args.base_commit], check=True, capture_output=True)
        base_source = args.base or worktree
        trees = {"base": copy_tree(base_source, tmp / "base"), "this": copy_tree(REPO_ROOT, tmp / "this")}
        logs = {name: tmp / f"{name}.log" for name in trees}
        print(f"base: {args.base_commit if args.base is None else base_source} | this: {REPO_ROOT} "
              f"(copies in {tmp}; logs {tmp}/*.log); {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        results: dict = {name: {"cold": []} for name in trees}
        for run in range(max(1, args.runs)):
            for name, tree in trees.items():  # interleaved: a busy moment hits both
                result = cold(tree, logs[name])
                results[name]["cold"].append(result)
                print(f"  cold build {run + 1} {name}: {result['wall']:.1f} s, {result['cpu']:.1f} CPU s, "
                      f"{len(result['ran'])} pages run, rc {result['rc']}", flush=True)
        for name, tree in trees.items():
            results[name]["warm"] = build(tree, logs[name])
            print(f"  warm build {name}: {results[name]['warm']['wall']:.1f} s", flush=True)
        for name, tree in trees.items():
            changed = change_one_table(tree)
            results[name]["change"] = build(tree, logs[name])
            print(f"  after changing {changed}, {name} ran {len(results[name]['change']['ran'])} pages in "
                  f"{results[name]['change']['wall']:.1f} s", flush=True)
        for name, tree in trees.items():
            results[name]["pages"] = pages(tree, args.page_runs)
        # The table.
        rows = []
        for name in trees:
            r = results[name]
            walls = [c["wall"] for c in r["cold"]]
            visits = {k: v["wire"] for k, v in r["pages"].items()}
            charts = {k: v["first_chart"] for k, v in r["pages"].items() if v["first_chart"] is not None}
            heaviest = max(visits, key=visits.get)
            slowest = max(charts, key=charts.get)
            r["summary"] = {
                "cold": statistics.median(walls), "cpu": statistics.median(c["cpu"] for c in r["cold"]),
                "warm": r["warm"]["wall"], "change": r["change"]["wall"], "ran": len(r["change"]["ran"]),
                "visit": visits[heaviest], "visit_page": heaviest,
                "visit_median": statistics.median(visits.values()),
                "chart": charts[slowest], "chart_page": slowest,
                "chart_median": statistics.median(charts.values()),
                "before_chart": r["pages"][slowest]["before_chart"]}
            rows.append(r["summary"])
        base, this = rows
        print(f"\nIssue 16 figures: base {args.base_commit} vs this tree, measured in one run "
              f"(ratio = this / base)\n")
        print(f"  {'figure':<52} {'base':>12} {'this':>12} {'ratio':>7}  target")
        table = [
            (f"cold build, wall (median of {len(walls)})", "cold", "s", f"<= {TARGETS['cold']:.0f} s"),
            ("cold build, CPU seconds of all its processes", "cpu", "s", ""),
            ("warm build (nothing changed)", "warm", "s", ""),
            ("rebuild after one table (prices.csv) changed", "change", "s", ""),
            ("  pages run by that rebuild", "ran", "", "its readers only"),
            ("first visit, heaviest chapter (gzip, on the wire)", "visit", "KB", "<= 350 KB"),
            ("first visit, median chapter", "visit_median", "KB", ""),
            ("first chart, slowest chapter, 10 Mbit/s 40 ms", "chart", "ms", "<= 0.7 s"),
            ("first chart, median chapter", "chart_median", "ms", ""),
            ("  bytes fetched before that first chart", "before_chart", "KB", ""),
        ]
        for label, key, unit, target in table:
            ratio = this[key] / base[key] if base[key] else float("nan")
            print(f"  {label:<52} {_fmt(base[key], unit):>12} {_fmt(this[key], unit):>12} {ratio:7.2f}  {target}")
        print(f"\n  heaviest chapter: base {base['visit_page']}, this {this['visit_page']}; slowest first chart: "
              f"base {base['chart_page']}, this {this['chart_page']}")
        print(f"  pages run after the one-table change: base {results['base']['change']['ran']}")
        print(f"                                        this {results['this']['change']['ran']}")
        failed = [n for n in trees if any(c["rc"] for c in results[n]["cold"]) or results[n]["change"]["rc"]]
        if failed:
            print(f"\n  builds failed for: {failed} (logs in {tmp})")
            args.keep = True
        (tmp / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True, check=False)
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
