"""The command line: summary of the committed snapshot, clear errors, exit codes."""

from __future__ import annotations

import pytest

from valuechain_lib.cli import main, summary_table


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
