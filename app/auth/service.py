from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import tokens
from app.db import rows_by_id
from app.errors import AlreadyExistsError, AppError, InvalidInputError, NotFoundError
from app.kit import changes as change_log
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.assignments import Assignment
from app.models.auth import Role, User

MAX_ACCOUNTS_LIMIT = 1_000_000


class LastAdminError(AppError):
    code = "LAST_ADMIN"


class UserChanges(TypedDict, total=False):
    """updateUser's fields; a key that is absent leaves the column as it is."""

    name: str
    role: Role
    max_accounts: int | None
    is_active: bool


async def create_user(
    session: AsyncSession,
    *,
    actor: Actor,
    email: str,
    name: str,
    role: Role,
    max_accounts: int | None = None,
) -> User:
    checks = Checks()
    clean_email = checks.email("email", email, required=True)
    clean_name = checks.text("name", name, max_length=200, required=True)
    checks.int_range("maxAccounts", max_accounts, low=0, high=MAX_ACCOUNTS_LIMIT)
    checks.raise_if_any()
    assert clean_email is not None
    assert clean_name is not None
    if await find_user_by_email(session, clean_email) is not None:
        raise AlreadyExistsError("A user with this email already exists.", field="email")
    user = User(email=clean_email, name=clean_name, role=role, max_accounts=max_accounts)
    session.add(user)
    await session.flush()
    await change_log.record(
        session,
        actor=actor,
        audit=change_log.Audit(
            "user.create",
            "User",
            user.id,
            change_log.created(
                {
                    "email": clean_email,
                    "name": clean_name,
                    "role": role,
                    "maxAccounts": max_accounts,
                }
            ),
        ),
        events=None,
    )
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(User).where(func.lower(User.email) == email.lower())
    return (await session.scalars(query)).one_or_none()


_AUDIT_NAMES = {
    "name": "name",
    "role": "role",
    "max_accounts": "maxAccounts",
    "is_active": "isActive",
}


async def update_user(
    session: AsyncSession, *, actor: Actor, user_id: int, changes: UserChanges
) -> User:
    """updateUser (ADMIN). Deactivation revokes the user's tokens and keeps their assignments
    (they are listed for reassignment); the last active admin can be neither demoted nor
    deactivated, by anyone. The user row is locked FOR UPDATE before the INTEGRATION check:
    assignments lock it FOR SHARE, so the two never pass each other. A demoted member of
    assignment rules stays in their pools and is skipped there, as an inactive one is."""
    values = _checked(changes)
    guards_admins = "role" in values or "is_active" in values
    # A role or status change locks the active admins first, in id order, so two admins
    # demoting each other at once can neither both pass nor deadlock.
    admins = await _lock_active_admins(session) if guards_admins else []
    user = await _locked_user(session, user_id)
    before = {key: getattr(user, key) for key in values}
    delta = change_log.diff(_audit_names(before), _audit_names(values))
    if not delta:
        return user
    if guards_admins:
        _keep_an_admin(user, values, admins)
        await _check_role(session, user, values)
    for key, value in values.items():
        setattr(user, key, value)
    await session.flush()
    tokens.forget(session, user_id=user.id)  # a cached principal carries the old row
    await change_log.record(
        session,
        actor=actor,
        audit=change_log.Audit("user.update", "User", user.id, delta),
        events=None,
    )
    if before.get("is_active") is True and values.get("is_active") is False:
        await tokens.revoke_user_tokens(session, actor=actor, user_id=user.id)
    return user


def _checked(changes: UserChanges) -> dict[str, Any]:
    checks = Checks()
    values: dict[str, Any] = dict(changes)
    if "name" in changes:
        values["name"] = checks.text("name", changes["name"], max_length=200, required=True)
    if "max_accounts" in changes:
        checks.int_range("maxAccounts", changes["max_accounts"], low=0, high=MAX_ACCOUNTS_LIMIT)
    checks.raise_if_any()
    return values


def _audit_names(values: dict[str, Any]) -> dict[str, Any]:
    return {_AUDIT_NAMES[key]: value for key, value in values.items()}


async def _locked_user(session: AsyncSession, user_id: int) -> User:
    query = select(User).where(User.id == user_id).with_for_update()
    user = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if user is None:
        raise NotFoundError("Unknown user.", field="id")
    return user


async def _lock_active_admins(session: AsyncSession) -> list[int]:
    query = (
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    return list(await session.scalars(query))


def _keep_an_admin(user: User, values: dict[str, Any], admins: list[int]) -> None:
    if user.id not in admins:
        return
    if values.get("is_active", True) is False:
        field, message = "isActive", "The last active admin cannot be deactivated."
    elif values.get("role", Role.ADMIN) is not Role.ADMIN:
        field, message = "role", "The last active admin cannot lose the ADMIN role."
    else:
        return
    if len(admins) <= 1:
        raise LastAdminError(message, field=field)


async def _check_role(session: AsyncSession, user: User, values: dict[str, Any]) -> None:
    if values.get("role") is not Role.INTEGRATION or user.role is Role.INTEGRATION:
        return
    holds = await session.scalar(select(exists().where(Assignment.user_id == user.id)))
    if holds:
        raise InvalidInputError(
            "Integrations cannot hold accounts: reassign this user's assignments first.",
            field="role",
        )


async def ensure_user_token(
    session: AsyncSession,
    *,
    actor: Actor,
    email: str,
    role: Role,
    name: str | None = None,
    token_name: str | None = None,
) -> str:
    """The CLI's `token create`: the user is created when missing."""
    user = await find_user_by_email(session, email)
    if user is None:
        user = await create_user(
            session, actor=actor, email=email, name=name or email.split("@")[0], role=role
        )
    raw, _ = await tokens.issue_token(session, actor=actor, user_id=user.id, name=token_name)
    return raw


users_by_id = rows_by_id(User)


USER_ORDER = (User.name, User.id)


def users_query(*, include_inactive: bool = False) -> Select[User]:
    """Pickers list active users only; an admin screen asks for the inactive ones too."""
    query = select(User)
    return query if include_inactive else query.where(User.is_active.is_(True))
