"""The rule table (schema/authz.py) applied to the resolvers: root fields and mutations.

Root fields name their action with `query`/`mutation`. A mutation's decorator also takes
the table's decisions about its input (MUTATION_RULES) before the mutation runs; the read
checks of every other field are installed on the schema by schema/engine/guards.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import strawberry
from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema

from app.auth.scope import account_value, entry_owner, handoff_recipient, user_holds_account
from app.errors import AppError, ForbiddenError
from app.models.auth import Role
from schema.authz import (
    ADMINS,
    ALL,
    ARGUMENT_RULES,
    FIELD_RULES,
    FORBIDDEN_MESSAGE,
    ITEM_RULES,
    MANAGERS,
    MUTATION_RULES,
    POLICY,
    ROW_SCOPE,
    STAFF,
    TYPE_RULES,
    WRITERS,
    Accepts,
    Holds,
    InputRule,
    OwnsEntry,
    Rule,
    SetBy,
)
from schema.context import Context
from schema.engine import graphql_schema
from schema.engine.guards import GUARD, ROOTS, field_action, forbidden, install_guards
from schema.engine.inputs import camel
from schema.relay import decode_id
from schema.unit_of_work import info_context, unit_of_work

# The table's names, for the modules that read them from here.
__all__ = [
    "ADMINS",
    "ALL",
    "ARGUMENT_RULES",
    "FIELD_RULES",
    "FORBIDDEN_MESSAGE",
    "GUARD",
    "MANAGERS",
    "POLICY",
    "ROOTS",
    "STAFF",
    "TYPE_RULES",
    "WRITERS",
    "Rule",
    "allowed",
    "field_action",
    "forbidden",
    "install_guards",
    "mutation",
    "query",
    "refused_argument",
    "require",
    "type_allowed",
]

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_PIPELINE = "default"  # a move without `pipeline` moves in this one (schema/handoff)


def allowed(context: Context, action: str) -> bool:
    return context.role in POLICY[action].roles


def require(context: Context, field: str) -> None:
    """FORBIDDEN unless the role passes the field's rule (FIELD_RULES): for a field a guard
    does not check, as it stands on a type reached through a mutation's payload."""
    if not allowed(context, FIELD_RULES[field]):
        raise forbidden()


def type_allowed(context: Context, type_name: str) -> bool:
    return allowed(context, TYPE_RULES[type_name])


def _sent(input: Any, field: str) -> Any:
    """The input's value of `field`, None when it sent none."""
    value = getattr(input, field, None)
    return None if value is strawberry.UNSET else value


async def _changes(context: Context, input: Any, rule: Holds | SetBy, value: Any) -> bool:
    """Whether `value` changes the rule's column on the Account the input names (a new
    account's columns start null). An unknown account changes nothing: its service says
    NOT_FOUND."""
    if rule.changes is None:
        return value is not None
    account_id = decode_id(getattr(input, rule.changes), "Account", field=camel(rule.changes))
    found, current = await account_value(context.session, account_id, rule.field)
    return found and value != current


async def _holds(context: Context, rule: Holds, input: Any) -> None:
    value = _sent(input, rule.field)
    if context.role is not Role.REP or value is None:
        return
    pk = decode_id(value, rule.type_name, field=camel(rule.field))
    if rule.changed_only and not await _changes(context, input, rule, pk):
        return
    session = context.session
    account_id = await ROW_SCOPE[rule.type_name](session, pk, camel(rule.field))
    if not await user_holds_account(session, user_id=context.viewer_id, account_id=account_id):
        raise ForbiddenError(rule.message, field=camel(rule.field) if rule.changed_only else None)


async def _sets(context: Context, rule: SetBy, input: Any) -> None:
    if context.role in rule.roles or _unset(input, rule.field):
        return
    if await _changes(context, input, rule, _sent(input, rule.field)):
        raise ForbiddenError(rule.message, field=camel(rule.field))


def _unset(input: Any, field: str) -> bool:
    return getattr(input, field, strawberry.UNSET) is strawberry.UNSET


async def _owns_entry(context: Context, rule: OwnsEntry, input: Any) -> None:
    if context.role is not Role.REP:
        return
    account_id = decode_id(getattr(input, rule.account), "Account", field=camel(rule.account))
    key = _sent(input, rule.pipeline) or DEFAULT_PIPELINE
    found, owner = await entry_owner(context.session, account_id=account_id, pipeline_key=key)
    if found and owner != context.viewer_id:
        raise ForbiddenError(rule.message)


async def _accepts(context: Context, rule: Accepts, input: Any) -> None:
    if context.role in rule.roles:
        return
    event_id = decode_id(getattr(input, rule.event), "StageEvent", field=camel(rule.event))
    found, to_owner = await handoff_recipient(context.session, event_id)
    if found and to_owner != context.viewer_id:
        raise ForbiddenError(rule.message)


