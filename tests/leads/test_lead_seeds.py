"""The seeds' lead rows with known answers: the source report's revenue leaves voided events
out; convertLead keeps the lead's owner; rule-made assignments use the frequency defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models.accounts import Classification
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment
from app.models.auth import Role
from app.models.leads import Lead
from tests.accounts.factories import create_account
from tests.support import Api, Caller

OWNERSHIP = """
query($id: ID!) {
  node(id: $id) {
    ... on Account {
      pipelineEntry(pipeline: "default") { owner { id } }
      assignments { managerType user { id } contactFrequencyDays }
    }
  }
}"""


async def _qualified(api: Api, caller: Caller, **input: Any) -> str:
    created = await api.op("CreateLead", {"input": {"company": "Acme", **input}}, caller=caller)
    lead_id = str(created["createLead"]["lead"]["id"])
    for status in ("WORKING", "QUALIFIED"):
        await api.op("SetLeadStatus", {"input": {"id": lead_id, "status": status}}, caller=caller)
    return lead_id


async def _convert(api: Api, caller: Caller, lead_id: str) -> dict[str, Any]:
    data = await api.op("ConvertLead", {"input": {"leadId": lead_id}}, caller=caller)
    assert data["convertLead"]["errors"] == []
    owned = await api.data(OWNERSHIP, {"id": data["convertLead"]["account"]["id"]}, caller=caller)
    result: dict[str, Any] = owned["node"]
    return result


async def test_lead_source_report_leaves_voided_revenue_out(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _convert(api, manager, await _qualified(api, manager, source="WEBSITE"))
    account_id = await api.session.scalar(select(Lead.account_id))
    now = datetime.now(UTC)
    invoice = {"account_id": account_id, "kind": ActivityKind.INVOICE}
    api.session.add_all(
        [
            Activity(**invoice, occurred_at=now - timedelta(days=3), amount=Decimal("100.50")),
            Activity(
                **invoice,
                occurred_at=now - timedelta(days=2),
                amount=Decimal("900.00"),
                voided_at=now - timedelta(days=1),
                void_reason="sent twice",
            ),
        ]
    )
    await api.session.commit()
    window = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }

    (row,) = (await api.op("LeadSourceReport", window, caller=manager))["leadSourceReport"]

    assert (row["source"], row["converted"]) == ("WEBSITE", 1)
    assert Decimal(row["revenueLast12Months"]) == Decimal("100.50")


async def test_convert_lead_keeps_the_owner_as_the_accounts_owner_and_assignee(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    lead_id = await _qualified(api, manager, ownerId=rep.id)

    account = await _convert(api, manager, lead_id)

    assert account == {
        "pipelineEntry": {"owner": {"id": rep.id}},
        "assignments": [
            {"managerType": "SALES", "user": {"id": rep.id}, "contactFrequencyDays": 30}
        ],
    }


async def test_convert_lead_without_an_owner_keeps_todays_behaviour(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    integration = await api.caller(Role.INTEGRATION)
    created = await api.op("CreateLead", {"input": {"company": "Web form"}}, caller=integration)
    lead_id = created["createLead"]["lead"]["id"]
    for status in ("WORKING", "QUALIFIED"):
        await api.op("SetLeadStatus", {"input": {"id": lead_id, "status": status}}, caller=manager)

    account = await _convert(api, manager, lead_id)

    assert account == {"pipelineEntry": {"owner": {"id": manager.id}}, "assignments": []}


async def test_rule_made_assignments_use_the_frequency_defaults(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    for name, days in (("A", 14), ("B", 60)):
        input = {
            "managerType": "SALES",
            "classification": name,
            "contactFrequencyDays": days,
        }
        await api.op("SetContactFrequencyDefault", {"input": input}, caller=manager)
    rule = {
        "name": "Germany",
        "position": 1,
        "managerType": "SALES",
        "criteria": {"countryCodes": ["DE"]},
        "members": [{"userId": rep.id, "weight": 1}],
    }
    defined = await api.op("DefineAssignmentRule", {"input": rule}, caller=manager)
    assert defined["defineAssignmentRule"]["errors"] == []

    ids: dict[int, Classification | None] = {}
    for classification in (Classification.A, Classification.B, Classification.C, None):
        account = await create_account(
            api.session,
            name=f"Farm {classification}",
            country_code="DE",
            classification=classification,
        )
        ids[account.id] = classification

    rows = await api.session.execute(
        select(Assignment.account_id, Assignment.contact_frequency_days)
    )
    by_class = {ids[account_id]: days for account_id, days in rows}
    # No default for C, and none for an account without a classification: 30 days.
    assert by_class == {Classification.A: 14, Classification.B: 60, Classification.C: 30, None: 30}
