from __future__ import annotations

from dataclasses import dataclass

from app.models.auth import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, carried from the request edge into every service that writes.

    `grants` are the actions of the rule table (schema/authz.py) the caller's role may take,
    set by the edge; None for the server's own work (the CLI, jobs), which may do anything.
    A service asks `may(action)` where its rule depends on the row (a token's owner, the
    accounts a REP holds): the table decides which roles have the action, never the service.
    """

    user_id: int | None
    role: Role
    token_id: int | None = None
    request_id: str | None = None
    grants: frozenset[str] | None = None

    def may(self, action: str) -> bool:
        return self.grants is None or action in self.grants

    @property
    def default_owner_id(self) -> int | None:
        """Who owns what this caller creates: an integration's records start unowned."""
        return None if self.role is Role.INTEGRATION else self.user_id


SYSTEM = Actor(user_id=None, role=Role.ADMIN)
