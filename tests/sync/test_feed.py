"""The event feed (`events`): who reads it, its filters, and that it misses nothing.

Outbox ids come from a sequence and commit out of order. The concurrency tests hold real
transactions open on their own connections while the feed is read over HTTP, the way an
integration catching up would meet them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.accounts import lifecycle
from app.accounts.service import add_contact
from app.kit.actor import SYSTEM
from app.models.accounts import Account, Contact
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api, Caller
from tests.sync.support import catch_up, feed


@pytest.fixture
async def erp(api: Api) -> Caller:
    return await api.caller(Role.INTEGRATION)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session on a connection of its own; the test commits it (or it rolls back)."""
    async with db.create_sessionmaker(engine)() as session:
        yield session


async def _contact(session: AsyncSession, account: Account, name: str) -> None:
    await add_contact(session, actor=SYSTEM, account_id=account.id, name=name)


async def test_admin_and_integration_read_every_type_others_are_forbidden(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    await _contact(api.session, account, "Ann")
    await api.session.commit()
    for role in (Role.ADMIN, Role.INTEGRATION):
        page = await feed(api, await api.caller(role))
        assert page.types == ["account.created", "contact.created"]
    for role in (Role.MANAGER, Role.REP):
        result = await api.gql("{ events { edges { cursor } } }", caller=await api.caller(role))
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_node_carries_the_webhook_id_its_object_and_account(api: Api, erp: Caller) -> None:
    account = await create_account(api.session, "Acme")
    outbox_id = await api.session.scalar(select(func.max(OutboxEvent.id)))
    (node,) = (await feed(api, erp)).nodes
    assert node["id"] == f"evt_{outbox_id}"
    assert node["type"] == "account.created"
    assert node["objectId"] == node["accountId"] == to_global_id("Account", account.id)
    assert node["data"]["name"] == "Acme"
    assert node["occurredAt"].endswith("+00:00")


async def test_pages_follow_the_cursor_and_filter_by_type(api: Api, erp: Caller) -> None:
    for n in range(3):
        account = await create_account(api.session, f"Acme {n}")
        await _contact(api.session, account, f"Ann {n}")
    await api.session.commit()
    first = await feed(api, erp, first=4)
    assert (first.names(), first.has_next_page) == (["Acme 0", "Ann 0", "Acme 1", "Ann 1"], True)
    rest = await feed(api, erp, after=first.end_cursor)
    assert (rest.names(), rest.has_next_page) == (["Acme 2", "Ann 2"], False)
    contacts = await catch_up(api, erp, None, first=1, types=["CONTACT_CREATED"])
    assert contacts.names() == ["Ann 0", "Ann 1", "Ann 2"]
    # New events arrive: the last cursor goes on from there, nothing repeated.
    await _contact(api.session, account, "Bob")
    await api.session.commit()
    assert (await feed(api, erp, after=rest.end_cursor)).names() == ["Bob"]
    assert (await feed(api, erp, after=contacts.end_cursor)).names() == ["Bob"]


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"after": "not a cursor"}, "INVALID_CURSOR", "after"),
        ({"first": 101}, "INVALID_INPUT", "first"),
        ({"types": []}, "INVALID_INPUT", "types"),
    ],
)
async def test_bad_arguments_are_coded_errors(
    api: Api, erp: Caller, variables: dict[str, object], code: str, field: str
) -> None:
    query = "query($after: String, $first: Int, $types: [WebhookEvent!]) "
    query += "{ events(after: $after, first: $first, types: $types) { edges { cursor } } }"
    result = await api.gql(query, variables, caller=erp)
    (error,) = result["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field)


async def test_a_transaction_that_commits_late_is_not_paged_past(
    api: Api, erp: Caller, engine: AsyncEngine
) -> None:
    """Slow takes the lower outbox id, Quick the higher and commits first: Quick waits."""
    account = await create_account(api.session, "Acme")
    start = (await feed(api, erp)).end_cursor
    async with transaction(engine) as slow, transaction(engine) as quick:
        await _contact(slow, account, "Slow")
        await _contact(quick, account, "Quick")
        await quick.commit()
        assert (await feed(api, erp, after=start)).nodes == []
        await slow.commit()
    caught = await catch_up(api, erp, start)
    assert caught.names() == ["Slow", "Quick"]
    assert int(caught.nodes[0]["id"][4:]) < int(caught.nodes[1]["id"][4:])


async def test_an_event_listed_before_a_lower_id_commits_leaves_no_gap(
    api: Api, erp: Caller, engine: AsyncEngine
) -> None:
    """Early holds the oldest transaction id, Late the lower outbox id. Early's event is
    listed while Late runs (paging by id after it would skip Late's for good); Late's
    comes after the cursor handed out then."""
    account = await create_account(api.session, "Acme")
    start = (await feed(api, erp)).end_cursor
    async with transaction(engine) as early, transaction(engine) as late:
        await early.execute(select(func.pg_current_xact_id()))
        await _contact(late, account, "Late")
        await _contact(early, account, "Early")
        await early.commit()
        listed = await catch_up(api, erp, start)
        assert listed.names() == ["Early"]
        await late.commit()
    rest = await catch_up(api, erp, listed.end_cursor)
    assert rest.names() == ["Late"]
    assert int(rest.nodes[0]["id"][4:]) < int(listed.nodes[0]["id"][4:])


async def test_two_writers_of_one_contact_are_listed_in_the_order_they_wrote(
    api: Api, erp: Caller, engine: AsyncEngine
) -> None:
    """`second` holds the older transaction id but writes after `first` committed: a copy
    applying the feed in order ends with second's value."""
    account = await create_account(api.session, "Acme")
    await _contact(api.session, account, "Ann")
    await api.session.commit()
    contact_id = await api.session.scalar(select(func.max(Contact.id)))
    assert contact_id is not None
    start = (await feed(api, erp)).end_cursor
    async with transaction(engine) as second, transaction(engine) as first:
        await second.execute(select(func.pg_current_xact_id()))
        await lifecycle.update_contact(first, actor=SYSTEM, contact_id=contact_id, title="CTO")
        await first.commit()
        await lifecycle.update_contact(second, actor=SYSTEM, contact_id=contact_id, title="CEO")
        await second.commit()
    titles = [node["data"]["title"] for node in (await catch_up(api, erp, start)).nodes]
    assert titles == ["CTO", "CEO"]


async def test_a_removed_contact_is_an_event_naming_it(api: Api, erp: Caller) -> None:
    account = await create_account(api.session, "Acme")
    await _contact(api.session, account, "Ann")
    await api.session.commit()
    contact_id = await api.session.scalar(select(func.max(Contact.id)))
    assert contact_id is not None
    start = (await feed(api, erp)).end_cursor
    await lifecycle.remove_contact(api.session, actor=SYSTEM, contact_id=contact_id)
    await api.session.commit()
    page = await feed(api, erp, after=start)
    assert page.types == ["contact.removed"]
    assert page.nodes[0]["objectId"] == to_global_id("Contact", contact_id)
