from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Select, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.actor import Actor
from app.auth.models import ApiToken, Role, User
from app.db import rows_by_id
from app.errors import AlreadyExistsError, NotFoundError
from app.validation import Checks

TOKEN_PREFIX = "af_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no brute force can reach them.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    token_id: int


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
    checks.int_range("maxAccounts", max_accounts, low=0, high=1_000_000)
    checks.raise_if_any()
    assert clean_email is not None
    assert clean_name is not None
    if await find_user_by_email(session, clean_email) is not None:
        raise AlreadyExistsError("A user with this email already exists.", field="email")
    user = User(email=clean_email, name=clean_name, role=role, max_accounts=max_accounts)
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="User",
        entity_id=user.id,
        changes=audit.created(
            {"email": clean_email, "name": clean_name, "role": role, "maxAccounts": max_accounts}
        ),
    )
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(User).where(func.lower(User.email) == email.lower())
    return (await session.scalars(query)).one_or_none()


async def issue_token(
    session: AsyncSession, *, actor: Actor, user_id: int, name: str | None = None
) -> str:
    """Create a token and return it in clear: the only time it is ever visible."""
    if await session.get(User, user_id) is None:
        raise NotFoundError("Unknown user.", field="userId")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, token_hash=hash_token(raw), name=name)
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="ApiToken",
        entity_id=token.id,
        changes=audit.created({"userId": user_id, "name": name}),
    )
    return raw


async def revoke_token(session: AsyncSession, *, actor: Actor, raw_token: str) -> None:
    """Revoke by the token itself: only its holder (or whoever leaked it) knows it."""
    query = select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token))
    token = (await session.scalars(query)).one_or_none()
    if token is None:
        raise NotFoundError("Unknown token.", field="token")
    if token.revoked_at is None:
        token.revoked_at = func.now()
        await audit.record(
            session, actor=actor, action="token.revoke", entity_type="ApiToken", entity_id=token.id
        )


# Built once (every request runs it); the token is looked up on every request, never cached,
# so a revocation takes effect at once.
_AUTHENTICATE = (
    select(User, ApiToken.id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash", type_=String),
        ApiToken.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


async def authenticate(session: AsyncSession, raw_token: str) -> Principal | None:
    params = {"token_hash": hash_token(raw_token)}
    row = (await session.execute(_AUTHENTICATE, params)).one_or_none()
    return None if row is None else Principal(user=row[0], token_id=row[1])


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
    return await issue_token(session, actor=actor, user_id=user.id, name=token_name)


users_by_id = rows_by_id(User)


USER_ORDER = (User.name, User.id)


def users_query() -> Select[User]:
    return select(User)
