"""Every writer leaves an audit row and an outbox event (issue 17: one write path).

The writers are enumerated, not listed by hand where they can be read: every field of the
Mutation type (from the built schema: a new mutation without a case fails here), every
CSV import kind, the NDJSON bulk ingest, territory rules, contact rules and the
background jobs. Each performs one real write through the real app.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import graphql
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.__main__ import _refresh_balances
from app.activities import rebuild
from app.activities.rules import set_contact_rule
from app.imports.jobs import wait_for_jobs
from app.imports.runner import run_import
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.models.imports import ImportKind
from app.settings import Settings
from schema import schema
from tests.kit import (  # noqa: F401 (registers their cases)
    more_cases,
    plan_item_cases,
    task_cases,
    team_cases,
)
from tests.kit.mutation_cases import CASES
from tests.kit.writers import Expect, World, gid, yesterday
from tests.support import Api, contract_operations

# Administration of the service itself: audited, never announced (app/kit/changes.py).
EXEMPT = {
    "createUser",
    "updateUser",
    "createApiToken",
    "revokeApiToken",
    "createWebhook",
    "updateWebhook",
    "deleteWebhook",
    "redeliverWebhook",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1"}
    return Settings.from_env(env)


@pytest.fixture
async def world(api: Api) -> World:
    return World(api, await api.caller(Role.ADMIN))


def mutation_fields() -> set[str]:
    built = graphql.build_schema(schema.as_str())
    assert built.mutation_type is not None
    return set(built.mutation_type.fields)


def test_every_mutation_has_a_case() -> None:
    assert set(CASES) | {"startImport"} == mutation_fields()


def test_only_administration_is_exempt_from_events() -> None:
    assert {name for name, (expect, _) in CASES.items() if expect.event is None} == EXEMPT


async def check(world: World, expect: Expect) -> None:
    """The write's audit row, and exactly the event types it must announce."""
    written = await world.written()
    assert (expect.action, expect.entity_type) in written.audit
    # An exemption that announces is no exemption: drop it.
    assert set(written.events) == expect.types


@pytest.mark.parametrize("name", sorted(CASES))
async def test_each_mutation_leaves_its_audit_row_and_event(world: World, name: str) -> None:
    expect, run = CASES[name]
    await run(world)
    await check(world, expect)


# Writers outside the Mutation type.

CSV = {
    ImportKind.ACCOUNTS: (
        "externalRef;name\nC-1;Imported\n",
        Expect("account.upsert", "Account", "account.created"),
    ),
    ImportKind.CONTACTS: (
        "accountId;name\n{account};Ann\n",
        Expect("contact.create", "Contact", "contact.created"),
    ),
    ImportKind.LEADS: (
        "company;email\nLead Co;a@lead.example\n",
        Expect("lead.create", "Lead", "lead.created"),
    ),
    ImportKind.ACTIVITIES: (
        "accountId;kind;occurredAt\n{account};VISIT;{yesterday}\n",
        Expect("activity.log", "Activity", "activity.logged"),
    ),
    ImportKind.ASSIGNMENTS: (
        "accountId;userId;managerType;contactFrequencyDays\n{account};{user};SALES;14\n",
        Expect("assignment.create", "Assignment", "assignment.changed"),
    ),
}


def test_every_import_kind_has_a_case() -> None:
    assert set(CSV) == set(ImportKind)


@pytest.mark.parametrize("kind", sorted(CSV))
async def test_each_csv_import_kind_leaves_its_audit_row_and_event(
    world: World, kind: ImportKind, tmp_path: Path
) -> None:
    account = await world.account("Imported into")
    text, expect = CSV[kind]
    path = tmp_path / "file.csv"
    values = {
        "account": gid("Account", account.id),
        "user": world.admin.id,
        "yesterday": yesterday(),
    }
    path.write_text(text.format(**values))
    await world.mark()
    progress = await run_import(world.session, actor=SYSTEM, kind=kind, path=path)
    assert (progress.failed, progress.rejected) == (False, 0)
    await check(world, expect)


async def test_bulk_ingest_leaves_its_audit_row_and_event(world: World) -> None:
    account = await world.account()
    await world.mark()
    line = {"kind": "VISIT", "occurredAt": yesterday(), "accountId": gid("Account", account.id)}
    response = await world.api.client.post(
        "/ingest/activities",
        content=json.dumps(line).encode() + b"\n",
        headers={"authorization": f"Bearer {world.admin.token}"},
    )
    assert response.status_code == 200, response.text
    await check(world, Expect("activity.log", "Activity", "activity.logged"))


async def test_territory_rules_on_a_new_account_leave_their_audit_row_and_event(
    world: World,
) -> None:
    await more_cases._rule(world)
    await world.mark()
    await world.op("CreateAccount", name="Routed")
    routed = Expect(
        "assignment.create", "Assignment", "assignment.changed", frozenset({"account.created"})
    )
    await check(world, routed)


async def test_the_refresh_balances_job_leaves_its_audit_row_and_events(
    world: World, database_url: str
) -> None:
    """The daily job refreshes balances and reminds of the assignment gone overdue."""
    await world.assignment(started_at=datetime.now(UTC) - timedelta(days=30))
    await world.mark()
    await _refresh_balances(database_url)
    job = Expect(
        "balances.refresh", "Assignment", "balances.refreshed", frozenset({"cadence.overdue"})
    )
    await check(world, job)


async def test_the_contact_rule_rebuild_leaves_its_audit_row_and_event(
    world: World, engine: AsyncEngine
) -> None:
    await world.assignment()
    await set_contact_rule(
        world.session,
        actor=SYSTEM,
        manager_type=ManagerType.SALES,
        kinds=[ActivityKind.VISIT],
        assignee_only=False,
    )
    await world.mark()
    done = await rebuild.rebuild_pending(engine, db.create_sessionmaker(engine), batch_size=10)
    assert done.assignments == 1
    await check(world, Expect("contact_rule.rebuild", "ContactRule", "contact_rule.rebuilt"))


async def test_start_import_and_its_job_leave_their_audit_rows_and_events(world: World) -> None:
    operations = {
        "query": contract_operations()["StartImport"],
        "variables": {"input": {"kind": "ACCOUNTS", "file": None}},
    }
    await world.mark()
    response = await world.api.client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("accounts.csv", b"externalRef;name\nJ-1;Job Co\n", "text/csv")},
        headers={"Authorization": f"Bearer {world.admin.token}"},
    )
    assert response.json()["data"]["startImport"]["errors"] == []
    await wait_for_jobs()
    await check(world, Expect("import.start", "ImportJob", "import.started", IMPORT_JOB))
    await check(world, Expect("import.finish", "ImportJob", "import.finished", IMPORT_JOB))
    await check(world, Expect("account.upsert", "Account", "account.created", IMPORT_JOB))


IMPORT_JOB = frozenset({"import.started", "import.finished", "account.created"})
