"""Sphinx extension: serve the book's own chart scripts (no CDN) once per page, deferred."""


def setup(app):
    # The Vega bundle first, then the small loader that draws every chart container on the page.
    app.add_js_file("vega/vega-bundle.js", defer="defer")
    app.add_js_file("vc-charts.js", defer="defer")
    app.add_css_file("vc-charts.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
