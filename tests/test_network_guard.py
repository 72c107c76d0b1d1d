"""The network guard: pytest-socket's --disable-socket (pyproject addopts) is active for every test.

No test may reach the network (data.sec.gov, price APIs); live-data clients are tested on recorded
responses only. These tests prove the guard is on, so a test that would fetch fails loudly.
"""

from __future__ import annotations

import socket
import urllib.request

import pytest
from pytest_socket import SocketBlockedError

# pytest-socket warns on each blocked attempt; here the attempt is the point of the test.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")

# A public address (example.com, IANA); nothing is ever sent, the socket is refused before connecting.
PUBLIC = ("93.184.215.14", 443)


@pytest.mark.fast
def test_inet_socket_is_blocked():
    """Opening a TCP connection to a public address raises SocketBlockedError."""
    with pytest.raises(SocketBlockedError):
        socket.create_connection(PUBLIC, timeout=1)


@pytest.mark.fast
def test_raw_socket_constructor_is_blocked():
    """Even creating an AF_INET socket object is refused."""
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


@pytest.mark.fast
def test_http_client_is_blocked():
    """A library-level fetch (urllib, as a live SEC refresh would do) is refused, not attempted."""
    with pytest.raises(SocketBlockedError):
        urllib.request.urlopen("https://data.sec.gov/api/xbrl/companyfacts/CIK0001045810.json", timeout=1)


@pytest.mark.fast
def test_guard_configured(pytestconfig):
    """pytest-socket is loaded and --disable-socket is set for the whole run (pyproject addopts)."""
    assert pytestconfig.pluginmanager.hasplugin("socket") or pytestconfig.pluginmanager.hasplugin("pytest_socket")
    assert pytestconfig.getoption("disable_socket") is True
    assert "--disable-socket" in pytestconfig.getini("addopts")
