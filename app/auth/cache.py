"""Principals read in the last second, per process, keyed by the token's hash.

Never the raw token: a memory dump shows what the database holds anyway. Bounded: past
`size` entries the oldest goes first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from app.models.auth import User


@dataclass(slots=True)
class _Entry:
    user: User  # detached: never in a session, copied into each request's by `merge`
    token_id: int
    until: float  # time.monotonic()
    expires_at: datetime | None
    use_is_stale: bool  # as the lookup read it, until a stamp succeeds


class PrincipalCache:
    def __init__(self, *, seconds: float, size: int) -> None:
        self.seconds = seconds
        self.size = size
        # Bumped by every `drop_matching`: a lookup that began before it stores nothing.
        self.generation = 0
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token_hash: str) -> tuple[User, int, bool] | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        expired = entry.expires_at is not None and entry.expires_at <= datetime.now(UTC)
        if expired or entry.until <= time.monotonic():
            del self._entries[token_hash]
            return None
        return entry.user, entry.token_id, entry.use_is_stale

    def put(
        self,
        token_hash: str,
        user: User,
        token_id: int,
        expires_at: datetime | None,
        use_is_stale: bool,
        generation: int,
    ) -> None:
        """Keep what a lookup read, unless a token or user was forgotten while it ran."""
        if generation != self.generation or self.seconds <= 0:
            return
        self._entries.pop(token_hash, None)  # re-inserted last: the oldest stay first
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        until = time.monotonic() + self.seconds
        copy = _detached_copy(user)
        self._entries[token_hash] = _Entry(copy, token_id, until, expires_at, use_is_stale)

    def stamped(self, token_id: int) -> None:
        for entry in self._entries.values():
            if entry.token_id == token_id:
                entry.use_is_stale = False

    def drop(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)

    def drop_matching(self, *, token_id: int | None = None, user_id: int | None = None) -> None:
        self.generation += 1
        for key, entry in list(self._entries.items()):
            if entry.token_id == token_id or entry.user.id == user_id:
                del self._entries[key]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def _detached_copy(user: User) -> User:
    """The row's column values in a new instance that looks loaded and then expunged."""
    values = {column.key: getattr(user, column.key) for column in inspect(User).column_attrs}
    copy = User(**values)
    make_transient_to_detached(copy)
    return copy
