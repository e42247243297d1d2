"""Tokens the CLI mints (`accountflow token create`, the embedded server's admin token): for
a user named by e-mail, who is created with the given role when missing.

A role is changed by updateUser, never by minting a token: with `same_role`, an existing
user of another role gets none (ROLE_MISMATCH) instead of a token of the role they hold.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service, tokens
from app.errors import AppError
from app.kit.actor import SYSTEM
from app.models.auth import Role


class RoleMismatchError(AppError):
    code = "ROLE_MISMATCH"


async def user_token(
    session: AsyncSession,
    *,
    email: str,
    role: Role,
    name: str | None = None,
    max_live: int | None = None,
    same_role: bool = False,
) -> str:
    user = await service.find_user_by_email(session, email)
    if user is None:
        user = await service.create_user(
            session, actor=SYSTEM, email=email, name=name or email.split("@")[0], role=role
        )
    elif same_role and user.role is not role:
        raise RoleMismatchError(
            f"{email} exists with role {user.role.value}; --role {role.value} was not "
            "applied and no token was made (change a role with updateUser)"
        )
    raw, _ = await tokens.issue_token(
        session, actor=SYSTEM, user_id=user.id, name="cli", max_live=max_live
    )
    return raw
