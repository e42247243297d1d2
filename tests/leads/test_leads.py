"""Leads through the ASGI app: capture, duplicates, qualification, conversion, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.activities import Activity, ActivityKind
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.leads import Lead
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api, contract_operations


async def _lead(api: Api, caller: object, **input: object) -> dict[str, object]:
    data = await api.op("CreateLead", {"input": {"company": "Acme", **input}}, caller=caller)  # type: ignore[arg-type]
    result: dict[str, object] = data["createLead"]
    return result


async def test_create_lead_finds_duplicates_by_name_domain_and_host(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    by_name = await create_account(api.session, name="ACME, Inc.")
    by_host = await create_account(api.session, name="Other", website="https://www.acme.de/x")
    by_mail = await create_account(api.session, name="Third", email="info@acme.de")
    await create_account(api.session, name="Acme Tools")

    result = await _lead(
        api, integration, company="Acme GmbH", email="jane@acme.de", source="WEBSITE"
    )

    assert result["errors"] == []
    lead = result["lead"]
    assert isinstance(lead, dict)
    assert lead["status"] == "NEW"
    assert lead["source"] == "WEBSITE"
    assert lead["owner"] is None
    assert result["possibleDuplicates"] == [
        {"id": to_global_id("Account", a.id), "name": a.name} for a in (by_name, by_host, by_mail)
    ]


async def test_free_mail_domains_are_no_duplicates(api: Api) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, name="Someone", email="x@gmail.com")
    result = await _lead(api, rep, company="Nobody Ltd", email="y@gmail.com")
    assert result["possibleDuplicates"] == []
    assert result["lead"]["owner"] == {"id": rep.id}  # type: ignore[index]


async def test_create_lead_bad_input_writes_nothing(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await _lead(api, rep, company=" ", email="nope", address={"countryCode": "XX"})
    assert result["lead"] is None
    assert sorted(e["field"] for e in result["errors"]) == [  # type: ignore[attr-defined]
        "address.countryCode",
        "company",
        "email",
    ]
    assert await api.session.scalar(select(func.count()).select_from(Lead)) == 0


async def test_update_lead_checks_the_version(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead = (await _lead(api, rep))["lead"]
    lead_id = lead["id"]  # type: ignore[index]
    ok = await api.op(
        "UpdateLead",
        {"input": {"id": lead_id, "expectedVersion": 1, "phone": "+49 1", "industry": "Farm"}},
        caller=rep,
    )
    assert ok["updateLead"]["lead"]["version"] == 2
    assert ok["updateLead"]["lead"]["phone"] == "+49 1"
    stale = await api.op(
        "UpdateLead", {"input": {"id": lead_id, "expectedVersion": 1, "phone": "2"}}, caller=rep
    )
    assert stale["updateLead"]["lead"] is None
    assert stale["updateLead"]["errors"][0]["code"] == "CONFLICT"
    row = await api.session.scalar(select(Lead.phone))
    assert row == "+49 1"


async def _status(
    api: Api, caller: object, lead_id: object, status: str, reason: str | None = None
) -> dict:  # type: ignore[type-arg]
    data = await api.op(
        "SetLeadStatus",
        {"input": {"id": lead_id, "status": status, "reason": reason}},
        caller=caller,  # type: ignore[arg-type]
    )
    return data["setLeadStatus"]  # type: ignore[no-any-return]


async def test_status_moves_follow_the_table(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = (await _lead(api, rep))["lead"]["id"]  # type: ignore[index]
    assert (await _status(api, rep, lead_id, "QUALIFIED"))["errors"][0]["code"] == (
        "INVALID_TRANSITION"
    )
    assert (await _status(api, rep, lead_id, "WORKING"))["lead"]["status"] == "WORKING"
    no_reason = await _status(api, rep, lead_id, "UNQUALIFIED")
    assert no_reason["errors"][0]["field"] == "reason"
    done = await _status(api, rep, lead_id, "UNQUALIFIED", "no budget")
    assert done["lead"] == {"id": lead_id, "status": "UNQUALIFIED", "statusReason": "no budget"}
    assert (await _status(api, rep, lead_id, "WORKING"))["lead"]["status"] == "WORKING"
    assert (await _status(api, rep, lead_id, "CONVERTED"))["errors"][0]["code"] == (
        "INVALID_TRANSITION"
    )


async def _qualified(api: Api, caller: object, **input: object) -> str:
    lead_id = (await _lead(api, caller, **input))["lead"]["id"]  # type: ignore[index]
    await _status(api, caller, lead_id, "WORKING")
    await _status(api, caller, lead_id, "QUALIFIED")
    return str(lead_id)


async def test_convert_creates_account_contact_entry_and_audit(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _qualified(
        api,
        rep,
        contactName="Jane Doe",
        email="jane@acme.de",
        source="REFERRAL",
        industry="Farming",
        address={"countryCode": "de", "city": "Ulm"},
    )
    data = await api.op("ConvertLead", {"input": {"leadId": lead_id}}, caller=rep)
    result = data["convertLead"]
    assert result["errors"] == []
    assert result["lead"]["status"] == "CONVERTED"
    assert result["lead"]["convertedAt"] is not None
    account = result["account"]
    assert account["name"] == "Acme"
    assert account["source"] == "REFERRAL"
    assert account["pipelineEntry"] == {"stage": "PROSPECT"}
    # The lead's owner keeps the account (tests/leads/test_lead_seeds.py).
    assert account["assignments"] == [{"managerType": "SALES", "user": {"id": rep.id}}]
    assert result["contact"]["name"] == "Jane Doe"
    assert result["contact"]["email"] == "jane@acme.de"
    actions = set(await api.session.scalars(select(AuditEntry.action)))
    assert {"lead.convert", "account.create", "contact.create"} <= actions

    again = await api.op("ConvertLead", {"input": {"leadId": lead_id}}, caller=rep)
    assert again["convertLead"]["errors"][0]["code"] == "ALREADY_CONVERTED"
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 1


async def test_convert_needs_a_qualified_lead(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = (await _lead(api, rep))["lead"]["id"]  # type: ignore[index]
    data = await api.op("ConvertLead", {"input": {"leadId": lead_id}}, caller=rep)
    assert data["convertLead"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert data["convertLead"]["account"] is None
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 0


async def test_convert_onto_an_existing_account_fills_only_empty_fields(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    existing = await create_account(api.session, name="Acme AG", industry="Mining")
    lead_id = await _qualified(
        api, manager, contactName="Joe", industry="Farming", phone="+41 1", source="EVENT"
    )
    data = await api.op(
        "ConvertLead",
        {"input": {"leadId": lead_id, "existingAccountId": to_global_id("Account", existing.id)}},
        caller=manager,
    )
    result = data["convertLead"]
    assert result["errors"] == []
    assert result["account"]["name"] == "Acme AG"
    assert result["account"]["source"] == "EVENT"
    row = await api.session.get(Account, existing.id, populate_existing=True)
    assert row is not None
    assert (row.industry, row.phone) == ("Mining", "+41 1")


async def test_leads_list_filters_and_pages(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for n in range(3):
        await _lead(api, rep, company=f"Lead {n}", source="WEBSITE" if n else "EVENT")
    data = await api.op("Leads", {"filter": {"source": ["WEBSITE"]}, "first": 1}, caller=rep)
    leads = data["leads"]
    assert leads["totalCount"] == 2
    assert leads["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["company"] for e in leads["edges"]] == ["Lead 1"]
    after = leads["pageInfo"]["endCursor"]
    rest = await api.op(
        "Leads", {"filter": {"source": ["WEBSITE"]}, "first": 5, "after": after}, caller=rep
    )
    assert [e["node"]["company"] for e in rest["leads"]["edges"]] == ["Lead 2"]
    assert rest["leads"]["edges"][0]["node"]["owner"]["id"] == rep.id


async def test_integration_cannot_list_leads(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    result = await api.gql("query { leads { totalCount } }", caller=integration)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_lead_source_report(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    converted = await _qualified(api, manager, source="WEBSITE")
    await _lead(api, manager, source="WEBSITE")
    await _lead(api, manager, source=None)
    data = await api.op("ConvertLead", {"input": {"leadId": converted}}, caller=manager)
    account_pk = int(
        (await api.session.scalar(select(Lead.account_id).where(Lead.account_id.is_not(None)))) or 0
    )
    now = datetime.now(UTC)
    api.session.add_all(
        [
            Activity(
                account_id=account_pk,
                kind=ActivityKind.INVOICE,
                occurred_at=now - timedelta(days=3),
                amount=Decimal("100.50"),
            ),
            Activity(
                account_id=account_pk,
                kind=ActivityKind.INVOICE,
                occurred_at=now - timedelta(days=500),
                amount=Decimal("999"),
            ),
            Activity(
                account_id=account_pk,
                kind=ActivityKind.CALL_INBOUND,
                occurred_at=now - timedelta(days=3),
            ),
        ]
    )
    await api.session.commit()
    assert data["convertLead"]["errors"] == []
    variables = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    rows = (await api.op("LeadSourceReport", variables, caller=manager))["leadSourceReport"]
    assert rows[0]["source"] == "WEBSITE"
    assert rows[0]["leads"] == 2
    assert rows[0]["converted"] == 1
    assert rows[0]["conversionRate"] == 0.5
    assert 0 <= rows[0]["medianDaysToConvert"] < 0.01
    assert Decimal(rows[0]["revenueLast12Months"]) == Decimal("100.50")
    assert rows[1] == {
        "source": None,
        "leads": 1,
        "converted": 0,
        "conversionRate": 0.0,
        "medianDaysToConvert": None,
        "revenueLast12Months": "0.00",
    }


async def test_a_lead_source_report_bound_beyond_the_years_is_invalid_input(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    # Year 1 at +14:00 is year 0 in UTC: PostgreSQL could not take it (once a 500).
    variables = {"from": "0001-01-01T00:00:00+14:00", "to": "2026-01-01T00:00:00Z"}
    result = await api.gql(
        contract_operations()["LeadSourceReport"], variables=variables, caller=manager
    )
    assert result["data"] is None
    assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in result["errors"]] == [
        ("INVALID_INPUT", "from")
    ]
