"""API tokens: random, shown once, stored only as a hash; they expire and can be revoked.

A user holds at most `max_live` live (unrevoked, unexpired) tokens when the caller names a
cap (createApiToken and the CLI: ACCOUNTFLOW_MAX_TOKENS_PER_USER); every live one is listed,
a page at a time (`live_token_page`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, String, and_, bindparam, event, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.auth.cache import PrincipalCache
from app.db import rows_by_id
from app.errors import AppError, ForbiddenError, InvalidInputError, NotFoundError
from app.kit import changes
from app.kit.actor import Actor
from app.kit.pagination import Page, PageArgs, count, keyset_page
from app.kit.validation import Checks
from app.models.auth import ApiToken, User

TOKEN_PREFIX = "af_"
# apiTokens is a plain list in the contract: it shows a user's newest tokens, this many;
# liveApiTokens pages through every live one.
LIST_LIMIT = 100
LATEST_EXPIRY = datetime(2200, 1, 1, tzinfo=UTC)
# Each process keeps a token's principal for at most a second: a revocation made elsewhere
# (another worker, the CLI, SQL) refuses the token within a second everywhere; one made
# here drops the entry at once (see `forget`).
principal_cache = PrincipalCache(seconds=1.0, size=10_000)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case)."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no brute force can reach them.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    token_id: int
    # lastUsedAt is older than a minute (or unset): the edge stamps it in its own transaction.
    use_is_stale: bool = False


class TokenLimitError(AppError):
    """The user holds as many live tokens as a user may."""

    code = "TOKEN_LIMIT"


def _may_manage(actor: Actor, user_id: int) -> bool:
    return actor.may("token.manage_any") or actor.user_id == user_id


_LIVE = and_(
    ApiToken.revoked_at.is_(None),
    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()),
)


def live_tokens(user_id: int) -> Select[ApiToken]:
    return select(ApiToken).where(ApiToken.user_id == user_id, _LIVE)


async def _check_cap(session: AsyncSession, user_id: int, max_live: int | None) -> None:
    if max_live is None:
        return
    live = await count(session, live_tokens(user_id))
    if live >= max_live:
        raise TokenLimitError(
            f"The user holds {live} live tokens, the most a user may "
            "(ACCOUNTFLOW_MAX_TOKENS_PER_USER); revoke one first.",
            field="userId",
        )


async def issue_token(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: int,
    name: str | None = None,
    expires_at: datetime | None = None,
    max_live: int | None = None,
) -> tuple[str, ApiToken]:
    """Create a token and return it in clear: the only time it is ever visible.

    With `max_live`, a user holding that many live tokens gets none (TOKEN_LIMIT).
    """
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidInputError("The expiry must be in the future.", field="expiresAt")
    if expires_at is not None and expires_at >= LATEST_EXPIRY:
        raise InvalidInputError("The expiry must be before the year 2200.", field="expiresAt")
    if not _may_manage(actor, user_id):
        raise ForbiddenError("You may only create tokens for yourself.")
    # FOR NO KEY UPDATE: a concurrent deactivation either revokes this token too or refuses
    # it here, and two creations for one user count the live tokens one after the other.
    query = select(User).where(User.id == user_id).with_for_update(key_share=True)
    user = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if user is None:
        raise NotFoundError("Unknown user.", field="userId")
    if not user.is_active:
        raise InvalidInputError("The user is inactive.", field="userId")
    await _check_cap(session, user_id, max_live)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, token_hash=hash_token(raw), name=name, expires_at=expires_at)
    session.add(token)
    await session.flush()
    await session.refresh(token, ["created_at"])
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit(
            "token.create",
            "ApiToken",
            token.id,
            changes.created({"userId": user_id, "name": name, "expiresAt": expires_at}),
        ),
        events=None,
    )
    return raw, token


async def create_token(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: int,
    name: str,
    expires_at: datetime | None = None,
    max_live: int | None = None,
) -> tuple[str, ApiToken]:
    """createApiToken: a named token for a user (ADMIN: anyone; others: themselves)."""
    checks = Checks()
    clean_name = checks.text("name", name, max_length=200, required=True)
    checks.raise_if_any()
    return await issue_token(
        session,
        actor=actor,
        user_id=user_id,
        name=clean_name,
        expires_at=expires_at,
        max_live=max_live,
    )


async def _revoke(session: AsyncSession, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return  # revoking twice changes nothing and writes nothing
    token.revoked_at = datetime.now(UTC)
    forget(session, token_id=token.id)
    await session.flush()
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit(
            "token.revoke",
            "ApiToken",
            token.id,
            {"revokedAt": {"before": None, "after": token.revoked_at.isoformat()}},
        ),
        events=None,
    )


async def revoke_token(session: AsyncSession, *, actor: Actor, raw_token: str) -> None:
    """Revoke by the token itself: only its holder (or whoever leaked it) knows it."""
    query = select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token))
    token = (await session.scalars(query.with_for_update())).one_or_none()
    if token is None:
        raise NotFoundError("Unknown token.", field="token")
    await _revoke(session, actor, token)


async def revoke_token_by_id(session: AsyncSession, *, actor: Actor, token_id: int) -> ApiToken:
    """revokeApiToken: ADMIN any token, others their own; someone else's reads as unknown."""
    query = select(ApiToken).where(ApiToken.id == token_id).with_for_update()
    token = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if token is None or not _may_manage(actor, token.user_id):
        raise NotFoundError("Unknown token.", field="id")
    await _revoke(session, actor, token)
    return token


