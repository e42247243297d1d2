"""The list screens' root connections (contacts, leads, assignments, activities) page both
ways in every order they offer, ties broken by id, with sealed cursors of their order; without
`orderBy` each keeps the order it had (schema/lists.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.accounts import Contact
from app.models.activities import Activity
from app.models.assignments import Assignment
from app.models.auth import Role
from app.models.leads import Lead, LeadStatus
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log
from tests.support import Api, Caller

Keys = dict[str, list[tuple[int, Any]]]  # per order: (pk, sort key) of each row
BASE = datetime(2026, 3, 1, 9, tzinfo=UTC)
NAMES = ["Bea", "Ann", "Bea", "Cid", "Ann", "Bea", "Ann"]


def _day(i: int) -> datetime:
    return BASE + timedelta(days=i % 3)  # three values over seven rows: ties


async def _contacts(session: AsyncSession, rep: Caller) -> Keys:
    account = await create_account(session, "Acme")
    rows = [await create_contact(session, account, name) for name in NAMES]
    for i, row in enumerate(rows):
        await session.execute(
            update(Contact).where(Contact.id == row.id).values(created_at=_day(i))
        )
    await session.commit()
    return {
        "NAME": [(r.id, r.name) for r in rows],
        "CREATED_AT": [(r.id, _day(i)) for i, r in enumerate(rows)],
    }


async def _leads(session: AsyncSession, rep: Caller) -> Keys:
    statuses = list(LeadStatus)
    keys: Keys = {"CREATED_AT": [], "COMPANY": [], "STATUS": []}
    for i, name in enumerate(NAMES):
        lead = await create_lead(session, actor=SYSTEM, company=name)
        status = statuses[i % 2 * 2]  # NEW or QUALIFIED
        values = {"created_at": _day(i), "status": status}
        await session.execute(update(Lead).where(Lead.id == lead.id).values(**values))
        keys["CREATED_AT"].append((lead.id, _day(i)))
        keys["COMPANY"].append((lead.id, name))
        keys["STATUS"].append((lead.id, statuses.index(status)))
    await session.commit()
    return keys


async def _assignments(session: AsyncSession, rep: Caller) -> Keys:
    for i, name in enumerate(NAMES):
        account = await create_account(session, f"{name} {i}")
        row = await create_assignment(session, account_id=account.id, user_id=rep.user_id)
        started = _day(i) - timedelta(days=60)  # due follows from it: ties on both
        await session.execute(
            update(Assignment).where(Assignment.id == row.id).values(started_at=started)
        )
    await session.commit()
    query = select(Assignment.id, Assignment.next_contact_due, Assignment.started_at)
    rows = (await session.execute(query)).all()
    assert len({due for _, due, _ in rows}) == 3
    return {
        "NEXT_CONTACT_DUE": [(pk, due) for pk, due, _ in rows],
        "STARTED_AT": [(pk, started) for pk, _, started in rows],
    }


async def _activities(session: AsyncSession, rep: Caller) -> Keys:
    account = await create_account(session, "Acme")
    for i in range(len(NAMES)):
        await log(session, account_id=account.id, occurred_at=_day(i))
    rows = (await session.execute(select(Activity.id, Activity.occurred_at))).all()
    return {"OCCURRED_AT": [(pk, at) for pk, at in rows]}


Arrange = Callable[[AsyncSession, Caller], Awaitable[Keys]]
LISTS: dict[str, tuple[str, str, Arrange]] = {  # root: (node type, its order input, rows)
    "contacts": ("Contact", "ContactOrder", _contacts),
    "leads": ("Lead", "LeadOrder", _leads),
    "assignments": ("Assignment", "AssignmentOrder", _assignments),
    "activities": ("Activity", "ActivityOrder", _activities),
}
ORDERS = [
    (root, field, direction)
    for root, fields in {
        "contacts": ("NAME", "CREATED_AT"),
        "leads": ("CREATED_AT", "COMPANY", "STATUS"),
        "assignments": ("NEXT_CONTACT_DUE", "STARTED_AT"),
        "activities": ("OCCURRED_AT",),
    }.items()
    for field in fields
    for direction in ("ASC", "DESC")
]
# Without orderBy: today's order, as (order, descending); None: by id.
DEFAULTS = {
    "contacts": ("NAME", False),
    "leads": (None, False),
    "assignments": ("NEXT_CONTACT_DUE", False),
    "activities": ("OCCURRED_AT", True),
}


def _query(root: str) -> str:
    order_input = LISTS[root][1]
    return f"""
    query($first: Int, $after: String, $last: Int, $before: String, $orderBy: {order_input}) {{
      {root}(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {{
        totalCount
        edges {{ cursor node {{ id }} }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      }}
    }}"""


async def _page(api: Api, caller: Caller, root: str, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(_query(root), variables, caller=caller))[root]
    return found


async def _forward(api: Api, caller: Caller, root: str, order: Any) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = await _page(api, caller, root, first=3, after=after, orderBy=order)
        ids += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def _backward(api: Api, caller: Caller, root: str, order: Any) -> list[str]:
    ids: list[str] = []
    before = None
    while True:
        page = await _page(api, caller, root, last=3, before=before, orderBy=order)
        ids = [edge["node"]["id"] for edge in page["edges"]] + ids
        if not page["pageInfo"]["hasPreviousPage"]:
            return ids
        before = page["pageInfo"]["startCursor"]


def _expected(type_name: str, rows: list[tuple[int, Any]], descending: bool) -> list[str]:
    ordered = sorted(rows, key=lambda row: (row[1], row[0]), reverse=descending)
    return [to_global_id(type_name, pk) for pk, _ in ordered]


@pytest.mark.parametrize(("root", "field", "direction"), ORDERS)
async def test_each_order_pages_forward_and_backward_alike(
    api: Api, root: str, field: str, direction: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    type_name, _, arrange = LISTS[root]
    keys = await arrange(api.session, manager)
    expected = _expected(type_name, keys[field], direction == "DESC")
    assert len(expected) == len(NAMES)
    order = {"field": field, "direction": direction}
    assert await _forward(api, manager, root, order) == expected
    assert await _backward(api, manager, root, order) == expected
    assert (await _page(api, manager, root, first=1, orderBy=order))["totalCount"] == len(NAMES)


@pytest.mark.parametrize("root", list(LISTS))
async def test_without_an_order_each_list_keeps_its_order_and_cursors(api: Api, root: str) -> None:
    manager = await api.caller(Role.MANAGER)
    type_name, _, arrange = LISTS[root]
    keys = await arrange(api.session, manager)
    field, descending = DEFAULTS[root]
    rows = keys[field] if field else [(pk, pk) for pk, _ in next(iter(keys.values()))]
    expected = _expected(type_name, rows, descending)
    assert await _forward(api, manager, root, None) == expected
    assert await _backward(api, manager, root, None) == expected
    if field is None:
        return
    # A cursor of the list without an order serves the same order named by orderBy.
    first = await _page(api, manager, root, first=2)
    order = {"field": field, "direction": "DESC" if descending else "ASC"}
    rest = await _page(
        api, manager, root, first=2, after=first["pageInfo"]["endCursor"], orderBy=order
    )
    assert [e["node"]["id"] for e in rest["edges"]] == expected[2:4]


BAD_PAGES = [
    ({"first": 2, "last": 2}, "INVALID_INPUT", "last"),
    ({"before": "x"}, "INVALID_INPUT", "before"),
    ({"last": 101}, "INVALID_INPUT", "last"),
]


@pytest.mark.parametrize(("variables", "code", "field"), BAD_PAGES)
async def test_bad_page_arguments_are_invalid_input(
    api: Api, variables: dict[str, Any], code: str, field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    await _contacts(api.session, manager)
    result = await api.gql(_query("contacts"), variables, caller=manager)
    assert result["data"] is None
    [error] = result["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field)


async def test_a_cursor_of_another_order_is_refused(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _contacts(api.session, manager)
    by_name = await _page(api, manager, "contacts", first=2)
    after = by_name["pageInfo"]["endCursor"]
    order = {"field": "CREATED_AT", "direction": "ASC"}
    result = await api.gql(_query("contacts"), {"after": after, "orderBy": order}, caller=manager)
    [error] = result["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "INVALID_CURSOR",
        "after",
    )
    reversed_ = {"field": "NAME", "direction": "DESC"}
    result = await api.gql(
        _query("contacts"), {"after": after, "orderBy": reversed_}, caller=manager
    )
    assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
