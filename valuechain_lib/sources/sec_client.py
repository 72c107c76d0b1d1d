"""The project's only HTTP client: SEC EDGAR XBRL companyfacts for a live refresh.

Every setting is a module constant with its environment variable, default and the reason for the
default (edgartools style); `Settings.from_env` reads them at call time, so a test (or a user)
changes them without touching code:

==============================  ==============================================  ====================
environment variable            what                                            default
==============================  ==============================================  ====================
``VALUECHAIN_SEC_IDENTITY``     name and e-mail sent as User-Agent (required)   none: refuse to run
``VALUECHAIN_SEC_BASE_URL``     API host (a local test server in the tests)     https://data.sec.gov
``VALUECHAIN_SEC_RATE``         requests per second, at most                    8
``VALUECHAIN_CONNECT_TIMEOUT``  seconds to open a connection                    3.05
``VALUECHAIN_READ_TIMEOUT``     seconds between bytes of a response             60
``VALUECHAIN_HTTP_ATTEMPTS``    tries per request (429, 5xx, read timeouts)     4
``VALUECHAIN_HTTP_BACKOFF``     first wait between tries, doubled each time     1
``VALUECHAIN_HTTP_BACKOFF_MAX`` longest wait between tries                      30
``VALUECHAIN_MAX_RETRY_AFTER``  longest ``Retry-After`` honoured                120
``VALUECHAIN_CACHE_DIR``        on-disk HTTP cache (SQLite)                     ~/.cache/valuechain
==============================  ==============================================  ====================

What is retried and what is not:

* 429 (waiting what ``Retry-After`` says), 5xx and read timeouts are retried with exponential
  backoff (tenacity), up to ``attempts`` tries;
* a connection that cannot be opened at all (DNS failure, refused, connect timeout) is not: it means
  the network or the host is down, so the whole SEC source stops at once with `NetworkError` (an
  offline refresh fails in seconds instead of retrying every company);
* 4xx other than 429, malformed or truncated JSON and a body for another CIK are not retried: they
  fail that company with `FetchError`, and the bad body is evicted from the cache;
* a body whose ``entityName`` is not the universe row's ``name`` (compared by `same_entity`, which
  ignores case, punctuation and legal-form suffixes) raises `EntityMismatchError`: the row's CIK points
  at another company, and `fetch_all` reports it apart from download failures.

Companyfacts responses are cached on disk and always revalidated: a second run sends
``If-None-Match`` / ``If-Modified-Since`` and a ``304 Not Modified`` reuses the cached body.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pandas as pd
import requests
import requests_cache
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from valuechain_lib._version import __version__
from valuechain_lib.errors import SourceFileError, ValueChainError
from valuechain_lib.sources.sec import read_companyfacts

# --------------------------------------------------------------------------- settings
ENV_IDENTITY = "VALUECHAIN_SEC_IDENTITY"
#: No default: SEC's fair-access policy requires automated tools to declare who they are (a name
#: and an e-mail in the User-Agent) and blocks undeclared ones; we never guess or prompt.
DEFAULT_IDENTITY = None

ENV_BASE_URL = "VALUECHAIN_SEC_BASE_URL"
#: SEC's API host; overridable so the tests serve recorded responses from a local server.
DEFAULT_BASE_URL = "https://data.sec.gov"

ENV_RATE = "VALUECHAIN_SEC_RATE"
#: SEC allows at most 10 requests per second per user and blocks an IP that exceeds it for ten
#: minutes; 8/s leaves headroom for clock jitter and for retries sent right after a request.
DEFAULT_RATE = 8.0

ENV_CONNECT_TIMEOUT = "VALUECHAIN_CONNECT_TIMEOUT"
#: Opening a connection takes well under a second when the network works; a short limit makes an
#: offline run fail fast (just over 3 s, the TCP retransmission window, as requests recommends).
DEFAULT_CONNECT_TIMEOUT = 3.05

ENV_READ_TIMEOUT = "VALUECHAIN_READ_TIMEOUT"
#: A full companyfacts file is up to ~20 MB and SEC can be slow to start sending it; this is the
#: longest silence between bytes, not the time for the whole body.
DEFAULT_READ_TIMEOUT = 60.0

ENV_ATTEMPTS = "VALUECHAIN_HTTP_ATTEMPTS"
#: 429/5xx from SEC are usually momentary; four tries (1 + 2 + 4 s of backoff) ride over a blip
#: without hammering a server that is really down.
DEFAULT_ATTEMPTS = 4

ENV_BACKOFF = "VALUECHAIN_HTTP_BACKOFF"
#: First wait between tries in seconds, doubled after each; the tests set it to ~0.
DEFAULT_BACKOFF = 1.0

ENV_BACKOFF_MAX = "VALUECHAIN_HTTP_BACKOFF_MAX"
#: Cap on one backoff wait, so a long run of retries never stalls for minutes.
DEFAULT_BACKOFF_MAX = 30.0

ENV_MAX_RETRY_AFTER = "VALUECHAIN_MAX_RETRY_AFTER"
#: A 429's Retry-After is honoured up to this many seconds; beyond it (SEC's ten-minute block) the
#: refresh stops with a clear error instead of sleeping silently.
DEFAULT_MAX_RETRY_AFTER = 120.0

ENV_CACHE_DIR = "VALUECHAIN_CACHE_DIR"
#: Per-user cache folder (XDG convention); revalidated responses save SEC bandwidth and time.
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "valuechain"

COMPANYFACTS_PATH = "/api/xbrl/companyfacts/CIK{cik:010d}.json"


class FetchError(ValueChainError):
    """A download that failed: names the source, the company and the reason."""


class IdentityError(FetchError):
    """``VALUECHAIN_SEC_IDENTITY`` is missing or not a name and e-mail."""


class NetworkError(FetchError):
    """The host cannot be reached at all (offline, DNS failure, connection refused or timed out)."""


class EntityMismatchError(FetchError):
    """The CIK's companyfacts belong to a company other than the one the universe row names."""


