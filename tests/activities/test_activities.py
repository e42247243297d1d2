"""logActivity / logActivities: idempotency, per-item rejection, limits, roles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.models.activities import Activity
from app.models.assignments import Assignment
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log_op, noon
from tests.support import Api, contract_operations


def iso(value: datetime) -> str:
    return value.isoformat()


async def count_activities(api: Api) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(Activity)) or 0)


async def test_log_activity_then_repeat_is_a_duplicate(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    item = {
        "accountExternalRef": "ERP-7",
        "kind": "INVOICE",
        "occurredAt": "2026-03-01T09:00:00+00:00",
        "userId": rep.id,
        "amount": "1250.00",
        "source": "erp",
        "externalId": "INV-1",
    }
    first = (await log_op(api, "LogActivity", {"input": item}, caller=integration))["logActivity"]
    assert first["errors"] == []
    assert first["duplicate"] is False
    activity = first["activity"]
    assert activity["kind"] == "INVOICE"
    assert activity["occurredAt"] == "2026-03-01T09:00:00+00:00"
    assert activity["source"] == "erp"
    assert activity["externalId"] == "INV-1"
    assert activity["amount"] == "1250.00"
    assert activity["account"] == {"id": to_global_id("Account", account.id)}
    assert activity["user"] is None  # an integration reads no people: FORBIDDEN (log_op)
    assert await api.session.scalar(select(Activity.user_id)) == rep.user_id
    again = (
        await log_op(
            api,
            "LogActivity",
            {"input": {**item, "amount": "1250", "source": " erp ", "externalId": "INV-1 "}},
            caller=integration,
        )
    )["logActivity"]
    assert again["duplicate"] is True
    assert again["activity"] == activity
    assert await count_activities(api) == 1


async def test_concurrent_identical_requests_store_one_row(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Acme", external_ref="ERP-9")
    item = {
        "accountExternalRef": "ERP-9",
        "kind": "CALL_INBOUND",
        "occurredAt": "2026-03-01T09:00:00+00:00",
        "source": "phone",
        "externalId": "CALL-1",
    }
    single = [log_op(api, "LogActivity", {"input": item}, caller=integration) for _ in range(6)]
    batch = [
        api.op("LogActivities", {"input": {"activities": [item, item]}}, caller=integration)
        for _ in range(4)
    ]
    results = await asyncio.gather(*single, *batch)
    singles = [r["logActivity"] for r in results[:6]]
    batches = [r["logActivities"] for r in results[6:]]
    assert all(r["errors"] == [] for r in singles)
    assert len({r["activity"]["id"] for r in singles}) == 1
    new = sum(not r["duplicate"] for r in singles) + sum(b["acceptedCount"] for b in batches)
    assert new == 1
    assert sum(r["duplicate"] for r in singles) + sum(b["duplicateCount"] for b in batches) == 13
    assert await count_activities(api) == 1


async def test_batch_stores_valid_items_and_rejects_the_others_by_index(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme", external_ref="ERP-1")
    other = await create_account(api.session, "Other")
    contact = await create_contact(api.session, other, "Ann")
    gid = to_global_id("Account", account.id)
    now = datetime.now(UTC)
    base = {"accountId": gid, "kind": "CALL_OUTBOUND", "occurredAt": iso(now)}
    items: list[dict[str, Any]] = [
        {**base, "source": "s", "externalId": "1"},
        {**base, "accountId": to_global_id("Account", 999_999)},
        {**base, "accountId": None, "accountExternalRef": "NOPE"},
        {**base, "occurredAt": iso(now + timedelta(hours=25))},
        {**base, "occurredAt": iso(now + timedelta(hours=23))},
        {**base, "amount": "-0.01"},
        {**base, "amount": "0.00"},
        {**base, "summary": "x" * 2001},
        {**base, "summary": "x" * 2000, "userId": rep.id},
        {**base, "userEmail": "nobody@example.org"},
        {**base, "contactId": to_global_id("Contact", contact.id)},
        {**base, "accountId": "not-an-id"},
        {**base, "source": "s", "externalId": "1"},
        {**base, "accountId": None},
    ]
    items[4]["userEmail"] = (await email_of(api, rep.user_id)).upper()
    result = (await api.op("LogActivities", {"input": {"activities": items}}, caller=integration))[
        "logActivities"
    ]
    rejected = {
        r["index"]: [(e["code"], e["field"]) for e in r["errors"]] for r in result["rejected"]
    }
    assert rejected == {
        1: [("NOT_FOUND", "accountId")],
        2: [("NOT_FOUND", "accountExternalRef")],
        3: [("INVALID_INPUT", "occurredAt")],
        5: [("INVALID_INPUT", "amount")],
        7: [("INVALID_INPUT", "summary")],
        10: [("NOT_FOUND", "contactId")],
        11: [("INVALID_ID", "accountId")],
        13: [("INVALID_INPUT", "accountId")],
    }
    # An email that is no user's leaves an integration's activity without one (item 9).
    assert result["acceptedCount"] == 5
    assert result["duplicateCount"] == 1
    assert await count_activities(api) == 5
    users = await api.session.scalars(select(Activity.user_id).order_by(Activity.id))
    assert sorted(u or 0 for u in users) == [0, 0, 0, rep.user_id, rep.user_id]


async def email_of(api: Api, user_id: int) -> str:
    from app.models.auth import User

    user = await api.session.get(User, user_id)
    assert user is not None
    return user.email


async def test_batch_size_limits_write_nothing(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    item = {
        "accountId": to_global_id("Account", account.id),
        "kind": "TEXT",
        "occurredAt": "2026-03-01T09:00:00+00:00",
    }
    too_many = (
        await api.op("LogActivities", {"input": {"activities": [item] * 1001}}, caller=integration)
    )["logActivities"]
    assert too_many["acceptedCount"] == 0
    assert too_many["rejected"] == []
    assert await count_activities(api) == 0
    query = contract_operations()["LogActivities"].replace(
        "rejected {", "errors { code field } rejected {"
    )
    for activities in ([item] * 1001, []):
        body = await api.data(query, {"input": {"activities": activities}}, caller=integration)
        errors = body["logActivities"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "activities")]
    assert await count_activities(api) == 0
    full = (
        await api.op("LogActivities", {"input": {"activities": [item] * 1000}}, caller=integration)
    )["logActivities"]
    assert full["acceptedCount"] == 1000
    assert await count_activities(api) == 1000


async def test_every_role_may_log(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    for role in Role:
        caller = await api.caller(role)
        if role is Role.REP:
            await create_assignment(api.session, account_id=account.id, user_id=caller.user_id)
        item = {
            "accountId": to_global_id("Account", account.id),
            "kind": "NOTE",
            "occurredAt": "2026-03-01T09:00:00+00:00",
        }
        result = (await log_op(api, "LogActivity", {"input": item}, caller=caller))["logActivity"]
        assert result["errors"] == []
    assert await count_activities(api) == len(Role)


async def test_concurrent_batches_on_the_same_assignments_merge_their_days(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    accounts = [await create_account(api.session, f"A{n}") for n in range(5)]
    started = datetime.now(UTC) - timedelta(days=100)
    for account in accounts:
        await create_assignment(
            api.session, account_id=account.id, user_id=rep.user_id, started_at=started
        )
    batches = []
    for client in range(4):
        order = accounts if client % 2 else accounts[::-1]
        batches.append(
            [
                {
                    "accountId": to_global_id("Account", account.id),
                    "kind": "VISIT",
                    "occurredAt": iso(noon(client * 10 + n)),
                    "source": "crm",
                    "externalId": f"{client}-{account.id}-{n}",
                }
                for account in order
                for n in range(3)
            ]
        )
    results = await asyncio.gather(
        *(
            api.op("LogActivities", {"input": {"activities": b}}, caller=integration)
            for b in batches
        )
    )
    assert [r["logActivities"]["acceptedCount"] for r in results] == [15, 15, 15, 15]
    rows = (await api.session.scalars(select(Assignment).order_by(Assignment.id))).all()
    for row in rows:
        await api.session.refresh(row)
        assert row.last_contact_at == noon(0)
        assert row.contact_days == sorted(
            {noon(c * 10 + n).date() for c in range(4) for n in range(3)}
        )


async def test_contact_days_stay_sorted_and_distinct_whether_appended_or_merged(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Days")
    started = datetime.now(UTC) - timedelta(days=100)
    await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, started_at=started
    )

    async def log(days_ago: list[int]) -> tuple[datetime | None, list[Any]]:
        items = [
            {
                "accountId": to_global_id("Account", account.id),
                "kind": "CALL_OUTBOUND",
                "occurredAt": iso(noon(n)),
            }
            for n in days_ago
        ]
        result = await api.op("LogActivities", {"input": {"activities": items}}, caller=integration)
        assert result["logActivities"]["acceptedCount"] == len(items)
        row = (await api.session.scalars(select(Assignment))).one()
        await api.session.refresh(row)
        return row.last_contact_at, row.contact_days

    def days(*ago: int) -> list[Any]:
        return [noon(n).date() for n in sorted(ago, reverse=True)]

    # Onto the empty array; the batch's own repeat day counts once.
    assert await log([30, 20, 30]) == (noon(20), days(30, 20))
    # Every new day later than the last: appended.
    assert await log([5, 10]) == (noon(5), days(30, 20, 10, 5))
    # An older day and a known one: merged in order, the last contact stays.
    assert await log([25, 20]) == (noon(5), days(30, 25, 20, 10, 5))
    # A day before all others, one between, one after.
    assert await log([40, 15, 2]) == (noon(2), days(40, 30, 25, 20, 15, 10, 5, 2))
    # Only known days: nothing changes.
    assert await log([40, 2]) == (noon(2), days(40, 30, 25, 20, 15, 10, 5, 2))
