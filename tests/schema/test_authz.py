"""The rule table names real mutations and fields, and every REP-scoped write names its rows."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLNonNull, get_named_type
from sqlalchemy import func, select

from app.models.auth import Role
from app.models.planning import PlanGoal
from schema import schema
from schema.authz import (
    HOLDS_MESSAGE,
    ITEM_RULES,
    MUTATION_RULES,
    POLICY,
    ROW_SCOPE,
    Holds,
    SetBy,
)
from schema.engine import graphql_schema
from schema.engine.inputs import camel
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import create_plan
from tests.support import Api

_MUTATION = graphql_schema(schema).mutation_type
assert _MUTATION is not None
MUTATION = _MUTATION


def _actions() -> dict[str, str]:
    found = {}
    definition = schema.get_type_by_name("Mutation")
    for field in definition.fields:  # type: ignore[union-attr]
        resolver: Any = field.base_resolver.wrapped_func  # type: ignore[union-attr]
        found[camel(field.python_name)] = resolver.__accountflow_action__
    return found


def _input_fields(mutation: str) -> dict[str, Any]:
    input_type = get_named_type(MUTATION.fields[mutation].args["input"].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    return dict(input_type.fields)


def test_every_rep_scoped_mutation_names_the_rows_a_rep_must_hold() -> None:
    scoped = {name for name, action in _actions().items() if POLICY[action].rep_scoped}
    holding = {
        name
        for name, rules in MUTATION_RULES.items()
        if any(isinstance(rule, Holds) and not rule.changed_only for rule in rules)
    }
    assert scoped == holding


@pytest.mark.parametrize("mutation", sorted(MUTATION_RULES))
def test_mutation_rules_name_real_input_fields(mutation: str) -> None:
    fields = _input_fields(mutation)
    for rule in MUTATION_RULES[mutation]:
        for attribute in ("field", "changes", "account", "pipeline", "event"):
            name = getattr(rule, attribute, None)
            if name is not None:
                assert camel(name) in fields, (rule, attribute)
        if isinstance(rule, Holds):
            assert rule.type_name in ROW_SCOPE


def test_item_rules_name_fields_of_the_batch_items() -> None:
    for mutation, rules in ITEM_RULES.items():
        (batch,) = _input_fields(mutation).values()
        list_type = batch.type.of_type if isinstance(batch.type, GraphQLNonNull) else batch.type
        item = get_named_type(list_type)
        assert isinstance(item, GraphQLInputObjectType)
        for rule in rules:
            assert isinstance(rule, SetBy)
            assert camel(rule.field) in item.fields


def _errors(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(e["code"], e["message"], e["field"]) for e in result["errors"]]


async def test_an_unknown_account_is_not_found_before_its_classification_is_judged(
    api: Api,
) -> None:
    erp = await api.caller(Role.INTEGRATION)
    missing = to_global_id("Account", 2**40)
    variables = {"input": {"id": missing, "classification": "A"}}
    result = (await api.op("UpdateAccount", variables, caller=erp))["updateAccount"]
    assert _errors(result) == [("NOT_FOUND", "Unknown account.", "id")]


async def test_a_rep_is_refused_a_row_of_an_account_they_do_not_hold(api: Api) -> None:
    rep = await api.caller(Role.REP)
    plan = await create_plan(api.session, await create_account(api.session, "Foreign"))
    variables = {"input": {"planId": to_global_id("AccountPlan", plan.id), "title": "Grow"}}
    result = (await api.op("AddPlanGoal", variables, caller=rep))["addPlanGoal"]
    assert _errors(result) == [("FORBIDDEN", HOLDS_MESSAGE, None)]
    goals = await api.session.scalar(select(func.count()).select_from(PlanGoal))
    assert goals == 0


async def test_a_rep_naming_an_unknown_plan_hears_which_field(api: Api) -> None:
    rep = await api.caller(Role.REP)
    variables = {"input": {"planId": to_global_id("AccountPlan", 2**40), "title": "Grow"}}
    result = (await api.op("AddPlanGoal", variables, caller=rep))["addPlanGoal"]
    assert _errors(result) == [("NOT_FOUND", "Unknown plan.", "planId")]
