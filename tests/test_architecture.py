"""The package's shape, as the README and pyproject's import-linter contracts describe it.

import-linter (run by .ci/run) checks the floors between subpackages; these tests check what it cannot:
what the chapters import, how many modules sit at the top, and that no import cycle has come back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import jupytext
import pytest

import valuechain_lib

REPO_ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO_ROOT / "chapters").glob("*.md"))
#: What a chapter may import besides the public face and its own analysis module.
SHARED_FOR_CHAPTERS = ("valuechain_lib.publish.charts", "valuechain_lib.publish.book", "valuechain_lib.claims")


def _imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every import of valuechain_lib in a chapter's code cells; name None for ``import m``."""
    found = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found += [(a.name, None) for a in node.names if a.name.startswith("valuechain_lib")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("valuechain_lib"):
                found += [(node.module, a.name) for a in node.names]
    return found


def _allowed(chapter: str, module: str, name: str | None) -> bool:
    own = f"valuechain_lib.analyses.{chapter}"
    if module == "valuechain_lib":
        return name is None or name in valuechain_lib.__all__
    if module == "valuechain_lib.analyses":
        return name == chapter
    if module == own:
        return True
    if module == "valuechain_lib.publish":
        return f"{module}.{name}" in SHARED_FOR_CHAPTERS
    return any(module == m or module.startswith(m + ".") for m in SHARED_FOR_CHAPTERS)


@pytest.mark.fast
def test_the_chapter_import_rule_rejects_what_it_should():
    """The rule itself: another chapter's analysis, a snapshot module or a model are refused."""
    assert _allowed("hourglass", "valuechain_lib.analyses", "hourglass")
    assert _allowed("hourglass", "valuechain_lib", "financials")
    assert _allowed("hourglass", "valuechain_lib.claims", "ledger")
    assert not _allowed("hourglass", "valuechain_lib.analyses", "capex_vs_cash")
    assert not _allowed("hourglass", "valuechain_lib.snapshot.store", "manifest")
    assert not _allowed("hourglass", "valuechain_lib.models", "gpu_economics")
    assert not _allowed("hourglass", "valuechain_lib", "_version")


@pytest.mark.fast
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapters_import_only_the_face_their_analysis_charts_page_helpers_and_claims(chapter):
    """A chapter reads the library through the public face, its own analysis module
    (``valuechain_lib.analyses.<chapter>``), the chart helper, the page helpers and the claims ledger."""
    wrong = [f"{m}{'' if n is None else ' -> ' + n}" for m, n in _imports(chapter) if not _allowed(chapter.stem, m, n)]
    assert not wrong, f"{chapter.name} imports {wrong}"


@pytest.mark.fast
def test_each_chapter_with_an_analysis_module_is_named_after_it():
    """Every analysis module is named after a chapter (``analyses/<name>.py`` ↔ ``chapters/<name>.md``)."""
    modules = {p.stem for p in (REPO_ROOT / "valuechain_lib" / "analyses").glob("*.py")} - {"__init__"}
    assert modules <= {c.stem for c in CHAPTERS}, modules - {c.stem for c in CHAPTERS}


@pytest.mark.fast
def test_the_top_level_holds_at_most_ten_modules():
    """The package's top level shows the architecture: subpackages, and at most ten modules beside them."""
    top = sorted(p.name for p in (REPO_ROOT / "valuechain_lib").glob("*.py"))
    assert len(top) <= 10, top


@pytest.mark.fast
def test_no_import_cycle_between_modules():
    """No two modules import each other, directly or through others (lazy imports in functions count)."""
    graph = grimp.build_graph("valuechain_lib", cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("valuechain_lib"))
    cycles = [(a, b) for a in modules for b in graph.find_modules_directly_imported_by(a)
              if b.startswith("valuechain_lib") and b != a and graph.chain_exists(importer=b, imported=a)]
    assert not cycles, cycles[:5]
