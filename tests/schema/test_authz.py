"""The rule table names real mutations and fields, and every REP-scoped write names its rows."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLNonNull, get_named_type

from schema import schema
from schema.authz import ITEM_RULES, MUTATION_RULES, POLICY, ROW_SCOPE, Holds, SetBy
from schema.engine import graphql_schema
from schema.engine.inputs import camel

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
