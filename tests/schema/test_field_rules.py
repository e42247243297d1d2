"""Every field of every type is read through one rule table (schema/permissions.py)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from app.models.activities import ActivityKind
from app.models.auth import Role
from schema import schema
from schema.permissions import ALL, FIELD_RULES, MANAGERS, POLICY, STAFF, TYPE_RULES, field_action
from schema.relay import NODE_LOADERS, to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon
from tests.support import Api, Caller

GRAPHQL = schema._schema


def _object_types() -> list[GraphQLObjectType]:
    return [
        t
        for name, t in GRAPHQL.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    ]


def _every_field() -> list[tuple[GraphQLObjectType, str]]:
    return [(t, name) for t in _object_types() for name in t.fields]


@pytest.mark.parametrize("type_", _object_types(), ids=lambda t: t.name)
def test_every_type_names_its_read_rule(type_: GraphQLObjectType) -> None:
    assert type_.name in TYPE_RULES, f"{type_.name} has no rule in TYPE_RULES"
    assert TYPE_RULES[type_.name] in POLICY


@pytest.mark.parametrize(
    ("type_", "name"), _every_field(), ids=lambda x: getattr(x, "name", None) or str(x)
)
def test_every_field_has_a_rule(type_: GraphQLObjectType, name: str) -> None:
    assert field_action(type_, name, type_.fields[name]) in POLICY


def test_overrides_name_real_fields_and_actions() -> None:
    for key, action in FIELD_RULES.items():
        type_name, _, field = key.partition(".")
        found = GRAPHQL.type_map.get(type_name)
        assert isinstance(found, GraphQLObjectType), key
        assert field in found.fields, key
        assert action in POLICY, key
    assert set(TYPE_RULES) <= {t.name for t in _object_types()}, "a rule for no type"


def test_node_loaders_use_the_type_rule() -> None:
    for type_name, (action, _) in NODE_LOADERS.items():
        assert TYPE_RULES[type_name] == action, type_name


# Who may read what: the roles the table gives, field by field.
EXPECTED: dict[str, frozenset[Role]] = {
    "Query.viewer": ALL,
    "Query.accounts": ALL,
    "Query.auditLog": MANAGERS,
    "Query.stageThroughput": MANAGERS,
    "Account.name": ALL,
    "Account.externalRef": ALL,
    "Account.address": ALL,
    "Account.contacts": ALL,
    "Account.parent": ALL,
    "Account.branches": ALL,
    "Contact.account": ALL,
    "Account.assignments": STAFF,
    "Account.activities": STAFF,
    "Account.stageHistory": STAFF,
    "Account.pipelineEntry": STAFF,
    "Account.plans": STAFF,
    "Account.rollup": STAFF,
    "Account.contactMap": STAFF,
    "Assignment.user": STAFF,
    "StageEvent.actor": STAFF,
    "AccountPlan.owner": STAFF,
    "AccountPayload.account": ALL,
    "LogActivityPayload.activity": ALL,
    "Activity.account": ALL,
    "Activity.user": STAFF,
    "Lead.owner": STAFF,
}


@pytest.mark.parametrize(("key", "roles"), EXPECTED.items(), ids=list(EXPECTED))
def test_each_role_reads_what_the_table_says(key: str, roles: frozenset[Role]) -> None:
    type_name, _, name = key.partition(".")
    type_ = GRAPHQL.type_map[type_name]
    assert isinstance(type_, GraphQLObjectType)
    assert POLICY[field_action(type_, name, type_.fields[name])].roles == roles


# --- through the app: the findings of the hardening issue -----------------------------

SECRET_EMAIL = "hidden.rep@example.org"
LEAK = """
{ accounts { edges { node { name
    assignments { user { email role } }
    stageHistory { reason actor { email } }
    activities { edges { node { summary amount } } }
} } } }
"""


async def _account_with_history(api: Api) -> tuple[int, Caller]:
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Guarded Co")
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    await log(
        api.session,
        account_id=account.id,
        occurred_at=noon(1),
        kind=ActivityKind.CALL_OUTBOUND,
        user_id=rep.user_id,
    )
    return account.id, rep


def _codes(result: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in result.get("errors", [])}


async def test_integration_cannot_read_people_or_history_of_accounts(api: Api) -> None:
    await _account_with_history(api)
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql(LEAK, caller=erp)
    assert _codes(result) == {"FORBIDDEN"}
    # Each forbidden field reads as null in place (they are nullable for that reason).
    paths = {e["path"][-1] for e in result["errors"]}
    assert paths == {"assignments", "stageHistory", "activities"}
    assert result["data"] == {
        "accounts": {
            "edges": [
                {
                    "node": {
                        "name": "Guarded Co",
                        "assignments": None,
                        "stageHistory": None,
                        "activities": None,
                    }
                }
            ]
        }
    }
    assert "@example.org" not in str(result)


async def test_staff_read_the_same_query(api: Api) -> None:
    _, rep = await _account_with_history(api)
    result = await api.gql(LEAK, caller=rep)
    assert "errors" not in result
    node = result["data"]["accounts"]["edges"][0]["node"]
    assert node["assignments"][0]["user"]["role"] == "REP"
    assert len(node["activities"]["edges"]) == 1


async def test_integration_cannot_read_history_through_node(api: Api) -> None:
    account_id, _ = await _account_with_history(api)
    erp = await api.caller(Role.INTEGRATION)
    query = """query($id: ID!) { node(id: $id) { ... on Account {
        name assignments { user { email } } } } }"""
    result = await api.gql(query, {"id": to_global_id("Account", account_id)}, caller=erp)
    assert _codes(result) == {"FORBIDDEN"}
    assert result["data"] == {"node": {"name": "Guarded Co", "assignments": None}}
    plain = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Account { name } } }",
        {"id": to_global_id("Account", account_id)},
        caller=erp,
    )
    assert plain == {"node": {"name": "Guarded Co"}}


async def test_integration_cannot_read_history_through_mutation_payloads(api: Api) -> None:
    account_id, _ = await _account_with_history(api)
    erp = await api.caller(Role.INTEGRATION)
    update = """mutation($input: UpdateAccountInput!) { updateAccount(input: $input) {
        account { name assignments { user { email } } } errors { code } } }"""
    variables = {"input": {"id": to_global_id("Account", account_id), "industry": "Dairy"}}
    result = await api.gql(update, variables, caller=erp)
    assert _codes(result) == {"FORBIDDEN"}
    assert "@example.org" not in str(result)

    logged = """mutation($input: LogActivityInput!) { logActivity(input: $input) {
        activity { kind account { name activities { edges { node { summary } } } } }
        errors { code } } }"""
    variables = {
        "input": {
            "accountId": to_global_id("Account", account_id),
            "kind": "EMAIL_SENT",
            "occurredAt": noon(0).isoformat(),
        }
    }
    result = await api.gql(logged, variables, caller=erp)
    assert _codes(result) == {"FORBIDDEN"}
    assert result["errors"][0]["path"][-1] == "activities"


async def test_integration_reads_what_its_own_mutation_returns(api: Api) -> None:
    account_id, rep = await _account_with_history(api)
    erp = await api.caller(Role.INTEGRATION)
    logged = """mutation($input: LogActivityInput!) { logActivity(input: $input) {
        activity { kind amount account { name } user { id } } errors { code } } }"""
    variables = {
        "input": {
            "accountId": to_global_id("Account", account_id),
            "kind": "INVOICE",
            "amount": "12.50",
            "userId": rep.id,
            "occurredAt": noon(0).isoformat(),
        }
    }
    result = await api.gql(logged, variables, caller=erp)
    assert result["data"]["logActivity"]["activity"] == {
        "kind": "INVOICE",
        "amount": "12.50",
        "account": {"name": "Guarded Co"},
        "user": None,  # a person, even the one it named (issue 18)
    }
    assert [(e["extensions"]["code"], e["path"]) for e in result["errors"]] == [
        ("FORBIDDEN", ["logActivity", "activity", "user"])
    ]
