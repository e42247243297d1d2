"""The compiled read path answers byte for byte what strawberry answers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import BuyingRole
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.accounts.factories import create_account, create_contact
from tests.support import Api, Caller, contract_operations

NOW = datetime(2026, 11, 30, 9, 30, 15, 123456, tzinfo=UTC)


@dataclasses.dataclass
class Paths:
    compiled: httpx.AsyncClient
    plain: httpx.AsyncClient

    async def both(
        self, query: str, variables: dict[str, Any] | None, caller: Caller
    ) -> tuple[httpx.Response, httpx.Response]:
        headers = {"Authorization": f"Bearer {caller.token}"}
        body = {"query": query, "variables": variables or {}}
        one = await self.compiled.post("/graphql", json=body, headers=headers)
        two = await self.plain.post("/graphql", json=body, headers=headers)
        return one, two


@pytest.fixture
async def paths(settings: Settings, database_url: str) -> AsyncIterator[Paths]:
    clients = []
    apps = [
        create_app(
            dataclasses.replace(settings, compiled_reads=on), database_url, clock=lambda: NOW
        )
        for on in (True, False)
    ]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        for app in apps:
            transport = httpx.ASGITransport(app=app)
            clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        try:
            yield Paths(*clients)
        finally:
            for client in clients:
                await client.aclose()


async def arrange(session: AsyncSession) -> None:
    head = await create_account(session, name='Äcme "quoted" \\ back\nline', industry="Mining")
    for n in range(3):
        branch = await create_account(session, name=f"Branch {n}", parent_id=head.id)
        await create_contact(session, branch, name=f"Contact {n}", role=BuyingRole.COACH)
    await create_contact(session, head, name="Zoë 😀", role=None)
    await session.commit()


async def history(api: Api, admin: Caller) -> str:
    """Assignments due on both sides of the week, activities, a stage history; the head's id."""
    head = await api.data(
        "query { accounts(filter: {parentId: null}, first: 100) { edges { node { id name } } } }",
        caller=admin,
    )
    head_id = next(
        e["node"]["id"] for e in head["accounts"]["edges"] if e["node"]["name"].startswith("Äcme")
    )
    rep = await api.caller(Role.REP, name="Rep \u0001 /")
    for kind, days, start in [("SALES", 30, "2026-10-01T00:00:00Z"), ("PARTS", 7, NOW.isoformat())]:
        await api.op(
            "AssignAccount",
            {
                "input": {
                    "accountId": head_id,
                    "userId": rep.id,
                    "managerType": kind,
                    "contactFrequencyDays": days,
                    "startedAt": start,
                }
            },
            caller=admin,
        )
    for n, (moment, amount) in enumerate(
        [("2026-11-01T10:00:00Z", "1234.50"), ("2026-11-02T10:00:00.5Z", "0.10"), (None, None)]
    ):
        await api.op(
            "LogActivity",
            {
                "input": {
                    "kind": "QUOTE" if amount else "CALL_OUTBOUND",
                    "occurredAt": moment or "2026-11-03T08:00:00+02:00",
                    "accountId": head_id,
                    "userId": rep.id,
                    "amount": amount,
                    "summary": f"summary {n} «quoted»",
                    "source": "erp",
                    "externalId": f"x-{n}",
                }
            },
            caller=admin,
        )
    for trigger in ("qualify", "handoff"):
        await api.op(
            "TransitionAccount",
            {
                "input": {
                    "accountId": head_id,
                    "trigger": trigger,
                    "reason": "r",
                    "toOwnerId": rep.id,
                }
            },
            caller=admin,
        )
    return str(head_id)


