"""The chapter scaffold: one command gives a notebook, a TOC entry, a claims row, a starter rule and its tests.

Every test scaffolds into a scratch repository made from the committed data (the `data_copy` fixture),
with any fork claims already in the ledger taken out, so the tests pass in a fork that has run the
README's walk-through (its ``X1`` is then in ``data/claims.csv``).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import importlib.util
import io
import os
import re
from pathlib import Path

import pytest

from valuechain_lib.claims import ledger as claims
from valuechain_lib.claims.verdicts import Verdict
from valuechain_lib.publish import scaffold
from valuechain_lib.publish.scaffold import REPO_ROOT, ScaffoldError, new_chapter, slugify

TITLE, SLUG = "Memory is the new bottleneck", "memory_is_the_new_bottleneck"
CLAIM = "HBM suppliers capture the margin GPU makers had"


def _without_forks(ledger_text: str, toc_text: str) -> tuple[str, str]:
    """The ledger without fork rows (ids starting with X) and the TOC without their chapters."""
    rows = list(csv.DictReader(io.StringIO(ledger_text)))
    forks = [r for r in rows if r["claim_id"].startswith(claims.FORK_PREFIX)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=claims.CLAIM_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r not in forks)
    chapters = {r["chapter"] for r in forks if r["chapter"]}
    toc = [line for line in toc_text.splitlines()
           if not any(re.fullmatch(rf"-\s*file:\s*{re.escape(c)}(\.md)?", line.strip()) for c in chapters)]
    return out.getvalue(), "\n".join(toc) + "\n"


@pytest.fixture()
def repo(data_copy):
    """A scratch repository: the committed data (no fork claims), the TOC, empty chapters/ and tests/."""
    root = data_copy.parent
    ledger, toc = _without_forks((data_copy / "claims.csv").read_text(encoding="utf-8"),
                                 (REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    (data_copy / "claims.csv").write_text(ledger, encoding="utf-8")
    (root / "_toc.yml").write_text(toc, encoding="utf-8")
    (root / "chapters").mkdir()
    (root / "tests").mkdir()
    return root


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes under ``root``."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _load_rule(path: Path):
    """Import a scaffolded rule module from its file (the scratch repository is not on the path)."""
    spec = importlib.util.spec_from_file_location(f"scaffolded_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.fast
def test_slugify():
    """Known answers: punctuation becomes underscores; a title of punctuation alone is refused."""
    assert slugify("Memory is the new bottleneck!") == SLUG
    with pytest.raises(ScaffoldError, match="empty file name"):
        slugify("!!!")


@pytest.mark.fast
def test_scaffold_writes_chapter_toc_claim_rule_and_test(repo):
    """X1 gets a chapter under The theses, a not-testable ledger row naming the starter rule, a starter
    rule that gives a real verdict, and a test file with a flip test and a smoke test."""
    written = new_chapter(TITLE, "X1", CLAIM, root=repo)
    text = written["chapter"].read_text()
    assert text.startswith("---\njupytext:") and "(memory-is-the-new-bottleneck)=" in text
    assert f"# {TITLE}" in text and "## Summary" in text and 'claims.show("X1")' in text
    toc = (repo / "_toc.yml").read_text()
    theses = toc.split("- caption: The theses", 1)[1].split("- caption:", 1)[0]
    assert f"- file: chapters/{SLUG}" in theses
    row = claims.ledger(repo / "data" / "claims.csv").set_index("claim_id", drop=False).loc["X1"]
    assert (row["essay"], row["chapter"], row["section"]) == ("fork", f"chapters/{SLUG}", "summary")
    assert f"valuechain_lib.forks.{SLUG}:verdict_x1" in row["params"]
    assert claims.evaluate(row).status == "not testable with public data"
    assert written["rule"] == repo / "valuechain_lib" / "forks" / f"{SLUG}.py"
    rule = _load_rule(written["rule"])
    verdict = rule.verdict_x1(threshold=0.5)
    assert isinstance(verdict, Verdict) and verdict.status in ("supported", "not supported")
    assert 0 < verdict.measured <= 1 and verdict.threshold == 0.5 and verdict.data_through
    assert rule.CLAIM == CLAIM and rule.CLAIM_ID == "X1"
    tests = written["test"].read_text()
    assert f"from valuechain_lib.forks import {SLUG} as rule" in tests
    assert "def test_rule_flips_at_its_threshold" in tests and f"def test_chapter_{SLUG}_executes" in tests


@pytest.mark.fast
def test_starter_rule_flips_at_its_threshold(repo):
    """The starter's scoring function on a synthetic group: 60 of 100 is a 60% share, so a 50% threshold
    holds (0.1 from the flip) and a 70% threshold does not."""
    import pandas as pd

    rule = _load_rule(new_chapter(TITLE, "X1", CLAIM, root=repo)["rule"])
    revenue = pd.DataFrame({"ticker": ["AAA", "BBB", "CCC"], "calendar_year": 2025, "calendar_quarter": 4,
                            "period_end": pd.Timestamp("2025-12-31"), "value": [60.0, 30.0, 10.0]})
    holds = rule.leader_share(revenue, 0.5)
    assert (holds.status, holds.measured, holds.distance_to_flip) == ("supported", pytest.approx(0.6),
                                                                      pytest.approx(0.1))
    assert rule.leader_share(revenue, 0.7).status == "not supported"


@pytest.mark.fast
@pytest.mark.parametrize("title", [
    'Triple """quotes""" end the docstring',
    "Back\\slash and 'single' quotes",
    "Braces {slug} and {{doubled}}",
    "2026: a year starting with a digit",
    "class",
    "Ünïcödé and emoji 🚀 memory",
])
def test_any_title_gives_valid_python(repo, title):
    """Titles that would break a naive template: every written Python file compiles and carries the title
    (or claim) exactly, read back as a literal."""
    claim = f'A claim with """ and {{braces}} and \\ about {title}'
    written = new_chapter(title, "X1", claim, root=repo)
    for path in (written["rule"], written["test"]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        values = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name) and t.id in ("TITLE", "CLAIM")}
        assert values.get("TITLE", title) == title and values.get("CLAIM", claim) == claim
    assert written["rule"].stem.isidentifier()


