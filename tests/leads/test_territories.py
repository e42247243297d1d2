"""Assignment rules: definition, fairness under concurrent creations, skips, the backfill."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from app.models.assignments import Assignment
from app.models.auth import Role, User
from app.models.leads import AssignmentRule
from tests.accounts.factories import create_account
from tests.support import Api, Caller

CREATE = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id } errors { code field } }
}"""


def _rule(members: list[tuple[Caller, int]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "DACH sales",
        "position": 1,
        "managerType": "SALES",
        "contactFrequencyDays": 14,
        "criteria": {"countryCodes": ["de", "AT"]},
        "members": [{"userId": c.id, "weight": w} for c, w in members],
        **extra,
    }


async def _define(api: Api, caller: Caller, input: dict[str, Any]) -> dict[str, Any]:
    data = await api.op("DefineAssignmentRule", {"input": input}, caller=caller)
    result: dict[str, Any] = data["defineAssignmentRule"]
    return result


async def _sequence(api: Api) -> list[int]:
    query = select(Assignment.user_id).order_by(Assignment.id)
    return list(await api.session.scalars(query))


async def test_define_rule_and_read_it(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    a, b = await api.caller(Role.REP), await api.caller(Role.REP)
    result = await _define(api, admin, _rule([(a, 2), (b, 1)]))
    assert result["errors"] == []
    rule = result["rule"]
    assert rule["criteria"] == {
        "countryCodes": ["AT", "DE"],
        "regions": [],
        "postalCodePrefixes": [],
        "industries": [],
        "classifications": [],
        "sources": [],
    }
    assert rule["members"] == [
        {"user": {"id": a.id}, "weight": 2},
        {"user": {"id": b.id}, "weight": 1},
    ]
    assert (rule["managerType"], rule["contactFrequencyDays"], rule["isActive"]) == (
        "SALES",
        14,
        True,
    )
    await create_account(api.session, name="Farm", country_code="DE")
    rules = (await api.op("AssignmentRules", caller=admin))["assignmentRules"]
    assert rules[0]["members"][0]["assignedCount"] == 1
    assert rules[0]["members"][0]["user"]["assignedAccountCount"] == 1
    assert rules[0]["members"][1]["assignedCount"] == 0


async def test_rule_input_errors_write_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    empty = await _define(api, manager, _rule([]))
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("INVALID_INPUT", "members")]
    light = await _define(api, manager, _rule([(rep, 0)]))
    assert [(e["code"], e["field"]) for e in light["errors"]] == [
        ("INVALID_INPUT", "members[0].weight")
    ]
    forbidden = await _define(api, rep, _rule([(rep, 1)]))
    assert forbidden["errors"][0]["code"] == "FORBIDDEN"
    assert await api.session.scalar(select(func.count()).select_from(AssignmentRule)) == 0


async def test_concurrent_creations_take_turns(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    pool = [await api.caller(Role.REP) for _ in range(3)]
    await _define(api, manager, _rule([(c, 1) for c in pool]))

    async def create(n: int) -> None:
        input = {"name": f"Farm {n}", "address": {"countryCode": "DE"}}
        result = await api.data(CREATE, {"input": input}, caller=manager)
        assert result["createAccount"]["errors"] == []

    await asyncio.gather(*(create(n) for n in range(12)))

    sequence = await _sequence(api)
    assert len(sequence) == 12
    assert all(x != y for x, y in itertools.pairwise(sequence))
    assert Counter(sequence) == {c.user_id: 4 for c in pool}


async def test_weights_spread_within_one(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    pool = [await api.caller(Role.REP) for _ in range(3)]
    await _define(api, manager, _rule(list(zip(pool, (3, 2, 1), strict=True))))
    await asyncio.gather(
        *(
            api.data(
                CREATE,
                {"input": {"name": f"F{n}", "address": {"countryCode": "AT"}}},
                caller=manager,
            )
            for n in range(10)
        )
    )
    counts = Counter(await _sequence(api))
    expected = {pool[0].user_id: 5, pool[1].user_id: 10 / 3, pool[2].user_id: 10 / 6}
    for user_id, share in expected.items():
        assert abs(counts[user_id] - share) <= 1


async def test_inactive_and_full_members_are_skipped(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    active, inactive, full = [await api.caller(Role.REP) for _ in range(3)]
    await _define(api, manager, _rule([(active, 1), (inactive, 1), (full, 1)]))
    await api.session.execute(
        update(User).where(User.id == inactive.user_id).values(is_active=False)
    )
    await api.session.execute(update(User).where(User.id == full.user_id).values(max_accounts=1))
    await api.session.commit()
    for n in range(4):
        await create_account(api.session, name=f"F{n}", country_code="DE")
    assert Counter(await _sequence(api)) == {active.user_id: 3, full.user_id: 1}


async def test_rules_do_not_touch_unmatched_or_assigned_types(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    await _define(
        api,
        manager,
        _rule([(rep, 1)], criteria={"countryCodes": ["DE"], "industries": ["farming"]}),
    )
    await create_account(api.session, name="Wrong country", country_code="FR", industry="Farming")
    await create_account(api.session, name="Wrong industry", country_code="DE", industry="Mining")
    matched = await create_account(api.session, name="Match", country_code="DE", industry="Farming")
    rows = list(await api.session.scalars(select(Assignment)))
    assert [(r.account_id, r.manager_type.value, r.contact_frequency_days) for r in rows] == [
        (matched.id, "SALES", 14)
    ]


async def test_apply_rules_backfill_dry_run_then_for_real(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    a, b = await api.caller(Role.REP), await api.caller(Role.REP)
    for n in range(5):
        await create_account(api.session, name=f"DE {n}", country_code="DE")
    await create_account(api.session, name="FR", country_code="FR")
    await _define(api, manager, _rule([(a, 1), (b, 1)]))

    dry = await api.op("ApplyAssignmentRules", {"input": {"dryRun": True}}, caller=manager)
    report = dry["applyAssignmentRules"]
    assert report == {
        "dryRun": True,
        "matchedCount": 5,
        "assignedCount": 5,
        "perUser": [{"user": {"id": a.id}, "count": 3}, {"user": {"id": b.id}, "count": 2}],
        "unmatchedCount": 1,
        "errors": [],
    }
    assert await _sequence(api) == []

    real = await api.op("ApplyAssignmentRules", {"input": {"dryRun": False}}, caller=manager)
    assert {k: v for k, v in real["applyAssignmentRules"].items() if k != "dryRun"} == {
        k: v for k, v in report.items() if k != "dryRun"
    }
    assert Counter(await _sequence(api)) == {a.user_id: 3, b.user_id: 2}
    again = await api.op("ApplyAssignmentRules", {"input": {"dryRun": False}}, caller=manager)
    assert again["applyAssignmentRules"]["assignedCount"] == 0
    assert again["applyAssignmentRules"]["matchedCount"] == 5


async def test_convert_lead_applies_rules(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    await _define(api, manager, _rule([(rep, 1)]))
    created = await api.op(
        "CreateLead",
        {"input": {"company": "Hof", "address": {"countryCode": "DE"}}},
        caller=manager,
    )
    lead_id = created["createLead"]["lead"]["id"]
    for status in ("WORKING", "QUALIFIED"):
        await api.op("SetLeadStatus", {"input": {"id": lead_id, "status": status}}, caller=manager)
    data = await api.op("ConvertLead", {"input": {"leadId": lead_id}}, caller=manager)
    assert data["convertLead"]["account"]["assignments"] == [
        {"managerType": "SALES", "user": {"id": rep.id}}
    ]
