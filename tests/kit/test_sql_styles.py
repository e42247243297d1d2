"""SQL in three styles: Core statements, `.sql` files loaded by app.kit.sql, and PL/pgSQL only
inside migrations, which import nothing from app. Read from the source, not run."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from app.kit.sql import read_sql, sql_file

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
LOADERS = {"read_sql", "sql_file"}


def _modules(folder: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _imports_app(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "app"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "app" for alias in node.names)
    return False


def _app_names(module: ast.Module) -> set[str]:
    """Names a module binds by importing from app (the constants of other modules)."""
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import | ast.ImportFrom) and _imports_app(node):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return names


def _spliced(node: ast.expr, names: set[str]) -> bool:
    """An f-string, .format() or % that puts one of `names` into SQL text."""
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        is_format = node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
        parts = [*node.args, *(k.value for k in node.keywords)] if is_format else []
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        parts = [node.left, node.right]
    else:
        return False
    return any(isinstance(n, ast.Name) and n.id in names for p in parts for n in ast.walk(p))


def _sql_places(module: ast.Module) -> Iterator[ast.expr]:
    """Module-level constants, and the arguments of every text() call."""
    for statement in module.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            yield statement.value
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "text":
                yield from node.args


def _splices(module: ast.Module) -> list[int]:
    names = _app_names(module)
    return sorted(
        {
            node.lineno
            for place in _sql_places(module)
            for node in ast.walk(place)
            if isinstance(node, ast.expr) and _spliced(node, names)
        }
    )


def test_no_module_splices_another_modules_sql() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{lines}"
        for path, module in _modules(APP)
        if (lines := _splices(module))
    }
    assert found == set()


def test_the_check_sees_a_splice() -> None:
    source = (
        "from app.activities import cadence\n"
        "from app.events import gid\n"
        "A = f'WITH x AS (SELECT 1), {cadence.CTES} SELECT 1'\n"
        "def f():\n"
        "    return text('SELECT ' + gid('User', 'id'))\n"
        "B = f'{LOCAL} is fine'\n"
    )
    assert _splices(ast.parse(source)) == [3, 5]


def test_migrations_import_nothing_from_app() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, module in _modules(ROOT / "migrations" / "versions")
        for node in ast.walk(module)
        if isinstance(node, ast.Import | ast.ImportFrom) and _imports_app(node)
    }
    assert found == set()


def _loaded_files() -> dict[Path, set[str]]:
    """Per package folder under app, the .sql files its modules load through app.kit.sql."""
    loaded: dict[Path, set[str]] = {}
    for path, module in _modules(APP):
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in LOADERS
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                loaded.setdefault(path.parent, set()).add(node.args[1].value)
    return loaded


def test_every_sql_file_is_loaded_by_its_package() -> None:
    loaded = _loaded_files()
    files = {path.parent: set[str]() for path in APP.rglob("*.sql")}
    for path in APP.rglob("*.sql"):
        files[path.parent].add(path.name)
    assert files == {folder: names for folder, names in loaded.items()}


def test_sql_files_are_read_only_through_the_kit() -> None:
    readers = {
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, module in _modules(APP)
        if path != APP / "kit" / "sql.py"
        for node in ast.walk(module)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.endswith(".sql")
        and not _is_loader_argument(module, node)
    }
    assert readers == set()


def _is_loader_argument(module: ast.Module, constant: ast.Constant) -> bool:
    return any(
        isinstance(node, ast.Call)
        and getattr(node.func, "id", None) in LOADERS
        and constant in node.args
        for node in ast.walk(module)
    )


def test_the_loader_reads_from_the_package() -> None:
    assert read_sql("app.reports", "coverage.sql").startswith("-- Coverage of live accounts")
    statement = sql_file("app.reports", "activity_mix.sql")
    assert sorted(statement.compile().params) == ["end", "start", "team_id"]


def _after_new_activities(name: str) -> str:
    """The CTEs that follow new_activities, up to the final SELECT."""
    sql = read_sql("app.activities", name)
    start = sql.index("\n-- An activity.logged event")
    return sql[start : sql.rindex("\nSELECT ")]


def test_both_activity_statements_announce_and_count_contacts_alike() -> None:
    # Written out in each file rather than spliced; this keeps the copies equal.
    shared = _after_new_activities("log_activities.sql")
    assert shared == _after_new_activities("merge_staged.sql")
    assert re.findall(r"^(\w+) AS", shared, re.MULTILINE) == [
        "activity_events",
        "contact_hits",
        "contact_locks",
        "contacts_applied",
    ]


# Multi-line SQL lives in .sql files. What may stay a one-line text() in Python: session
# commands, which have no Core form (SET LOCAL ..., LOCK TABLE ..., SELECT set_config(...),
# and the health check's SELECT 1), and fragments inside Core statements that are not
# statements themselves (an index's WHERE, an interval).
SESSION_COMMANDS = ("SET LOCAL ", "LOCK TABLE ", "SELECT set_config(")
_STATEMENT = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|LOCK|CREATE|DROP|ALTER|TRUNCATE|VALUES)\b",
    re.IGNORECASE,
)


def _literal(node: ast.expr) -> str | None:
    """The SQL a text() argument spells out (an f-string's fields as {}), None for a name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
            for v in node.values
        )
    return None