# --------------------------------------------------------------------------- entity names
#: Legal forms and holding words dropped from the end of a company name before two names are compared:
#: SEC writes "AMAZON COM INC" and "NVIDIA CORP" where the universe says "Amazon.com", "NVIDIA Corporation".
#: Descriptive words ("Technology", "Semiconductor") are kept: they tell companies apart.
CORPORATE_SUFFIXES = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "cos", "ltd", "limited", "plc",
    "holdings", "holding", "group", "nv", "sa", "ag", "se", "llc", "lp", "the",
})


def normalised_name(name: str) -> str:
    """A company name reduced for comparison: lower case, no punctuation, no trailing legal form.

    SEC's state tag (``ORACLE CORP /DE/``) and a leading "The" go too; dotted abbreviations join up
    (``N.V.`` → ``nv``), and the words are then written together, so ``Amazon.com`` and ``AMAZON COM INC``
    both become ``amazoncom``.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
        The reduced name (the name's own words if it were nothing but suffixes).

    Examples
    --------
    >>> normalised_name("Taiwan Semiconductor Manufacturing Co., Ltd.")
    'taiwansemiconductormanufacturing'
    """
    text = re.sub(r"/[a-z]{2,3}/?", " ", str(name).lower()).replace("&", " and ")
    words: list[str] = []
    for word in re.findall(r"[a-z0-9]+", text):
        if len(word) == 1 and words and words[-1].isalpha() and len(words[-1]) <= 2 and word.isalpha():
            words[-1] += word  # "n", "v" of "N.V." -> "nv"
        else:
            words.append(word)
    kept = list(words)
    while kept and kept[-1] in CORPORATE_SUFFIXES:
        kept.pop()
    while kept and kept[0] == "the":
        kept.pop(0)
    return "".join(kept or words)


