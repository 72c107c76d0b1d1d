"""Shared fixtures and guards: no test may touch the network, and raw-data tests skip cleanly."""

from __future__ import annotations

import shutil

import pytest

from valuechain_lib.paths import DEFAULT_DATA_DIR, raw_data_dir

RAW = raw_data_dir()
RAW_AVAILABLE = (RAW / "sec").is_dir() and (RAW / "prices").is_dir()


def pytest_configure(config):
    # The --disable-socket guard lives in pyproject's addopts; refuse to run without the plugin.
    if not config.pluginmanager.hasplugin("pytest_socket") and not config.pluginmanager.hasplugin("socket"):
        raise pytest.UsageError("pytest-socket is required: the suite must not touch the network")
    if not config.getoption("disable_socket", default=False):
        raise pytest.UsageError("run the suite with --disable-socket (set in pyproject's addopts)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(
        reason=f"needs the raw public data in {RAW} (the developers' ../shared/data); a user's clone has none")
    for item in items:
        if "rawdata" in item.keywords and not RAW_AVAILABLE:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _committed_data(monkeypatch):
    """Every test reads the committed snapshot unless it points VALUECHAIN_DATA elsewhere itself."""
    monkeypatch.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the committed data/ folder, made the library's data folder for this test."""
    from valuechain_lib import snapshot

    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target, ignore=shutil.ignore_patterns(".snapshot-new-*", "*.previous"))
    monkeypatch.setenv("VALUECHAIN_DATA", str(target))
    snapshot.load_table.cache_clear()
    yield target
    snapshot.load_table.cache_clear()


@pytest.fixture(scope="session")
def raw_dir():
    """The raw public data folder (tests using it are marked ``rawdata`` and skip without it)."""
    return RAW
