"""An integration names a lead's owner by id but reads no person: the owner does not come
back, and every user id it may not name answers like an unknown one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.models.auth import Role, User
from app.models.leads import Lead
from schema.relay import to_global_id
from tests.support import Api

CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) {
    lead { company owner { email role name } } errors { code field message } } }"""


def _input(owner: str) -> dict[str, Any]:
    return {"input": {"company": "Lead Co", "ownerId": owner}}


async def _leads(api: Api) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(Lead)) or 0)


async def test_an_integration_reads_no_owner_back(api: Api) -> None:
    rep = await api.caller(Role.REP)
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql(CREATE, _input(rep.id), caller=erp)
    assert result["data"]["createLead"]["lead"] == {"company": "Lead Co", "owner": None}
    assert [(e["extensions"]["code"], e["path"]) for e in result["errors"]] == [
        ("FORBIDDEN", ["createLead", "lead", "owner"])
    ]
    assert "@example.org" not in str(result)
    assert await _leads(api) == 1


async def test_staff_read_the_owner_they_named(api: Api) -> None:
    rep = await api.caller(Role.REP, name="Rita Rep")
    manager = await api.caller(Role.MANAGER)
    data = await api.data(CREATE, _input(rep.id), caller=manager)
    owner = data["createLead"]["lead"]["owner"]
    assert (owner["role"], owner["name"]) == ("REP", "Rita Rep")
    assert owner["email"].endswith("@example.org")


async def test_an_integration_hears_the_same_of_unknown_and_unnameable_owners(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    other_integration = await api.caller(Role.INTEGRATION)
    inactive = await api.caller(Role.REP)
    await api.session.execute(
        update(User).where(User.id == inactive.user_id).values(is_active=False)
    )
    await api.session.commit()
    answers = []
    for owner in (to_global_id("User", 999_999), other_integration.id, inactive.id):
        payload = (await api.data(CREATE, _input(owner), caller=erp))["createLead"]
        answers.append(payload)
    assert (
        answers
        == [
            {
                "lead": None,
                "errors": [
                    {
                        "code": "NOT_FOUND",
                        "field": "ownerId",
                        "message": "Unknown or inactive user.",
                    }
                ],
            }
        ]
        * 3
    )
    assert await _leads(api) == 0


async def test_a_manager_hears_why_an_integration_cannot_own_a_lead(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    erp = await api.caller(Role.INTEGRATION)
    payload = (await api.data(CREATE, _input(erp.id), caller=manager))["createLead"]
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "field": "ownerId",
            "message": "An integration cannot own a lead.",
        }
    ]
