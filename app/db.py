from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Connection, DateTime, MetaData, event, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.errors import AppError, InvalidInputError, StatementTimeoutError
from app.settings import DbTimeouts, Pooler, Settings

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)


M = TypeVar("M", bound=IdMixin)
BatchById = Callable[[AsyncSession, Sequence[int]], Awaitable[list[M | None]]]


def rows_by_id(model: type[M]) -> BatchById[M]:
    """A DataLoader batch function: the rows of `model` for many ids, in the ids' order."""

    async def load(session: AsyncSession, ids: Sequence[int]) -> list[M | None]:
        rows = await session.scalars(select(model).where(model.id.in_(ids)))
        found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    return load


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


EMBEDDED_DATABASE = "accountflow"


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; nothing to act on.
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def embedded_server(pg_dir: Path, *, cleanup_mode: str | None = "stop") -> Any:
    """The pgserver PostgreSQL in pg_dir, started when not running yet."""
    return _pgserver().get_server(pg_dir, cleanup_mode=cleanup_mode)


def postgres_binaries() -> Path:
    """pg_ctl, pg_basebackup, psql… as shipped in the pgserver wheel."""
    return Path(_pgserver().__file__).parent / "pginstall" / "bin"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir and return its asyncpg URL."""
    pg_dir = data_dir / "pg"
    pg_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_server(pg_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    log.info("embedded PostgreSQL running in %s", pg_dir)
    return f"postgresql+asyncpg://postgres:@/{EMBEDDED_DATABASE}?host={pg_dir}"


def resolve_database_url(settings: Settings) -> str:
    return settings.database_url or start_embedded_postgres(settings.data_dir)


def resolve_direct_url(settings: Settings) -> str:
    """For what needs a session of its own (LISTEN, session locks, migrations, the CLI):
    DATABASE_DIRECT_URL when the main URL goes through a transaction-mode pooler."""
    return settings.direct_url or resolve_database_url(settings)


def create_engine(
    url: str,
    *,
    timeouts: DbTimeouts | None = None,
    pooler: Pooler | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """The engine; every transaction it runs carries the timeouts (see README: pool sizing
    and "Behind PgBouncer")."""
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", False)
    pooler = pooler or Pooler()
    connect_args = kwargs.setdefault("connect_args", {})
    settings = (timeouts or DbTimeouts()).server_settings()
    if pooler.timeouts_per == "connection":
        connect_args["server_settings"] = settings | connect_args.get("server_settings", {})
    if not pooler.statement_cache:
        connect_args.update(_NO_STATEMENT_CACHE)
    engine = create_async_engine(url, **kwargs)
    if pooler.timeouts_per == "transaction":
        _set_per_transaction(engine, settings)
    return engine


# asyncpg's own cache off, SQLAlchemy's off, and names no other client of a pooled server
# connection can have taken (asyncpg numbers them per client connection).
_NO_STATEMENT_CACHE: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__accountflow_{uuid.uuid4().hex}__",
}


def _set_per_transaction(engine: AsyncEngine, settings: dict[str, str]) -> None:
    """SET LOCAL the timeouts as each transaction begins: one more round trip each."""
    calls = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in settings.items())
    statement = f"SELECT {calls}"

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(statement)


_TIMEOUT_STATES = frozenset({"57014", "55P03"})  # query_canceled, lock_not_available
_TEXT_STATES = frozenset({"22021", "22P05"})  # character_not_in_repertoire, untranslatable


def expected_error(error: BaseException) -> AppError | None:
    """The AppError a failure stands for when the client can act on it, else None.

    Resolvers below the root raise AppErrors (e.g. a bad cursor on a nested connection);
    a statement past its timeout is TIMEOUT (retry later), not an internal error.
    """
    if isinstance(error, AppError):
        return error
    if not isinstance(error, DBAPIError):
        return None
    state = getattr(error.orig, "sqlstate", None)
    if state in _TIMEOUT_STATES:
        return StatementTimeoutError("The database took too long; try again later.")
    if state in _TEXT_STATES:
        return InvalidInputError("Text must not contain NUL or invalid characters.")
    return None


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A unit of work for the CLI and scripts: commit on success, roll back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
