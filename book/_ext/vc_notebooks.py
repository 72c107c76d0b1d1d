"""Sphinx extension: offer each chapter as a Jupyter notebook (.ipynb) generated from its MyST source.

The notebook holds the chapter's cells without outputs, with a first cell saying where it comes from
and what it needs; it is written to ``_static/notebooks/<chapter>.ipynb`` and linked at the top of the
chapter's article.
"""

from pathlib import Path

import jupytext
import nbformat

FOLDER = "chapters/"
LINK = ('<p class="vc-notebook-link"><a class="vc-download" href="{link}" download>Download this chapter as a '
        "notebook (.ipynb)</a> to re-run it in Jupyter.</p>")
PREAMBLE = (
    "*Generated from `{source}` of the AI Value Chain book when the book was built.* It runs top to "
    "bottom in a kernel where the book's library is installed (`pip install -r requirements.txt -e .` "
    "in a clone of the repository, see the README's \"Re-run a chapter\"); the data come from the "
    "snapshot committed with that clone."
)


def _notebook_path(app, docname: str) -> Path:
    return Path(app.outdir) / "_static" / "notebooks" / f"{Path(docname).name}.ipynb"


def _write_notebook(app, docname: str) -> None:
    source = Path(app.srcdir) / f"{docname}.md"
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(PREAMBLE.format(source=f"{docname}.md")))
    target = _notebook_path(app, docname)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def add_notebook_link(app, pagename, templatename, context, doctree):
    if not pagename.startswith(FOLDER) or not (Path(app.srcdir) / f"{pagename}.md").is_file():
        return
    _write_notebook(app, pagename)
    link = f"../_static/notebooks/{Path(pagename).name}.ipynb"
    context["body"] = LINK.format(link=link) + context.get("body", "")


def setup(app):
    app.connect("html-page-context", add_notebook_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