def _text_calls(module: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "text") or (
                isinstance(func, ast.Attribute)
                and func.attr == "text"
                and isinstance(func.value, ast.Name)
                and func.value.id in {"sa", "sqlalchemy"}
            ):
                yield node


def _inline_sql(module: ast.Module) -> list[int]:
    """Lines of text() calls whose SQL spans lines, or is a statement but no session command."""
    found = set()
    for call in _text_calls(module):
        argument = call.args[0]
        sql = _literal(argument)
        if sql is None:
            continue
        several_lines = "\n" in sql.strip() or argument.end_lineno != argument.lineno
        command = sql.strip() == "SELECT 1" or sql.lstrip().startswith(SESSION_COMMANDS)
        if several_lines or (_STATEMENT.match(sql) and not command):
            found.add(call.lineno)
    return sorted(found)


def test_python_holds_no_multi_line_sql() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{lines}"
        for path, module in _modules(APP)
        if (lines := _inline_sql(module))
    }
    assert found == set()


def test_the_check_sees_inline_sql() -> None:
    source = (
        'A = text("""\n    SELECT id\n    FROM accounts\n""")\n'
        "B = text(\n    'SELECT pg_is_in_recovery(),'\n    ' 1 AS lag'\n).bindparams()\n"
        "def f():\n"
        "    return text(\n        'UPDATE a SET x = 1 '\n        'WHERE y'\n    )\n"
        "C = text('SELECT id FROM accounts WHERE id = ANY(:ids) FOR UPDATE')\n"
        "D = text(f\"SET LOCAL lock_timeout = '{T}'\")\n"
        "E = text('LOCK TABLE pipeline_entries IN EXCLUSIVE MODE')\n"
        "F = text(\"SELECT set_config('work_mem', '64MB', true)\")\n"
        "G = text('SELECT 1')\n"
        "H = Index('ix', postgresql_where=text(\"status = 'PENDING'\"))\n"
        "I = checks.text('name', name)\n"
        "J = text(PREDICATE)\n"
    )
    assert _inline_sql(ast.parse(source)) == [1, 5, 10, 14]


def test_the_staging_table_is_named_as_bulk_names_it() -> None:
    from app.activities.bulk import STAGING

    for name in ("create_staging.sql", "staged_repeats.sql", "merge_staged.sql"):
        sql = read_sql("app.activities", name)
        assert set(re.findall(r"\b\w*staging\w*\b", sql)) == {STAGING}, name
    assert read_sql("app.activities", "create_staging.sql").startswith(
        f"CREATE TEMP TABLE {STAGING} ("
    )
