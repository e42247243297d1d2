"""coverageReport: cadence status, balance and contacts per group, known answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Classification
from app.models.assignments import ManagerType
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon
from tests.reports.factories import archive
from tests.support import Api, Caller

QUERY = """
query($groupBy: [CoverageGrouping!]!, $filter: CoverageFilter) {
  coverageReport(groupBy: $groupBy, filter: $filter) {
    user { name } managerType classification assignments onTrack dueSoon overdue
    overdueShare surplus balanced deficit contactsPerAccountLast365Days
  }
}
"""


async def arrange(api: Api, session: AsyncSession) -> tuple[Caller, Caller]:
    """Rep A: one account on track (deficit), one overdue (deficit), one archived.
    Rep B: a class-B account due soon (surplus), a class-A account on track (balanced)."""
    a = await api.caller(Role.REP, name="Rep A")
    b = await api.caller(Role.REP, name="Rep B")
    one = await create_account(session, "One", classification=Classification.A)
    two = await create_account(session, "Two", classification=Classification.A)
    three = await create_account(session, "Three", classification=Classification.B)
    gone = await create_account(session, "Gone", classification=Classification.A)
    await log(session, account_id=one.id, occurred_at=noon(10))
    for days_ago in (1, 2, 3, 5, 8):
        await log(session, account_id=three.id, occurred_at=noon(days_ago))
    # Balance windows are clipped to the start: 101 days at one, 21 days at three.
    await create_assignment(
        session, account_id=one.id, user_id=a.user_id, frequency=30, started_at=noon(100)
    )
    await create_assignment(
        session, account_id=two.id, user_id=a.user_id, frequency=10, started_at=noon(50)
    )
    await create_assignment(
        session, account_id=gone.id, user_id=a.user_id, frequency=10, started_at=noon(50)
    )
    await archive(session, gone)
    await create_assignment(
        session,
        account_id=three.id,
        user_id=b.user_id,
        manager_type=ManagerType.PARTS,
        frequency=7,
        started_at=noon(20),
    )
    await create_assignment(
        session,
        account_id=one.id,
        user_id=b.user_id,
        manager_type=ManagerType.SERVICE,
        frequency=60,
        started_at=noon(100),
    )
    return a, b


def row(user: str | None, mt: str | None, cls: str | None, *counts: Any) -> dict[str, Any]:
    keys = ["assignments", "onTrack", "dueSoon", "overdue", "overdueShare", "surplus"]
    keys += ["balanced", "deficit", "contactsPerAccountLast365Days"]
    return {
        "user": None if user is None else {"name": user},
        "managerType": mt,
        "classification": cls,
        **dict(zip(keys, counts, strict=True)),
    }


REP_A = ("Rep A", None, None, 2, 1, 0, 1, 0.5, 0, 0, 2, 0.5)
REP_B = ("Rep B", None, None, 2, 1, 1, 0, 0.0, 1, 1, 0, 3.0)


async def test_by_user(api: Api, session: AsyncSession) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    data = await api.data(QUERY, {"groupBy": ["USER"]}, caller=manager)
    assert data["coverageReport"] == [row(*REP_A), row(*REP_B)]


async def test_by_user_and_classification(api: Api, session: AsyncSession) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    data = await api.data(QUERY, {"groupBy": ["CLASSIFICATION", "USER"]}, caller=manager)
    assert data["coverageReport"] == [
        row("Rep A", None, "A", 2, 1, 0, 1, 0.5, 0, 0, 2, 0.5),
        row("Rep B", None, "A", 1, 1, 0, 0, 0.0, 0, 1, 0, 1.0),
        row("Rep B", None, "B", 1, 0, 1, 0, 0.0, 1, 0, 0, 5.0),
    ]


async def test_filters(api: Api, session: AsyncSession) -> None:
    _, b = await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    sales = {"groupBy": ["MANAGER_TYPE"], "filter": {"managerType": "SALES"}}
    data = await api.data(QUERY, sales, caller=manager)
    assert data["coverageReport"] == [row(None, "SALES", None, 2, 1, 0, 1, 0.5, 0, 0, 2, 0.5)]
    class_b = {"groupBy": ["CLASSIFICATION"], "filter": {"classification": ["B"]}}
    data = await api.data(QUERY, class_b, caller=manager)
    assert data["coverageReport"] == [row(None, None, "B", 1, 0, 1, 0, 0.0, 1, 0, 0, 5.0)]
    only_b = {"groupBy": ["USER"], "filter": {"userId": b.id}}
    data = await api.data(QUERY, only_b, caller=manager)
    assert data["coverageReport"] == [row(*REP_B)]


async def test_empty_database_and_bad_input(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    data = await api.data(QUERY, {"groupBy": ["USER"]}, caller=manager)
    assert data["coverageReport"] == []
    result = await api.gql(QUERY, {"groupBy": []}, caller=manager)
    assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "groupBy"}


@pytest.mark.parametrize("role", [Role.REP, Role.INTEGRATION])
async def test_only_managers_and_admins(api: Api, role: Role) -> None:
    caller = await api.caller(role)
    result = await api.gql(QUERY, {"groupBy": ["USER"]}, caller=caller)
    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
