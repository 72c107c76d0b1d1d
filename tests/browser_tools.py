"""Headless Chromium over the DevTools protocol (CDP), for the browser test and the book benchmark.

No browser is downloaded: the Debian ``chromium`` binary is started with ``--remote-debugging-port=0``,
its port is read from ``DevToolsActivePort`` in a throw-away profile, and CDP is spoken over one
websocket (``websockets``' sync client) with flattened target sessions. A small threaded
``http.server`` serves the built book on 127.0.0.1.

Used by ``tests/test_browser.py`` and ``benchmarks/bench_book.py``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import inspect
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = REPO_ROOT / "_build" / "html"
SCREENSHOT_DIR = REPO_ROOT / "_build" / "screenshots"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
INSTALL_HINT = "apt-get update && apt-get install -y chromium"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    # Not in the brief's list but harmless and useful offline / in containers:
    "--no-proxy-server",  # never route 127.0.0.1 through a proxy from the environment
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--hide-scrollbars",
    "--mute-audio",
)

# Records, in ms since navigation start (performance.now()), when the first chart svg/canvas appears
# (window.__vcFirstChart) and when every chart container has finished drawing (window.__vcAllCharts).
FIRST_CHART_PROBE = """
(function () {
  var obs;
  function check() {
    if (window.__vcFirstChart === undefined &&
        document.querySelector('div.vc-chart svg, div.vc-chart canvas')) {
      window.__vcFirstChart = performance.now();
    }
    if (window.__vcAllCharts === undefined && document.readyState !== 'loading') {
      var all = document.querySelectorAll('div.vc-chart');
      if (all.length && [].every.call(all, function (el) {
            var s = el.getAttribute('data-vc-state'); return s === 'done' || s === 'error'; })) {
        window.__vcAllCharts = performance.now();
      }
    }
    if (window.__vcAllCharts !== undefined && obs) obs.disconnect();
  }
  obs = new MutationObserver(check);
  obs.observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-vc-state']});
})();
"""

# State of every chart container on a page, and the captions of every chart figure.
CHART_STATE_JS = """
(function () {
  var charts = [].map.call(document.querySelectorAll('div.vc-chart'), function (el) {
    var g = el.querySelector('svg, canvas'), r = g ? g.getBoundingClientRect() : null;
    return {id: el.id, state: el.getAttribute('data-vc-state'), kind: g ? g.tagName.toLowerCase() : null,
            in_figure: !!el.closest('figure.vc-figure'),
            width: r ? r.width : 0, height: r ? r.height : 0,
            marks: g ? g.querySelectorAll('path, rect, line, circle, text, symbol').length : 0,
            text: el.textContent.slice(0, 200)};
  });
  var figures = [].map.call(document.querySelectorAll('figure.vc-figure'), function (f) {
    var cap = f.querySelector('figcaption'), a = f.querySelector('figcaption a.vc-download, a.vc-download');
    return {id: f.id, caption: cap ? cap.innerText : null,
            download: a ? a.href : null, download_attr: a ? a.getAttribute('download') : null,
            has_chart: !!f.querySelector('div.vc-chart')};
  });
  var data_links = [].map.call(document.querySelectorAll('a[href]'), function (a) { return a.href; })
    .filter(function (h) { return h.indexOf('/_static/data/') >= 0; });
  return {charts: charts, figures: figures, data_links: data_links, ready: document.readyState,
          href: location.href};
})()
"""


class CDPError(RuntimeError):
    """A DevTools command failed, timed out, or the browser went away."""


class ChromiumMissing(RuntimeError):
    """No chromium binary on this machine."""


def find_chromium() -> str | None:
    """Return the path of a Chromium binary (``$CHROMIUM`` first), or None."""
    for name in (os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES):
        if not name:
            continue
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


# --------------------------------------------------------------------------- local HTTP server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticServer:
    """Serve a folder on 127.0.0.1 at a free port from a daemon thread (``with StaticServer(d) as s``)."""

    def __init__(self, root: Path | str = HTML_DIR):
        self.root = Path(root)
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> StaticServer:
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="book-http", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return self.httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def local_path(self, url: str) -> Path | None:
        """The file under the served root that a URL of this server names (None for other URLs)."""
        if not url.startswith(self.origin + "/"):
            return None
        rel = urllib.request.url2pathname(url[len(self.origin) + 1:].split("#")[0].split("?")[0])
        path = self.root / rel
        return path / "index.html" if path.is_dir() else path


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET a URL without any proxy from the environment; return (status, body)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read() or b""


# --------------------------------------------------------------------------- browser
class Browser:
    """One headless Chromium process and one CDP websocket to it (``with Browser() as b``)."""

    def __init__(self, executable: str | None = None, width: int = 1280, height: int = 900,
                 start_timeout: float = 30):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise ChromiumMissing(f"chromium not found (looked for {', '.join(CHROMIUM_CANDIDATES)}); "
                                  f"install it with: {INSTALL_HINT}")
        self.width, self.height, self.start_timeout = width, height, start_timeout
        self.proc: subprocess.Popen | None = None
        self.profile: str | None = None
        self.ws = None
        self._ids = itertools.count(1)
        self._pending: dict[int, dict[str, Any]] = {}
        self._events: list[tuple[str | None, str, dict, float]] = []
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._closed = False

    # -- lifecycle
    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="vc-chromium-")
        args = [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._log = open(Path(self.profile).parent / (Path(self.profile).name + ".log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.start_timeout
        while True:
            if port_file.is_file():
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    break
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.close()
                raise CDPError(f"chromium did not open its DevTools port in {self.start_timeout} s")
            time.sleep(0.05)
        port, path = lines[0], lines[1]
        options = {"max_size": None, "compression": None, "ping_interval": None, "open_timeout": 10,
                   "close_timeout": 2, "proxy": None, "legacy": True}
        accepted = inspect.signature(connect).parameters  # proxy: websockets >= 15, legacy: >= 17
        options = {k: v for k, v in options.items() if k in accepted}
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", **options)
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def log_tail(self, n: int = 2000) -> str:
        try:
            self._log.flush()
            return Path(self._log.name).read_bytes()[-n:].decode("utf-8", "replace")
        except Exception:
            return ""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.ws is not None:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started (start_new_session)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol
    def _read(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        slot = self._pending.get(msg["id"])
                        if slot is not None:
                            slot["msg"] = msg
                    else:
                        self._events.append((msg.get("sessionId"), msg["method"], msg.get("params", {}),
                                             time.monotonic()))
                    self._cond.notify_all()
        except Exception:
            pass
        finally:
            with self._cond:
                self._closed_ws = True
                self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, session_id: str | None = None,
             timeout: float = 30) -> dict:
        """Send one CDP command and wait for its result (raises CDPError on an error reply)."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        slot: dict[str, Any] = {}
        with self._cond:
            self._pending[msg_id] = slot
        try:
            self.ws.send(json.dumps(msg))
            deadline = time.monotonic() + timeout
            with self._cond:
                while "msg" not in slot:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CDPError(f"{method}: no reply in {timeout} s")
                    if getattr(self, "_closed_ws", False):
                        raise CDPError(f"{method}: the browser connection closed")
                    self._cond.wait(left)
        finally:
            with self._cond:
                self._pending.pop(msg_id, None)
        reply = slot["msg"]
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def events(self, session_id: str | None, method: str | None = None, since: float = 0.0) -> list[dict]:
        with self._cond:
            return [p for s, m, p, t in self._events
                    if s == session_id and (method is None or m == method) and t >= since]

    def wait_event(self, session_id: str | None, method: str, since: float, timeout: float,
                   predicate=None) -> dict | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for s, m, p, t in self._events:
                    if s == session_id and m == method and t >= since and (predicate is None or predicate(p)):
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def new_page(self, cache_disabled: bool = True, init_script: str | None = None) -> Page:
        """Open a tab in a fresh browser context (own cache and cookies) and attach to it."""
        ctx = self.send("Target.createBrowserContext", {"disposeOnDetach": True})["browserContextId"]
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": ctx,
                                                   "width": self.width, "height": self.height})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session, ctx)
        page.setup(cache_disabled=cache_disabled, init_script=init_script)
        return page


