"""teams.graphql's LogLeadActivity, as written, with known answers (issue 21, part L)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse, print_ast
from sqlalchemy import func, select

from app.models.activities import Activity
from app.models.auth import Role
from schema.relay import to_global_id
from tests.support import Api, Caller

TEAMS = Path(__file__).parent / "teams.graphql"
SHARED = Path("/work/shared/contract/teams.graphql")
INLINE = """
mutation LogLeadActivity($input: LogActivityInput!) {
  logActivity(input: $input) {
    activity { id kind lead { id } }
    duplicate
    errors { code field message }
  }
}
"""


def _operation() -> str:
    """The operation from the contract file (tests/contract once the lead copied it, the
    shared one until then); inline as written there when neither is at hand."""
    for path in (TEAMS, SHARED):
        if path.exists():
            for definition in parse(path.read_text()).definitions:
                assert isinstance(definition, OperationDefinitionNode)
                if definition.name is not None and definition.name.value == "LogLeadActivity":
                    return print_ast(definition)
    return INLINE


async def _lead(api: Api, caller: Caller, company: str = "Hof Meyer") -> str:
    query = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } } }"
    data = await api.data(query, {"i": {"company": company}}, caller=caller)
    return str(data["createLead"]["lead"]["id"])


async def _log(api: Api, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.data(_operation(), {"input": input}, caller=caller)
    result: dict[str, Any] = data["logActivity"]
    return result


async def _count(api: Api) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(Activity)) or 0)


CALL = {"kind": "CALL_OUTBOUND", "occurredAt": "2026-12-01T09:30:00+00:00"}


async def test_a_rep_logs_a_call_on_their_lead_and_a_repeat_is_a_duplicate(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    keyed = {**CALL, "leadId": lead_id, "source": "phone", "externalId": "c-1"}

    first = await _log(api, rep, **keyed)
    again = await _log(api, rep, **keyed)

    assert first["errors"] == []
    assert first["duplicate"] is False
    assert first["activity"]["kind"] == "CALL_OUTBOUND"
    assert first["activity"]["lead"] == {"id": lead_id}
    assert again == {**first, "duplicate": True}
    assert await _count(api) == 1


async def test_another_reps_lead_is_forbidden_and_bad_input_writes_nothing(api: Api) -> None:
    owner, other = await api.caller(Role.REP), await api.caller(Role.REP)
    lead_id = await _lead(api, owner)

    forbidden = await _log(api, other, **CALL, leadId=lead_id)
    money = await _log(api, owner, **CALL, leadId=lead_id, amount="10.00")
    unknown = await _log(api, owner, **CALL, leadId=to_global_id("Lead", 9_999_999))

    own = "You may only log on leads you own."
    assert forbidden == {
        "activity": None,
        "duplicate": False,
        "errors": [{"code": "FORBIDDEN", "field": "leadId", "message": own}],
    }
    assert [(e["code"], e["field"]) for e in money["errors"]] == [("INVALID_INPUT", "amount")]
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", "leadId")]
    assert await _count(api) == 0


async def test_a_manager_logs_on_any_lead_and_an_integration_too(api: Api) -> None:
    rep = await api.caller(Role.REP)
    manager, integration = await api.caller(Role.MANAGER), await api.caller(Role.INTEGRATION)
    lead_id = await _lead(api, rep)

    by_manager = await _log(api, manager, **CALL, leadId=lead_id)
    by_phone = await _log(api, integration, **{**CALL, "kind": "CALL_INBOUND"}, leadId=lead_id)

    assert by_manager["errors"] == by_phone["errors"] == []
    assert by_phone["activity"]["lead"] == {"id": lead_id}
    assert await _count(api) == 2
