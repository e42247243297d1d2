"""Only schema/engine/ touches strawberry's and graphql-core's internals; the domain (app/,
but for its web edge and CLI) imports neither library nor `schema`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENGINE = ROOT / "schema" / "engine"
# The public API every module may use; any other module of these libraries is internal.
PUBLIC = frozenset(
    {
        "graphql",
        "strawberry",
        "strawberry.dataloader",
        "strawberry.extensions",
        "strawberry.file_uploads",
        "strawberry.relay",
        "strawberry.scalars",
        "strawberry.schema.config",
        "strawberry.tools",
        "strawberry.types",
    }
)
PRIVATE_ATTRIBUTES = frozenset({"_schema", "_strawberry_schema"})
EDGE = ("app/web/", "app/__main__.py")


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(module, name) of every import; name is None for `import module`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield from ((node.module, alias.name) for alias in node.names)


def _library(module: str) -> bool:
    return module.split(".")[0] in ("strawberry", "graphql")


def internals(source: str) -> list[str]:
    """The internals of strawberry or graphql-core a module's source uses."""
    tree = ast.parse(source)
    found = []
    for module, name in _imports(tree):
        if not _library(module):
            continue
        if module not in PUBLIC or (name or "").startswith("_"):
            found.append(f"{module}.{name}" if name else module)
    found += [
        f"._{node.attr[1:]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES
    ]
    return found


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("app", "schema") if ENGINE not in p.parents],
    ids=_relative,
)
def test_only_the_engine_touches_library_internals(path: Path) -> None:
    assert internals(path.read_text()) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("app") if not _relative(p).startswith(EDGE)],
    ids=_relative,
)
def test_the_domain_imports_no_graphql_layer(path: Path) -> None:
    tree = ast.parse(path.read_text())
    used = [m for m, _ in _imports(tree) if _library(m) or m.split(".")[0] == "schema"]
    assert used == []


def test_the_check_sees_what_it_forbids() -> None:
    source = (
        "from strawberry.types.nodes import SelectedField\n"
        "from graphql.execution.values import VariableValues\n"
        "from graphql import _private\n"
        "import strawberry.utils.str_converters\n"
        "from strawberry.types import Info\n"
        "from graphql import GraphQLError\n"
        "def f(s): return s._schema\n"
    )
    assert internals(source) == [
        "strawberry.types.nodes.SelectedField",
        "graphql.execution.values.VariableValues",
        "graphql._private",
        "strawberry.utils.str_converters",
        "._schema",
    ]


def test_the_engine_uses_internals_the_check_would_refuse() -> None:
    # Were the engine's modules allowed everything for want of looking, the check proves
    # nothing: the engine itself must trip it.
    engine = [internals(p.read_text()) for p in _modules("schema/engine")]
    assert any(engine)
