"""A merge re-points the duplicate's leads to the survivor, and announces each."""

from __future__ import annotations

from sqlalchemy import select

from app.models.auth import Role
from app.models.leads import Lead
from app.models.webhooks import OutboxEvent
from schema.relay import decode_id, to_global_id
from tests.accounts.factories import create_account
from tests.support import Api


async def test_a_merge_re_points_the_duplicates_leads(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    survivor = await create_account(api.session, name="Hof Meyer KG")
    duplicate = await create_account(api.session, name="Hof Meyer")
    created = await api.op("CreateLead", {"input": {"company": "Meyer"}}, caller=manager)
    lead_id = created["createLead"]["lead"]["id"]
    for status in ("WORKING", "QUALIFIED"):
        await api.op("SetLeadStatus", {"input": {"id": lead_id, "status": status}}, caller=manager)
    into = {"leadId": lead_id, "existingAccountId": to_global_id("Account", duplicate.id)}
    await api.op("ConvertLead", {"input": into}, caller=manager)
    await api.op("CreateLead", {"input": {"company": "Someone else"}}, caller=manager)

    survivor_id, ids = survivor.id, {"survivorId": survivor.id, "duplicateId": duplicate.id}
    merged = await api.op(
        "MergeAccounts",
        {"input": {k: to_global_id("Account", v) for k, v in ids.items()}},
        caller=manager,
    )

    assert merged["mergeAccounts"]["errors"] == []
    api.session.expire_all()
    leads = dict((await api.session.execute(select(Lead.company, Lead.account_id))).all())
    assert leads == {"Meyer": survivor_id, "Someone else": None}
    query = select(OutboxEvent).where(OutboxEvent.type == "lead.updated")
    (event,) = await api.session.scalars(query)
    assert (event.object_key, event.account_id) == (
        f"Lead:{decode_id(lead_id, 'Lead')}",
        survivor_id,
    )
    assert event.data["changed"] == ["account_id"]
    assert event.data["version"] == 5  # created, working, qualified, converted, re-pointed
