"""Who may log what, and what a repeated idempotency key gives back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models.activities import Activity
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log_op
from tests.support import Api

WHEN = "2026-03-01T09:00:00+00:00"


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["code"], e["field"]) for e in errors]


async def stored(api: Api) -> list[tuple[int, int | None, str | None]]:
    rows = await api.session.execute(
        select(Activity.account_id, Activity.user_id, Activity.external_id).order_by(Activity.id)
    )
    return [(r.account_id, r.user_id, r.external_id) for r in rows]


async def test_a_rep_logs_only_on_held_accounts_and_only_as_themselves(api: Api) -> None:
    rep = await api.caller(Role.REP)
    other = await api.caller(Role.REP)
    held = await create_account(api.session, "Held", external_ref="H-1")
    foreign = await create_account(api.session, "Foreign", external_ref="F-1")
    await create_assignment(api.session, account_id=held.id, user_id=rep.user_id)
    base = {"kind": "VISIT", "occurredAt": WHEN, "source": "app"}
    items: list[dict[str, Any]] = [
        {**base, "accountId": to_global_id("Account", held.id), "externalId": "1"},
        {**base, "accountId": to_global_id("Account", foreign.id), "externalId": "2"},
        {**base, "accountExternalRef": "F-1", "externalId": "3"},
        {**base, "accountExternalRef": "H-1", "externalId": "4", "userId": other.id},
        {**base, "accountExternalRef": "H-1", "externalId": "5", "userId": rep.id},
    ]
    result = (await api.op("LogActivities", {"input": {"activities": items}}, caller=rep))[
        "logActivities"
    ]
    assert {r["index"]: codes(r["errors"]) for r in result["rejected"]} == {
        1: [("FORBIDDEN", "accountId")],
        2: [("FORBIDDEN", "accountExternalRef")],
        3: [("FORBIDDEN", "userId")],
    }
    assert result["acceptedCount"] == 2
    # Unnamed, the author is the REP.
    assert await stored(api) == [(held.id, rep.user_id, "1"), (held.id, rep.user_id, "5")]
    single = (
        await log_op(
            api,
            "LogActivity",
            {"input": {**base, "accountId": to_global_id("Account", foreign.id)}},
            caller=rep,
        )
    )["logActivity"]
    assert codes(single["errors"]) == [("FORBIDDEN", "accountId")]
    assert len(await stored(api)) == 2


async def test_an_integration_logs_anywhere_and_names_the_user(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    item = {"accountId": to_global_id("Account", account.id), "kind": "CALL_INBOUND"}
    result = (
        await log_op(
            api,
            "LogActivity",
            {"input": {**item, "occurredAt": WHEN, "userId": rep.id}},
            caller=integration,
        )
    )["logActivity"]
    assert result["errors"] == []
    assert await stored(api) == [(account.id, rep.user_id, None)]


async def test_a_key_repeated_with_another_payload_is_a_conflict(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    other = await create_account(api.session, "Other")
    gid = to_global_id("Account", account.id)
    item = {
        "accountId": gid,
        "kind": "INVOICE",
        "occurredAt": WHEN,
        "amount": "10.50",
        "summary": "Invoice 7",
        "source": "erp",
        "externalId": "INV-7",
    }
    first = (await log_op(api, "LogActivity", {"input": item}, caller=integration))["logActivity"]
    assert first["errors"] == []
    changed: list[dict[str, Any]] = [
        {"amount": "10.51"},
        {"amount": None},
        {"summary": "Invoice 8"},
        {"kind": "QUOTE"},
        {"occurredAt": "2026-03-01T09:00:01+00:00"},
        {"accountId": to_global_id("Account", other.id)},
    ]
    for change in changed:
        again = (
            await log_op(api, "LogActivity", {"input": {**item, **change}}, caller=integration)
        )["logActivity"]
        assert codes(again["errors"]) == [("IDEMPOTENCY_CONFLICT", "externalId")], change
        assert again["activity"] is None
    same = {**item, "amount": "10.5", "occurredAt": "2026-03-01T11:00:00+02:00"}
    again = (await log_op(api, "LogActivity", {"input": same}, caller=integration))["logActivity"]
    assert again["errors"] == []
    assert again["duplicate"] is True
    assert again["activity"]["id"] == first["activity"]["id"]
    batch = [
        {**item, "externalId": "INV-8"},
        {**item, "amount": "99.00"},
        item,
        {**item, "externalId": "INV-8", "summary": "not the same"},
    ]
    result = (await api.op("LogActivities", {"input": {"activities": batch}}, caller=integration))[
        "logActivities"
    ]
    assert result["acceptedCount"] == 1
    assert result["duplicateCount"] == 1
    assert {r["index"]: codes(r["errors"]) for r in result["rejected"]} == {
        1: [("IDEMPOTENCY_CONFLICT", "externalId")],
        3: [("IDEMPOTENCY_CONFLICT", "externalId")],
    }
    assert [key for _, _, key in await stored(api)] == ["INV-7", "INV-8"]


async def test_a_key_is_the_callers_own(api: Api) -> None:
    sender = await api.caller(Role.INTEGRATION)
    stranger = await api.caller(Role.INTEGRATION)
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    item = {
        "accountId": to_global_id("Account", account.id),
        "kind": "EMAIL_SENT",
        "occurredAt": WHEN,
        "source": "mail",
        "externalId": "M-1",
    }
    first = (await log_op(api, "LogActivity", {"input": item}, caller=sender))["logActivity"]
    stored_id = first["activity"]["id"]
    mine = (await log_op(api, "LogActivity", {"input": item}, caller=sender))["logActivity"]
    assert (mine["duplicate"], mine["activity"]["id"]) == (True, stored_id)
    theirs = (await log_op(api, "LogActivity", {"input": item}, caller=stranger))["logActivity"]
    assert (theirs["duplicate"], theirs["errors"]) == (False, [])
    managers = (await log_op(api, "LogActivity", {"input": item}, caller=manager))["logActivity"]
    assert managers["duplicate"] is False
    ids = {stored_id, theirs["activity"]["id"], managers["activity"]["id"]}
    assert len(ids) == 3
    assert len(await stored(api)) == 3
