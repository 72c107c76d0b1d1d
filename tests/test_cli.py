"""The command line: summary of the committed snapshot, clear errors, exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from valuechain_lib import cli
from valuechain_lib.cli import main, summary_table
from valuechain_lib.errors import ValueChainError
from valuechain_lib.workflows.checks import data_checks


@pytest.mark.fast
def test_summary_lists_every_company_with_sec_data(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    for ticker in ("NVDA", "MSFT", "TSM", "CRWV"):
        assert ticker in out
    table = summary_table()
    assert table.set_index("ticker").loc["NVDA", "latest period"].startswith("FY2027 Q1")


@pytest.mark.fast
def test_snapshot_from_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    """No raw folder: exit code 2 and one line naming the folder; nothing written."""
    assert main(["snapshot", "--from", str(tmp_path / "nowhere"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no raw SEC folder" in err and "nowhere" in err


@pytest.mark.fast
def test_new_chapter_needs_a_claim(capsys):
    with pytest.raises(SystemExit):
        main(["new-chapter", "Title only"])


@pytest.mark.fast
def test_check_lists_every_data_file_of_the_committed_data(capsys):
    """`check` on the committed data: exit 0, one "ok" line per file a build reads (10 of them)."""
    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [name for name, _ in data_checks()]
    assert len(lines) == 10 and all(line.startswith("ok  ") for line in lines)


@pytest.mark.fast
def test_a_value_chain_error_is_one_line_and_exit_2(monkeypatch, capsys):
    """A ValueChainError with a line break in its message prints as one line "error: a b", exit code 2."""
    def broken(args):
        raise ValueChainError("a\nb")

    monkeypatch.setattr(cli, "_cmd_summary", broken)
    assert main(["summary"]) == 2
    assert capsys.readouterr().err == "error: a b\n"


@pytest.mark.fast
def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    """KeyboardInterrupt in a command: "interrupted" on stderr, exit code 130, no traceback."""
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_summary", interrupted)
    assert main(["summary"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.fast
def test_a_library_bug_keeps_its_traceback(monkeypatch):
    """A ValueError that no data file caused (a bug) is not turned into "error:": it propagates."""
    def buggy(args):
        raise ValueError("a bug")

    monkeypatch.setattr(cli, "_cmd_summary", buggy)
    with pytest.raises(ValueError, match="a bug"):
        main(["summary"])


@pytest.mark.fast
def test_raw_parse_errors_name_the_file_being_read(tmp_path):
    """The safety net: a JSON or CSV parse error raised while a library frame holds a path names that path."""
    import json

    import pandas as pd

    bad_json = tmp_path / "manifest.json"
    bad_json.write_text('{"built_at": "2026', encoding="utf-8")
    bad_csv = tmp_path / "table.csv"
    bad_csv.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")

    def read_json(path):  # stands in for a reader inside the library
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    for reader, path, words in ((read_json, bad_json, ["manifest.json", "not valid JSON", "line 1"]),
                                (pd.read_csv, bad_csv, ["table.csv", "as a CSV table", "Expected 2 fields"])):
        try:
            _as_library_call(reader, path)
        except ValueError as exc:
            message = cli.data_file_error(exc)
        assert message is not None and all(w in message for w in words), message
    assert cli.data_file_error(ValueError("no file involved")) is None


def _as_library_call(reader, path):
    """Call ``reader(path)`` from a frame whose module name is inside valuechain_lib (as a reader's would be)."""
    code = compile("def call(reader, path):\n    return reader(path)\n", "<library>", "exec")
    namespace = {"__name__": "valuechain_lib.fake_reader"}
    exec(code, namespace)
    return namespace["call"](reader, path)


def test_a_real_sigint_ends_with_one_line_and_exit_130(tmp_path):
    """SIGINT to a running command (as Ctrl-C sends it): exit code 130, "interrupted", no traceback."""
    ready = tmp_path / "ready"
    code = (f"import pathlib, sys, time; import valuechain_lib.cli as c\n"
            f"def slow(args):\n    pathlib.Path({str(ready)!r}).touch(); time.sleep(60)\n"
            f"c._cmd_summary = slow\nraise SystemExit(c.main(['summary']))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the command never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "interrupted\n"
