"""A local server that compresses like GitHub Pages, for measuring what a reader's browser fetches.

GitHub Pages answers ``Accept-Encoding: gzip`` with gzip for text (HTML, CSS, JavaScript, JSON, SVG, CSV,
plain text) and sends fonts and images as they are. `GzipServer` does the same from a built book folder
(compression level 6, a common server default), so Chromium's ``encodedDataLength`` counts the bytes a
first visit of the published book costs. Used by ``tests/test_page_weight.py`` and
``benchmarks/bench_speed.py``.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import threading
from pathlib import Path

from tests.browser_tools import StaticServer, _QuietHandler

COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


class _GzipHandler(_QuietHandler):
    _cache: dict = {}
    _lock = threading.Lock()

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            return super().send_head()  # directory redirects and index.html: as the plain server
        ctype = self.guess_type(path)
        wants = "gzip" in self.headers.get("Accept-Encoding", "")
        if not wants or not ctype.startswith(COMPRESSED_TYPES) or not os.path.isfile(path):
            return super().send_head()
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            body = self._cache.get(key)
            if body is None:
                body = gzip.compress(Path(path).read_bytes(), compresslevel=6, mtime=0)
                self._cache[key] = body
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        import io

        return io.BytesIO(body)


class GzipServer(StaticServer):
    """`browser_tools.StaticServer`, answering text with gzip as GitHub Pages does."""

    def __enter__(self) -> GzipServer:
        handler = functools.partial(_GzipHandler, directory=str(self.root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="book-http-gzip", daemon=True)
        self.thread.start()
        return self


#: The reader's link the book is measured on: 10 Mbit/s down and up, 40 ms latency (Chromium's emulation).
SLOW_LINK = {"offline": False, "latency": 40, "downloadThroughput": 10_000_000 / 8, "uploadThroughput": 10_000_000 / 8}


def first_visit(browser, server, rel: str, link: dict | None = None, timeout: float = 30) -> dict:
    """Load ``rel`` once with a cold cache (optionally over an emulated ``link``) and say what it cost.

    Returns
    -------
    dict
        ``first_chart`` and ``all_charts`` (s from navigation start, None without charts), ``wire`` (bytes
        on the wire, headers included, every request), ``before_chart`` (those finished by the first chart),
        ``requests`` (url, encoded bytes, finished at s) and ``charts`` (each chart container's state).
    """
    from tests.browser_tools import FIRST_CHART_PROBE

    with browser.new_page(cache_disabled=True, init_script=FIRST_CHART_PROBE) as page:
        if link:
            page.send("Network.emulateNetworkConditions", **link)
        page.navigate(server.url(rel), timeout=timeout)
        page.wait_for("window.__vcAllCharts !== undefined || "
                      "(document.readyState === 'complete' && !document.querySelector('div.vc-chart'))",
                      timeout=timeout)
        page.wait_network_idle(quiet=0.3, timeout=timeout)
        first, every = page.evaluate("[window.__vcFirstChart, window.__vcAllCharts]")
        charts = page.evaluate("[].map.call(document.querySelectorAll('div.vc-chart'), e => e.getAttribute('data-vc-state'))")
        sent = {p["requestId"]: p for p in page.events("Network.requestWillBeSent")}
        done = {p["requestId"]: p for p in page.events("Network.loadingFinished")}
    start = min((p["timestamp"] for p in sent.values()), default=0.0)
    requests = [{"url": sent[r]["request"]["url"], "bytes": int(p.get("encodedDataLength", 0)),
                 "at": p["timestamp"] - start} for r, p in done.items() if r in sent]
    cut = None if first is None else first / 1000
    return {"first_chart": cut, "all_charts": None if every is None else every / 1000,
            "wire": sum(r["bytes"] for r in requests),
            "before_chart": sum(r["bytes"] for r in requests if cut is None or r["at"] <= cut),
            "requests": requests, "charts": charts}
