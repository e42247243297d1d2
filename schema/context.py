from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from app.kit.actor import Actor
from app.models.auth import Role, User
from app.models.teams import RecordVisibility
from app.replica import ReportDatabase
from app.settings import Settings
from schema.authz import grants

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
BatchFn = Callable[[AsyncSession, Sequence[K]], Awaitable[Sequence[V]]]


@dataclass(slots=True)
class Context:
    """Per request: one session, serialised by a lock (sibling fields resolve concurrently)."""

    session: AsyncSession
    viewer: User
    token_id: int
    request_id: str
    settings: Settings
    report_source: ReportDatabase | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The request's instant: every time-dependent field (cadence status, seconds in stage)
    # of one answer is computed against it, on both read paths.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The company's record visibility, read once per request by schema.visibility.
    visibility: RecordVisibility | None = None
    # Run once the mutation's transaction has committed (e.g. start an import job).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _loaders: dict[Any, DataLoader[Any, Any]] = field(default_factory=dict)
    # Sets of futures graphql-core settles in the background (they may use the session).
    background: list[set[asyncio.Future[Any]]] = field(default_factory=list)
    # Copied from the viewer row once: a rolled-back mutation expires that row, and reading
    # it again would need the database in the middle of resolving a field.
    role: Role = field(init=False)
    viewer_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.role = self.viewer.role
        self.viewer_id = self.viewer.id

    @property
    def actor(self) -> Actor:
        return Actor(
            user_id=self.viewer_id,
            role=self.role,
            token_id=self.token_id,
            request_id=self.request_id,
            grants=grants(self.role),
        )

    async def settle(self) -> None:
        """The request is over: wait for the fields graphql-core left running (see
        schema.engine.executor.SettlingExecutionContext) and for a DataLoader statement still
        running (see `loader`), then drop the loaders. graphql-core's execution context is a
        reference cycle that holds this Context, so their futures and rows would otherwise
        live until a garbage collection (under load a third of its time: bench/README.md,
        "Peers")."""
        for futures in self.background:
            while futures:
                await asyncio.wait(list(futures))
        async with self.lock:
            pass
        self._loaders.clear()

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self.lock:
            yield self.session

    @asynccontextmanager
    async def reports(self) -> AsyncIterator[AsyncSession]:
        """A session for a report: the replica's while it is healthy, else the request's own."""
        sessionmaker = await self.report_source.choose() if self.report_source else None
        if sessionmaker is None:
            async with self.db() as session:
                yield session
            return
        async with sessionmaker() as session:
            yield session

    def loader(self, batch: BatchFn[K, V]) -> DataLoader[K, V]:
        """One DataLoader per batch function per request; batches never overlap on the session."""
        found = self._loaders.get(batch)
        if found is None:

            async def load(keys: list[K]) -> Sequence[V]:
                async with self.lock:
                    # A statement cancelled halfway kills its connection: when graphql-core
                    # cancels this (a sibling field failed), let the statement finish, and
                    # keep the lock until it has.
                    running = asyncio.ensure_future(batch(self.session, keys))
                    try:
                        return await asyncio.shield(running)
                    except asyncio.CancelledError:
                        await asyncio.wait([running])
                        raise

            found = DataLoader(load_fn=load)
            self._loaders[batch] = found
        return found


Info = StrawberryInfo[Context, None]
