"""upsertAccounts over HTTP: creates, partial updates, rejections by index, retries, races."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.handoff import PipelineEntry, StageEvent
from tests.accounts.factories import create_account
from tests.support import Api, Caller


async def _upsert(api: Api, items: list[dict[str, Any]], caller: Caller) -> dict[str, Any]:
    data = await api.op("UpsertAccounts", {"input": {"accounts": items}}, caller=caller)
    result: dict[str, Any] = data["upsertAccounts"]
    return result


async def _by_ref(api: Api, ref: str) -> Account:
    query = select(Account).where(Account.external_ref == ref)
    return (await api.session.scalars(query.execution_options(populate_existing=True))).one()


async def test_creates_with_parents_in_any_order_and_enters_the_pipeline(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    items: list[dict[str, Any]] = [
        {"externalRef": "C-2", "name": "Branch", "parentExternalRef": "C-1", "tags": ["North"]},
        {"externalRef": "C-1", "name": "Head", "industry": "Farming"},
        {"externalRef": "C-3", "name": "Classified", "classification": "A"},
    ]
    result = await _upsert(api, items, erp)
    assert (result["createdCount"], result["updatedCount"], result["unchangedCount"]) == (2, 0, 0)
    # As in createAccount, only managers set the classification.
    assert result["rejected"] == [
        {
            "index": 2,
            "errors": [
                {
                    "code": "FORBIDDEN",
                    "message": result["rejected"][0]["errors"][0]["message"],
                    "field": "classification",
                }
            ],
        }
    ]
    assert [a["externalRef"] for a in result["accounts"]] == ["C-2", "C-1"]
    assert [a["version"] for a in result["accounts"]] == [1, 1]
    head, branch = await _by_ref(api, "C-1"), await _by_ref(api, "C-2")
    assert branch.parent_id == head.id
    assert branch.tags == ["north"]
    assert head.industry == "Farming"
    entries = (
        await api.session.scalars(
            select(PipelineEntry).where(PipelineEntry.account_id.in_([head.id, branch.id]))
        )
    ).all()
    assert sorted((e.stage, e.owner_id) for e in entries) == [("PROSPECT", None)] * 2
    events = await api.session.scalar(
        select(func.count()).select_from(StageEvent).where(StageEvent.account_id == head.id)
    )
    assert events == 1


async def test_retry_is_unchanged_and_updates_touch_only_the_fields_sent(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    items: list[dict[str, Any]] = [
        {"externalRef": "K-1", "name": "One", "industry": "Mining", "phone": "+1 555"},
        {"externalRef": "K-2", "name": "Two"},
    ]
    await _upsert(api, items, manager)
    again = await _upsert(api, items, manager)
    assert (again["createdCount"], again["updatedCount"], again["unchangedCount"]) == (0, 0, 2)
    assert [a["version"] for a in again["accounts"]] == [1, 1]
    changed = await _upsert(api, [{"externalRef": "K-1", "name": "One Ltd"}], manager)
    assert (changed["createdCount"], changed["updatedCount"]) == (0, 1)
    assert changed["accounts"][0]["version"] == 2
    one = await _by_ref(api, "K-1")
    assert (one.name, one.industry, one.phone, one.version) == ("One Ltd", "Mining", "+1 555", 2)
    assert one.updated_at > one.created_at
    audits = await api.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "account.upsert", AuditEntry.entity_id == one.id)
    )
    assert audits == 2


async def test_existing_account_is_found_by_its_ref_and_parent_can_be_cleared(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    parent = await create_account(api.session, "Parent", external_ref="P-1")
    await create_account(api.session, "Child", external_ref="P-2", parent_id=parent.id)
    result = await _upsert(
        api, [{"externalRef": "P-2", "name": "Child", "parentExternalRef": None}], admin
    )
    assert result["updatedCount"] == 1
    assert (await _by_ref(api, "P-2")).parent_id is None


async def test_bad_items_are_rejected_by_index_and_the_rest_stored(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Top", external_ref="T-1")
    items: list[dict[str, Any]] = [
        {"externalRef": "R-1", "name": "Good"},
        {"externalRef": "R-2", "name": "Bad mail", "email": "not-an-email"},
        {"externalRef": "R-3", "name": "Orphan", "parentExternalRef": "NOPE"},
        {"externalRef": "R-1", "name": "Repeat"},
        {"externalRef": "R-4", "name": "  "},
        {"externalRef": "R-5", "name": "Under orphan", "parentExternalRef": "R-3"},
        {"externalRef": "T-1", "name": "Top", "parentExternalRef": "R-6"},
        {"externalRef": "R-6", "name": "Loop", "parentExternalRef": "T-1"},
        {"externalRef": "R-7", "name": "Tags", "tags": ["ok", " "]},
    ]
    result = await _upsert(api, items, erp)
    # T-1 under R-6 would close a loop: T-1 is refused, R-6 goes under the unchanged T-1.
    assert result["createdCount"] == 2
    rejected = {
        r["index"]: [(e["code"], e["field"]) for e in r["errors"]] for r in result["rejected"]
    }
    assert rejected == {
        1: [("INVALID_INPUT", "email")],
        2: [("NOT_FOUND", "parentExternalRef")],
        3: [("INVALID_INPUT", "externalRef")],
        4: [("INVALID_INPUT", "name")],
        5: [("NOT_FOUND", "parentExternalRef")],
        6: [("INVALID_INPUT", "parentExternalRef")],
        8: [("INVALID_INPUT", "tags")],
    }
    refs = set(await api.session.scalars(select(Account.external_ref)))
    assert refs == {"T-1", "R-1", "R-6"}
    assert (await _by_ref(api, "R-1")).name == "Good"


async def test_concurrent_calls_with_the_same_keys_create_each_account_once(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    batches = [
        [{"externalRef": f"X-{n:03}", "name": f"Account {n} v{v}"} for n in range(60)]
        for v in range(4)
    ]
    for batch in batches[1::2]:
        batch.reverse()
    results = await asyncio.gather(*(_upsert(api, b, erp) for b in batches))
    assert sum(r["createdCount"] for r in results) == 60
    assert all(r["rejected"] == [] for r in results)
    total = await api.session.scalar(select(func.count()).select_from(Account))
    assert total == 60
    entries = await api.session.scalar(select(func.count()).select_from(PipelineEntry))
    assert entries == 60


async def test_a_rep_may_not_upsert_and_too_big_a_batch_writes_nothing(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await _upsert(api, [{"externalRef": "Z", "name": "Z"}], rep)
    assert result["createdCount"] == 0
    admin = await api.caller(Role.ADMIN)
    items = [{"externalRef": f"B-{n}", "name": "B"} for n in range(1001)]
    response = await api.gql(
        "mutation($input: UpsertAccountsInput!) { upsertAccounts(input: $input) "
        "{ createdCount errors { code field } } }",
        {"input": {"accounts": items}},
        caller=admin,
    )
    assert response["data"]["upsertAccounts"] == {
        "createdCount": 0,
        "errors": [{"code": "INVALID_INPUT", "field": "accounts"}],
    }
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 0
