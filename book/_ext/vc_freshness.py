"""Sphinx extension: the status page's "how fresh is the data" table, computed when the book is built.

"Days old" depends on the build date, so it cannot live in an executed (cached) notebook cell: the
``{vc-freshness}`` directive renders `valuechain_lib.publish.book.freshness` at read time, and the status page
is re-read on every build.
"""

from docutils import nodes
from docutils.parsers.rst import Directive

PAGE = "book/status"


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


def setup(app):
    app.add_directive("vc-freshness", FreshnessDirective)
    app.connect("env-get-outdated", always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
