"""The accountflow CLI: serve, worker, migrate, token, export-schema, seed-demo, import, export."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from app import db, logs, tracing
from app.models.auth import Role
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("accountflow.cli")


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    # The migrations ship as a package in the wheel: found by import wherever they are
    # installed, from any folder; alembic.ini only serves `alembic` run in a checkout.
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


async def _create_token(url: str, email: str, role: Role, name: str | None, **options: Any) -> str:
    """A token of the user with `email` (app.auth.cli_tokens.user_token: `options`)."""
    from app.auth.cli_tokens import user_token

    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await user_token(session, email=email, role=role, name=name, **options)
    finally:
        await engine.dispose()


async def _valid_token(url: str, token: str) -> bool:
    from app.auth.tokens import authenticate

    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            return await authenticate(session, token) is not None
    finally:
        await engine.dispose()


def admin_token_path(settings: Settings) -> Path:
    return settings.data_dir / "admin-token"


def write_secret(path: Path, secret: str) -> None:
    """Write a file that is private from its first byte: created with mode 0600 (never
    chmod-ed after the fact), then moved into place so no reader sees half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def admin_token(settings: Settings, url: str) -> tuple[str, bool]:
    """The embedded database's admin token, kept in the data dir across restarts; True when
    it was created just now (a missing, revoked or expired one is replaced)."""
    path = admin_token_path(settings)
    if path.exists():
        token = path.read_text().strip()
        if asyncio.run(_valid_token(url, token)):
            return token, False
    cap = settings.security.max_tokens_per_user
    token = asyncio.run(
        _create_token(url, "admin@accountflow.io", Role.ADMIN, "Admin", max_live=cap)
    )
    write_secret(path, token)
    return token, True


def admin_token_notice(settings: Settings, url: str) -> str:
    """What `serve` says about the admin token: the secret itself only when just created, so
    it reaches a terminal's scrollback (or a CI log) once."""
    token, created = admin_token(settings, url)
    if created:
        return f"accountflow: admin token (header 'Authorization: Bearer …'): {token}"
    where = admin_token_path(settings)
    return f"accountflow: admin token in {where} (`accountflow token show` prints it)"


def metrics_folder(workers: int) -> None:
    """With several workers, each writes its metrics to one folder that /metrics adds up
    (prometheus_client's multiprocess mode): set for the workers before they start, and
    emptied, since what a previous run left there would be counted again."""
    from app.metrics import MULTIPROCESS_DIR

    given = os.environ.get(MULTIPROCESS_DIR)
    if workers < 2 and not given:
        return
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="accountflow-metrics-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ[MULTIPROCESS_DIR] = str(folder)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    url = db.resolve_database_url(settings)
    if settings.database_url is None:
        migrate(url)
        notice = admin_token_notice(settings, url)
        os.environ["DATABASE_URL"] = url  # workers reuse this server instead of starting one
        log.info("accountflow: GraphiQL on http://%s:%s/graphql", args.host, args.port)
        log.info("%s", notice)
    # Read by each worker process's app factory: deliver webhooks there too.
    os.environ["ACCOUNTFLOW_WORKER"] = "0" if args.no_worker else "1"
    metrics_folder(args.workers)
    # uvicorn raises the SIGTERM it shut down on once more under the handler it found: as an
    # exit, so the embedded PostgreSQL is stopped by pgserver's atexit hook, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.web.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        ws_max_size=settings.limits.max_body_bytes,
        ws_ping_interval=settings.ws.ping_interval or None,
        ws_ping_timeout=settings.ws.ping_timeout or None,
        log_config=logs.log_config(settings),  # uvicorn's lines and every worker's: ours
        access_log=False,  # one access line per request is written by the app (app.web.observe)
    )


