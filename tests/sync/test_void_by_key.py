"""voidActivity by the key an event was sent with: an integration voids its own, managers any."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.kit.writers import yesterday, yesterday_at
from tests.support import Api, Caller

# As an integration logs: it may not read the activity's user (issue 18).
LOG = """mutation($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id } errors { code } }
}"""


async def _log(api: Api, caller: Caller, account: Account, key: str = "INV-1") -> str:
    item = {
        "kind": "INVOICE",
        "occurredAt": yesterday(),
        "accountId": to_global_id("Account", account.id),
        "source": "erp",
        "externalId": key,
    }
    data = await api.data(LOG, {"input": item}, caller=caller)
    assert data["logActivity"]["errors"] == []
    activity_id: str = data["logActivity"]["activity"]["id"]
    return activity_id


async def _void(api: Api, caller: Caller, **target: Any) -> dict[str, Any]:
    variables = {"input": {**target, "reason": "Sent twice"}}
    payload: dict[str, Any] = (await api.op("VoidBySourceKey", variables, caller=caller))[
        "voidActivity"
    ]
    return payload


async def _voided(api: Api) -> int:
    api.session.expire_all()
    query = select(func.count()).where(Activity.voided_at.is_not(None))
    return int(await api.session.scalar(query) or 0)


async def _void_events(api: Api) -> int:
    query = select(func.count()).where(OutboxEvent.type == "activity.voided")
    return int(await api.session.scalar(query) or 0)


async def test_an_integration_voids_the_event_it_sent_by_its_key(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    activity_id = await _log(api, erp, await create_account(api.session))
    payload = await _void(api, erp, source="erp", externalId="INV-1")
    assert payload["errors"] == []
    assert payload["activity"]["id"] == activity_id
    assert payload["activity"]["voidedAt"] is not None
    assert (await _voided(api), await _void_events(api)) == (1, 1)
    again = await _void(api, erp, source="erp", externalId="INV-1")
    assert [e["code"] for e in again["errors"]] == ["ALREADY_VOIDED"]


async def test_an_integration_cannot_void_what_another_caller_sent(api: Api) -> None:
    erp, other = await api.caller(Role.INTEGRATION), await api.caller(Role.INTEGRATION)
    activity_id = await _log(api, other, await create_account(api.session))
    by_key = await _void(api, erp, source="erp", externalId="INV-1")
    assert [(e["code"], e["field"]) for e in by_key["errors"]] == [("NOT_FOUND", "externalId")]
    by_id = await _void(api, erp, id=activity_id)
    assert [(e["code"], e["field"]) for e in by_id["errors"]] == [("FORBIDDEN", "id")]
    assert (by_key["activity"], by_id["activity"]) == (None, None)
    assert (await _voided(api), await _void_events(api)) == (0, 0)


async def test_a_manager_voids_any_callers_event_by_its_key(api: Api) -> None:
    erp, manager = await api.caller(Role.INTEGRATION), await api.caller(Role.MANAGER)
    activity_id = await _log(api, erp, await create_account(api.session))
    payload = await _void(api, manager, source="erp", externalId="INV-1")
    assert (payload["errors"], payload["activity"]["id"]) == ([], activity_id)


async def test_a_key_sent_by_several_callers_needs_the_id(api: Api) -> None:
    """Keys belong to their caller (issue 18, migration 0018): two callers may hold one."""
    account = await create_account(api.session)
    erp, crm = await api.caller(Role.INTEGRATION), await api.caller(Role.INTEGRATION)
    for caller in (erp, crm):
        api.session.add(
            Activity(
                account_id=account.id,
                kind=ActivityKind.INVOICE,
                occurred_at=yesterday_at(),
                source="erp",
                external_id="INV-1",
                logged_by_id=caller.user_id,
            )
        )
    await api.session.commit()
    manager = await api.caller(Role.MANAGER)
    refused = await _void(api, manager, source="erp", externalId="INV-1")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("AMBIGUOUS_KEY", "id")]
    assert "give its id" in refused["errors"][0]["message"]
    assert await _voided(api) == 0
    # Each integration still finds its own.
    assert (await _void(api, crm, source="erp", externalId="INV-1"))["errors"] == []
    assert await _voided(api) == 1


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({}, "id"),
        ({"id": "QWN0aXZpdHk6MQ==", "source": "erp", "externalId": "INV-1"}, "id"),
        ({"source": "erp"}, "externalId"),
        ({"externalId": "INV-1"}, "source"),
        ({"source": " ", "externalId": "INV-1"}, "source"),
    ],
)
async def test_a_target_that_is_not_one_event_is_invalid_input(
    api: Api, target: dict[str, str], field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    payload = await _void(api, manager, **target)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]


async def test_a_rep_voids_nothing(api: Api) -> None:
    erp, rep = await api.caller(Role.INTEGRATION), await api.caller(Role.REP)
    await _log(api, erp, await create_account(api.session))
    payload = await _void(api, rep, source="erp", externalId="INV-1")
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await _voided(api) == 0