def same_entity(universe_name: str, sec_name: str) -> bool:
    """Whether two spellings name the same company (`normalised_name` of both equal)."""
    return normalised_name(universe_name) == normalised_name(sec_name)


def entity_name(text: str) -> str | None:
    """The ``entityName`` of a companyfacts body (SEC sends it near the top), or None if it has none."""
    head = re.search(r'"entityName"\s*:\s*("(?:[^"\\]|\\.)*")', text[:4000])
    if head:
        return json.loads(head.group(1))
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc.get("entityName") if isinstance(doc, dict) else None


def check_entity(ticker: str, cik: int, name: str | None, text: str) -> None:
    """Raise `EntityMismatchError` (one line: ticker, CIK, both names) when the body is another company's."""
    found = entity_name(text)
    if name is None or found is None or same_entity(name, found):
        return
    raise EntityMismatchError(
        f"{ticker}: CIK {int(cik)} is {found!r} at SEC, but data/universe.csv names {name!r}: "
        "the row's cik (or name) is wrong")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError as exc:
        raise FetchError(f"{name}={raw!r} is not a number") from exc
    if value < 0:
        raise FetchError(f"{name}={raw!r} must not be negative")
    return value


def check_identity(identity: str | None) -> str:
    """Return the declared identity, or raise `IdentityError` naming the variable to set."""
    example = f'export {ENV_IDENTITY}="Jane Doe jane@example.org"'
    if identity is None or not identity.strip():
        raise IdentityError(
            f"{ENV_IDENTITY} is not set: SEC requires every automated request to declare who sends it "
            f"(a name and an e-mail address, sent as User-Agent). Set it, e.g. {example}")
    if "@" not in identity or len(identity.split()) < 2:
        raise IdentityError(f"{ENV_IDENTITY}={identity!r} must hold a name and an e-mail address, e.g. {example}")
    return identity.strip()


@dataclass(frozen=True)
class Settings:
    """Everything the client needs; `from_env` fills it from the environment (see the module doc)."""

    identity: str
    base_url: str = DEFAULT_BASE_URL
    rate: float = DEFAULT_RATE
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF
    backoff_max: float = DEFAULT_BACKOFF_MAX
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    cache_dir: Path = field(default=DEFAULT_CACHE_DIR)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Read the settings from the environment (identity required), then apply ``overrides``."""
        identity = overrides.pop("identity", None) or os.environ.get(ENV_IDENTITY, DEFAULT_IDENTITY)
        settings = cls(
            identity=check_identity(identity),
            base_url=(os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
            rate=_env_float(ENV_RATE, DEFAULT_RATE),
            connect_timeout=_env_float(ENV_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
            read_timeout=_env_float(ENV_READ_TIMEOUT, DEFAULT_READ_TIMEOUT),
            attempts=max(1, int(_env_float(ENV_ATTEMPTS, DEFAULT_ATTEMPTS))),
            backoff=_env_float(ENV_BACKOFF, DEFAULT_BACKOFF),
            backoff_max=_env_float(ENV_BACKOFF_MAX, DEFAULT_BACKOFF_MAX),
            max_retry_after=_env_float(ENV_MAX_RETRY_AFTER, DEFAULT_MAX_RETRY_AFTER),
            cache_dir=Path(os.environ.get(ENV_CACHE_DIR) or DEFAULT_CACHE_DIR).expanduser(),
        )
        return replace(settings, **overrides)

    @property
    def user_agent(self) -> str:
        return f"{self.identity} valuechain_lib/{__version__}"


# --------------------------------------------------------------------------- the client
class _RetryableStatus(Exception):
    """A 429 or 5xx response, to be retried (``retry_after`` in seconds when the server gave one)."""

    def __init__(self, response: requests.Response, retry_after: float | None):
        self.response, self.status, self.retry_after = response, response.status_code, retry_after
        super().__init__(f"HTTP {response.status_code}")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RateLimiter:
    """At most ``rate`` calls per second: each call waits until ``1/rate`` s after the previous one."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._sleep, self._clock, self._last = sleep, clock, None
        self.sent: list[float] = []  # clock readings at each release (the tests check the spacing)

    def wait(self) -> None:
        if self._last is not None:
            delay = self._last + self.interval - self._clock()
            if delay > 0:
                self._sleep(delay)
        self._last = self._clock()
        self.sent.append(self._last)


