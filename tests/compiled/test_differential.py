"""Both read paths give the same bytes: generated queries, and every contract query.

The app with compiled reads answers what the compiler covers in SQL; the other answers
everything through strawberry. Every request goes to both, for every role, and the
status, content type and body must be equal byte for byte.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth.models import Role
from tests.compiled.contract import (
    QUERY_OPERATIONS,
    UNPINNED,
    contract_asks,
    without_variables,
)
from tests.compiled.documents import cases
from tests.compiled.pair import TALLIES, Ask, Pair, Tally

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
    for ask in asks:
        await pair.check(ask, contract, unpinned=UNPINNED.get(name, ()))
    assert {ask.role for ask in asks} == set(Role)


def test_every_contract_query_with_variables_has_them_chosen() -> None:
    assert without_variables() == []
