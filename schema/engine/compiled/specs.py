"""What each covered field is in SQL: the roots, and one spec per field of each type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from graphql import (
    GraphQLObjectType,
)

from app.accounts import read as account_read
from app.errors import AppError
from schema.engine.compiled import sqltext as js
from schema.engine.compiled.accounts import accounts
from schema.engine.compiled.compiler import (
    Bind,
    Compiler,
    Field,
    NotCompilable,
    Refused,
    Spec,
    by_pipeline,
    cadence_status,
    column,
    global_id,
    many,
    one,
    same_row,
    seconds_in_stage,
)
from schema.engine.compiled.pages import activities, branches, column_name, users
from schema.permissions import ARGUMENT_RULES, POLICY, refused_argument
from schema.relay import NODE_LOADERS, from_global_id

NODE_TABLES = {
    "Account": "accounts",
    "Contact": "contacts",
    "User": "users",
    "Assignment": "assignments",
    "Activity": "activities",
    "StageEvent": "stage_events",
    "Lead": "leads",
}


def viewer(c: Compiler, f: Field) -> str:
    viewer_id = c.param(lambda bind: bind.viewer_id, "bigint")
    t = c.alias()
    body = c.object(c.object_type(f), f.details, t)
    return f"COALESCE((SELECT {body} FROM users {t} WHERE {t}.id = {viewer_id}), 'null')"


def node(c: Compiler, f: Field) -> str:
    """`node(id:)`: the id's type is part of the plan's key (see `shape`)."""
    given = c.compile_time_arguments(f)
    try:
        type_name, _ = from_global_id(given["id"])
    except AppError as error:
        raise NotCompilable("a malformed id") from error
    if type_name not in NODE_LOADERS:
        return "'null'"
    table = NODE_TABLES.get(type_name)
    if table is None:
        raise NotCompilable(f"node of {type_name}")
    action = NODE_LOADERS[type_name][0]
    if c.role not in POLICY[action].roles:  # null, and FORBIDDEN at this place
        c.forbidden.append((tuple(c.path), tuple(d.node for d in f.details)))
        return "'null'"
    runtime = c.schema.type_map[type_name]
    assert isinstance(runtime, GraphQLObjectType)
    arguments = c.arguments(f)

    def pk(bind: Bind) -> int:
        try:
            found, value = from_global_id(arguments(bind)["id"])
        except AppError as error:
            raise Refused(str(error)) from error
        if found != type_name:
            raise Refused("the id's type changed")
        return value

    key = c.param(pk, "bigint")
    t = c.alias()
    body = c.object(runtime, f.details, t)
    return f"COALESCE((SELECT {body} FROM {table} {t} WHERE {t}.id = {key}), 'null')"


def json_of(attribute: Any) -> Callable[[str], str]:
    """How a column of this SQL type is written as the JSON the strawberry path sends."""
    python_type = attribute.type.python_type
    if issubclass(python_type, Enum):
        return js.enum
    if issubclass(python_type, datetime):
        return js.time
    if issubclass(python_type, Decimal):
        return js.decimal
    if issubclass(python_type, float):
        return js.float_
    if issubclass(python_type, str | int | list):
        return js.text
    return js.json


def read_model_columns(
    columns: Sequence[account_read.Column], within: str | None
) -> dict[str, Spec]:
    """The specs of a read model's columns shown on its type (or on its object `within`)."""
    shown = [c for c in columns if c.within == within]
    return {c.name: column(json_of(c.attribute), column_name(c.attribute)) for c in shown}


