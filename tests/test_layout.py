"""The package layout holds: no module cycle, no upward import between features, no oversized module.

The graph is built from the source with ``ast`` (nothing is imported). Features, bottom to top:
accounts → jobs → kits → eol → inspection → certificates; training may use all of them; every
other module under ``workshop`` is shared and imports no feature.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "workshop"
FEATURES = ("accounts", "jobs", "kits", "eol", "inspection", "certificates", "training")
RANK = {name: i for i, name in enumerate(FEATURES)}
TOP = {"workshop", "workshop.cli", "workshop.demo", "workshop.wsgi"}
MAX_LINES = 700
MAX_LINES_UNDER = {"kits": 450, "training": 450}

# No known debts: any cycle, upward import or oversized module fails (issue 16).
ALLOWED_CYCLES: set[frozenset] = set()
ALLOWED_UPWARD: set[tuple[str, str]] = set()
ALLOWED_OVERSIZED: set[str] = set()


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class _Imports(ast.NodeVisitor):
    """Every import (module level and inside functions), except under ``if TYPE_CHECKING:``."""

    def __init__(self, name: str, package: str, known: set[str]):
        self.name, self.package, self.known, self.found = name, package, known, set()

    def visit_If(self, node):
        test = node.test
        if (
            getattr(test, "id", None) == "TYPE_CHECKING"
            or getattr(test, "attr", None) == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def add(self, target: str):
        while target and target not in self.known:
            target = target.rpartition(".")[0]
        if target and target != self.name:
            self.found.add(target)

    def visit_Import(self, node):
        for alias in node.names:
            self.add(alias.name)

    def visit_ImportFrom(self, node):
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
        for alias in node.names:
            full = f"{base}.{alias.name}" if base else alias.name
            self.add(full if full in self.known else base)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The ``workshop`` modules ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    visitor = _Imports(name, package, known)
    visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
    return visitor.found


def build_graph(root: Path):
    """(module → imported modules, module → line count) for every .py under ``root``."""
    files = {
        module_name(p, root): p for p in sorted(root.rglob("*.py")) if "migrations" not in p.parts
    }
    known = set(files)
    graph = {name: imports_of(path, name, known) for name, path in files.items()}
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in files.items()
    }
    return graph, sizes


def feature_of(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def cycles(graph) -> list[frozenset]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph) -> set[tuple[str, str]]:
    """Imports from a lower feature into a higher one (training is the top feature).

    The composition roots (the app factory, the CLI, the demo seeder, wsgi) wire every feature
    and are exempt, as are shared modules (``workshop.columns``, ``workshop.web`` ...), which are
    not ranked.
    """
    bad = set()
    for src, targets in graph.items():
        a = feature_of(src)
        if src in TOP or a is None:
            continue
        for dst in targets:
            b = feature_of(dst)
            if b is not None and b != a and RANK[b] > RANK[a]:
                bad.add((src, dst))
    return bad


def oversized(sizes) -> set[str]:
    bad = set()
    for name, lines in sizes.items():
        feature = feature_of(name)
        if lines > MAX_LINES_UNDER.get(feature, MAX_LINES):
            bad.add(name)
    return bad


def problems(
    root: Path,
    allowed_cycles=frozenset(),
    allowed_upward=frozenset(),
    allowed_oversized=frozenset(),
):
    graph, sizes = build_graph(root)
    return (
        sorted(sorted(c) for c in cycles(graph) if c not in allowed_cycles),
        sorted(upward(graph) - set(allowed_upward)),
        sorted(oversized(sizes) - set(allowed_oversized)),
    )


def test_workshop_layout_holds():
    found_cycles, found_upward, found_oversized = problems(
        ROOT, ALLOWED_CYCLES, ALLOWED_UPWARD, ALLOWED_OVERSIZED
    )
    assert found_cycles == []
    assert found_upward == []
    assert found_oversized == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "workshop" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [root / "workshop", *(p for p in (root / "workshop").rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return root / "workshop"


@pytest.mark.parametrize(
    ("files", "which"),
    [
        (
            {
                "jobs/a.py": "from workshop.jobs import b\n",
                "jobs/b.py": "from workshop.jobs.a import x\n",
            },
            0,
        ),
        ({"jobs/a.py": "from workshop.kits import stock\n", "kits/stock.py": ""}, 1),
        ({"kits/a.py": "from workshop.training.b import x\n", "training/b.py": ""}, 1),
        ({"kits/big.py": "x = 1\n" * 451}, 2),
        ({"jobs/big.py": "x = 1\n" * 701}, 2),
    ],
)
def test_checker_fails_on_a_bad_graph(tmp_path, files, which):
    found = problems(_write(tmp_path, files))
    assert found[which], found
    assert not any(found[i] for i in range(3) if i != which), found


def test_checker_passes_a_downward_graph(tmp_path):
    files = {
        "money.py": "x = 1\n",
        "jobs/a.py": "from workshop.money import x\n",
        "kits/b.py": "from workshop.jobs.a import x\n",
        "training/c.py": "from workshop.kits import b\nfrom workshop.jobs import a\n",
        "kits/ok.py": "x = 1\n" * 450,
    }
    assert problems(_write(tmp_path, files)) == ([], [], [])
