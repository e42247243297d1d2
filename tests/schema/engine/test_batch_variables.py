"""logActivities' variables built by the server's execution context (schema/engine/
batch_variables.py) equal graphql-core's own, errors included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLError, parse
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import schema
from schema.engine.executor import SettlingExecutionContext
from tests.activities.test_activity_input import ITEMS, VALUES
from tests.support import contract_operations

DOCUMENT = parse(contract_operations()["LogActivities"])
GOOD = {"kind": "VISIT", "occurredAt": "2026-03-01T09:00:00Z", "accountExternalRef": "A-1"}


def built(context_class: Any, variables: Any, name: str | None = None) -> Any:
    found = context_class.build(schema._schema, DOCUMENT, None, None, variables, name)
    if isinstance(found, list):
        assert all(isinstance(e, GraphQLError) for e in found)
        return [e.formatted for e in found]
    values = found.variable_values
    # Signatures are built per call (compared by identity): compare what they say.
    sources = {
        name: (s.signature.name, str(s.signature.type), s.signature.default, s.value)
        for name, s in values.sources.items()
    }
    return plain(values.coerced), plain(sources)


def plain(value: Any) -> Any:
    """Comparable also where a value is not equal to itself (Decimal NaN)."""
    if isinstance(value, dict):
        return sorted((k, plain(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return repr(value)


def assert_same(variables: Any) -> None:
    fast = built(SettlingExecutionContext, variables)
    standard = built(StrawberryGraphQLCoreExecutionContext, variables)
    assert fast == standard


BATCHES = st.one_of(
    st.lists(st.one_of(ITEMS, st.just(GOOD)), max_size=6),
    st.lists(st.just(GOOD), max_size=3),
    VALUES,
)


@settings(max_examples=500, deadline=None)
@given(BATCHES, st.booleans())
def test_generated_batches_coerce_or_fail_exactly_as_graphql_core(
    activities: Any, extra_key: bool
) -> None:
    value: dict[str, Any] = {"activities": activities}
    if extra_key:
        value["colour"] = "red"
    assert_same({"input": value})


def test_known_refusals_keep_graphql_cores_messages() -> None:
    cases: list[Any] = [
        {"input": {"activities": [GOOD, {**GOOD, "kind": "SMOKE"}]}},
        {"input": {"activities": [GOOD, None]}},
        {"input": {"activities": GOOD}},  # one item for a list: graphql-core wraps it
        {"input": {"activities": [GOOD] * 3, "other": 1}},
        {"input": None},
        {},
        {"input": {"activities": [{**GOOD, "occurredAt": "yesterday"}] * 2}},
    ]
    for variables in cases:
        assert_same(variables)
    errors = built(SettlingExecutionContext, cases[0])
    assert [e["message"] for e in errors] == [
        "Variable '$input' has invalid value at .activities[1].kind: "
        "Value 'SMOKE' does not exist in 'ActivityKind' enum. "
        "Did you mean the enum value 'NOTE' or 'QUOTE'?"
    ]


def test_a_valid_batch_takes_the_fast_path_and_keeps_its_source() -> None:
    variables = {"input": {"activities": [GOOD, {**GOOD, "amount": "1.50", "accountId": 7}]}}
    assert built(SettlingExecutionContext, variables) == built(
        StrawberryGraphQLCoreExecutionContext, variables
    )
    found = SettlingExecutionContext.build(schema._schema, DOCUMENT, None, None, variables)
    assert not isinstance(found, list)
    assert found.variable_values.sources["input"].value is variables["input"]
    items = found.variable_values.coerced["input"]["activities"]
    assert [item["amount"] for item in items] == [None, Decimal("1.50")]
    assert [item["accountId"] for item in items] == [None, "7"]
