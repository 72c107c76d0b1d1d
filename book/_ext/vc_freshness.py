"""Sphinx extension: the status page's "how fresh is the data" table, computed when the book is built.

"Days old" depends on the build date, so it cannot live in an executed (cached) notebook cell: the
``{vc-freshness}`` directive renders `valuechain_lib.publish.book.freshness` at read time, and the status page
is re-read on every build.
"""

import importlib
import threading

from docutils import nodes
from docutils.parsers.rst import Directive

PAGE = "book/status"
#: What the directive imports: pandas and Altair behind it take about a second, which a reader process
#: would spend on the build's critical path; they load while the notebooks run instead (`_prepare`).
NEEDS = "valuechain_lib.publish.book"
_WARM_KEY = "_vc_freshness_warm"


class FreshnessDirective(Directive):
    has_content = False

    def run(self):
        from valuechain_lib.publish.book import format_table, freshness

        table = freshness()
        shown = format_table(table.rename(columns={
            "ticker": "Ticker", "name": "Company", "latest_fiscal_period": "Latest period",
            "latest_period_end": "Period end", "days_old": "Days old at build", "latest_filed": "Filed",
            "next_period_end": "Next period end", "next_form": "Next form", "next_due": "Next filing due",
            "overdue": "Due date passed"}), {"Days old at build": "number"})
        head = "".join(f"<th>{c}</th>" for c in shown.columns)
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
        html = (f'<div class="vc-table-wrap"><table class="vc-freshness"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")
        return [nodes.raw("", html, format="html")]


def always_reread(app, env, added, changed, removed):
    return [PAGE] if PAGE in env.found_docs else []


def _prepare(app):
    """While this process waits for the notebook pool (``vc-pages-running``), import what the directive needs."""
    if PAGE in app.env.found_docs and getattr(app, _WARM_KEY, None) is None:
        thread = threading.Thread(target=importlib.import_module, args=(NEEDS,), daemon=True)
        thread.start()
        setattr(app, _WARM_KEY, thread)


def _listen(app, config):
    if "vc-pages-running" in app.events.events:
        app.connect("vc-pages-running", _prepare)


def _ready(app, env, docnames):
    """Before Sphinx reads (and may fork readers): the import is finished, so no reader inherits it half done."""
    thread = getattr(app, _WARM_KEY, None)
    if thread is not None:
        thread.join()


def setup(app):
    app.add_directive("vc-freshness", FreshnessDirective)
    app.connect("env-get-outdated", always_reread)
    app.connect("config-inited", _listen)  # every extension is set up by then (vc_execute defines the event)
    app.connect("env-before-read-docs", _ready)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