SPECS: dict[str, dict[str, Spec]] = {
    "Query": {
        "viewer": lambda c, f: _rooted(c, f, "viewer", viewer),
        "node": lambda c, f: _rooted(c, f, "viewer", node),
        "accounts": lambda c, f: _rooted(c, f, "account.read", accounts),
        "users": lambda c, f: _rooted(c, f, "user.read", users),
    },
    "Account": {
        "id": global_id("Account"),
        **read_model_columns(account_read.COLUMNS, None),
        "address": same_row(),
        "parent": one("accounts", "parent_id"),
        "mergedInto": one("accounts", "merged_into_id"),
        "contacts": many(
            "contacts",
            where=lambda c, f, t: f"{t}.account_id = {f.row}.id AND {t}.removed_at IS NULL",
            order="{t}.id",
        ),
        "branches": branches,
        "assignments": many(
            "assignments",
            where=lambda c, f, t: f"{t}.account_id = {f.row}.id",
            order="array_position(ARRAY['SALES','WHOLE_GOODS','PARTS','SERVICE','MARKETING',"
            "'EXECUTIVE'], {t}.manager_type::text), {t}.id",
        ),
        "pipelineEntry": lambda c, f: _pipeline_entry(c, f),
        "activities": activities,
        "stageHistory": many(
            "stage_events",
            where=by_pipeline,
            order="{t}.occurred_at, {t}.id",
            keep="{t}.occurred_at DESC, {t}.id DESC",  # the newest, as schema.handoff keeps
        ),
    },
    "Address": read_model_columns(account_read.COLUMNS, "address"),
    "Contact": {
        "id": global_id("Contact"),
        **read_model_columns(account_read.CONTACT_COLUMNS, None),
        "account": one("accounts", "account_id"),
    },
    "User": {
        "id": global_id("User"),
        "email": column(js.text, "email"),
        "name": column(js.text, "name"),
        "role": column(js.enum, "role"),
        "maxAccounts": column(js.text, "max_accounts"),
        "isActive": column(js.text, "is_active"),
    },
    "Assignment": {
        "id": global_id("Assignment"),
        "managerType": column(js.enum, "manager_type"),
        "contactFrequencyDays": column(js.text, "contact_frequency_days"),
        "startedAt": column(js.time, "started_at"),
        "lastContactAt": column(js.time, "last_contact_at"),
        "nextContactDue": column(js.time, "next_contact_due"),
        "status": cadence_status,
        "user": one("users", "user_id"),
        "account": one("accounts", "account_id"),
    },
    "PipelineEntry": {
        "stage": column(js.text, "stage"),
        "enteredAt": column(js.time, "entered_at"),
        "secondsInStage": seconds_in_stage,
        "account": one("accounts", "account_id"),
        "owner": one("users", "owner_id"),
    },
    "Activity": {
        "id": global_id("Activity"),
        "kind": column(js.enum, "kind"),
        "occurredAt": column(js.time, "occurred_at"),
        "summary": column(js.text, "summary"),
        "amount": column(js.decimal, "amount"),
        "source": column(js.text, "source"),
        "externalId": column(js.text, "external_id"),
        "voidedAt": column(js.time, "voided_at"),
        "voidReason": column(js.text, "void_reason"),
        "account": one("accounts", "account_id"),
        "user": one("users", "user_id"),
        "contact": one("contacts", "contact_id"),
    },
    "Lead": {
        "id": global_id("Lead"),
        "company": column(js.text, "company"),
        "contactName": column(js.text, "contact_name"),
        "email": column(js.text, "email"),
        "phone": column(js.text, "phone"),
        "industry": column(js.text, "industry"),
        "address": same_row(),
        "source": column(js.enum, "source"),
        "status": column(js.enum, "status"),
        "statusReason": column(js.text, "status_reason"),
        "externalRef": column(js.text, "external_ref"),
        "attributes": column(js.json, "attributes"),
        "version": column(js.text, "version"),
        "createdAt": column(js.time, "created_at"),
        "convertedAt": column(js.time, "converted_at"),
        "owner": one("users", "owner_id"),
        "account": one("accounts", "account_id"),
    },
    "StageEvent": {
        "id": global_id("StageEvent"),
        "fromStage": column(js.text, "from_stage"),
        "toStage": column(js.text, "to_stage"),
        "trigger": column(js.text, "trigger"),
        "occurredAt": column(js.time, "occurred_at"),
        "handoff": column(js.text, "is_handoff"),
        "reason": column(js.text, "reason"),
        "benefit": column(js.text, "benefit"),
        "note": column(js.text, "note"),
        "missingRecommended": column(js.text, "missing_recommended"),
        "secondsInPreviousStage": column(js.float_, "seconds_in_previous_stage"),
        "acceptedAt": column(js.time, "accepted_at"),
        "nextStep": column(js.text, "next_step"),
        "nextStepDue": column(js.time, "next_step_due"),
        "account": one("accounts", "account_id"),
        "actor": one("users", "actor_id"),
        "fromOwner": one("users", "from_owner_id"),
        "toOwner": one("users", "to_owner_id"),
        "acceptedBy": one("users", "accepted_by_id"),
    },
}


def _rooted(c: Compiler, f: Field, action: str, spec: Spec) -> str:
    if c.role not in POLICY[action].roles:
        raise NotCompilable("a root the role may not read")
    name = f.details[0].node.name.value
    if name in ARGUMENT_RULES:  # strawberry answers FORBIDDEN (schema.permissions.query)
        arguments = c.arguments(f)
        refused = c.decide(lambda b: refused_argument(c.schema, c.role, name, arguments(b)), c.bind)
        if refused is not None:
            raise NotCompilable("an order or filter the role may not use")
    return spec(c, f)


def _pipeline_entry(c: Compiler, f: Field) -> str:
    t = c.alias()
    body = c.object(c.object_type(f), f.details, t)
    return (
        f"COALESCE((SELECT {body} FROM pipeline_entries {t} WHERE {by_pipeline(c, f, t)}), 'null')"
    )


def covered() -> dict[str, frozenset[str]]:
    """The fields with SQL, per type (connections and page info included)."""
    found = {name: frozenset(specs) for name, specs in SPECS.items()}
    for connection in ("AccountConnection", "ActivityConnection", "UserConnection"):
        found[connection] = frozenset({"pageInfo", "edges", "totalCount"})
        found[connection.replace("Connection", "Edge")] = frozenset({"cursor", "node"})
    found["PageInfo"] = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})
    return found
