"""POST /ingest/activities: logActivities' rules over NDJSON, answered line by line."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text

from app.models.activities import Activity
from app.models.assignments import ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from app.settings import Settings
from app.web.app import create_app
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, noon
from tests.activities.test_hostile_items import bad_items
from tests.support import Api, Caller

WHEN = "2026-03-01T09:00:00+00:00"


def ndjson(items: list[Any]) -> bytes:
    return b"".join(orjson.dumps(i) + b"\n" for i in items)


async def ingest(
    client: httpx.AsyncClient, caller: Caller | None, body: bytes | list[Any]
) -> httpx.Response:
    content = body if isinstance(body, bytes) else ndjson(body)
    headers = {"content-type": "application/x-ndjson"}
    if caller is not None:
        headers["authorization"] = f"Bearer {caller.token}"
    return await client.post("/ingest/activities", content=content, headers=headers)


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in response.content.splitlines()]


def errors_of(line: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in line.get("errors", [])]


async def count(api: Api, model: Any) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(model)) or 0)


async def logged_events(api: Api) -> int:
    query = select(func.count()).where(OutboxEvent.type == "activity.logged")
    return int(await api.session.scalar(query) or 0)


async def log_via_graphql(api: Api, caller: Caller, items: list[Any]) -> dict[str, Any]:
    data = await api.op("LogActivities", {"input": {"activities": items}}, caller=caller)
    result: dict[str, Any] = data["logActivities"]
    return result


async def test_each_line_is_accepted_duplicate_or_rejected_as_logactivities_would(
    api: Api,
) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme", external_ref="ERP-1")
    other = await create_account(api.session, "Other")
    contact = await create_contact(api.session, other, "Ann")
    gid = to_global_id("Account", account.id)
    now = datetime.now(UTC)
    base = {"accountId": gid, "kind": "CALL_OUTBOUND", "occurredAt": now.isoformat()}
    items: list[dict[str, Any]] = [
        {**base, "source": "s", "externalId": "1"},
        {**base, "accountId": to_global_id("Account", 999_999)},
        {**base, "accountId": None, "accountExternalRef": "NOPE"},
        {**base, "occurredAt": (now + timedelta(hours=25)).isoformat()},
        {**base, "userEmail": "nobody@example.org"},
        {**base, "amount": "-0.01"},
        {**base, "summary": "x" * 2001},
        {**base, "userId": rep.id, "summary": "x" * 2000},
        {**base, "contactId": to_global_id("Contact", contact.id)},
        {**base, "accountId": "not-an-id"},
        {**base, "source": "s", "externalId": "1"},
        {**base, "accountId": None},
        {**base, "source": "s", "externalId": "1", "summary": "another payload"},
        {**base, "accountExternalRef": None, "accountId": gid, "amount": "12.50"},
    ]
    through_graphql = await log_via_graphql(
        api, integration, [{**i, "source": i.get("source") and "g"} for i in items]
    )
    answer = lines(await ingest(api.client, integration, items))

    assert [a["line"] for a in answer] == list(range(1, len(items) + 1))
    statuses = {a["line"]: a["status"] for a in answer}
    # Line 5's email is no user's: an integration, which may not learn that, logs it unnamed.
    assert [n for n, s in statuses.items() if s == "accepted"] == [1, 5, 8, 14]
    assert [n for n, s in statuses.items() if s == "duplicate"] == [11]
    # The same errors (code, message, field) as logActivities gives for the same items.
    expected = {r["index"] + 1: r["errors"] for r in through_graphql["rejected"]}
    assert {a["line"]: a["errors"] for a in answer if a["status"] == "rejected"} == expected
    assert len(expected) == 9
    assert errors_of(answer[12]) == [("IDEMPOTENCY_CONFLICT", "externalId")]
    newest = await api.session.scalars(select(Activity.id).order_by(Activity.id.desc()).limit(4))
    assert [to_global_id("Activity", pk) for pk in sorted(newest)] == [
        a["id"] for a in answer if a["status"] == "accepted"
    ]
    assert "id" not in answer[10]
    assert through_graphql["acceptedCount"] == 4
    assert through_graphql["duplicateCount"] == 1


async def test_lines_graphql_would_refuse_are_rejected_alone(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    base = {"accountId": to_global_id("Account", account.id), "kind": "TEXT", "occurredAt": WHEN}
    body = b"\n".join(
        [
            orjson.dumps({**base, "externalId": "a", "source": "t"}),
            b"{not json",
            b"",
            orjson.dumps([base]),
            orjson.dumps({**base, "kind": "SMOKE_SIGNAL"}),
            orjson.dumps({**base, "occurredAt": "2026-03-01T09:00:00"}),
            orjson.dumps({**base, "colour": "red"}),
            orjson.dumps({"accountId": base["accountId"]}),
            orjson.dumps({**base, "amount": "lots"}),
            orjson.dumps({**base, "summary": 7}),
            orjson.dumps({**base, "externalId": "b", "source": "t"}),
        ]
    )
    answer = lines(await ingest(api.client, integration, body))
    assert [(a["line"], a["status"]) for a in answer] == [
        (1, "accepted"),
        *[(n, "rejected") for n in range(2, 11)],
        (11, "accepted"),
    ]
    assert [errors_of(a) for a in answer[1:10]] == [
        [("INVALID_INPUT", None)],
        [("INVALID_INPUT", None)],
        [("INVALID_INPUT", None)],
        [("INVALID_INPUT", "kind")],
        [("INVALID_INPUT", "occurredAt")],
        [("INVALID_INPUT", None)],
        [("INVALID_INPUT", None), ("INVALID_INPUT", None)],
        [("INVALID_INPUT", "amount")],
        [("INVALID_INPUT", "summary")],
    ]
    # graphql-core's own messages, as logActivities gives them after "Variable '$input'".
    messages = [e["message"].partition(", found:")[0] for a in answer[1:10] for e in a["errors"]]
    assert messages == [
        "The line is not valid JSON.",
        "The line is empty.",
        "Expected value of type 'LogActivityInput' to be an object",
        "Value 'SMOKE_SIGNAL' does not exist in 'ActivityKind' enum.",
        "Expected value of type 'DateTime', but encountered error ''2026-03-01T09:00:00' has no "
        "zone: add Z or an offset such as +02:00.'; found: '2026-03-01T09:00:00'.",
        "Expected value of type 'LogActivityInput' not to include unknown field 'colour'",
        "Expected value of type 'LogActivityInput' to include required field 'kind'",
        "Expected value of type 'LogActivityInput' to include required field 'occurredAt'",
        'Value cannot represent a Decimal: "lots".',
        "String cannot represent a non string value: 7",
    ]
    assert await count(api, Activity) == 2


async def test_hostile_values_are_rejected_by_line_and_the_rest_stored(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    base = {"accountId": gid, "kind": "CALL_OUTBOUND", "occurredAt": WHEN, "source": "t"}
    bad = bad_items(gid)
    items = [{**base, "externalId": "good-0"}]
    items += [{**base, "externalId": f"bad-{n}", **fields} for n, (fields, _) in enumerate(bad)]
    items.append({**base, "externalId": "good-1"})
    answer = lines(await ingest(api.client, integration, items))
    assert [a["status"] for a in answer] == ["accepted", *["rejected"] * len(bad), "accepted"]
    assert [errors_of(a)[0][1] for a in answer[1:-1]] == [field for _, field in bad]
    assert set(await api.session.scalars(select(Activity.external_id))) == {"good-0", "good-1"}


async def test_a_retried_body_writes_nothing_new(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    rep = await api.caller(Role.REP)
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    gid = to_global_id("Account", account.id)
    items = [
        {"accountId": gid, "kind": "VISIT", "occurredAt": noon(n).isoformat(), "source": "crm"}
        | {"externalId": f"V-{n}"}
        for n in range(5)
    ]
    items.append(items[2])  # a repeat within the body
    first = lines(await ingest(api.client, integration, items))
    assert [a["status"] for a in first] == ["accepted"] * 5 + ["duplicate"]
    state = await api.session.execute(text("SELECT last_contact_at, contact_days FROM assignments"))
    before = (state.all(), await count(api, Activity), await logged_events(api))
    assert before[1:] == (5, 5)

    again = await ingest(api.client, integration, items)
    assert [a["status"] for a in lines(again)] == ["duplicate"] * 6
    assert (again.headers["x-ingest-accepted"], again.headers["x-ingest-duplicates"]) == ("0", "6")
    state = await api.session.execute(text("SELECT last_contact_at, contact_days FROM assignments"))
    assert (state.all(), await count(api, Activity), await logged_events(api)) == before


async def cadence_state(api: Api, account_id: int) -> list[tuple[Any, ...]]:
    rows = await api.session.execute(
        text(
            "SELECT manager_type, last_contact_at, contact_days, next_contact_due, "
            "balance_status, balance_as_of FROM assignments WHERE account_id = :a "
            "ORDER BY manager_type"
        ),
        {"a": account_id},
    )
    return [tuple(r) for r in rows]


async def revenue(api: Api, account_id: int) -> list[tuple[Any, ...]]:
    rows = await api.session.execute(
        text("SELECT year, revenue FROM account_revenue_years WHERE account_id = :a ORDER BY 1"),
        {"a": account_id},
    )
    return [tuple(r) for r in rows]


async def events(api: Api, account_id: int) -> list[dict[str, Any]]:
    rows = await api.session.scalars(
        select(OutboxEvent.data)
        .where(OutboxEvent.account_id == account_id, OutboxEvent.type == "activity.logged")
        .order_by(OutboxEvent.id)
    )
    found = [{k: v for k, v in d.items() if k not in ("id", "accountId", "source")} for d in rows]
    return sorted(found, key=lambda d: str(d["externalId"]))


async def test_cadence_revenue_events_and_audit_match_logactivities(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    rep = await api.caller(Role.REP)
    accounts = []
    for name in ("Via GraphQL", "Via NDJSON"):
        account = await create_account(api.session, name)
        for manager_type, frequency in ((ManagerType.SALES, 14), (ManagerType.PARTS, 30)):
            await create_assignment(
                api.session,
                account_id=account.id,
                user_id=rep.user_id,
                manager_type=manager_type,
                frequency=frequency,
                started_at=noon(400),
            )
        accounts.append(account)
    kinds = ["CALL_OUTBOUND", "NOTE", "INVOICE", "PARTS_PURCHASE", "VISIT", "EMAIL_SENT"]

    def batch(account_id: int, source: str) -> list[dict[str, Any]]:
        gid = to_global_id("Account", account_id)
        return [
            {
                "accountId": gid,
                "kind": kinds[n % len(kinds)],
                "occurredAt": noon(3 * n + 1).isoformat(),
                "userId": rep.id if n % 2 else None,
                "amount": f"{100 + n}.25" if kinds[n % len(kinds)] == "INVOICE" else None,
                "source": source,
                "externalId": f"E-{n % 20}",
            }
            for n in range(24)  # 4 repeats of earlier keys
        ]

    graphql = await log_via_graphql(api, integration, batch(accounts[0].id, "g"))
    answer = lines(await ingest(api.client, integration, batch(accounts[1].id, "n")))
    statuses = Counter(a["status"] for a in answer)
    assert (graphql["acceptedCount"], graphql["duplicateCount"]) == (20, 0)
    assert len(graphql["rejected"]) == 4  # the repeats carry another payload in both
    assert statuses == {"accepted": 20, "rejected": 4}
    assert await cadence_state(api, accounts[0].id) == await cadence_state(api, accounts[1].id)
    assert (await cadence_state(api, accounts[1].id))[0][1] == noon(1)
    assert await revenue(api, accounts[0].id) == await revenue(api, accounts[1].id) != []
    assert await events(api, accounts[0].id) == await events(api, accounts[1].id)
    assert len(await events(api, accounts[1].id)) == 20
    audit = await api.session.execute(
        select(AuditEntry.action, AuditEntry.changes).order_by(AuditEntry.id.desc()).limit(2)
    )
    assert [tuple(r) for r in audit] == [
        ("activity.log", {"accepted": 20, "duplicates": 0, "rejected": 4})
    ] * 2


async def test_a_rep_logs_only_on_held_accounts_and_bad_tokens_get_401(api: Api) -> None:
    rep = await api.caller(Role.REP)
    held = await create_account(api.session, "Held", external_ref="H-1")
    await create_account(api.session, "Foreign", external_ref="F-1")
    await create_assignment(api.session, account_id=held.id, user_id=rep.user_id)
    base = {"kind": "VISIT", "occurredAt": WHEN}
    items = [{**base, "accountExternalRef": "H-1"}, {**base, "accountExternalRef": "F-1"}]
    answer = lines(await ingest(api.client, rep, items))
    assert [(a["status"], errors_of(a)) for a in answer] == [
        ("accepted", []),
        ("rejected", [("FORBIDDEN", "accountExternalRef")]),
    ]
    assert answer[1]["errors"][0]["message"] == "You may only log on accounts you hold."
    assert list(await api.session.scalars(select(Activity.user_id))) == [rep.user_id]

    missing = await ingest(api.client, None, items)
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    forged = Caller(user_id=rep.user_id, token="not-a-token", role=Role.REP)
    assert (await ingest(api.client, forged, items)).status_code == 401
    for role in Role:  # every role may log, as with logActivities
        caller = await api.caller(role)
        assert (await ingest(api.client, caller, b"x\n")).status_code == 200
    assert await count(api, Activity) == 1


@pytest.fixture
async def small_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env(
        {
            "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
            "ACCOUNTFLOW_MAX_INGEST_LINES": "3",
            "ACCOUNTFLOW_MAX_INGEST_BYTES": "1000",
        }
    )
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_too_many_lines_or_bytes_write_nothing(
    api: Api, small_client: httpx.AsyncClient
) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    item = {"accountId": to_global_id("Account", account.id), "kind": "TEXT", "occurredAt": WHEN}
    three = lines(await ingest(small_client, integration, [item] * 3))
    assert [a["status"] for a in three] == ["accepted"] * 3
    for body in (
        ndjson([item] * 4),
        ndjson([item] * 3) + b"x",
        ndjson([{**item, "summary": "s" * 990}]),
    ):
        refused = await ingest(small_client, integration, body)
        assert refused.status_code == 413, body[:40]
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    empty = await ingest(small_client, integration, b"")
    assert empty.status_code == 400
    assert await count(api, Activity) == 3


async def test_the_default_limit_is_100000_lines(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    refused = await ingest(api.client, integration, b"x\n" * 100_001)
    assert refused.status_code == 413
    assert refused.json()["errors"][0]["message"] == "More than 100000 lines."
    logged = select(func.count()).where(AuditEntry.action == "activity.log")
    assert await api.session.scalar(logged) == 0


async def test_concurrent_bodies_and_batches_store_each_key_once(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    rep = await api.caller(Role.REP)
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    gid = to_global_id("Account", account.id)
    items = [
        {"accountId": gid, "kind": "CALL_INBOUND", "occurredAt": noon(n % 9).isoformat()}
        | {"source": "phone", "externalId": f"C-{n}"}
        for n in range(60)
    ]
    bodies = [ingest(api.client, integration, items[::step]) for step in (1, 2, 3)]
    batches = [log_via_graphql(api, integration, items[::-1]) for _ in range(2)]
    answers, results = await asyncio.gather(asyncio.gather(*bodies), asyncio.gather(*batches))
    accepted = sum([a["status"] for a in lines(r)].count("accepted") for r in answers)
    accepted += sum(int(b["acceptedCount"]) for b in results)
    assert accepted == 60
    assert await count(api, Activity) == 60
    assert await logged_events(api) == 60
    state = await cadence_state(api, account.id)
    assert state[0][1] == noon(0)
    assert state[0][2] == sorted({noon(n % 9).date() for n in range(60)})


async def test_a_chunked_body_over_the_byte_limit_is_refused(
    api: Api, small_client: httpx.AsyncClient
) -> None:
    integration = await api.caller(Role.INTEGRATION)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"y" * 400  # one long line: the bytes, not the lines, run out

    response = await small_client.post(
        "/ingest/activities",
        content=chunks(),
        headers={"authorization": f"Bearer {integration.token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "Request body over 1000 bytes."


async def test_the_first_of_repeats_in_one_call_is_stored_in_both_paths(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)

    def items(source: str) -> list[dict[str, Any]]:
        first = [
            {"accountId": gid, "kind": "TEXT", "occurredAt": WHEN, "summary": "first"}
            | {"source": source, "externalId": f"K-{n}"}
            for n in range(20)
        ]
        return first + [{**i, "summary": "second"} for i in first]

    graphql = await log_via_graphql(api, integration, items("g"))
    assert graphql["acceptedCount"] == 20
    assert [r["index"] for r in graphql["rejected"]] == list(range(20, 40))
    answer = lines(await ingest(api.client, integration, items("n")))
    assert [a["status"] for a in answer] == ["accepted"] * 20 + ["rejected"] * 20
    assert set(await api.session.scalars(select(Activity.summary))) == {"first"}
