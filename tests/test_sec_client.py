"""The SEC client on recorded responses served from 127.0.0.1: identity, retries, backoff, Retry-After,
timeouts, bad bodies, network drops, the rate limit and cache revalidation. Never the real network."""

from __future__ import annotations

import socket
import threading
import time

import pandas as pd
import pytest
from werkzeug import Response

from tests.data.recorded import recorded as rec
from valuechain_lib.sources.sec_client import (
    FetchError,
    IdentityError,
    NetworkError,
    SecClient,
    Settings,
    fetch_all,
)

pytestmark = [pytest.mark.network, pytest.mark.allow_hosts(["127.0.0.1"])]
COMPANIES = pd.DataFrame({"ticker": ["NVDA", "META"], "cik": [1045810, 1326801]})


@pytest.fixture
def server(recorded_server):
    return recorded_server


@pytest.fixture
def own_server(monkeypatch, env):
    """A server of this test alone, that the test may stop (a network drop)."""
    srv = rec.start_server()
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", srv.url_for("/").rstrip("/"))
    yield srv
    if srv.is_running():
        srv.stop()


@pytest.fixture
def env(monkeypatch, tmp_path, server):
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _client(sleeps=None, **overrides) -> SecClient:
    sleep = (lambda s: sleeps.append(s)) if sleeps is not None else time.sleep
    return SecClient(Settings.from_env(**overrides), sleep=sleep)


def test_missing_identity_names_the_variable_and_sends_nothing(env, server, monkeypatch):
    monkeypatch.delenv("VALUECHAIN_SEC_IDENTITY")
    with pytest.raises(IdentityError, match="VALUECHAIN_SEC_IDENTITY is not set"):
        SecClient()
    monkeypatch.setenv("VALUECHAIN_SEC_IDENTITY", "nobody")
    with pytest.raises(IdentityError, match="name and an e-mail"):
        SecClient()
    assert server.log == []


def test_fetch_sends_identity_and_writes_the_body_unchanged(env, server):
    rec.serve(server)
    with _client() as client:
        result = fetch_all(COMPANIES, env / "sec", client, progress=False)
    assert set(result.fetched) == {"NVDA", "META"} and not result.failed
    for ticker in ("NVDA", "META"):
        assert (env / "sec" / f"{ticker}.companyfacts.json").read_bytes() == rec.body(ticker)
    request = server.log[0][0]
    assert request.headers["User-Agent"].startswith(rec.IDENTITY)


def test_500_then_success_is_retried(env, server):
    sleeps = []
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_data("busy", status=500)
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_data(rec.body("NVDA"), content_type="application/json")
    with _client(sleeps) as client:
        got = client.fetch_companyfacts("NVDA", 1045810)
    assert got.body == rec.body("NVDA")
    assert len(server.log) == 2
    assert client.waits == [0.001]  # the backoff of the first retry (tiny in tests)


def test_500_forever_is_a_clear_error_after_all_attempts(env, server):
    server.expect_request(rec.path_of("NVDA")).respond_with_data("down", status=503)
    with _client([]) as client, pytest.raises(FetchError, match=r"HTTP 503 from .*CIK0001045810.json after 3 attempt"):
        client.fetch_companyfacts("NVDA", 1045810)
    assert len(server.log) == 3
    assert client.waits == [0.001, 0.002]  # exponential


def test_429_honours_retry_after(env, server):
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_data("slow down", status=429,
                                                                         headers={"Retry-After": "7"})
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_data(rec.body("NVDA"))
    sleeps = []
    with _client(sleeps) as client:
        client.fetch_companyfacts("NVDA", 1045810)
    assert client.waits == [7.0]
    assert 7.0 in sleeps  # slept what the server asked (through the injected sleep: no real waiting)


def test_429_with_a_retry_after_beyond_the_cap_stops_with_a_clear_error(env, server):
    server.expect_request(rec.path_of("NVDA")).respond_with_data("blocked", status=429, headers={"Retry-After": "600"})
    with _client([]) as client, pytest.raises(FetchError, match=r"wait 600 s \(Retry-After\).*VALUECHAIN_MAX_RETRY_AFTER"):
        client.fetch_companyfacts("NVDA", 1045810)
    assert len(server.log) == 1


def _slow(seconds, data=b"{}"):
    def handler(request):
        time.sleep(seconds)
        return Response(data, content_type="application/json")
    return handler


def test_read_timeout_is_retried_then_a_clear_error(env, own_server):
    server = own_server  # its slow handler threads must not answer into the next test
    server.expect_request(rec.path_of("NVDA")).respond_with_handler(_slow(0.6))
    started = time.monotonic()
    with _client([], read_timeout=0.15) as client, pytest.raises(FetchError, match=r"no response .* within 0.15 s .*3 attempt"):
        client.fetch_companyfacts("NVDA", 1045810)
    assert time.monotonic() - started < 3
    assert len(client.waits) == 2


def test_timeout_then_success(env, own_server):
    server = own_server
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_handler(_slow(0.5))
    server.expect_ordered_request(rec.path_of("NVDA")).respond_with_data(rec.body("NVDA"))
    with _client([], read_timeout=0.15) as client:
        assert client.fetch_companyfacts("NVDA", 1045810).body == rec.body("NVDA")


