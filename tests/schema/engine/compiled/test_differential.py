"""Both read paths give the same bytes: generated queries, and every contract query.

The app with compiled reads answers what the compiler covers in SQL; the other answers
everything through strawberry. Every request goes to both, for every role, and the
status, content type and body must be equal byte for byte.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.auth import Role
from tests.schema.engine.compiled.contract import (
    QUERY_OPERATIONS,
    contract_asks,
    without_variables,
)
from tests.schema.engine.compiled.documents import cases, sample
from tests.schema.engine.compiled.pair import TALLIES, Ask, Pair, Tally

GENERATED = 2_000

generated = TALLIES.setdefault("generated queries", Tally())
contract = TALLIES.setdefault("contract queries", Tally())


@settings(
    max_examples=GENERATED,
    derandomize=True,  # the same documents on every run: CI is reproducible
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_queries_agree(pair: Pair, data: st.DataObject) -> None:
    case = data.draw(cases(pair.world), label="case")
    ask = Ask(
        case.document,
        case.variables,
        case.role,
        operation_name=case.operation_name,
        get=case.get,
        accept=case.accept,
    )
    await pair.check(ask, generated)


@pytest.mark.parametrize("name", QUERY_OPERATIONS)
async def test_contract_query_agrees(pair: Pair, name: str) -> None:
    asks = contract_asks(pair.world, name)
    answered = []
    for ask in asks:
        answer = await pair.check(ask, contract)
        answered.append(ask.role is Role.ADMIN and not answer.has_errors)
    assert {ask.role for ask in asks} == set(Role)
    assert any(answered), "no variable set gives ADMIN an answer without errors"


def test_every_contract_query_with_variables_has_them_chosen() -> None:
    assert without_variables() == []


async def test_generated_queries_mostly_answer_with_data(pair: Pair) -> None:
    """The generated documents are not vacuous: most are valid and find data."""
    asks = [Ask(c.document, c.variables, c.role, c.operation_name) for c in sample(pair.world, 120)]
    answers = [(await pair.ask(ask))[1] for ask in asks]
    assert {a.status for a in answers} == {200}
    clean = [a for a in answers if not a.has_errors]
    assert len(clean) > len(answers) // 2
    assert sum(b'"edges":[{' in a.body for a in clean) >= 10  # pages that hold rows