class Page:
    """One attached tab: navigate, evaluate, collect network/console events, screenshot."""

    def __init__(self, browser: Browser, target_id: str, session_id: str, context_id: str):
        self.browser, self.target_id, self.session_id, self.context_id = browser, target_id, session_id, context_id
        self.nav_started = 0.0

    def send(self, method: str, timeout: float = 30, **params) -> dict:
        return self.browser.send(method, params, self.session_id, timeout=timeout)

    def setup(self, cache_disabled: bool, init_script: str | None) -> None:
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send("Network.setCacheDisabled", cacheDisabled=cache_disabled)
        self.send("Emulation.setDeviceMetricsOverride", width=self.browser.width, height=self.browser.height,
                  deviceScaleFactor=1, mobile=False)
        if init_script:
            self.send("Page.addScriptToEvaluateOnNewDocument", source=init_script)

    def close(self) -> None:
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target_id}, timeout=10)
            self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context_id}, timeout=10)
        except CDPError:
            pass

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- events since the last navigation
    def events(self, method: str | None = None) -> list[dict]:
        return self.browser.events(self.session_id, method, since=self.nav_started)

    def navigate(self, url: str, timeout: float = 20) -> None:
        """Go to ``url`` and wait for its load event (following an immediate meta refresh is up to the caller)."""
        self.nav_started = time.monotonic()
        result = self.send("Page.navigate", url=url, timeout=timeout)
        if result.get("errorText"):
            raise CDPError(f"navigation to {url} failed: {result['errorText']}")
        if self.browser.wait_event(self.session_id, "Page.loadEventFired", self.nav_started, timeout) is None:
            raise CDPError(f"{url}: no load event in {timeout} s")

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True,
                          timeout=timeout)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise CDPError(f"evaluate failed: {details.get('exception', {}).get('description') or details}")
        return reply.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 10, interval: float = 0.05) -> tuple[bool, Any]:
        """Poll a JS expression until truthy; return (ok, last value). Errors while navigating are retried."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            try:
                value = self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
                if value:
                    return True, value
            except CDPError as err:
                value = str(err)
            if time.monotonic() > deadline:
                return False, value
            time.sleep(interval)

    def chart_state(self) -> dict:
        return self.evaluate(CHART_STATE_JS)

    def wait_for_charts(self, timeout: float = 10) -> dict:
        """Wait until every div.vc-chart holds an svg or canvas (or timeout); return `chart_state()`."""
        expr = ("document.readyState === 'complete' && [].every.call(document.querySelectorAll('div.vc-chart'),"
                " function (el) { return !!el.querySelector('svg, canvas') && "
                "el.getAttribute('data-vc-state') !== 'drawing'; })")
        self.wait_for(expr, timeout=timeout)
        return self.chart_state()

    def wait_network_idle(self, quiet: float = 0.5, timeout: float = 10) -> bool:
        """Wait until every request has finished and none started for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            started = len(self.events("Network.requestWillBeSent"))
            ended = len(self.events("Network.loadingFinished")) + len(self.events("Network.loadingFailed"))
            if started != last_count:
                last_count, last_change = started, time.monotonic()
            elif ended >= started and time.monotonic() - last_change >= quiet:
                return True
            time.sleep(0.05)
        return False

    # -- what the page did
    def requests(self) -> list[dict]:
        """Every request since navigation: url, type, status, bytes on the wire, failure text."""
        out: dict[str, dict] = {}
        for p in self.events("Network.requestWillBeSent"):
            out[p["requestId"]] = {"url": p["request"]["url"], "type": p.get("type"), "status": None,
                                   "encoded": 0, "failed": None, "mime": None}
        for p in self.events("Network.responseReceived"):
            if p["requestId"] in out:
                out[p["requestId"]].update(status=p["response"].get("status"),
                                           mime=p["response"].get("mimeType"), type=p.get("type"))
        for p in self.events("Network.loadingFinished"):
            if p["requestId"] in out:
                out[p["requestId"]]["encoded"] = p.get("encodedDataLength", 0)
        for p in self.events("Network.loadingFailed"):
            if p["requestId"] in out:
                out[p["requestId"]]["failed"] = p.get("errorText")
        return list(out.values())

    def errors(self) -> list[str]:
        """JS exceptions, console.error calls and browser log errors since navigation."""
        found = []
        for p in self.events("Runtime.exceptionThrown"):
            d = p.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text")
            found.append(f"exception: {desc} ({d.get('url', '')}:{d.get('lineNumber', '')})")
        for p in self.events("Runtime.consoleAPICalled"):
            if p.get("type") == "error":
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                found.append(f"console.error: {args}")
        for p in self.events("Log.entryAdded"):
            entry = p.get("entry", {})
            if entry.get("level") == "error":
                found.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        return found

    def screenshot(self, path: Path | str, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scroll height when ``full_page``)."""
        params: dict[str, Any] = {"format": "png"}
        resized = False
        if full_page:
            # Make the viewport as tall as the page (sticky sidebars and 100vh boxes then lay out as a
            # reader scrolling would see them, instead of being cut at the first screen), capture, restore.
            m = self.send("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            height = min(max(self.browser.height, math.ceil(size["height"])), 16000)
            self.send("Emulation.setDeviceMetricsOverride", width=self.browser.width, height=height,
                      deviceScaleFactor=1, mobile=False)
            resized = True
            self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            # The viewport now holds the whole page: a plain capture (captureBeyondViewport would lay the
            # page out once more and cut sticky sidebars short).
            params["captureBeyondViewport"] = False
        try:
            data = self.send("Page.captureScreenshot", timeout=60, **params)["data"]
        finally:
            if resized:
                self.send("Emulation.setDeviceMetricsOverride", width=self.browser.width,
                          height=self.browser.height, deviceScaleFactor=1, mobile=False)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
