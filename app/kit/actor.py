from __future__ import annotations

from dataclasses import dataclass

from app.models.auth import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, carried from the request edge into every service that writes."""

    user_id: int | None
    role: Role
    token_id: int | None = None
    request_id: str | None = None


SYSTEM = Actor(user_id=None, role=Role.ADMIN)