@pytest.mark.fast
def test_scaffold_refuses_taken_names(repo):
    """A second X1, or a second chapter of the same title, is refused; the next free fork id is offered."""
    new_chapter(TITLE, "X1", "x", root=repo)
    with pytest.raises(ScaffoldError, match="already exists"):
        new_chapter(TITLE, "X2", "x", root=repo)
    with pytest.raises(ScaffoldError, match="'X1' is already in data/claims.csv; the next free fork id is X2"):
        new_chapter("Another title", "X1", "x", root=repo)


def _orphan_toc(root: Path) -> None:
    toc = root / "_toc.yml"
    toc.write_text(toc.read_text().replace("- caption: The theses", "- caption: Essays"), encoding="utf-8")


def _toc_lists_it(root: Path) -> None:
    toc = root / "_toc.yml"
    toc.write_text(toc.read_text().replace("- file: chapters/hourglass",
                                           f"- file: chapters/hourglass\n      - file: chapters/{SLUG}"))


def _file(relative: str):
    def make(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# someone's work\n", encoding="utf-8")
    return make


def _fork_x1_taken(root: Path) -> None:
    new_chapter("An earlier fork chapter", "X1", "x", root=root)


def _broken_ledger(root: Path) -> None:
    path = root / "data" / "claims.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("claimed=0.70", "claimd=0.70"), encoding="utf-8")


# (id, set-up of the scratch repository, keyword arguments of new_chapter, words the message must hold)
SCAFFOLD_CASES = [
    ("book id C1", None, {"claim_id": "C1"}, ["'C1'", "not a fork id", "X1"]),
    ("essay id A3", None, {"claim_id": "A3"}, ["'A3'", "not a fork id"]),
    ("id with a space", None, {"claim_id": "X 1"}, ["'X 1'", "capital letters then a number", "X1"]),
    ("lower-case id", None, {"claim_id": "x1"}, ["'x1'", "capital letters then a number"]),
    ("id already taken", _fork_x1_taken, {"claim_id": "X1"}, ["'X1'", "already in data/claims.csv", "X2"]),
    ("book claim taken", None, {"claim_id": "A3", "book_claim": True}, ["'A3'", "already in data/claims.csv"]),
    ("book claim with a fork id", None, {"claim_id": "X1", "book_claim": True}, ["'X1'", "reserved for forks"]),
    ("empty claim", None, {"claim": ""}, ["claim is empty", "--claim"]),
    ("whitespace claim", None, {"claim": "   \t "}, ["claim is empty", "--claim"]),
    ("two-line claim", None, {"claim": "first line\nsecond line"}, ["claim", "one line"]),
    ("empty title", None, {"title": "  "}, ["title is empty"]),
    ("title of punctuation", None, {"title": "?!?"}, ["'?!?'", "empty file name"]),
    ("two-line title", None, {"title": "Memory\nbottleneck"}, ["title", "one line"]),
    ("title too long", None, {"title": "word " * 20}, ["file name of 99 characters", "shorter title"]),
    ("no theses part in the TOC", _orphan_toc, {}, ["_toc.yml", "'The theses'"]),
    ("TOC already lists it", _toc_lists_it, {}, ["_toc.yml already lists", f"chapters/{SLUG}"]),
    ("chapter exists", _file(f"chapters/{SLUG}.md"), {}, [f"chapters/{SLUG}.md", "already exists"]),
    ("test exists", _file(f"tests/test_chapter_{SLUG}.py"), {}, [f"test_chapter_{SLUG}.py", "already exists"]),
    ("rule exists", _file(f"valuechain_lib/forks/{SLUG}.py"), {}, [f"forks/{SLUG}.py", "already exists"]),
    ("ledger does not load", _broken_ledger, {}, ["data/claims.csv does not load", "A3", "'claimd'"]),
]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "setup", "arguments", "words"), SCAFFOLD_CASES,
                         ids=[c[0] for c in SCAFFOLD_CASES])
