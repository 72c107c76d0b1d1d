"""Shared fixtures and guards: no test may touch the network, and raw-data tests skip cleanly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser_tools import HTML_DIR, REPO_ROOT
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
    from valuechain_lib.snapshot import store as snapshot

    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target, ignore=shutil.ignore_patterns(".snapshot-new-*", "*.previous"))
    monkeypatch.setenv("VALUECHAIN_DATA", str(target))
    snapshot.load_table.cache_clear()
    yield target
    snapshot.load_table.cache_clear()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module, or a failure that says how to install it."""
    from tests.browser_tools import INSTALL_HINT, Browser, find_chromium

    if not find_chromium():
        pytest.fail(f"chromium is not installed; install it with: {INSTALL_HINT}", pytrace=False)
    with Browser() as b:
        yield b


@pytest.fixture(scope="session")
def previous_edition(tmp_path_factory):
    """The recorded previous edition's data/ folder (NVDA, META), built once with the project's own code from
    the 'previous' bodies; tests copy it before changing anything."""
    from tests.data.recorded import recorded as rec

    target = tmp_path_factory.mktemp("previous_edition") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(target))
        rec.build_previous_data_dir(target)
    return target


@pytest.fixture(scope="session")
def _recorded_server_for_session():
    from tests.data.recorded import recorded as rec

    srv = rec.start_server()
    yield srv
    srv.stop()  # werkzeug takes ~0.5 s to stop: one server for the session, cleared after each test


@pytest.fixture
def recorded_server(_recorded_server_for_session):
    """A local HTTP server for recorded responses (pytest-httpserver), with no expectations left from other tests."""
    yield _recorded_server_for_session
    _recorded_server_for_session.clear()


@pytest.fixture(scope="session")
def raw_dir():
    """The raw public data folder (tests using it are marked ``rawdata`` and skip without it)."""
    return RAW


INDEX = HTML_DIR / "index.html"
# What a build reads: when any is newer than _build/html/index.html, the fixture rebuilds.
SOURCE_GLOBS = ("_config.yml", "_toc.yml", "book/**/*.md", "chapters/*.md", "valuechain_lib/**/*.py",
                "valuechain_lib/**/*.csv", "data/*.csv", "data/snapshot/manifest.json", "book/_ext/**/*.py",
                "book/_templates/**/*.html", "book/_static/*.js", "book/_static/*.css", "book/_static/vega/*")


def _newest_source() -> tuple[float, Path | None]:
    newest, which = 0.0, None
    for pattern in SOURCE_GLOBS:
        for path in REPO_ROOT.glob(pattern):
            if path.is_file() and "__pycache__" not in path.parts:
                mtime = path.stat().st_mtime
                if mtime > newest:
                    newest, which = mtime, path
    return newest, which


@pytest.fixture(scope="session")
def built_book() -> Path:
    """``_build/html``, built with `valuechain_lib.publish.build.build` unless up to date with every source."""
    newest, which = _newest_source()
    if not INDEX.is_file() or INDEX.stat().st_mtime < newest:
        from valuechain_lib.publish.build import build

        reason = "missing" if not INDEX.is_file() else f"older than {which.relative_to(REPO_ROOT)}"
        print(f"building the book ({INDEX.relative_to(REPO_ROOT)} {reason})")
        rc = build()
        assert rc == 0, f"jupyter-book build failed with return code {rc} (see the captured output)"
        # jupyter-book writes index.html only when missing: stamp it so an unchanged tree is reused next time.
        os.utime(INDEX)
    assert INDEX.is_file(), "the build produced no _build/html/index.html"
    return HTML_DIR
