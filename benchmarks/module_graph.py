"""Print the shape of valuechain_lib's import graph: modules, floors, arrows, cycles, imports of the package face.

Run ``python benchmarks/module_graph.py``. Floors are the length of the longest import chain (a module that
imports nothing of the package is on floor 1); an arrow is one module importing another, counted once however
many names it takes; a cycle is a strongly connected group of two or more modules. Lazy imports inside
functions count, as they do for import-linter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

PACKAGE = "valuechain_lib"


def _package_graph() -> tuple[set[str], dict[str, set[str]]]:
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    modules = {m for m in graph.modules if m.startswith(PACKAGE)}
    # A package's __init__ is a module like any other; grimp names it after the package.
    arrows = {m: {t for t in graph.find_modules_directly_imported_by(m) if t in modules} for m in modules}
    return modules, arrows


def _cycles(arrows: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in arrows[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(arrows):
        if node not in index:
            visit(node)
    return groups


def _floors(arrows: dict[str, set[str]], cycles: list[list[str]]) -> int:
    # Collapse each cycle to one node so the longest chain is defined.
    representative = {m: group[0] for group in cycles for m in group}
    collapsed: dict[str, set[str]] = {}
    for source, targets in arrows.items():
        s = representative.get(source, source)
        collapsed.setdefault(s, set()).update(representative.get(t, t) for t in targets if representative.get(t, t) != s)
    depth: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in depth:
            depth[node] = 1 + max((floor(t) for t in collapsed.get(node, ())), default=0)
        return depth[node]

    return max(floor(n) for n in collapsed)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    modules, arrows = _package_graph()
    cycles = _cycles(arrows)
    face_imports = sorted(m for m, targets in arrows.items() if PACKAGE in targets and m != PACKAGE)
    top_level = sorted(
        p.stem for p in (Path(__file__).resolve().parents[1] / PACKAGE).glob("*.py")
    )
    print(f"modules            {len(modules)}")
    print(f"top-level modules  {len(top_level)} ({', '.join(top_level)})")
    print(f"floors             {_floors(arrows, cycles)}")
    print(f"arrows             {sum(len(t) for t in arrows.values())}")
    print(f"cycles             {len(cycles)}" + "".join(f"\n  {' <-> '.join(c)}" for c in cycles))
    print(f"imports of the package face from inside: {len(face_imports)}" + "".join(f"\n  {m}" for m in face_imports))


if __name__ == "__main__":
    main()
