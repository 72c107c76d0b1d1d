"""Find raw machine values where a reader looks: tables and text of a built page or an executed notebook.

A raw value is a float with more than four decimals, ``nan``/``NaN``/``NaT``/``<NA>``, a cell
that is just ``None``, ``True`` or ``False``, a year printed with a thousands separator (``2,019``) or a fiscal label with a
decimal (``FY2023.0``). Code (cell inputs), scripts, styles and chart specs are not read.

``python tests/raw_values.py PATH...`` (``.html`` pages or executed ``.ipynb``) prints each finding.
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

PATTERNS = {
    "float with more than four decimals": re.compile(r"(?<![\w.#-])-?\d+\.\d{5,}(?![\w.])"),
    "missing value printed as a machine token": re.compile(r"(?<![\w-])(nan|NaN|NaT|<NA>)(?![\w-])"),
    "year with a thousands separator": re.compile(r"(?<![\d,.$])(19|20)\d,\d{3}(?![\d,])|(?<![\d,.$])2,0\d\d(?![\d,])"),
    "fiscal label with a decimal": re.compile(r"\bFY\d{4}\.\d\b"),
}
# Elements whose text a reader does not read as prose or table cells.
SKIP_TAGS = {"script", "style", "code", "pre", "svg", "template"}
SKIP_CLASSES = {"cell_input", "highlight", "vc-chart", "vc-noscript", "headerlink"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "meta", "link", "input", "hr", "col", "source", "wbr"):
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = tag in SKIP_TAGS or bool(classes & SKIP_CLASSES) or (self.stack and self.stack[-1])
        self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.chunks.append(data)


# Words that are raw values only when they are a whole cell (prose says "None of them", "True costs").
WHOLE_CELL = {"None": "missing value printed as a machine token", "True": "boolean printed raw",
              "False": "boolean printed raw"}


def reader_chunks(html: str) -> list[str]:
    """The text nodes of ``html`` a reader sees (table cells, paragraphs), code and chart specs left out."""
    parser = _Text()
    parser.feed(html)
    return [c for c in parser.chunks if c.strip()]


def reader_text(html: str) -> str:
    """The text of ``html`` a reader sees, code and chart specs left out."""
    return " ".join(reader_chunks(html))


def findings(text: str, chunks: list[str] = ()) -> list[tuple[str, str]]:
    """(kind, snippet) for every raw machine value in reader text (and whole-cell tokens in ``chunks``)."""
    out = [(WHOLE_CELL[c.strip()], c.strip()) for c in chunks if c.strip() in WHOLE_CELL]
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            out.append((kind, text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")))
    return out


def notebook_html(path: Path) -> str:
    """The HTML and Markdown outputs of an executed notebook, joined."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            parts.append("<p>" + "".join(cell["source"]) + "</p>")
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts.append("".join(data.get("text/html", "")) or "<p>" + "".join(data.get("text/markdown", "")) + "</p>")
            if out.get("name") == "stdout":
                parts.append("<p>" + "".join(out.get("text", "")) + "</p>")
    return "\n".join(parts)


def main(paths: list[str]) -> int:
    bad = 0
    for name in paths:
        path = Path(name)
        html = notebook_html(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
        chunks = reader_chunks(html)
        for kind, snippet in findings(" ".join(chunks), chunks):
            bad += 1
            print(f"{path.name}: {kind}: …{snippet}…")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