def test_scaffold_bad_input(repo, case, setup, arguments, words):
    """Each bad input is refused before anything is written: one line naming what is wrong, and no file
    under the scratch repository (data/ included) changes."""
    if setup:
        setup(repo)
    before = tree_digest(repo)
    call = {"title": TITLE, "claim_id": "X1", "claim": CLAIM} | arguments
    with pytest.raises(ScaffoldError) as caught:
        new_chapter(**call, root=repo)
    message = str(caught.value)
    assert not [w for w in words if w not in message], f"{message!r} does not name {words}"
    assert "\n" not in message
    assert tree_digest(repo) == before, "a refused scaffold changed a file"


@pytest.mark.fast
def test_scaffold_writes_all_or_nothing(repo, monkeypatch):
    """A failure while writing the fourth of five files (a full disk) puts every file back as it was."""
    before = tree_digest(repo)
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(scaffold.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        new_chapter(TITLE, "X1", CLAIM, root=repo)
    assert len(calls) == 4
    assert tree_digest(repo) == before
    assert not (repo / "valuechain_lib").exists(), "the folders made for the rule were left behind"


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])  # the notebook kernel talks to the test over loopback only
def test_scaffolded_chapter_executes(repo, monkeypatch):
    """The generated notebook runs against the committed snapshot and draws its chart and X1's verdict."""
    import jupytext
    import nbclient

    written = new_chapter(TITLE, "X1", CLAIM, root=repo)
    monkeypatch.setenv("VALUECHAIN_CHART_DATA", str(repo / "charts"))  # the kernel inherits the environment
    notebook = jupytext.read(written["chapter"])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(written["chapter"].parent)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="vc-chart"' in html
    assert 'data-claim="X1" data-status="not testable with public data"' in html
    assert (repo / "charts" / "memory-is-the-new-bottleneck-revenue.csv").exists()