@dataclass
class Fetched:
    """One downloaded companyfacts body and where it came from."""

    ticker: str
    cik: int
    url: str
    body: bytes
    revalidated: bool  # True: the server answered 304 and the cached body was reused
    fetched_at: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class SecClient:
    """A rate-limited, retrying, caching HTTP client for SEC's XBRL API.

    Parameters
    ----------
    settings : Settings, optional
        Default `Settings.from_env()` (raises `IdentityError` without ``VALUECHAIN_SEC_IDENTITY``).
    session : requests.Session, optional
        Default a `requests_cache.CachedSession` in ``settings.cache_dir``.
    sleep, clock : callables
        Injected by tests so backoff and rate limiting are checked without real waiting.
    """

    def __init__(self, settings: Settings | None = None, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.settings = settings or Settings.from_env()
        self._sleep = sleep
        self.limiter = RateLimiter(self.settings.rate, sleep, clock)
        if session is None:
            self.settings.cache_dir.mkdir(parents=True, exist_ok=True)
            session = requests_cache.CachedSession(
                str(self.settings.cache_dir / "http_cache"), backend="sqlite",
                # companyfacts change with every filing: keep the body, but ask the server each time
                expire_after=requests_cache.EXPIRE_IMMEDIATELY, always_revalidate=True,
                allowable_codes=(200,), stale_if_error=False,
            )
        session.headers.update({"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"})
        self.session = session
        self.waits: list[float] = []  # backoff waits slept (seconds), for the tests

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SecClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def companyfacts_url(self, cik: int) -> str:
        return self.settings.base_url + COMPANYFACTS_PATH.format(cik=int(cik))

    # -- one request, retried
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = min(self.settings.backoff * 2 ** (state.attempt_number - 1), self.settings.backoff_max)
        return wait

    def _backoff(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._sleep(seconds)

    def _send(self, url: str) -> requests.Response:
        self.limiter.wait()
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            response = self.session.get(url, timeout=timeout)
        except requests.ConnectTimeout as exc:  # before the ConnectionError/Timeout split: never retried
            raise NetworkError(f"cannot connect to {self.settings.base_url} within "
                               f"{self.settings.connect_timeout:g} s ({ENV_CONNECT_TIMEOUT})") from exc
        except requests.ConnectionError as exc:  # read timeouts and cut-off bodies propagate: retried
            raise NetworkError(f"cannot reach {self.settings.base_url}: {_short(exc)}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.settings.max_retry_after:
                raise FetchError(
                    f"HTTP {response.status_code} from {url}: the server asks to wait {retry_after:g} s "
                    f"(Retry-After), more than {ENV_MAX_RETRY_AFTER}={self.settings.max_retry_after:g}; "
                    "SEC blocks clients that exceed 10 requests/s for ten minutes: try again later")
            raise _RetryableStatus(response, retry_after)
        return response

    def get(self, url: str) -> requests.Response:
        """GET ``url`` with the rate limit, timeouts and retries; raise `FetchError` on failure."""
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.attempts), wait=self._wait, sleep=self._backoff, reraise=True,
            retry=retry_if_exception_type((_RetryableStatus, requests.exceptions.Timeout,
                                           requests.exceptions.ChunkedEncodingError)),
        )
        tries = self.settings.attempts
        try:
            response = retrying(self._send, url)
        except _RetryableStatus as exc:
            raise FetchError(f"HTTP {exc.status} from {url} after {tries} attempt(s)") from exc
        except requests.exceptions.Timeout as exc:
            raise FetchError(f"no response from {url} within {self.settings.read_timeout:g} s "
                             f"({ENV_READ_TIMEOUT}) after {tries} attempt(s)") from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise FetchError(f"body of {url} cut off in transit after {tries} attempt(s): {_short(exc)}") from exc
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code} from {url}" +
                             (" (no such CIK at SEC?)" if response.status_code == 404 else ""))
        return response

    def _evict(self, url: str) -> None:
        cache = getattr(self.session, "cache", None)
        if cache is not None:
            cache.delete(urls=[url])

    def fetch_companyfacts(self, ticker: str, cik: int, name: str | None = None) -> Fetched:
        """Download and check one company's companyfacts (JSON, ``facts`` present, the right CIK and,
        when ``name`` is given, the company the universe row names).

        Raises
        ------
        NetworkError
            The host cannot be reached (the caller stops the whole source).
        EntityMismatchError
            The body's ``entityName`` is not ``name``: the row's CIK is another company's.
        FetchError, SourceFileError
            This company failed: HTTP error after retries, malformed/truncated JSON, wrong CIK.
        """
        url = self.companyfacts_url(cik)
        response = self.get(url)
        body = response.content
        try:
            text = body.decode("utf-8")
            read_companyfacts(url, ticker, int(cik), text=text)  # the same checks the snapshot build runs
        except (UnicodeDecodeError, SourceFileError) as exc:
            self._evict(url)  # never keep a bad body to be "revalidated" next time
            raise FetchError(str(exc)) from exc
        check_entity(ticker, cik, name, text)
        return Fetched(ticker=ticker, cik=int(cik), url=url, body=body,
                       revalidated=bool(getattr(response, "from_cache", False)),
                       fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Failed to resolve", "Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower() if marker != "Failed to resolve" else "DNS lookup failed (offline?)"
    return text[:200]


# --------------------------------------------------------------------------- all companies
@dataclass
class SecFetchResult:
    """What `fetch_all` got: bodies written, companies that failed (with reasons), a network error, and
    companies whose CIK turned out to be another company's (``mismatched``: ticker → one-line reason)."""

    fetched: dict[str, Fetched] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    network_error: str | None = None
    mismatched: dict[str, str] = field(default_factory=dict)


def fetch_all(companies: pd.DataFrame, dest: Path, client: SecClient, progress: bool = True) -> SecFetchResult:
    """Download companyfacts for every row of ``companies`` (``ticker``, ``cik``, optional ``name``) into ``dest``.

    Each body is written unchanged as ``dest/<TICKER>.companyfacts.json`` (the layout
    `valuechain_lib.sources.sec.read_company` reads). A company that fails is recorded in ``failed`` and the
    next is tried; one whose body names another company (``name`` given) in ``mismatched``; a
    `NetworkError` stops the loop (the remaining companies are "not attempted").
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    result = SecFetchResult()
    names = companies["name"] if "name" in companies else pd.Series(None, index=companies.index, dtype=object)
    rows = list(zip(companies["ticker"], companies["cik"], names, strict=True))
    with tqdm(rows, desc="SEC companyfacts", unit="co", disable=not progress) as bar:
        for ticker, cik, name in bar:
            bar.set_postfix_str(ticker)
            try:
                got = client.fetch_companyfacts(ticker, int(cik), None if pd.isna(name) else str(name))
            except NetworkError as exc:
                result.network_error = f"{exc} (while fetching {ticker})"
                done = set(result.fetched) | set(result.failed) | set(result.mismatched)
                for t, _, _ in rows:
                    if t not in done:
                        result.failed[t] = "not attempted: network unavailable"
                break
            except EntityMismatchError as exc:
                result.mismatched[ticker] = str(exc)
                continue
            except FetchError as exc:
                result.failed[ticker] = str(exc)
                continue
            (dest / f"{ticker}.companyfacts.json").write_bytes(got.body)
            result.fetched[ticker] = got
    return result
