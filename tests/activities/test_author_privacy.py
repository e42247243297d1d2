"""An integration names an activity's author by e-mail but reads no person: the answer is
the same whether the e-mail is a user's or no one's, and the author does not come back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models.activities import Activity
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import noon
from tests.support import Api

LOG = """mutation($input: LogActivityInput!) { logActivity(input: $input) {
    activity { kind user { email role } } duplicate errors { code field message } } }"""


def _input(account_id: int, email: str, external_id: str) -> dict[str, Any]:
    return {
        "input": {
            "accountId": to_global_id("Account", account_id),
            "kind": "CALL_INBOUND",
            "occurredAt": noon(0).isoformat(),
            "userEmail": email,
            "source": "phone",
            "externalId": external_id,
        }
    }


async def _authors(api: Api) -> dict[str | None, int | None]:
    rows = await api.session.execute(select(Activity.external_id, Activity.user_id))
    return {external_id: user_id for external_id, user_id in rows}


async def test_an_integration_cannot_tell_whether_an_email_is_a_user(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    await api.session.commit()
    rep = await api.caller(Role.REP)
    erp = await api.caller(Role.INTEGRATION)
    known = (await api.data("{ viewer { email } }", caller=rep))["viewer"]["email"]
    answers = []
    for n, email in enumerate((known, "nobody.here@example.org")):
        answers.append(await api.gql(LOG, _input(account.id, email, f"call-{n}"), caller=erp))
    assert answers[0] == answers[1]
    assert answers[0]["data"]["logActivity"] == {
        "activity": {"kind": "CALL_INBOUND", "user": None},
        "duplicate": False,
        "errors": [],
    }
    assert [e["extensions"]["code"] for e in answers[0]["errors"]] == ["FORBIDDEN"]
    # The known address still names the author; the unknown one leaves none.
    assert await _authors(api) == {"call-0": rep.user_id, "call-1": None}


async def test_staff_hear_that_no_user_has_the_email(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    await api.session.commit()
    manager = await api.caller(Role.MANAGER)
    result = await api.data(LOG, _input(account.id, "nobody.here@example.org", "c"), caller=manager)
    assert result["logActivity"]["errors"] == [
        {"code": "NOT_FOUND", "field": "userEmail", "message": "No user has this email."}
    ]
    assert await _authors(api) == {}