_APPLY: dict[type[Any], Callable[[Context, Any, Any], Awaitable[None]]] = {
    Holds: _holds,
    SetBy: _sets,
    OwnsEntry: _owns_entry,
    Accepts: _accepts,
}


async def _apply(context: Context, rules: tuple[InputRule, ...], input: Any) -> None:
    for rule in rules:
        await _APPLY[type(rule)](context, rule, input)


def unreadable_types(context: Context) -> list[str]:
    """The types whose rule (TYPE_RULES) the caller lacks: what it may not read about."""
    return sorted(name for name, action in TYPE_RULES.items() if not allowed(context, action))


def item_error(context: Context, mutation_name: str, item: Any) -> AppError | None:
    """The error refusing one item of a batch mutation (ITEM_RULES), or None."""
    for rule in ITEM_RULES[mutation_name]:
        if context.role not in rule.roles and not _unset(item, rule.field):
            return ForbiddenError(rule.message, field=camel(rule.field))
    return None


ARGUMENT_MESSAGE = "You may not sort or filter by what you may not read."


@functools.cache
def _argument_readers(schema: GraphQLSchema) -> dict[str, dict[str, frozenset[Role]]]:
    """Who may use each order and filter of ARGUMENT_RULES: who reads every field it names."""
    return {
        root: {key: _readers(schema, fields) for key, fields in rules.items()}
        for root, rules in ARGUMENT_RULES.items()
    }


def _readers(schema: GraphQLSchema, fields: tuple[str, ...]) -> frozenset[Role]:
    roles = ALL
    for coordinate in fields:
        type_name, _, name = coordinate.partition(".")
        parent = schema.type_map[type_name]
        assert isinstance(parent, GraphQLObjectType), coordinate
        roles &= POLICY[field_action(parent, name, parent.fields[name])].roles
    return roles


def _given(value: Any, name: str) -> Any:
    """An input's field by its GraphQL name: graphql-core's dict, or strawberry's object."""
    if isinstance(value, Mapping):
        return value.get(name)
    python = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(value, python, getattr(value, f"{python}_", None))


def _uses(key: str, filter: Any, order: Any) -> bool:
    kind, _, name = key.partition(".")
    if kind == "filter":
        return filter is not None and _given(filter, name) is not None
    field = None if order is None else _given(order, "field")
    return getattr(field, "value", field) == name


def refused_argument(
    schema: GraphQLSchema, role: Role, root: str, arguments: Mapping[str, Any]
) -> str | None:
    """The order or filter (its ARGUMENT_RULES key) of a root field's arguments, by their
    GraphQL names, that the role may not use; None when it may use them all. Both read paths
    ask: the resolvers (`query`) and the compiled path (schema.engine.compiled.specs)."""
    rules = _argument_readers(schema).get(root)
    if not rules:
        return None
    filter, order = arguments.get("filter"), arguments.get("orderBy")
    for key, roles in rules.items():
        if role not in roles and _uses(key, filter, order):
            return key
    return None


def _check_arguments(context: Context, kwargs: dict[str, Any]) -> None:
    info = kwargs["info"]
    if info.field_name not in ARGUMENT_RULES:
        return
    given = {camel(name): value for name, value in kwargs.items() if name != "info"}
    refused = refused_argument(graphql_schema(info.schema), context.role, info.field_name, given)
    if refused is not None:
        field = "orderBy" if refused.startswith("orderBy.") else refused
        raise ForbiddenError(ARGUMENT_MESSAGE, field=field)


def _check(action: str) -> None:
    if action not in POLICY:
        raise KeyError(f"action {action!r} is not in POLICY")


def query(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a query field: a role outside the rule gets a FORBIDDEN GraphQL error."""
    _check(action)

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            context = info_context(kwargs)
            if not allowed(context, action):
                raise forbidden()
            try:
                _check_arguments(context, kwargs)
                return await resolver(*args, **kwargs)
            except AppError as error:
                raise GraphQLError(
                    error.message, extensions={"code": error.code, "field": error.field}
                ) from error

        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate


def mutation(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a mutation: a role outside the rule, or an input MUTATION_RULES refuses, gets
    FORBIDDEN in the payload, and nothing runs.

    The checks run inside the mutation's unit of work (schema/unit_of_work.py), which turns
    them, like every expected failure, into the payload's errors.
    """
    _check(action)

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        rules = MUTATION_RULES.get(camel(resolver.__name__), ())

        @functools.wraps(resolver)
        async def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            context = info_context(kwargs)
            if not allowed(context, action):
                raise ForbiddenError(FORBIDDEN_MESSAGE)
            if rules:
                await _apply(context, rules, kwargs.get("input"))
            return await resolver(*args, **kwargs)

        guarded = unit_of_work(checked)
        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate
