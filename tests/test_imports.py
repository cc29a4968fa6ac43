"""No import cycles among tinyae's modules, counting imports inside functions too.

A cycle works only as long as every module of it imports the others late enough; a
function-level import that hides one is still a cycle, and it makes a learner ask
"which of these two comes first?".  The graph is read from the source with ``ast``:
an edge m → n for every ``import``/``from … import`` anywhere in m naming module n.
Importing ``tinyae.a.b`` also runs the packages ``tinyae`` and ``tinyae.a``, but Python
handles those parents on its own; only the named module counts.
"""

import ast
from pathlib import Path

import tinyae

PACKAGE = Path(tinyae.__file__).parent


def module_files(package: Path) -> dict[str, Path]:
    """``{"tinyae.models.vae": path, "tinyae.models": path/__init__.py, …}``."""
    files = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` imports, at any depth of its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: "from .idx import" inside tinyae.datasets
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from tinyae import layers" imports the module tinyae.layers
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # "tinyae.x.Name" → "tinyae.x"
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles(package: Path) -> list[list[str]]:
    """Every cycle a depth-first search meets, each as ``[m, n, …, m]``."""
    modules = module_files(package)
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    cycles, done, path = [], set(), []

    def visit(name: str) -> None:
        path.append(name)
        for other in sorted(graph[name]):
            if other in path:
                cycles.append(path[path.index(other):] + [other])
            elif other not in done:
                visit(other)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name)
    return cycles


def test_tinyae_has_no_import_cycle():
    cycles = import_cycles(PACKAGE)
    assert not cycles, "import cycles: " + "; ".join(" → ".join(cycle) for cycle in cycles)


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub.b import f\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n    return a\n")
    (package / "c.py").write_text("import pkg.a\n")
    assert import_cycles(package) == [["pkg.a", "pkg.sub.b", "pkg.a"]]
