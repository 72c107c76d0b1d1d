"""A newcomer's habits: a virtual environment inside the clone, and chapters re-run as notebooks.

The README's set-up keeps the environment in ``.venv/`` inside the clone; Sphinx must not read it
(its packages ship READMEs and Jupyter Book's own template notebooks, which would be executed).
Each chapter page offers its notebook (``_static/notebooks/<chapter>.ipynb``), which must run top to
bottom in a fresh kernel outside the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.browser_tools import REPO_ROOT

pytestmark = [pytest.mark.slow]

# Copies of the repository leave out environments and build output, as a fresh clone would not have them.
LEFT_OUT = shutil.ignore_patterns(".venv", "venv", "_build", ".git", ".pytest_cache", ".ruff_cache",
                                  ".hypothesis", "__pycache__", "*.egg-info", ".benchmarks")
FAILING_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": ["raise SystemExit('a notebook inside an environment folder was executed')"]}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def _plant_environment(folder):
    """What `python3 -m venv` plus `pip install jupyter-book` leave behind that Sphinx could read."""
    site = folder / "lib" / "python3.11" / "site-packages"
    template = site / "jupyter_book" / "book_template"
    template.mkdir(parents=True)
    (template / "notebooks.ipynb").write_text(json.dumps(FAILING_NOTEBOOK))
    (template / "markdown-notebooks.md").write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n"
        "  display_name: Python 3\n---\n# Stray\n\n```{code-cell} ipython3\nraise SystemExit(4)\n```\n")
    (site / "somepackage-1.0.dist-info").mkdir()
    (site / "somepackage-1.0.dist-info" / "LICENSE.md").write_text("# Licence\n\nText [broken](nowhere.md).\n")
    (folder / "README.md").write_text("# An environment's readme\n")


@pytest.mark.allow_hosts(["127.0.0.1"])  # notebook kernels talk to the build over loopback only
def test_book_builds_with_environments_inside_the_clone(tmp_path):
    """A copy of the repository with `.venv/` and `venv/` holding notebooks and Markdown builds the book
    with the README's command, and neither folder reaches the HTML."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO_ROOT, clone, ignore=LEFT_OUT)
    for name in (".venv", "venv"):
        _plant_environment(clone / name)
    result = subprocess.run([sys.executable, "-m", "valuechain_lib", "build"], cwd=clone, capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = clone / "_build" / "html"
    assert (html / "chapters" / "capex_vs_cash.html").is_file()
    assert not list(html.rglob("*book_template*")) and not (html / ".venv").exists() and not (html / "venv").exists()


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_downloaded_chapter_notebook_runs_in_a_fresh_kernel(built_book, tmp_path, monkeypatch):
    """The capex chapter's .ipynb, as a reader downloads it, runs top to bottom outside the repository:
    no error, nothing on stderr, its chart and its verdict drawn."""
    import nbclient
    import nbformat

    page = (built_book / "chapters" / "capex_vs_cash.html").read_text(encoding="utf-8")
    assert 'href="../_static/notebooks/capex_vs_cash.ipynb"' in page
    downloaded = tmp_path / "capex_vs_cash.ipynb"
    shutil.copyfile(built_book / "_static" / "notebooks" / "capex_vs_cash.ipynb", downloaded)
    notebook = nbformat.read(downloaded, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "the download holds inputs only"
    monkeypatch.setenv("VALUECHAIN_CHART_DATA", str(tmp_path / "charts"))
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"], "a cell wrote to stderr"
    shown = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="vc-chart"' in shown and 'data-claim="B2"' in shown


def test_every_chapter_page_offers_its_notebook(built_book):
    """Each page under chapters/ links its generated notebook, and the file is a valid notebook."""
    import nbformat

    pages = sorted((built_book / "chapters").glob("*.html"))
    assert pages
    for page in pages:
        assert f'href="../_static/notebooks/{page.stem}.ipynb"' in page.read_text(encoding="utf-8"), page.name
        nbformat.validate(nbformat.read(built_book / "_static" / "notebooks" / f"{page.stem}.ipynb", as_version=4))
