"""The contract's query operations, each with variables that reach the generated world."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse

from app.models.auth import Role
from schema.relay import to_global_id
from tests.schema.engine.compiled.pair import Ask
from tests.schema.engine.compiled.world import CLOCK, SECOND_PIPELINE, World
from tests.support import contract_operations

Variables = dict[str, Any]


def _is_query(text: str) -> bool:
    definition = parse(text).definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    return definition.operation is OperationType.QUERY


QUERY_OPERATIONS = [name for name, text in contract_operations().items() if _is_query(text)]

YEAR_AGO = (CLOCK - timedelta(days=365)).isoformat()
TOMORROW = (CLOCK + timedelta(days=1)).isoformat()
PERIOD = {"from": YEAR_AGO, "to": TOMORROW}


def _account(world: World, n: int) -> str:
    return to_global_id("Account", world.accounts[n])


def _user(world: World, role: Role) -> str:
    return to_global_id("User", world.users[role])


def _account_pages(world: World) -> list[Variables]:
    parent = to_global_id("Account", world.parents[0])
    return [
        {},
        {"first": 5},
        {"first": 3, "after": world.cursors["accounts"][4]},
        {"first": 100, "filter": {"includeArchived": True}},
        {"filter": {"classification": ["A", "B"], "countryCode": "US"}},
        {"filter": {"industry": "Agriculture", "parentId": parent}},
        {"filter": {"region": "région\\nord", "city": "MÜNCHEN"}},
        {"filter": {"postalCodePrefix": "80", "region": ""}},
        {"first": 0},
        {"first": 101},
        {"after": "not a cursor"},
    ]


def _details(world: World) -> list[Variables]:
    ids = [_account(world, n) for n in (0, 1, 2, 5)]
    ids += [to_global_id("Account", world.merged), to_global_id("Account", world.archived[0])]
    ids += [to_global_id("Contact", world.contacts[0]), to_global_id("Account", 999_999), "!"]
    return [{"id": i} for i in ids]


VARIABLES: dict[str, Callable[[World], list[Variables]]] = {
    "AccountList": _account_pages,
    "AccountDetail": _details,
    "AccountSearch": lambda w: [
        *_account_pages(w),
        {"orderBy": {"field": "NEXT_CONTACT_DUE", "direction": "DESC"}, "first": 10},
        {"last": 3},
        {"last": 2, "before": w.cursors["accounts"][10]},
    ],
    "AccountRevenue": lambda w: [{"id": _account(w, 1)}, {"id": _account(w, 3)}],
    "AuditLog": lambda w: [{}, {"entityId": _account(w, 0), "first": 5}],
    "Assignments": lambda w: [
        {},
        {"filter": {"status": ["OVERDUE", "DUE_SOON"]}},
        {"filter": {"userId": _user(w, Role.REP)}, "first": 3},
    ],
    "PendingHandoffs": lambda w: [{}, {"pipeline": SECOND_PIPELINE, "first": 2}],
    "StageThroughput": lambda w: [PERIOD, {**PERIOD, "pipeline": SECOND_PIPELINE}],
    "HandoffReport": lambda w: [PERIOD, {**PERIOD, "pipeline": SECOND_PIPELINE}],
    "Leads": lambda w: [{}],
    "LeadSourceReport": lambda w: [PERIOD],
    "ImportJob": lambda w: [{"id": to_global_id("ImportJob", 1)}],
    "AccountPlanning": lambda w: [{"id": _account(w, 0)}, {"id": _account(w, 1)}],
    "ChurnEstimate": lambda w: [{}, {"years": 2}],
    "Forecast": lambda w: [
        {"groupBy": grouping, "periodStart": f"{CLOCK.year}-01-01"}
        for grouping in ("OWNER", "CLASSIFICATION", "PARENT", "INDUSTRY")
    ],
    "ClassificationSuggestions": lambda w: [{}, {"first": 5}],
    "ReviewsDue": lambda w: [{}, {"withinDays": 400}],
    "Contacts": lambda w: [{}, {"filter": {"accountId": _account(w, 3)}, "first": 5}],
    "ActivityFeed": lambda w: [
        {},
        {"filter": {"accountId": _account(w, 4), "includeVoided": True}},
        {"first": 5, "after": w.cursors["activities"][2]},
    ],
    "PipelineBoard": lambda w: [{}, {"pipeline": SECOND_PIPELINE}],
    "ApiTokens": lambda w: [{}, {"userId": _user(w, Role.REP)}],
    "MyActions": lambda w: [{}],
    "Coverage": lambda w: [
        {"groupBy": ["USER"]},
        {"groupBy": ["MANAGER_TYPE", "CLASSIFICATION"], "filter": {"managerType": "SALES"}},
    ],
    "ThroughputByOwner": lambda w: [PERIOD, {**PERIOD, "pipeline": SECOND_PIPELINE}],
    "ThroughputTrend": lambda w: [{**PERIOD, "interval": "MONTH"}, {**PERIOD, "interval": "DAY"}],
    "StuckEntries": lambda w: [{"olderThanDays": 0}, {"olderThanDays": 0, "first": 2}],
    "ActivityMix": lambda w: [PERIOD],
    "ExposureByIndustry": lambda w: [{"periodStart": f"{CLOCK.year}-01-01"}],
    "EventFeed": lambda w: [{}, {"first": 3}, {"types": ["ACCOUNT_CREATED", "STAGE_CHANGED"]}],
    "VisibleAccounts": lambda w: [
        {},
        {"first": 5},
        {"first": 3, "after": w.cursors["accounts"][4]},
    ],
    "TeamCoverage": lambda w: [
        {"teamId": to_global_id("Team", w.ids["Team"][0])},
        {"teamId": to_global_id("Team", w.ids["Team"][1])},
        {"teamId": to_global_id("Team", 999_999)},
    ],
    "MyTasks": lambda w: [{}, {"first": 5}, {"filter": {"status": ["OPEN"]}, "first": 2}],
    "ContactSuggestions": lambda w: [{}, {"userId": _user(w, Role.REP), "first": 5}],
}


def contract_asks(world: World, name: str) -> list[Ask]:
    """The operation, exactly as written, with each of its variable sets, for every role."""
    document = contract_operations()[name]
    sets = VARIABLES[name](world) if name in VARIABLES else [{}]
    return [Ask(document, variables, role) for variables in sets for role in Role]


def without_variables() -> list[str]:
    """Contract queries that declare variables but have none chosen here."""
    missing = []
    for name in QUERY_OPERATIONS:
        definition = parse(contract_operations()[name]).definitions[0]
        assert isinstance(definition, OperationDefinitionNode)
        if definition.variable_definitions and name not in VARIABLES:
            missing.append(name)
    return missing
