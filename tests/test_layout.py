"""The house's shape, read from the code: sizes, which package may import which.

Packages of `app/` (and its top-level modules) import each other one way only; the domain
imports neither the GraphQL layer nor GraphQL libraries (only the edge, `app/web/`, and the
CLI do); migrations are history and import nothing from `app`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("app", "schema", "migrations", "bench")
MAX_SOURCE_LINES = 400
MAX_TEST_LINES = 600
MAX_FUNCTION_LINES = 30
SHORT_FUNCTION_SHARE = 0.90
GRAPHQL_LAYER = ("schema", "strawberry", "graphql")
MAY_IMPORT_GRAPHQL = ("app/web/", "app/__main__.py")


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_modules(path: Path) -> Iterator[str]:
    """Every absolute import in the file, at module level or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def app_unit(path: Path) -> str:
    """The package (or top-level module) of app/ a file belongs to."""
    return path.relative_to(ROOT / "app").parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    units = set()
    for module in imported_modules(path):
        parts = module.split(".")
        if parts[0] == "app" and len(parts) > 1:
            units.add(parts[1])
    return units


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        rel(path): lines
        for path in python_files(*SOURCE)
        if (lines := len(path.read_text().splitlines())) > MAX_SOURCE_LINES
    }
    assert long == {}


def test_no_test_file_is_over_600_lines() -> None:
    long = {
        rel(path): lines
        for path in python_files("tests")
        if (lines := len(path.read_text().splitlines())) > MAX_TEST_LINES
    }
    assert long == {}


def test_nine_functions_in_ten_are_at_most_30_lines() -> None:
    lengths = [
        node.end_lineno - node.lineno + 1
        for path in python_files(*SOURCE)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno
    ]
    short = sum(1 for length in lengths if length <= MAX_FUNCTION_LINES)
    assert short / len(lengths) >= SHORT_FUNCTION_SHARE


def test_no_two_packages_of_app_import_each_other() -> None:
    edges: dict[str, set[str]] = {}
    for path in python_files("app"):
        unit = app_unit(path)
        edges.setdefault(unit, set()).update(imported_units(path) - {unit})
    mutual = sorted(
        (a, b) for a, targets in edges.items() for b in targets if a < b and a in edges.get(b, ())
    )
    assert mutual == []


def test_the_domain_imports_no_graphql() -> None:
    offenders = [
        (rel(path), module)
        for path in python_files("app")
        if not rel(path).startswith(MAY_IMPORT_GRAPHQL)
        for module in imported_modules(path)
        if module.split(".")[0] in GRAPHQL_LAYER
    ]
    assert offenders == []


def test_migrations_import_nothing_from_app() -> None:
    offenders = [
        (rel(path), module)
        for path in python_files("migrations/versions")
        for module in imported_modules(path)
        if module.split(".")[0] == "app"
    ]
    assert offenders == []


def test_every_package_says_what_lives_there() -> None:
    silent = [
        rel(init)
        for folder in ("app", "schema")
        for init in sorted((ROOT / folder).rglob("__init__.py"))
        if ast.get_docstring(ast.parse(init.read_text())) is None
    ]
    assert silent == []


def test_services_never_check_the_callers_role() -> None:
    """The rule table decides (schema/authz.py): a service asks `actor.may(action)`."""
    offenders = [
        f"{rel(path)}:{node.lineno}"
        for path in python_files("app")
        if not rel(path).startswith(("app/kit/actor.py", *MAY_IMPORT_GRAPHQL))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr == "role"
        and isinstance(node.value, ast.Name)
        and node.value.id == "actor"
    ]
    assert offenders == []