@pytest.mark.parametrize(("payload", "message"), [
    (b'{"cik": 1045810, "entityName": "NVIDIA CORP", "facts": {"us-gaap": {"Revenues": [}}}', "malformed JSON"),
    (rec.body("NVDA")[: len(rec.body("NVDA")) // 2], "truncated JSON"),
    (b"<html><body>Your request has been blocked</body></html>", "malformed JSON"),
    (rec.body("META"), r"is for CIK 1326801, but the universe gives CIK 1045810 .*wrong company"),
    (b'{"cik": 1045810, "entityName": "NVIDIA CORP"}', "not a companyfacts document"),
], ids=["malformed", "truncated", "html-error-page", "wrong-cik", "no-facts"])
def test_bad_bodies_fail_the_company_and_are_not_cached(env, server, payload, message):
    server.expect_request(rec.path_of("NVDA")).respond_with_data(payload, content_type="application/json",
                                                                 headers={"ETag": '"bad"'})
    with _client([]) as client:
        with pytest.raises(FetchError, match=message):
            client.fetch_companyfacts("NVDA", 1045810)
        assert not client.session.cache.contains(url=client.companyfacts_url(1045810))
    assert len(server.log) == 1  # not retried


def test_connection_refused_stops_the_source_at_once(env, own_server):
    own_server.stop()  # nothing listens on the port any more: a network drop
    with _client([]) as client:
        result = fetch_all(COMPANIES, env / "sec", client, progress=False)
    assert "cannot reach" in result.network_error and "NVDA" in result.network_error
    assert result.failed == {"NVDA": "not attempted: network unavailable", "META": "not attempted: network unavailable"}
    assert client.waits == []  # a refused connection is not retried
    with _client([]) as client, pytest.raises(NetworkError):
        client.fetch_companyfacts("NVDA", 1045810)


def test_network_drop_mid_run_keeps_what_was_fetched_and_names_the_rest(env, own_server):
    server = own_server
    stopping = []

    def nvda_then_drop(request):
        stopping.append(threading.Thread(target=server.stop, daemon=True))  # the link goes down after this answer
        stopping[-1].start()
        return Response(rec.body("NVDA"), content_type="application/json")

    server.expect_request(rec.path_of("NVDA")).respond_with_handler(nvda_then_drop)
    with _client([], rate=4) as client:  # 0.25 s between requests: the server is gone by the second
        result = fetch_all(COMPANIES, env / "sec", client, progress=False)
    for thread in stopping:  # stopped before the fixture looks, or both would stop the server at once
        thread.join(timeout=10)
    assert set(result.fetched) == {"NVDA"}
    assert result.failed == {"META": "not attempted: network unavailable"}
    assert "while fetching META" in result.network_error


def test_rate_limit_spaces_requests(env, server):
    clock = rec.Clock()

    def stamp(request):
        clock.stamp()
        return Response(rec.body("NVDA"), content_type="application/json")

    server.expect_request(rec.path_of("NVDA")).respond_with_handler(stamp)
    with _client(None, rate=20) as client:  # 20/s: at least 50 ms apart (the real sleep, briefly)
        for _ in range(5):
            client.fetch_companyfacts("NVDA", 1045810)
    sent = client.limiter.sent
    assert all(b - a >= 0.05 for a, b in zip(sent, sent[1:], strict=False)), sent
    arrived = clock.times
    assert len(arrived) == 5
    # server-side arrival times jitter with thread scheduling: check the span (4 gaps of >= 50 ms)
    assert arrived[-1] - arrived[0] >= 4 * 0.05 * 0.9, arrived


def test_default_rate_is_below_secs_limit():
    assert Settings(identity=rec.IDENTITY).rate < 10


def test_cache_revalidates_and_accepts_304(env, server):
    data = rec.body("NVDA")
    seen = []

    def conditional(request):
        seen.append({k: request.headers.get(k) for k in ("If-None-Match", "If-Modified-Since")})
        if request.headers.get("If-None-Match") == rec.etag(data):
            return Response(status=304, headers={"ETag": rec.etag(data)})
        return Response(data, content_type="application/json",
                        headers={"ETag": rec.etag(data), "Last-Modified": "Wed, 20 May 2026 12:00:00 GMT"})

    server.expect_request(rec.path_of("NVDA")).respond_with_handler(conditional)
    with _client([]) as client:
        first = client.fetch_companyfacts("NVDA", 1045810)
    with _client([]) as client:  # a second run: a new session on the same cache folder
        second = client.fetch_companyfacts("NVDA", 1045810)
    assert seen[0] == {"If-None-Match": None, "If-Modified-Since": None}
    assert seen[1] == {"If-None-Match": rec.etag(data), "If-Modified-Since": "Wed, 20 May 2026 12:00:00 GMT"}
    assert not first.revalidated and second.revalidated
    assert second.body == data


@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")
def test_only_loopback_is_reachable_in_these_tests():
    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.215.14", 443), timeout=1)
