"""Benchmark: the book's build times, page weights and time to first chart in headless Chromium.

Works on a copy of the repository in a temporary folder, so the working tree's ``_build`` is never
touched (``.git``, ``_build``, caches and the generated ``book/_static/data`` are left out of the copy),
and prints each figure against its target:

  (a) cold build: ``valuechain_lib.publish.build.build()`` with an empty ``_build`` (every notebook executes)  <= 60 s
  (b) warm rebuild: the same command again, nothing changed                                          <= 10 s
  (c) bytes per chapter page, uncompressed:
        own HTML and data: the page's HTML file + the CSVs its figures' download links point to   <= 200 KB
        first visit, cold cache: every file the page requests (HTML, scripts, stylesheets, fonts,
        images, CSV/JSON), summed from the local files the requests name; the bytes on the wire
        (CDP Network.loadingFinished encodedDataLength, headers included) are shown beside it     <= 2.5 MB
  (d) time from navigation start to the first chart drawn (an svg inside a div.vc-chart), from a
      MutationObserver reading performance.now(); median of ``--runs`` cold-cache loads per chapter  <= 1 s
      (the time until every chart of the page is drawn is shown for information).

The copy's build runs with ``PYTHONPATH`` set to the copy, so the kernels import the copy's
``valuechain_lib`` (checked before building). Headless Chromium is driven over the DevTools protocol by
``tests/browser_tools.py`` (Debian's ``/usr/bin/chromium``; ``apt-get install -y chromium``).

Run: ``python benchmarks/bench_book.py`` (``--html _build/html`` measures an existing build only, no
builds; ``--keep`` keeps the temporary copy; ``--runs N`` page loads per chapter, default 3).
Exit status 0, or 1 with ``--strict`` when a figure misses its target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere: the repository's tests/ helpers

from tests.browser_tools import FIRST_CHART_PROBE, INSTALL_HINT, Browser, StaticServer, find_chromium  # noqa: E402

KB, MB = 1000, 1000 * 1000
TARGETS = {"cold": 60.0, "warm": 10.0, "own": 200 * KB, "visit": 2.5 * MB, "first_chart": 1.0}

# Left out of the copy: history, build output, caches, and files the build itself generates.
_IGNORE_ANYWHERE = shutil.ignore_patterns(".git", "_build", ".pytest_cache", ".hypothesis", ".ruff_cache",
                                         "__pycache__", "*.egg-info", ".benchmarks", ".ipynb_checkpoints")
_IGNORE_AT = {REPO_ROOT / "benchmarks": {"results"}, REPO_ROOT / "data": {"snapshot.previous"},
              REPO_ROOT / "book" / "_static": {"data"}}


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = set(_IGNORE_ANYWHERE(folder, names)) | (_IGNORE_AT.get(Path(folder), set()) & set(names))
    if Path(folder) == REPO_ROOT / "data":
        skip |= {n for n in names if n.startswith(".snapshot-new-")}
    return skip


def verdict(value: float, target: float) -> str:
    return "ok  " if value <= target else "MISS"


# --------------------------------------------------------------------------- builds
def copy_repo(dest: Path) -> Path:
    repo = dest / "repo"
    shutil.copytree(REPO_ROOT, repo, ignore=_ignore, symlinks=True)
    return repo


def build_env(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
    return env


def check_import(repo: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "import valuechain_lib; print(valuechain_lib.__file__)"],
                         cwd=repo / "chapters", env=build_env(repo), capture_output=True, text=True, check=True)
    where = Path(out.stdout.strip()).resolve()
    if repo.resolve() not in where.parents:
        raise SystemExit(f"the copy would import valuechain_lib from {where}, not from {repo}: refusing to build")


def timed_build(repo: Path, log: Path) -> tuple[float, int]:
    cmd = [sys.executable, "-c", "from valuechain_lib.publish.build import build; raise SystemExit(build())"]
    start = time.perf_counter()
    with open(log, "ab") as out:
        rc = subprocess.run(cmd, cwd=repo, env=build_env(repo), stdout=out, stderr=subprocess.STDOUT,
                            check=False).returncode
    return time.perf_counter() - start, rc


# --------------------------------------------------------------------------- pages
class _Downloads(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "vc-download" in (a.get("class") or "").split() and a.get("href"):
            self.hrefs.append(a["href"])


def own_bytes(html_dir: Path, page: Path) -> tuple[int, int, list[str]]:
    """(HTML bytes, linked CSV bytes, CSV links whose file is missing) for one built page."""
    parser = _Downloads()
    parser.feed(page.read_text(encoding="utf-8"))
    data, missing = 0, []
    for href in dict.fromkeys(parser.hrefs):
        target = (page.parent / href.split("#")[0].split("?")[0]).resolve()
        if target.is_file() and html_dir.resolve() in target.parents:
            data += target.stat().st_size
            continue
        missing.append(href)
        # Not in the build: count the source file (book/_static/...) so the figure is not understated.
        rel = href.split("_static/", 1)[-1].split("#")[0].split("?")[0]
        source = html_dir.resolve().parents[1] / "book" / "_static" / rel
        if "_static/" in href and source.is_file():
            data += source.stat().st_size
    return page.stat().st_size, data, missing


def visit(browser: Browser, server: StaticServer, rel: str) -> dict:
    """One cold-cache load: requests, bytes, first-chart and all-charts times (ms)."""
    with browser.new_page(cache_disabled=True, init_script=FIRST_CHART_PROBE) as page:
        page.navigate(server.url(rel))
        page.wait_for("window.__vcAllCharts !== undefined || "
                      "(document.readyState === 'complete' && !document.querySelector('div.vc-chart'))",
                      timeout=15)
        page.wait_network_idle(quiet=0.5, timeout=10)
        first, every, nav = page.evaluate(
            "[window.__vcFirstChart, window.__vcAllCharts,"
            " (performance.getEntriesByType('navigation')[0] || {}).loadEventEnd]")
        requests = page.requests()
    files, wire, by_type, foreign = {}, 0, {}, []
    for r in requests:
        wire += r["encoded"] or 0
        path = server.local_path(r["url"])
        if path is None:
            if not r["url"].startswith("data:"):
                foreign.append(r["url"])
            continue
        if path.is_file() and (r["status"] or 0) < 400:
            size = path.stat().st_size
            if r["url"] not in files:
                files[r["url"]] = size
                by_type[r["type"] or "Other"] = by_type.get(r["type"] or "Other", 0) + size
    return {"first": first, "all": every, "load": nav, "files": files, "wire": wire, "by_type": by_type,
            "foreign": foreign}


def measure_pages(html_dir: Path, runs: int) -> list[str]:
    """Print (c) and (d) for every chapter page; return the names of figures that missed."""
    misses = []
    chapters = sorted((html_dir / "chapters").glob("*.html"))
    print(f"\n(c) bytes per chapter page (uncompressed; KB = 1000 bytes), {html_dir}")
    print(f"  {'page':<18} {'HTML':>9} {'CSVs':>9} {'own':>9}  target {TARGETS['own'] / KB:.0f} KB"
          f"   {'first visit':>12} {'on wire':>10}  target {TARGETS['visit'] / MB:.1f} MB")
    with StaticServer(html_dir) as server, Browser() as browser:
        visits = {}
        for page in chapters:
            rel = f"chapters/{page.name}"
            visits[page.stem] = [visit(browser, server, rel) for _ in range(runs)]
            html, data, missing = own_bytes(html_dir, page)
            own = html + data
            first_visit = sum(visits[page.stem][0]["files"].values())
            wire = visits[page.stem][0]["wire"]
            print(f"  {page.stem:<18} {html / KB:8.1f}K {data / KB:8.1f}K {own / KB:8.1f}K  {verdict(own, TARGETS['own'])}"
                  f"          {first_visit / MB:10.2f}MB {wire / MB:9.2f}MB  {verdict(first_visit, TARGETS['visit'])}")
            if missing:
                print(f"  {'':<18} ! {len(missing)} download link(s) 404 in the build (CSVs counted from book/_static):"
                      f" {', '.join(missing)}")
            if own > TARGETS["own"]:
                misses.append(f"own bytes {page.stem}")
            if first_visit > TARGETS["visit"]:
                misses.append(f"first visit {page.stem}")
            if visits[page.stem][0]["foreign"]:
                print(f"  {'':<18} ! requests to other hosts: {visits[page.stem][0]['foreign']}")
        # What a first visit loads, by resource type and the largest files (same for every chapter but the HTML).
        sample = next(iter(visits.values()))[0] if visits else None
        if sample:
            kinds = ", ".join(f"{k} {v / KB:.0f}K" for k, v in sorted(sample["by_type"].items(), key=lambda kv: -kv[1]))
            print(f"  first visit of {chapters[0].stem} by type: {kinds}")
            largest = sorted(sample["files"].items(), key=lambda kv: -kv[1])[:6]
            print("  largest files: " + ", ".join(f"{u.split('/', 3)[-1].split('?')[0]} {s / KB:.0f}K"
                                                  for u, s in largest))

        print(f"\n(d) navigation start -> first chart drawn, headless Chromium, cold cache, median of {runs} "
              f"(target {TARGETS['first_chart']:.1f} s)")
        print(f"  {'page':<18} {'first chart':>12} {'(max)':>8} {'all charts':>11} {'load event':>11}")
        for name, runs_ in visits.items():
            firsts = [v["first"] for v in runs_ if v["first"] is not None]
            if not firsts:
                print(f"  {name:<18} {'no chart drawn':>12}")
                continue
            first = statistics.median(firsts) / 1000
            alls = [v["all"] for v in runs_ if v["all"] is not None]
            loads = [v["load"] for v in runs_ if v["load"]]
            every = f"{statistics.median(alls) / 1000:10.3f}s" if alls else f"{'-':>11}"
            load = f"{statistics.median(loads) / 1000:10.3f}s" if loads else f"{'-':>11}"
            print(f"  {name:<18} {first:11.3f}s {max(firsts) / 1000:7.3f}s {every} {load}  "
                  f"{verdict(first, TARGETS['first_chart'])}")
            if first > TARGETS["first_chart"]:
                misses.append(f"first chart {name}")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, help="measure this existing build only (no builds)")
    parser.add_argument("--runs", type=int, default=3, help="cold-cache page loads per chapter (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy of the repository")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    args = parser.parse_args()

    if not find_chromium():
        print(f"chromium is not installed; install it with: {INSTALL_HINT}", file=sys.stderr)
        return 2
    misses: list[str] = []
    tmp = None
    try:
        if args.html:
            html_dir = args.html.resolve()
        else:
            tmp = Path(tempfile.mkdtemp(prefix="vc-bench-book-"))
            repo = copy_repo(tmp)
            check_import(repo)
            log = tmp / "build.log"
            print(f"building a copy of the repository in {repo} (build log: {log})")
            cold, rc = timed_build(repo, log)
            print(f"\n(a) cold build (empty _build, every notebook executed): {cold:7.1f} s   "
                  f"target {TARGETS['cold']:.0f} s  {verdict(cold, TARGETS['cold'])}" + ("" if rc == 0 else f"  BUILD FAILED rc={rc}"))
            warm, rc2 = timed_build(repo, log)
            print(f"(b) warm rebuild (nothing changed):                   {warm:7.1f} s   "
                  f"target {TARGETS['warm']:.0f} s  {verdict(warm, TARGETS['warm'])}" + ("" if rc2 == 0 else f"  BUILD FAILED rc={rc2}"))
            misses += [n for n, v, t in (("cold build", cold, "cold"), ("warm rebuild", warm, "warm"))
                       if v > TARGETS[t]]
            if rc or rc2:
                print(f"build failed: see {log}")
                args.keep = True
                misses.append("build failed")
                if rc:
                    return 1
            html_dir = repo / "_build" / "html"
        misses += measure_pages(html_dir, max(1, args.runs))
    finally:
        if tmp is not None:
            if args.keep:
                print(f"\nkept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    print("\nall figures within target" if not misses else f"\nmissed: {', '.join(misses)}")
    return 1 if (args.strict and misses) else 0


if __name__ == "__main__":
    raise SystemExit(main())
