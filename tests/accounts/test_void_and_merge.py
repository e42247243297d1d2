"""voidActivity and mergeAccounts against known answers for cadence, balance, revenue, gates."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from app.handoff import requirements
from app.models.accounts import Account, BuyingRole
from app.models.activities import Activity, ActivityKind
from app.models.assignments import ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.handoff import PipelineEntry, StageEvent
from app.models.planning import AccountPlan, AccountRevenueYear
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log, noon
from tests.planning.factories import create_plan
from tests.support import Api, Caller

ASSIGNMENT_STATE = """
query($id: ID!) { node(id: $id) { ... on Account {
  revenueLast12Months
  assignments { managerType status lastContactAt nextContactDue
                balance { actual status } }
  mergedInto { id } archivedAt externalRef industry website tags attributes
  parent { id }
} } }
"""


async def _state(api: Api, caller: Caller, account_id: int) -> dict[str, Any]:
    data = await api.data(
        ASSIGNMENT_STATE, {"id": to_global_id("Account", account_id)}, caller=caller
    )
    node: dict[str, Any] = data["node"]
    return node


async def _revenue_years(api: Api, account_id: int) -> dict[int, Decimal]:
    rows = await api.session.execute(
        select(AccountRevenueYear.year, AccountRevenueYear.revenue).where(
            AccountRevenueYear.account_id == account_id, AccountRevenueYear.revenue != 0
        )
    )
    return {year: revenue for year, revenue in rows}


async def _within_30_days(api: Api, account_id: int) -> bool:
    facts = await requirements.evaluate(
        api.session, account_id, ["activity_within:30"], stay_began=noon(100)
    )
    await api.session.rollback()
    return "activity_within:30" in facts.met


def _day(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_void_stops_an_event_counting_everywhere(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    a = (await create_account(api.session, "Acme")).id
    await create_assignment(
        api.session, account_id=a, user_id=rep.user_id, frequency=10, started_at=noon(100)
    )
    await log(api.session, account_id=a, occurred_at=noon(40))
    await log(
        api.session,
        account_id=a,
        occurred_at=noon(2),
        kind=ActivityKind.INVOICE,
        amount=Decimal("200.00"),
    )
    invoice = await api.session.scalar(
        select(Activity).where(Activity.kind == ActivityKind.INVOICE)
    )
    assert invoice is not None
    invoice_id, year = invoice.id, noon(2).year
    before = await _state(api, manager, a)
    assert before["revenueLast12Months"] == "200.00"
    (sales,) = before["assignments"]
    assert (sales["status"], _day(sales["lastContactAt"])) == ("ON_TRACK", noon(2))
    assert sales["balance"]["actual"] == 2
    assert await _revenue_years(api, a) == {year: Decimal("200.00")}
    assert await _within_30_days(api, a) is True

    gid = to_global_id("Activity", invoice_id)
    voided = (
        await api.op(
            "VoidActivity", {"input": {"id": gid, "reason": "Wrong account"}}, caller=manager
        )
    )["voidActivity"]
    assert voided["errors"] == []
    assert voided["activity"]["voidReason"] == "Wrong account"
    assert voided["activity"]["voidedAt"] is not None

    after = await _state(api, manager, a)
    assert after["revenueLast12Months"] == "0.00"
    (sales,) = after["assignments"]
    assert sales["status"] == "OVERDUE"
    assert _day(sales["lastContactAt"]) == noon(40)
    assert _day(sales["nextContactDue"]) == noon(40) + timedelta(days=10)
    assert sales["balance"]["actual"] == 1
    assert await _revenue_years(api, a) == {}
    assert await _within_30_days(api, a) is False
    years = await api.op("AccountRevenue", {"id": to_global_id("Account", a)}, caller=manager)
    assert all(y["invoices"] == 0 for y in years["node"]["revenueByYear"])

    feed = await api.op(
        "ActivityFeed",
        {"filter": {"accountId": to_global_id("Account", a)}},
        caller=manager,
    )
    assert feed["activities"]["totalCount"] == 1
    everything = await api.op(
        "ActivityFeed",
        {"filter": {"accountId": to_global_id("Account", a), "includeVoided": True}},
        caller=manager,
    )
    nodes = [e["node"] for e in everything["activities"]["edges"]]
    assert [(n["kind"], n["voidedAt"] is not None) for n in nodes] == [
        ("INVOICE", True),
        ("CALL_OUTBOUND", False),
    ]

    twice = await api.op("VoidActivity", {"input": {"id": gid, "reason": "Again"}}, caller=manager)
    assert [(e["code"], e["field"]) for e in twice["voidActivity"]["errors"]] == [
        ("ALREADY_VOIDED", "id")
    ]
    empty = await api.op(
        "VoidActivity",
        {"input": {"id": to_global_id("Activity", invoice_id - 1), "reason": " "}},
        caller=manager,
    )
    assert [(e["code"], e["field"]) for e in empty["voidActivity"]["errors"]] == [
        ("INVALID_INPUT", "reason")
    ]
    api.session.expire_all()
    stored = await api.session.get(Activity, invoice_id)
    assert stored is not None
    assert stored.void_reason == "Wrong account"
    still = await api.session.get(Activity, invoice_id - 1)
    assert still is not None
    assert still.voided_at is None
    rep_try = await api.op("VoidActivity", {"input": {"id": gid, "reason": "x"}}, caller=rep)
    assert rep_try["voidActivity"]["errors"][0]["code"] == "FORBIDDEN"


async def test_activity_feed_filters(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    ann = await create_contact(api.session, account, "Ann")
    await log(api.session, account_id=account.id, occurred_at=noon(3), user_id=rep.user_id)
    await log(api.session, account_id=account.id, occurred_at=noon(1), kind=ActivityKind.NOTE)
    await api.session.execute(
        update(Activity).where(Activity.kind == ActivityKind.NOTE).values(contact_id=ann.id)
    )
    await api.session.commit()
    mine = await api.op("ActivityFeed", {"filter": {"userId": rep.id}}, caller=manager)
    assert [e["node"]["user"]["id"] for e in mine["activities"]["edges"]] == [rep.id]
    notes = await api.op("ActivityFeed", {"filter": {"kinds": ["NOTE"]}}, caller=manager)
    node = notes["activities"]["edges"][0]["node"]
    assert node["contact"] == {"id": to_global_id("Contact", ann.id), "name": "Ann"}
    window = {"from": noon(4).isoformat(), "to": noon(2).isoformat()}
    ranged = await api.op("ActivityFeed", {"filter": window}, caller=manager)
    assert ranged["activities"]["totalCount"] == 1
    paged = await api.op("ActivityFeed", {"first": 1}, caller=manager)
    assert paged["activities"]["pageInfo"]["hasNextPage"] is True
    rest = await api.op(
        "ActivityFeed",
        {"first": 1, "after": paged["activities"]["pageInfo"]["endCursor"]},
        caller=manager,
    )
    assert rest["activities"]["edges"][0]["node"]["kind"] == "CALL_OUTBOUND"


async def _merge(api: Api, caller: Caller, **ids: Any) -> dict[str, Any]:
    variables = {
        "input": {
            k: (to_global_id("Account", v) if isinstance(v, int) and k != "expectedVersion" else v)
            for k, v in ids.items()
        }
    }
    result: dict[str, Any] = (await api.op("MergeAccounts", variables, caller=caller))[
        "mergeAccounts"
    ]
    return result


async def _counts(api: Api) -> tuple[int, ...]:
    api.session.expire_all()
    models = (Activity, PipelineEntry, StageEvent, AuditEntry, AccountPlan)
    found = []
    for model in models:
        found.append(int(await api.session.scalar(select(func.count()).select_from(model)) or 0))
    archived = await api.session.scalar(
        select(func.count()).select_from(Account).where(Account.archived_at.is_not(None))
    )
    return (*found, int(archived or 0))


async def test_merge_moves_everything_and_fills_only_empty_fields(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep1 = await api.caller(Role.REP)
    rep2 = await api.caller(Role.REP)
    survivor = await create_account(
        api.session, "Acme", website="https://s.example", attributes={"y": 2}
    )
    duplicate = await create_account(
        api.session,
        "Acme Inc",
        industry="Farming",
        website="https://d.example",
        external_ref="D-1",
        attributes={"x": 1, "y": 9},
    )
    s, d = survivor.id, duplicate.id
    branch = await create_account(api.session, "Acme North", parent_id=d)
    b = branch.id
    await api.op(
        "SetAccountTags",
        {"input": {"accountId": to_global_id("Account", s), "add": ["a"]}},
        caller=manager,
    )
    await api.op(
        "SetAccountTags",
        {"input": {"accountId": to_global_id("Account", d), "add": ["b", "a"]}},
        caller=manager,
    )
    await create_contact(api.session, survivor, "Sam")
    await create_contact(api.session, duplicate, "Dora", BuyingRole.DECISION_MAKER)
    await create_contact(api.session, duplicate, "Dan")
    await create_assignment(
        api.session, account_id=s, user_id=rep1.user_id, frequency=30, started_at=noon(100)
    )
    await create_assignment(
        api.session, account_id=d, user_id=rep2.user_id, frequency=30, started_at=noon(100)
    )
    await create_assignment(
        api.session,
        account_id=d,
        user_id=rep2.user_id,
        manager_type=ManagerType.PARTS,
        frequency=20,
        started_at=noon(100),
    )
    await log(api.session, account_id=s, occurred_at=noon(50))
    await log(
        api.session,
        account_id=d,
        occurred_at=noon(5),
        kind=ActivityKind.INVOICE,
        amount=Decimal("100.00"),
    )
    await log(api.session, account_id=d, occurred_at=noon(3))
    await create_plan(api.session, duplicate)
    before = await _state(api, manager, s)
    assert before["revenueLast12Months"] == "0.00"
    assert [(a["managerType"], a["status"]) for a in before["assignments"]] == [
        ("SALES", "OVERDUE")
    ]
    assert await _revenue_years(api, d) == {noon(5).year: Decimal("100.00")}

    # Refused: itself, into its own branch, a stale version, unknown ids. Nothing written.
    counts = await _counts(api)
    refusals = [
        ({"survivorId": s, "duplicateId": s}, ("INVALID_INPUT", "duplicateId")),
        ({"survivorId": b, "duplicateId": d}, ("INVALID_INPUT", "survivorId")),
        (
            {"survivorId": s, "duplicateId": d, "expectedVersion": 1},
            ("CONFLICT", "expectedVersion"),
        ),
        ({"survivorId": s, "duplicateId": 987654}, ("NOT_FOUND", "duplicateId")),
    ]
    for ids, error in refusals:
        refused = await _merge(api, manager, **ids)
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [error]
        assert refused["account"] is None
    assert await _counts(api) == counts
    rep_try = await _merge(api, rep1, survivorId=s, duplicateId=d)
    assert rep_try["errors"][0]["code"] == "FORBIDDEN"

    merged = await _merge(api, manager, survivorId=s, duplicateId=d, expectedVersion=2)
    assert merged["errors"] == []
    assert merged["movedCounts"] == {
        "contacts": 2,
        "activities": 2,
        "assignments": 1,
        "plans": 1,
        "branches": 1,
    }
    assert merged["account"]["name"] == "Acme"
    assert merged["account"]["version"] == 3
    assert len(merged["account"]["contacts"]) == 3

    after = await _state(api, manager, s)
    assert after["revenueLast12Months"] == "100.00"
    assignments = {a["managerType"]: a for a in after["assignments"]}
    assert set(assignments) == {"SALES", "PARTS"}
    assert assignments["SALES"]["status"] == "ON_TRACK"
    assert _day(assignments["SALES"]["lastContactAt"]) == noon(3)
    assert _day(assignments["PARTS"]["nextContactDue"]) == noon(3) + timedelta(days=20)
    assert assignments["SALES"]["balance"]["actual"] == 3
    assert (after["industry"], after["website"], after["externalRef"]) == (
        "Farming",
        "https://s.example",
        "D-1",
    )
    assert after["tags"] == ["a", "b"]
    assert after["attributes"] == {"y": 2, "x": 1}
    assert await _revenue_years(api, d) == {}
    assert await _revenue_years(api, s) == {noon(5).year: Decimal("100.00")}

    gone = await _state(api, manager, d)
    assert gone["mergedInto"] == {"id": to_global_id("Account", s)}
    assert gone["archivedAt"] is not None
    assert gone["externalRef"] is None
    assert gone["assignments"] == []
    moved_branch = await _state(api, manager, b)
    assert moved_branch["parent"] == {"id": to_global_id("Account", s)}
    entries = await api.session.scalar(
        select(func.count()).select_from(PipelineEntry).where(PipelineEntry.account_id == d)
    )
    assert entries == 0
    history = await api.session.scalar(
        select(func.count()).select_from(StageEvent).where(StageEvent.account_id == s)
    )
    assert history == 2
    audits = set(
        await api.session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.action.in_(["account.merge", "account.merged"])
            )
        )
    )
    assert audits == {"account.merge", "account.merged"}
    again = await _merge(api, manager, survivorId=s, duplicateId=d)
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("INVALID_INPUT", "duplicateId")]
    restore = await api.op(
        "RestoreAccount", {"input": {"id": to_global_id("Account", d)}}, caller=manager
    )
    assert restore["restoreAccount"]["errors"][0]["code"] == "INVALID_INPUT"
