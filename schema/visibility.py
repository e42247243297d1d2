"""The record visibility of one request: read once (kept on the Context), applied by each
resolver that reads accounts or what hangs off them (app.teams.visibility has the SQL).

A caller the rule table lets read every account (managers, admins, integrations) costs
nothing; a REP costs one primary-key read per request, and none more under ALL.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

from app.models.teams import RecordVisibility
from app.teams import visibility
from schema.authz import POLICY, ROW_SCOPE
from schema.context import Context

Q = TypeVar("Q", bound=Select[Any])


async def of(context: Context) -> RecordVisibility:
    """The company's setting, read at most once per request (never under the session's lock:
    call it before taking `context.db()`)."""
    if context.role in POLICY[visibility.READ_ALL].roles:
        return RecordVisibility.ALL
    if context.visibility is None:
        async with context.db() as session:
            context.visibility = await visibility.current(session)
    return context.visibility


async def seen(context: Context) -> visibility.Seen | None:
    """(the REP's user id, the visibility) when it restricts what the caller reads, else None
    (a key part of the DataLoaders whose batches apply it)."""
    current = await of(context)
    return None if current is RecordVisibility.ALL else (context.viewer_id, current)


async def account_clause(context: Context) -> ColumnElement[bool] | None:
    """A condition keeping the Account rows the caller reads; None when all are."""
    return visibility.account_clause(context.actor, await of(context))


async def account_id_clause(context: Context, column: Any) -> ColumnElement[bool] | None:
    """The same on a row's account id column (contacts, activities, assignments, plans)."""
    return visibility.account_id_clause(column, context.actor, await of(context))


async def lead_clause(context: Context) -> ColumnElement[bool] | None:
    """Leads follow their owner."""
    return visibility.lead_clause(context.actor, await of(context))


async def shows_account(context: Context, pk: int | None) -> bool:
    """Whether the caller reads the account `pk` (batched per request)."""
    if pk is None:
        return True
    seen = await of(context)
    if seen is RecordVisibility.ALL:
        return True
    return await context.loader(visibility.visible_among).load((pk, context.viewer_id, seen))


async def shows_owner(context: Context, owner_pk: int | None) -> bool:
    """Whether the caller reads the rows (leads) of the user `owner_pk`."""
    seen = await of(context)
    if seen is RecordVisibility.ALL:
        return True
    return await context.loader(visibility.reads_user).load((owner_pk, context.viewer_id, seen))


async def scoped(context: Context, query: Q, account_id: Any) -> Q:
    """`query` keeping the rows (whose account is `account_id`) of accounts the caller reads."""
    clause = await account_id_clause(context, account_id)
    return query if clause is None else query.where(clause)


async def scoped_leads(context: Context, query: Q) -> Q:
    """`query` on leads keeping those whose owner the caller reads."""
    clause = await lead_clause(context)
    return query if clause is None else query.where(clause)


async def shows_row(context: Context, type_name: str, pk: int, loaded: Any) -> bool:
    """Whether the caller reads a loaded object: a row follows its account, a lead its owner.
    The account is the object's own `account_pk` (or its row's), else the rule table's row
    scope (plan goals, action items, white space)."""
    if type_name == "Lead":
        return await shows_owner(context, loaded.owner_pk)
    account_pk = getattr(loaded, "account_pk", None)
    row = getattr(loaded, "row", None)
    if account_pk is None and row is not None:
        account_pk = getattr(row, "account_id", None)
    scope = ROW_SCOPE.get(type_name)
    if account_pk is None and scope is not None and await of(context) is not RecordVisibility.ALL:
        async with context.db() as session:
            account_pk = await scope(session, pk, "id")
    return await shows_account(context, account_pk)