async def revoke_user_tokens(session: AsyncSession, *, actor: Actor, user_id: int) -> int:
    """Deactivation: every live token of the user stops for good (reactivation does not revive)."""
    statement = (
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiToken.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(await session.scalars(statement))
    forget(session, user_id=user_id)
    for token_id in ids:
        await changes.record(
            session,
            actor=actor,
            audit=changes.Audit(
                "token.revoke", "ApiToken", token_id, {"reason": "user deactivated"}
            ),
            events=None,
        )
    return len(ids)


async def _check_listing(session: AsyncSession, actor: Actor, user_id: int) -> None:
    if not _may_manage(actor, user_id):
        raise ForbiddenError("You may only list your own tokens.")
    if await session.get(User, user_id) is None:
        raise NotFoundError("Unknown user.", field="userId")


async def list_tokens(session: AsyncSession, *, actor: Actor, user_id: int) -> Sequence[ApiToken]:
    """apiTokens: a user's newest tokens, live or not (ADMIN: anyone's; others: their own)."""
    await _check_listing(session, actor, user_id)
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(await session.scalars(query))


LIVE_ORDER = (ApiToken.created_at, ApiToken.id)  # newest first


async def live_token_page(
    session: AsyncSession, *, actor: Actor, user_id: int, args: PageArgs
) -> Page[ApiToken]:
    """liveApiTokens: a page of a user's live tokens, newest first, with their total."""
    await _check_listing(session, actor, user_id)
    query = live_tokens(user_id)
    page: Page[ApiToken] = await keyset_page(
        session, query, order=LIVE_ORDER, args=args, descending=True
    )
    page.total = await count(session, query)
    return page


tokens_by_id = rows_by_id(ApiToken)


def visible_to(actor: Actor, token: ApiToken | None) -> ApiToken | None:
    """node(id:): a token reads as missing to anyone who may not manage it."""
    return token if token is not None and _may_manage(actor, token.user_id) else None


# Built once (every request runs it). Its answer is cached for at most a second (below).
_STALE_USE = or_(
    ApiToken.last_used_at.is_(None),
    ApiToken.last_used_at < func.now() - text("interval '1 minute'"),
)
_AUTHENTICATE = (
    select(User, ApiToken.id, _STALE_USE, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash", type_=String),
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()),
        User.is_active.is_(True),
    )
)


async def authenticate(session: AsyncSession, raw_token: str) -> Principal | None:
    """The token's principal: from this process's cache when it was read in the last second.

    A cache hit sends no statement. Its user is a copy attached to `session`, as if it had
    been loaded there; its `use_is_stale` is the lookup's until `record_use` stamps.
    """
    token_hash = hash_token(raw_token)
    found = principal_cache.get(token_hash)
    if found is not None:
        user, token_id, stale = found
        user = await session.merge(user, load=False)
        return Principal(user=user, token_id=token_id, use_is_stale=stale)
    generation = principal_cache.generation
    params = {"token_hash": token_hash}
    row = (await session.execute(_AUTHENTICATE, params)).one_or_none()
    if row is None:
        principal_cache.drop(token_hash)
        return None
    user, token_id, stale, expires_at = row
    principal_cache.put(token_hash, user, token_id, expires_at, bool(stale), generation)
    return Principal(user=user, token_id=token_id, use_is_stale=bool(stale))


_PENDING = "accountflow.tokens.forget"  # session.info: what to drop again on commit


def forget(
    session: AsyncSession, *, token_id: int | None = None, user_id: int | None = None
) -> None:
    """Drop cached principals of a token or a user now, and again when `session` commits
    (a lookup running meanwhile could read the row as it was before the commit)."""
    principal_cache.drop_matching(token_id=token_id, user_id=user_id)
    session.info.setdefault(_PENDING, []).append((token_id, user_id))


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    for token_id, user_id in session.info.pop(_PENDING, ()):
        principal_cache.drop_matching(token_id=token_id, user_id=user_id)


# SKIP LOCKED: when another request is stamping the token (or it is being revoked), this
# one skips the stamp instead of waiting for the row.
_UNLOCKED_STALE = (
    select(ApiToken.id)
    .where(ApiToken.id == bindparam("token_id"), _STALE_USE)
    .with_for_update(skip_locked=True)
)
_RECORD_USE = (
    update(ApiToken)
    .where(ApiToken.id == _UNLOCKED_STALE.scalar_subquery())
    .values(last_used_at=func.now())
    .execution_options(synchronize_session=False)
)


async def record_use(session: AsyncSession, token_id: int) -> None:
    """Stamp lastUsedAt; the edge calls it only when `Principal.use_is_stale`, so a token
    is written at most once a minute, not on every request.

    The caller commits at once (a short transaction of its own), so a request that fails
    later still counts as a use. It never waits: a token row locked by another request is
    skipped, and the staleness condition is checked under the lock, so one request writes.
    """
    result = await session.execute(_RECORD_USE, {"token_id": token_id})
    if result.rowcount == 1:  # type: ignore[attr-defined]
        principal_cache.stamped(token_id)
    else:  # skipped (locked) or stamped meanwhile elsewhere: the next request reads the row
        principal_cache.drop_matching(token_id=token_id)
