"""The Airflow image installs the loader wheel without its dependencies (images/airflow/Dockerfile).

That is only safe while every loader module the DAG imports, and everything those import, needs
the standard library alone. Read from the source, so it needs neither Airflow nor the loader's
dependencies to be absent: a new `import requests` in the registry fails here, not in a pod.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS = REPO_ROOT / "dags"
LOADER = REPO_ROOT / "loader"
PACKAGE = "imdb_loader"


def imported_modules(path: Path) -> set[str]:
    """Module names that importing `path` imports (relative imports do not occur in our code).

    Imports inside functions are left out: they run only when called, and the DAG never calls
    those (imdb_loader.libpq.pg_env imports psycopg2 for the local runner, which has it).
    """
    names: set[str] = set()
    for node in module_level(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def module_level(tree: ast.Module) -> list[ast.AST]:
    """The nodes that run at import time: everything but the bodies of functions."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


def loader_modules_the_dag_imports() -> set[str]:
    return {
        name
        for path in DAGS.rglob("*.py")
        if "tests" not in path.relative_to(DAGS).parts
        for name in imported_modules(path)
        if name.split(".")[0] == PACKAGE
    }


def module_file(name: str) -> Path:
    base = LOADER.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def closure(roots: set[str]) -> dict[str, set[str]]:
    """Every loader module reachable from `roots`, with the outside modules it imports."""
    outside: dict[str, set[str]] = {}
    pending = sorted(roots | {PACKAGE})
    while pending:
        name = pending.pop()
        if name in outside:
            continue
        imports = imported_modules(module_file(name))
        outside[name] = {i for i in imports if i.split(".")[0] != PACKAGE}
        pending.extend(i for i in imports if i.split(".")[0] == PACKAGE and i not in outside)
    return outside


def test_the_dag_imports_the_registry() -> None:
    roots = loader_modules_the_dag_imports()
    assert f"{PACKAGE}.datasets" in roots, "the DAG derives its tasks from the dataset registry"
    assert all(module_file(name).is_file() for name in roots), roots


def test_what_the_dag_imports_from_the_loader_needs_only_the_standard_library() -> None:
    third_party = {
        module: sorted(i for i in imports if i.split(".")[0] not in sys.stdlib_module_names and i != "__future__")
        for module, imports in closure(loader_modules_the_dag_imports()).items()
    }
    offenders = {module: names for module, names in third_party.items() if names}
    assert not offenders, f"the Airflow image has no loader dependencies, but these modules need them: {offenders}"