async def test_contract_reads_compile_and_agree(api: Api, paths: Paths) -> None:
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    head_id = await history(api, admin)
    operations = contract_operations()
    for name, variables in [
        ("Viewer", None),
        ("AccountList", {"first": 2}),
        ("AccountList", {"first": 100}),
        ("AccountList", {"first": 0}),
        ("AccountList", {"first": 1, "filter": {"parentId": head_id}}),
        ("AccountList", {"filter": {"industry": "Mining", "includeArchived": True}}),
        ("AccountDetail", {"id": head_id}),
    ]:
        one, two = await paths.both(operations[name], variables, admin)
        assert one.headers["x-accountflow-executor"] == "compiled", (name, one.text)
        assert one.content == two.content, (name, one.text, two.text)


async def test_following_pages_agree(api: Api, paths: Paths) -> None:
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    head_id = await history(api, admin)
    query = """
    query Pages($after: String, $inner: String, $branch: String) {
      accounts(first: 2, after: $after) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { name } }
      }
      node(id: "ID") {
        __typename
        ... on Account {
          activities(first: 1, after: $inner) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { __typename id amount occurredAt } }
          }
          branches(first: 1, after: $branch) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage endCursor }
            edges { cursor }
          }
        }
      }
    }
    """.replace("ID", head_id)
    after = inner = branch = None
    for _ in range(4):
        variables = {"after": after, "inner": inner, "branch": branch}
        one, two = await paths.both(query, variables, admin)
        assert one.headers["x-accountflow-executor"] == "compiled", one.text
        assert one.content == two.content, (one.text, two.text)
        data = one.json()["data"]
        after = data["accounts"]["pageInfo"]["endCursor"]
        inner = data["node"]["activities"]["pageInfo"]["endCursor"]
        branch = data["node"]["branches"]["pageInfo"]["endCursor"]


async def test_one_statement_whatever_the_page(api: Api, paths: Paths) -> None:
    """The compiled path sends one statement per query (beside the token check)."""
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    await history(api, admin)
    app_state = paths.compiled._transport.app.state.accountflow  # type: ignore[attr-defined]
    sent: list[str] = []
    watched: set[int] = set()

    def watch(dbapi_connection: Any, *_: Any) -> None:
        raw = dbapi_connection.driver_connection
        if id(raw) not in watched:
            watched.add(id(raw))
            raw.add_query_logger(lambda record: sent.append(record.query))

    event.listen(app_state.engine.sync_engine, "checkout", watch)
    counts = {}
    for first in (1, 100):
        sent.clear()
        one, _ = await paths.both(contract_operations()["AccountList"], {"first": first}, admin)
        assert one.headers["x-accountflow-executor"] == "compiled"
        counts[first] = [
            q for q in sent if not q.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT"))
        ]
    assert len(counts[1]) == len(counts[100])
    assert [q[:9] for q in counts[100] if q.startswith("SELECT '{")] == ["SELECT '{"]
    assert len(counts[100]) <= 2  # the compiled statement, and the token check unless cached


async def test_orders_page_alike(api: Api, paths: Paths) -> None:
    """Each order, either way, given as a variable: one document, several plans."""
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    query = """
    query Ordered($order: AccountOrder, $after: String) {
      accounts(first: 2, after: $after, orderBy: $order) {
        pageInfo { hasNextPage endCursor }
        edges { cursor node { name createdAt updatedAt } }
      }
    }
    """
    for field in ("NAME", "CREATED_AT", "UPDATED_AT"):
        for direction in ("ASC", "DESC"):
            after = None
            for _ in range(3):
                variables = {"order": {"field": field, "direction": direction}, "after": after}
                one, two = await paths.both(query, variables, admin)
                assert one.headers["x-accountflow-executor"] == "compiled", one.text
                assert one.content == two.content, (field, direction, one.text, two.text)
                after = one.json()["data"]["accounts"]["pageInfo"]["endCursor"]


async def test_empty_pages_of_any_selection(api: Api, paths: Paths) -> None:
    admin = await api.caller(Role.ADMIN)
    for selection in ("totalCount", "pageInfo { hasNextPage }", "edges { cursor }", "__typename"):
        query = f"{{ accounts(first: 3) {{ {selection} }} }}"
        one, two = await paths.both(query, None, admin)
        assert one.headers["x-accountflow-executor"] == "compiled", one.text
        assert one.content == two.content, (one.text, two.text)


