"""Sphinx extension: the book's own page assets, with nothing a page does not use (no CDN).

* Charts: Vega's runtime only (``vega/vega-runtime.js``; every chart is compiled to Vega when its
  notebook runs, `valuechain_lib.publish.charts.figure`), then the loader ``vc-charts.js``, deferred.
* Icons: the theme's Font Awesome font is 156 KB for the score of icons the pages show. ``vc-icons.css``
  declares the same font family with ``vc-icons.woff2``, a subset holding only those glyphs (declared
  after the theme's stylesheet, so the browser fetches it instead); `write_icon_font` makes it from the
  installed theme, and the build fails naming any icon a page uses that the subset lacks.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "_static"
ICON_FONT, ICON_RECORD = "vc-icons.woff2", "vc-icons.json"
_ICON_CLASS = re.compile(r'class="[^"]*\bfa-solid\b[^"]*"')
_ICON_NAME = re.compile(r"\bfa-([a-z0-9-]+)")
_NOT_ICONS = {"solid", "regular", "brands", "lg", "xs", "sm", "xl", "2x", "fw", "spin"}


def _theme_files():
    import pydata_sphinx_theme

    root = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    return (root / "styles" / "pydata-sphinx-theme.css",
            root / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2")


def icon_codepoints(css_text: str, names) -> dict[str, int]:
    """Glyphs to keep: the ``.fa-NAME`` icons named, and every ``--pst-icon-*`` glyph (admonitions)."""
    keep = {}
    for name in names:
        found = re.search(r"\.fa-" + re.escape(name) + r':(?::)?before\{content:"\\(f[0-9a-f]{3})"\}', css_text) or \
            re.search(r"\.fa-" + re.escape(name) + r':(?::)?before[^{]*\{content:"\\(f[0-9a-f]{3})"', css_text)
        if found:
            keep[name] = int(found.group(1), 16)
    for name, char in re.findall(r"--pst-icon-([a-z-]+):\"([^\"\\])\"", css_text):
        keep[f"pst-{name}"] = ord(char)
    return keep


def write_icon_font(names, dest: Path = STATIC) -> dict:
    """Subset the theme's solid icon font to ``names`` (and the admonition icons); needs fontTools and brotli."""
    from fontTools import subset

    css, font = _theme_files()
    keep = icon_codepoints(css.read_text(encoding="utf-8"), names)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []
    loaded = subset.load_font(str(font), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(set(keep.values())))
    subsetter.subset(loaded)
    subset.save_font(loaded, str(dest / ICON_FONT), options)
    record = {"source": {"file": font.name, "sha256": hashlib.sha256(font.read_bytes()).hexdigest()},
              "icons": dict(sorted(keep.items())),
              "bytes": (dest / ICON_FONT).stat().st_size}
    (dest / ICON_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def icons_in(html: str) -> set[str]:
    """Font Awesome icon names a page's HTML shows (``<i class="fa-solid fa-moon">``)."""
    return {n for cls in _ICON_CLASS.findall(html) for n in _ICON_NAME.findall(cls)} - _NOT_ICONS


def check_icons(app, exception) -> None:
    """After an HTML build: every icon a page shows must be in the subset font (a warning names it)."""
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    known = set(json.loads((STATIC / ICON_RECORD).read_text(encoding="utf-8"))["icons"])
    missing = {}
    for page in Path(app.outdir).rglob("*.html"):
        for name in icons_in(page.read_text(encoding="utf-8", errors="replace")) - known:
            missing.setdefault(name, page.relative_to(app.outdir).as_posix())
    for name, page in sorted(missing.items()):
        logging.getLogger(__name__).warning(
            f"icon fa-{name} (on {page}) is not in book/_static/{ICON_FONT}: run "
            f"`python book/_ext/vc_assets.py icons` to make the subset again")


def preload_runtime(app, pagename, templatename, context, doctree) -> None:
    """On a page with charts, ask for the Vega runtime and the chart loader first and at high priority (a
    deferred script is otherwise fetched last, after every stylesheet and script, and the first chart
    waits for both)."""
    if "vc-chart" not in context.get("body", "") or "js_tag" not in context:
        return
    links = []
    for script in context.get("script_files", []):
        if str(getattr(script, "filename", script)).endswith(("vega/vega-runtime.js", "vc-charts.js")):
            found = re.search(r'src="([^"]+)"', context["js_tag"](script))
            if found:  # the same URL as the script tag's (with its ?v= checksum), so it is fetched once
                links.append(f'<link rel="preload" href="{found.group(1)}" as="script" fetchpriority="high" />\n')
    context["metatags"] = "".join(links) + context.get("metatags", "")


def setup(app):
    # The Vega runtime first, then the small loader that draws every chart container on the page.
    app.add_js_file("vega/vega-runtime.js", defer="defer")
    app.add_js_file("vc-charts.js", defer="defer")
    app.add_css_file("vc-charts.css")
    app.add_css_file("vc-icons.css")
    app.connect("html-page-context", preload_runtime)
    app.connect("build-finished", check_icons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["icons"]:
        sys.exit("usage: python book/_ext/vc_assets.py icons   (needs: pip install fonttools brotli)")
    # The icons the theme's templates can show, plus any the last build's pages show.
    import pydata_sphinx_theme
    import sphinx_book_theme

    names = set()
    for package in (pydata_sphinx_theme, sphinx_book_theme):
        for path in Path(package.__file__).parent.rglob("*.html"):
            names |= {n for n in _ICON_NAME.findall(path.read_text(encoding="utf-8", errors="replace"))} - _NOT_ICONS
    built = Path(__file__).resolve().parents[2] / "_build" / "html"
    for page in built.rglob("*.html") if built.is_dir() else ():
        names |= icons_in(page.read_text(encoding="utf-8", errors="replace"))
    print(json.dumps(write_icon_font(sorted(names)), indent=2))
