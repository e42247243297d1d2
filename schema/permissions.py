"""The one place roles are enforced: every root field names an action in POLICY."""

from __future__ import annotations

import functools
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.auth.models import Role
from app.auth.scope import user_holds_account
from app.errors import AppError, ConflictError, ForbiddenError
from schema.context import Context
from schema.errors import to_user_errors

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

ALL = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})
WRITERS = ALL  # account data: staff and integrations


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    # A REP may act only on accounts they are assigned to (checked by require_account).
    rep_scoped: bool = False


POLICY: dict[str, Rule] = {
    # reads
    "viewer": Rule(ALL),
    "account.read": Rule(ALL),
    "contact.read": Rule(ALL),
    "user.read": Rule(STAFF),
    "audit.read": Rule(MANAGERS),
    "assignment.read": Rule(STAFF),
    "activity.read": Rule(STAFF),
    "contact_rule.read": Rule(STAFF),
    "pipeline.read": Rule(STAFF),
    "handoff.read": Rule(STAFF),
    "report.read": Rule(MANAGERS),
    "plan.read": Rule(STAFF),
    # writes
    "user.create": Rule(ADMINS),
    "account.create": Rule(WRITERS),
    "account.update": Rule(WRITERS, rep_scoped=True),
    "account.archive": Rule(STAFF, rep_scoped=True),
    "contact.add": Rule(WRITERS, rep_scoped=True),
    "assignment.write": Rule(MANAGERS),
    "activity.log": Rule(ALL),
    "contact_rule.write": Rule(ADMINS),
    "pipeline.define": Rule(ADMINS),
    "pipeline.enter": Rule(STAFF, rep_scoped=True),
    "pipeline.move": Rule(STAFF),
    "handoff.accept": Rule(STAFF),
    "plan.write": Rule(STAFF, rep_scoped=True),
    "classification.apply": Rule(MANAGERS),
    # push (issue 11)
    "webhook.read": Rule(ADMINS),
    "webhook.write": Rule(ADMINS),
}

FORBIDDEN_MESSAGE = "You are not allowed to do this."


def allowed(context: Context, action: str) -> bool:
    return context.role in POLICY[action].roles


async def require_account(context: Context, account_id: int) -> None:
    """Inside a guarded mutation: a REP may only touch accounts they hold."""
    action = context.action
    assert action is not None, "require_account is only valid inside a guarded mutation"
    if context.role is not Role.REP or not POLICY[action].rep_scoped:
        return
    if not await user_holds_account(
        context.session, user_id=context.viewer.id, account_id=account_id
    ):
        raise ForbiddenError("You may only change accounts assigned to you.")


def _info_context(kwargs: dict[str, Any]) -> Context:
    return typing.cast(Context, kwargs["info"].context)


def query(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a query field: a role outside the rule gets a FORBIDDEN GraphQL error."""
    if action not in POLICY:
        raise KeyError(f"action {action!r} is not in POLICY")

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not allowed(_info_context(kwargs), action):
                raise GraphQLError(FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})
            try:
                return await resolver(*args, **kwargs)
            except AppError as error:
                raise GraphQLError(
                    error.message, extensions={"code": error.code, "field": error.field}
                ) from error

        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate


def mutation(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a mutation and own its transaction: commit on success, roll back on any error.

    Expected failures (AppError, a lost race on a unique key) become the payload's errors.
    """
    if action not in POLICY:
        raise KeyError(f"action {action!r} is not in POLICY")

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.cache
        def payload() -> Any:
            return typing.get_type_hints(resolver)["return"]

        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            context = _info_context(kwargs)
            context.action = action
            session = context.session
            try:
                if not allowed(context, action):
                    raise ForbiddenError(FORBIDDEN_MESSAGE)
                result = await resolver(*args, **kwargs)
                await session.commit()
                return result
            except AppError as error:
                await session.rollback()
                return typing.cast(R, payload()(errors=to_user_errors(error)))
            except IntegrityError as error:
                await session.rollback()
                log.info("integrity error in %s: %s", action, error.orig)
                conflict = ConflictError("The change conflicts with data written meanwhile.")
                return typing.cast(R, payload()(errors=to_user_errors(conflict)))
            except (DBAPIError, Exception):
                await session.rollback()
                raise
            finally:
                context.action = None

        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate
