"""The chapter scaffold: one command gives a notebook, a TOC entry, a claims row and a smoke test."""

from __future__ import annotations

import shutil

import pytest

from valuechain_lib import claims
from valuechain_lib.scaffold import REPO_ROOT, ScaffoldError, new_chapter, slugify


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    """A scratch copy of the files the scaffold edits, with the committed data."""
    for name in ("_toc.yml",):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "data", tmp_path / "data")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "tests").mkdir()
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.fast
def test_slugify():
    assert slugify("Memory is the new bottleneck!") == "memory_is_the_new_bottleneck"
    with pytest.raises(ScaffoldError):
        slugify("!!!")


@pytest.mark.fast
def test_scaffold_writes_chapter_toc_claim_and_test(repo):
    written = new_chapter("Memory is the new bottleneck", "C1", "HBM suppliers capture the margin", root=repo)
    text = written["chapter"].read_text()
    assert text.startswith("---\njupytext:") and "(memory-is-the-new-bottleneck)=" in text
    assert "# Memory is the new bottleneck" in text and "## Summary" in text
    toc = (repo / "_toc.yml").read_text()
    theses = toc.split("- caption: The theses", 1)[1].split("- caption:", 1)[0]
    assert "- file: chapters/memory_is_the_new_bottleneck" in theses
    ledger = claims.ledger(repo / "data" / "claims.csv")
    row = ledger.set_index("claim_id").loc["C1"]
    assert row["chapter"] == "chapters/memory_is_the_new_bottleneck"
    assert claims.evaluate(row.to_dict() | {"claim_id": "C1"}).status == "not testable with public data"
    assert "def test_chapter_memory_is_the_new_bottleneck_executes" in written["test"].read_text()


@pytest.mark.fast
def test_scaffold_refuses_taken_names(repo):
    new_chapter("Memory is the new bottleneck", "C1", "x", root=repo)
    with pytest.raises(ScaffoldError, match="already exists"):
        new_chapter("Memory is the new bottleneck", "C2", "x", root=repo)
    with pytest.raises(ScaffoldError, match="already in"):
        new_chapter("Another title", "C1", "x", root=repo)
    with pytest.raises(ScaffoldError, match="should look like"):
        new_chapter("Third title", "c-1", "x", root=repo)


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])  # the notebook kernel talks to the test over loopback only
def test_scaffolded_chapter_executes(repo, monkeypatch):
    """The generated notebook runs against the committed snapshot and draws its chart."""
    import jupytext
    import nbclient

    written = new_chapter("Memory is the new bottleneck", "C1", "HBM suppliers capture the margin", root=repo)
    monkeypatch.setenv("VALUECHAIN_CHART_DATA", str(repo / "charts"))  # the kernel inherits the environment
    notebook = jupytext.read(written["chapter"])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(written["chapter"].parent)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="vc-chart"' in html
    assert 'data-claim="C1" data-status="not testable with public data"' in html
    assert (repo / "charts" / "memory-is-the-new-bottleneck-revenue.csv").exists()
