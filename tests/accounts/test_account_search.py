"""AccountSearch and AccountRevenue: search, filters, every order both ways, revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from app.models.accounts import Account, AccountSource
from app.models.activities import ActivityKind
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log, noon
from tests.planning.factories import create_activity
from tests.support import Api, Caller


async def _search(api: Api, caller: Caller, **variables: Any) -> dict[str, Any]:
    data = await api.op("AccountSearch", variables, caller=caller)
    result: dict[str, Any] = data["accounts"]
    return result


def _names(page: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in page["edges"]]


async def test_search_ranks_name_over_website_over_contacts(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_account(api.session, "Greenfield Tractors", website="https://fields.example")
    await create_account(api.session, "Plain Co", website="https://greenfield-parts.example")
    by_contact = await create_account(api.session, "Other Co")
    await create_contact(api.session, by_contact, "Gina Greenfield")
    await create_account(api.session, "Unrelated")
    mailed = await create_account(api.session, "Mailbox Inc")
    await create_contact(api.session, mailed, "Ann")
    page = await _search(api, admin, filter={"search": "greenf"})
    assert _names(page) == ["Greenfield Tractors", "Plain Co", "Other Co"]
    assert page["totalCount"] == 3
    ref = await create_account(api.session, "By Ref", external_ref="ERP-778")
    assert _names(await _search(api, admin, filter={"search": "erp 778"})) == [ref.name]
    assert _names(await _search(api, admin, filter={"search": "  "})) != []


async def test_filters(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    old = await create_account(api.session, "Old", source=AccountSource.EVENT, external_ref="E1")
    await api.session.execute(
        update(Account)
        .where(Account.id == old.id)
        .values(
            created_at=datetime(2020, 1, 1, tzinfo=UTC), updated_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
    )
    await api.session.commit()
    web = await create_account(api.session, "Web", source=AccountSource.WEBSITE)
    await api.op(
        "SetAccountTags",
        {"input": {"accountId": to_global_id("Account", web.id), "add": ["VIP", "north"]}},
        caller=admin,
    )
    await create_assignment(api.session, account_id=web.id, user_id=rep.user_id, frequency=10)
    assert _names(await _search(api, admin, filter={"source": ["EVENT"]})) == ["Old"]
    assert _names(await _search(api, admin, filter={"tags": ["vip ", "NORTH"]})) == ["Web"]
    assert _names(await _search(api, admin, filter={"tags": ["vip", "south"]})) == []
    assert _names(await _search(api, admin, filter={"externalRef": "E1"})) == ["Old"]
    assert _names(await _search(api, admin, filter={"assignedUserId": rep.id})) == ["Web"]
    assert _names(await _search(api, admin, filter={"managerType": "SALES"})) == ["Web"]
    assert _names(await _search(api, admin, filter={"managerType": "PARTS"})) == []
    assert _names(await _search(api, admin, filter={"cadenceStatus": ["ON_TRACK"]})) == ["Web"]
    assert _names(await _search(api, admin, filter={"cadenceStatus": ["OVERDUE"]})) == []
    assert _names(await _search(api, admin, filter={"stage": "PROSPECT"})) == ["Old", "Web"]
    assert _names(await _search(api, admin, filter={"stage": "CUSTOMER"})) == []
    since = "2021-01-01T00:00:00Z"
    assert _names(await _search(api, admin, filter={"createdAfter": since})) == ["Web"]
    assert _names(await _search(api, admin, filter={"updatedAfter": since})) == ["Web"]
    node = (await _search(api, admin, filter={"tags": ["vip"]}))["edges"][0]["node"]
    assert node["tags"] == ["vip", "north"]
    assert node["assignments"][0]["user"] == {
        "id": rep.id,
        "name": "Rep " + node["assignments"][0]["user"]["name"][4:],
    }
    assert node["pipelineEntry"] == {"stage": "PROSPECT", "owner": None}


ORDERS = ["NAME", "CREATED_AT", "UPDATED_AT", "NEXT_CONTACT_DUE", "REVENUE_LAST_12_MONTHS"]


@pytest.mark.parametrize("field", ORDERS)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_every_order_pages_forward_and_backward_alike(
    api: Api, field: str, direction: str
) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    accounts = []
    for n, name in enumerate(["Delta", "Alpha", "Charlie", "Bravo", "Echo"]):
        account = await create_account(api.session, name)
        accounts.append(account)
        if n % 2 == 0:
            await create_assignment(
                api.session, account_id=account.id, user_id=rep.user_id, frequency=5 + n
            )
        if n != 1:
            await create_activity(api.session, account, f"{(n * 37) % 100}.00", noon(3))
    order = {"field": field, "direction": direction}
    forward: list[str] = []
    after = None
    while True:
        page = await _search(api, admin, first=2, after=after, orderBy=order)
        forward += _names(page)
        assert page["totalCount"] == 5
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        page = await _search(api, admin, last=2, before=before, orderBy=order)
        backward = _names(page) + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert forward == backward
    assert sorted(forward) == sorted(a.name for a in accounts)
    if field == "NAME":
        expected = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
        assert forward == (expected if direction == "ASC" else expected[::-1])
    if field == "REVENUE_LAST_12_MONTHS":
        revenue = [
            Decimal(e["node"]["revenueLast12Months"])
            for e in (await _search(api, admin, orderBy=order))["edges"]
        ]
        assert revenue == sorted(revenue, reverse=direction == "DESC")


async def test_cursors_hold_under_inserts_and_refuse_another_order(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    for name in ["B", "D", "F"]:
        await create_account(api.session, name)
    first = await _search(api, admin, first=2)
    assert _names(first) == ["B", "D"]
    await create_account(api.session, "A")
    await create_account(api.session, "E")
    rest = await _search(api, admin, first=5, after=first["pageInfo"]["endCursor"])
    assert _names(rest) == ["E", "F"]
    wrong = await api.gql(
        "query($after: String) { accounts(first: 1, after: $after, orderBy: {field: CREATED_AT}) "
        "{ totalCount } }",
        {"after": first["pageInfo"]["endCursor"]},
        caller=admin,
    )
    assert wrong["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_revenue_last_12_months_and_by_year(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    account = await create_account(api.session, "Buyer")
    now = datetime.now(UTC)
    this_year = now.year
    await log(
        api.session,
        account_id=account.id,
        occurred_at=noon(10),
        kind=ActivityKind.INVOICE,
        amount=Decimal("100.00"),
    )
    await log(
        api.session,
        account_id=account.id,
        occurred_at=noon(20),
        kind=ActivityKind.PARTS_PURCHASE,
        amount=Decimal("50.50"),
    )
    await log(
        api.session,
        account_id=account.id,
        occurred_at=noon(400),
        kind=ActivityKind.INVOICE,
        amount=Decimal("7.00"),
    )
    await log(
        api.session, account_id=account.id, occurred_at=noon(5), kind=ActivityKind.CALL_OUTBOUND
    )
    data = await api.op("AccountRevenue", {"id": to_global_id("Account", account.id)}, caller=admin)
    node = data["node"]
    assert node["revenueLast12Months"] == "150.50"
    years = node["revenueByYear"]
    assert [y["year"] for y in years] == list(range(this_year, this_year - 5, -1))
    expected: dict[int, tuple[Decimal, int]] = {}
    for days, amount in [(10, Decimal("100.00")), (20, Decimal("50.50")), (400, Decimal("7.00"))]:
        year = (now - timedelta(days=days)).year
        total, n = expected.get(year, (Decimal(0), 0))
        expected[year] = (total + amount, n + 1)
    got = {y["year"]: (Decimal(y["revenue"]), y["invoices"]) for y in years if y["invoices"]}
    assert got == expected