async def _deliver(url: str, settings: Settings) -> None:
    import signal

    from app.webhooks import worker

    engine = db.create_engine(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.run(
            db.create_sessionmaker(engine),
            stop=stop,
            allow_private=settings.push.webhook_allow_private,
            timeout_seconds=settings.push.webhook_timeout_seconds,
            retention=settings.push.event_retention,
        )
    finally:
        await engine.dispose()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    url = db.resolve_direct_url(settings)
    tracing.setup()  # each delivery a client span passing `traceparent` on
    try:
        import uvloop  # installed with uvicorn[standard]: less CPU per delivery
    except ImportError:  # pragma: no cover
        asyncio.run(_deliver(url, settings))
    else:
        uvloop.run(_deliver(url, settings))


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    migrate(db.resolve_direct_url(settings))


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> None:
    from app.errors import AppError

    url = db.resolve_direct_url(settings)
    if settings.database_url is None:
        migrate(url)
    cap = settings.security.max_tokens_per_user
    made = _create_token(url, args.email, Role(args.role), args.name, max_live=cap, same_role=True)
    try:
        print(asyncio.run(made))
    except AppError as error:  # a role mismatch, the token cap, an inactive user
        sys.exit(f"accountflow: {error}")


async def _revoke_token(url: str, token: str) -> None:
    from app.auth import tokens
    from app.kit.actor import SYSTEM

    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            await tokens.revoke_token(session, actor=SYSTEM, raw_token=token)
    finally:
        await engine.dispose()


def cmd_token_show(args: argparse.Namespace, settings: Settings) -> None:
    path = admin_token_path(settings)
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        sys.exit(f"accountflow: no admin token in {path}; `accountflow serve` creates it")
    print(token)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> None:
    asyncio.run(_revoke_token(db.resolve_direct_url(settings), args.token))
    print("revoked")


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> None:
    from schema import schema

    sys.stdout.write(schema.as_str() + "\n")


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> None:
    from app.demo import seed_demo

    url = db.resolve_direct_url(settings)
    if settings.database_url is None:
        migrate(url)
    summary = asyncio.run(seed_demo(url, accounts=args.accounts, seed=args.seed))
    print(summary)


async def _refresh_balances(url: str) -> tuple[int, int]:
    from datetime import UTC, datetime

    from app.activities.reminders import refresh_and_remind

    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await refresh_and_remind(session, now=datetime.now(UTC))
    finally:
        await engine.dispose()


def cmd_refresh_balances(args: argparse.Namespace, settings: Settings) -> None:
    url = db.resolve_direct_url(settings)
    refreshed, reminded = asyncio.run(_refresh_balances(url))
    print(f"refreshed {refreshed} assignments")
    print(f"{reminded} assignments became overdue (CADENCE_OVERDUE emitted)")


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    from app.imports import cli
    from app.imports.jobs import check_mapping
    from app.models.imports import ImportKind, ImportMode

    url = db.resolve_direct_url(settings)
    if settings.database_url is None:
        migrate(url)
    mapping = check_mapping(cli.parse_json_option(args.mapping, "mapping"))
    result = asyncio.run(
        cli.import_file(
            url,
            kind=ImportKind(args.kind.upper()),
            path=Path(args.file),
            mapping=mapping,
            mode=ImportMode(args.mode.upper().replace("-", "_")),
            dry_run=args.dry_run,
            ignore_unknown_columns=args.ignore_unknown_columns,
        )
    )
    if result.failed or result.rejected:
        raise SystemExit(1)


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    from app.imports import cli
    from app.models.imports import ImportKind

    url = db.resolve_direct_url(settings)
    if settings.database_url is None:
        migrate(url)
    filter = cli.parse_json_option(args.filter, "filter")
    asyncio.run(
        cli.export_kind(
            url, kind=ImportKind(args.kind.upper()), filter=filter, out=sys.stdout.buffer
        )
    )


KINDS = ["accounts", "contacts", "leads", "activities", "assignments"]


def add_import_export(sub: Any) -> None:
    imports = sub.add_parser("import", help="import a CSV file (progress on stderr)")
    imports.add_argument("kind", choices=KINDS)
    imports.add_argument("file")
    imports.add_argument("--mapping", help="JSON file: CSV column -> field name, or null: skip")
    imports.add_argument(
        "--mode", choices=["all-or-nothing", "skip-invalid"], default="all-or-nothing"
    )
    imports.add_argument("--dry-run", action="store_true")
    imports.add_argument(
        "--ignore-unknown-columns",
        action="store_true",
        help="skip the columns no field matches (one warning) instead of refusing the file",
    )
    imports.set_defaults(run=cmd_import)
    exports = sub.add_parser("export", help="write a CSV of one kind to stdout")
    exports.add_argument("kind", choices=KINDS)
    exports.add_argument("--filter", help="JSON object: the list's filter fields")
    exports.set_defaults(run=cmd_export)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="accountflow", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate (embedded) and serve GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-worker", action="store_true", help="do not deliver webhooks in the server processes"
    )
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("migrate", help="alembic upgrade head").set_defaults(run=cmd_migrate)
    sub.add_parser(
        "worker", help="deliver webhooks until SIGINT/SIGTERM (any number, on any host)"
    ).set_defaults(run=cmd_worker)
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser(
        "create", help="create a token (and the user, with --role, when missing)"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name")
    create.set_defaults(run=cmd_token_create)
    revoke = token.add_parser(
        "revoke", help="revoke a token; every server refuses it within a second"
    )
    revoke.add_argument("--token", required=True)
    revoke.set_defaults(run=cmd_token_revoke)
    show = token.add_parser("show", help="print the embedded server's admin token again")
    show.set_defaults(run=cmd_token_show)
    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=cmd_export_schema
    )
    seed = sub.add_parser("seed-demo", help="load a believable demo data set")
    seed.add_argument("--accounts", type=int, default=300)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(run=cmd_seed_demo)
    sub.add_parser(
        "refresh-balances", help="daily job: recompute stored contact balances for today"
    ).set_defaults(run=cmd_refresh_balances)
    add_import_export(sub)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    from app.errors import AppError

    args = parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings)  # every line on stderr: stdout keeps a command's result alone
    try:
        args.run(args, settings)
    except AppError as error:
        raise SystemExit(f"accountflow: {error.message}") from None


if __name__ == "__main__":
    main()