async def test_a_lead_by_node(api: Api, paths: Paths) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    created = await api.op(
        "CreateLead",
        {
            "input": {
                "company": "Lead «Co»",
                "email": "a@b.example",
                "source": "EVENT",
                "attributes": {"score": 0.75, "tags": ["x", None], "n": 3},
                "address": {"city": "Köln", "countryCode": "DE"},
                "ownerId": rep.id,
            }
        },
        caller=admin,
    )
    lead_id = created["createLead"]["lead"]["id"]
    query = """
    query($id: ID!) {
      node(id: $id) {
        id __typename
        ... on Lead {
          company contactName email phone industry source status statusReason externalRef
          attributes version createdAt convertedAt
          address { street city region postalCode countryCode }
          owner { id name role isActive }
          account { id }
        }
      }
    }
    """
    for caller in (admin, rep):
        one, two = await paths.both(query, {"id": lead_id}, caller)
        assert one.headers["x-accountflow-executor"] == "compiled", one.text
        assert one.content == two.content, (one.text, two.text)


async def test_users_pages(api: Api, paths: Paths) -> None:
    admin = await api.caller(Role.ADMIN)
    for role in (Role.REP, Role.MANAGER, Role.INTEGRATION):
        await api.caller(role, name=f"Ünïcode {role.value}")
    query = """
    query People($after: String, $all: Boolean!) {
      users(first: 2, after: $after, includeInactive: $all) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id name email role maxAccounts isActive } }
      }
    }
    """
    for everyone in (False, True):
        after = None
        for _ in range(3):
            one, two = await paths.both(query, {"after": after, "all": everyone}, admin)
            assert one.headers["x-accountflow-executor"] == "compiled", one.text
            assert one.content == two.content, (one.text, two.text)
            after = one.json()["data"]["users"]["pageInfo"]["endCursor"]


async def test_two_lists_with_their_own_cursors(api: Api, paths: Paths) -> None:
    """Each accounts field of a document reads its own `after` (found by the differential test)."""
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    first = await api.data("{ accounts(first: 2) { pageInfo { endCursor } } }", caller=admin)
    cursor = first["accounts"]["pageInfo"]["endCursor"]
    query = """
    query Two($after: String) {
      a: accounts(first: 5) { edges { node { name } } }
      accounts(first: 10, after: $after) { edges { node { name } } }
    }
    """
    one, two = await paths.both(query, {"after": cursor}, admin)
    assert one.headers["x-accountflow-executor"] == "compiled", one.text
    assert one.content == two.content, (one.text, two.text)
    assert len(one.json()["data"]["accounts"]["edges"]) == 2


async def test_fields_the_role_may_not_read_are_null_with_the_same_errors(
    api: Api, paths: Paths
) -> None:
    """An integration may list accounts but not their assignments, activities or users:
    the compiled answer has the same nulls and the same FORBIDDEN errors, in the same order."""
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    head_id = await history(api, admin)
    integration = await api.caller(Role.INTEGRATION)
    rep_id = (await api.data("{ users(first: 5) { edges { node { id role } } } }", caller=admin))[
        "users"
    ]["edges"]
    user_id = next(e["node"]["id"] for e in rep_id if e["node"]["role"] == "REP")
    query = """
    query($id: ID!, $user: ID!) {
      accounts(first: 3) {
        edges { node { name assignments { id } contacts { name account { stageHistory { id } } } } }
      }
      node(id: $id) { id ... on Account { name activities(first: 2) { totalCount } } }
      who: node(id: $user) { id }
    }
    """
    one, two = await paths.both(query, {"id": head_id, "user": user_id}, integration)
    assert one.headers["x-accountflow-executor"] == "compiled", one.text
    assert one.content == two.content, (one.text, two.text)
    body = one.json()
    assert body["data"]["who"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert len(body["errors"]) > 3
