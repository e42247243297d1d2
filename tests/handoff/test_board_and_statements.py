"""PipelineBoard, and the new lists' statement counts (independent of the page size)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.activities import ActivityKind
from app.models.auth import Role
from app.models.handoff import PipelineEntry
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log, noon
from tests.schema.engine.test_statement_count import counting
from tests.support import Api


async def test_board_counts_medians_and_pages_each_stage(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    now = datetime.now(UTC)
    waits = {"A": 10, "B": 20, "C": 40, "D": 5}
    ids = {}
    for name, days in waits.items():
        account = await create_account(api.session, name)
        ids[name] = account.id
        stage = "QUALIFIED" if name == "D" else "PROSPECT"
        await api.session.execute(
            update(PipelineEntry)
            .where(PipelineEntry.account_id == account.id)
            .values(stage=stage, entered_at=now - timedelta(days=days))
        )
    await api.session.commit()
    board = (await api.op("PipelineBoard", {"pipeline": "default"}, caller=manager))[
        "pipelineBoard"
    ]
    assert [c["stage"] for c in board] == [
        "PROSPECT",
        "QUALIFIED",
        "OPPORTUNITY",
        "CUSTOMER",
        "LOST",
    ]
    prospect, qualified = board[0], board[1]
    assert (prospect["count"], qualified["count"], board[2]["count"]) == (3, 1, 0)
    assert abs(prospect["medianSecondsInStage"] - 20 * 86400) < 120
    assert board[2]["medianSecondsInStage"] is None
    assert prospect["entries"]["totalCount"] == 3
    names = [e["node"]["account"]["name"] for e in prospect["entries"]["edges"]]
    assert names == ["C", "B", "A"]
    first = prospect["entries"]["edges"][0]["node"]
    assert abs(first["secondsInStage"] - 40 * 86400) < 120
    assert first["owner"] is None
    assert qualified["entries"]["edges"][0]["node"]["account"]["id"] == to_global_id(
        "Account", ids["D"]
    )
    unknown = await api.gql('{ pipelineBoard(pipeline: "nope") { stage } }', caller=manager)
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    rep = await api.caller(Role.INTEGRATION)
    denied = await api.gql("{ pipelineBoard { stage } }", caller=rep)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


SEARCH = """
query($first: Int, $filter: AccountFilter, $orderBy: AccountOrder) {
  accounts(first: $first, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { node {
      id name tags createdAt updatedAt revenueLast12Months
      revenueByYear(years: 3) { year revenue invoices }
      contacts { id }
      assignments { managerType nextContactDue user { id name } }
      pipelineEntry { stage owner { id } }
    } }
  }
}
"""


async def test_account_search_statements_do_not_grow_with_the_page(
    api: Api, app_engine: tuple[object, AsyncEngine]
) -> None:
    _, engine = app_engine
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    for n in range(30):
        account = await create_account(api.session, f"Dealer {n:02}")
        await create_contact(api.session, account, f"Contact {n}")
        await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
        await log(
            api.session,
            account_id=account.id,
            occurred_at=noon(n + 1),
            kind=ActivityKind.INVOICE,
            amount=Decimal(n),
        )
    await api.data("{ viewer { id } }", caller=admin)  # a token's first use stamps lastUsedAt
    counts = {}
    for first in (3, 30):
        variables = {
            "first": first,
            "filter": {"search": "dealer", "managerType": "SALES"},
            "orderBy": {"field": "REVENUE_LAST_12_MONTHS", "direction": "DESC"},
        }
        with counting(engine) as statements:
            data = await api.data(SEARCH, variables, caller=admin)
        counts[first] = len(statements)
        assert data["accounts"]["totalCount"] == 30
        assert len(data["accounts"]["edges"]) == first
        assert data["accounts"]["edges"][0]["node"]["revenueLast12Months"] == "29.00"
    assert counts[3] == counts[30]
