"""CSV imports obey the rules of the mutations they stand for, through `accountflow import`."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lifecycle
from app.assignments.service import assign_account
from app.auth.service import create_user
from app.events import EventType, global_id
from app.imports.cli import import_file
from app.imports.runner import Progress
from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.accounts import Account, Contact
from app.models.assignments import ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.handoff import PipelineEntry, StageEvent
from app.models.imports import ImportKind, ImportMode
from app.models.leads import Lead, LeadStatus
from tests.accounts.factories import create_account, create_contact
from tests.webhooks.support import outbox

ROW_ERROR = re.compile(r"^row (\d+)(?:, column (\S+))?: ([A-Z_]+) ")


async def _import(
    url: str, tmp_path: Path, kind: ImportKind, content: str, mode: ImportMode
) -> tuple[Progress, list[tuple[int, str | None, str]]]:
    path = tmp_path / f"{kind.value.lower()}-{mode.value.lower()}.csv"
    path.write_text(content)
    stderr = io.StringIO()
    result = await import_file(
        url, kind=kind, path=path, mapping={}, mode=mode, dry_run=False, stderr=stderr
    )
    errors = []
    for line in stderr.getvalue().splitlines():
        found = ROW_ERROR.match(line.split("\r")[-1])
        if found:
            errors.append((int(found[1]), found[2], found[3]))
    return result, errors


async def _leads(session: AsyncSession) -> list[tuple[str | None, LeadStatus, int | None, int]]:
    query = select(Lead).order_by(Lead.id).execution_options(populate_existing=True)
    return [(r.external_ref, r.status, r.owner_id, r.version) for r in await session.scalars(query)]


async def test_lead_status_moves_follow_the_lead_state_machine(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await create_lead(session, actor=SYSTEM, company="One", external_ref="L1")
    await create_lead(session, actor=SYSTEM, company="Three", external_ref="L3")
    await session.commit()
    content = (
        "externalRef,company,status\n"
        "L1,One,QUALIFIED\n"  # NEW -> QUALIFIED skips WORKING
        "L2,Two,QUALIFIED\n"  # a new lead starts NEW
        "L3,Three,WORKING\n"  # allowed
        "L4,Four,CONVERTED\n"  # only convertLead converts
    )
    failed, errors = await _import(
        database_url, tmp_path, ImportKind.LEADS, content, ImportMode.ALL_OR_NOTHING
    )
    expected = [
        (2, "status", "INVALID_TRANSITION"),
        (3, "status", "INVALID_TRANSITION"),
        (5, "status", "INVALID_TRANSITION"),
    ]
    assert (failed.failed, errors) == (True, expected)
    before = [("L1", LeadStatus.NEW, None, 1), ("L3", LeadStatus.NEW, None, 1)]
    assert await _leads(session) == before

    done, errors = await _import(
        database_url, tmp_path, ImportKind.LEADS, content, ImportMode.SKIP_INVALID
    )
    assert errors == expected
    assert (done.created, done.updated, done.unchanged, done.rejected) == (0, 1, 0, 3)
    assert await _leads(session) == [before[0], ("L3", LeadStatus.WORKING, None, 2)]
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "Lead").order_by(AuditEntry.id)
    )
    assert list(actions) == ["lead.create", "lead.create", "lead.status"]


async def test_a_lead_owner_must_be_a_user_who_may_own_it(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    robot = await create_user(
        session, actor=SYSTEM, email="robot@x.de", name="Robot", role=Role.INTEGRATION
    )
    gone = await create_user(session, actor=SYSTEM, email="gone@x.de", name="Gone", role=Role.REP)
    gone.is_active = False
    rep = await create_user(session, actor=SYSTEM, email="rep@x.de", name="Rep", role=Role.REP)
    one = await create_lead(session, actor=SYSTEM, company="One", external_ref="L1")
    two = await create_lead(session, actor=SYSTEM, company="Two", external_ref="L2")
    three = await create_lead(session, actor=SYSTEM, company="Three", external_ref="L3")
    await session.commit()
    content = (
        "id,company,ownerId\n"
        f"{global_id('Lead', one.id)},One,{global_id('User', robot.id)}\n"
        f"{global_id('Lead', two.id)},Two,{global_id('User', gone.id)}\n"
        f"{global_id('Lead', three.id)},Three,{global_id('User', rep.id)}\n"
    )
    result, errors = await _import(
        database_url, tmp_path, ImportKind.LEADS, content, ImportMode.ALL_OR_NOTHING
    )
    assert result.failed
    assert errors == [(2, "ownerId", "INVALID_INPUT"), (3, "ownerId", "NOT_FOUND")]
    assert [r[2] for r in await _leads(session)] == [None, None, None]

    done, errors = await _import(
        database_url, tmp_path, ImportKind.LEADS, content, ImportMode.SKIP_INVALID
    )
    assert (done.updated, done.rejected, len(errors)) == (1, 2, 2)
    assert [r[2] for r in await _leads(session)] == [None, None, rep.id]


async def test_an_account_cannot_become_its_own_ancestor(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    head = await create_account(session, name="Head", external_ref="H")
    branch = await create_account(session, name="Branch", external_ref="B", parent_id=head.id)
    twig = await create_account(session, name="Twig", external_ref="T", parent_id=branch.id)
    content = (
        "id,name,parentExternalRef\n"
        f"{global_id('Account', branch.id)},Branch renamed,H\n"
        f"{global_id('Account', head.id)},Head,T\n"  # T hangs under B, which hangs under H
    )
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ACCOUNTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert result.failed
    assert errors == [(3, "parentExternalRef", "INVALID_INPUT")]
    query = select(Account.name, Account.parent_id).order_by(Account.id)
    accounts = list(await session.execute(query.execution_options(populate_existing=True)))
    assert [tuple(r) for r in accounts] == [
        ("Head", None),
        ("Branch", head.id),
        ("Twig", branch.id),
    ]
    assert twig.parent_id == branch.id


async def test_a_removed_contact_is_not_found(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    account = await create_account(session, name="Acme", external_ref="A1")
    kept = await create_contact(session, account, name="Ann")
    removed = await create_contact(session, account, name="Bob")
    await lifecycle.remove_contact(session, actor=SYSTEM, contact_id=removed.id)
    await session.commit()
    content = (
        "id,name,title\n"
        f"{global_id('Contact', kept.id)},Ann,Buyer\n"
        f"{global_id('Contact', removed.id)},Bob,Boss\n"
    )
    result, errors = await _import(
        database_url, tmp_path, ImportKind.CONTACTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert result.failed
    assert errors == [(3, "id", "NOT_FOUND")]
    query = select(Contact.name, Contact.title).order_by(Contact.id)
    contacts = await session.execute(query.execution_options(populate_existing=True))
    assert [tuple(r) for r in contacts] == [("Ann", None), ("Bob", None)]

    done, errors = await _import(
        database_url, tmp_path, ImportKind.CONTACTS, content, ImportMode.SKIP_INVALID
    )
    assert (done.updated, done.rejected, errors) == (1, 1, [(3, "id", "NOT_FOUND")])
    contacts = await session.execute(query.execution_options(populate_existing=True))
    assert [tuple(r) for r in contacts] == [("Ann", "Buyer"), ("Bob", None)]


async def test_an_account_row_by_id_is_an_update_with_its_audit_and_event(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    account = await create_account(session, name="Acme", external_ref="A1")
    content = f"id,name,city\n{global_id('Account', account.id)},Acme AG,Ulm\n"
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ACCOUNTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert (result.updated, errors) == (1, [])
    query = select(AuditEntry.action).where(AuditEntry.entity_id == account.id)
    assert list(await session.scalars(query.order_by(AuditEntry.id))) == [
        "account.create",
        "account.update",
    ]
    updated = await outbox(session, EventType.ACCOUNT_UPDATED)
    assert [(e.object_key, sorted(e.data["changed"])) for e in updated] == [
        (f"Account:{account.id}", ["city", "name"])
    ]


async def _actions(session: AsyncSession, entity_type: str) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.entity_type == entity_type)
    return list(await session.scalars(query.order_by(AuditEntry.id)))


async def test_accounts_without_a_key_are_created_as_create_account_does(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    head = await create_account(session, name="Head", external_ref="H")
    content = 'name,tags,parentExternalRef\nSolo,"b,a",\nBranch,,H\n'
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ACCOUNTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert (result.created, errors) == (2, [])
    query = select(Account.name, Account.tags, Account.parent_id).order_by(Account.id)
    rows = [tuple(r) for r in await session.execute(query)]
    assert rows == [("Head", [], None), ("Solo", ["b", "a"], None), ("Branch", [], head.id)]
    assert await _actions(session, "Account") == [
        "account.create",
        "account.create",
        "account.tags",
        "account.create",
    ]
    created = await outbox(session, EventType.ACCOUNT_CREATED)
    assert len(created) == 3


async def test_new_accounts_created_together_are_recorded_and_entered_one_by_one(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    content = "name,industry\nOne,Farming\nTwo,\nThree,Retail\n"
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ACCOUNTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert (result.created, errors) == (3, [])
    query = select(Account.id, Account.name, Account.industry).order_by(Account.id)
    rows = list(await session.execute(query))
    assert [(r.name, r.industry) for r in rows] == [
        ("One", "Farming"),
        ("Two", None),
        ("Three", "Retail"),
    ]
    assert await _actions(session, "Account") == ["account.create"] * 3
    created = await outbox(session, EventType.ACCOUNT_CREATED)
    assert [e.data["id"] for e in created] == [global_id("Account", r.id) for r in rows]
    entries = await session.execute(
        select(PipelineEntry.account_id, PipelineEntry.stage).order_by(PipelineEntry.account_id)
    )
    assert [tuple(e) for e in entries] == [(r.id, "PROSPECT") for r in rows]
    moves = select(StageEvent.account_id, StageEvent.trigger).order_by(StageEvent.account_id)
    assert [tuple(m) for m in await session.execute(moves)] == [(r.id, "enter") for r in rows]


async def test_rows_by_id_wait_for_the_parent_a_later_row_names(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    a = await create_account(session, name="A")
    b = await create_account(session, name="B")
    c = await create_account(session, name="C")
    d = await create_account(session, name="D")
    content = (
        "id,name,externalRef,parentExternalRef\n"
        f"{global_id('Account', b.id)},B,RB,RA\n"  # RA is A's new key, two rows down
        f"{global_id('Account', c.id)},C,RC,RD\n"  # C and D name each other
        f"{global_id('Account', a.id)},A,RA,\n"
        f"{global_id('Account', d.id)},D,RD,RC\n"
    )
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ACCOUNTS, content, ImportMode.SKIP_INVALID
    )
    assert (result.updated, result.rejected) == (2, 2)
    assert errors == [
        (3, "parentExternalRef", "INVALID_INPUT"),
        (5, "parentExternalRef", "INVALID_INPUT"),
    ]
    query = select(Account.external_ref, Account.parent_id).order_by(Account.id)
    rows = [
        tuple(r) for r in await session.execute(query.execution_options(populate_existing=True))
    ]
    assert rows == [("RA", None), ("RB", a.id), (None, None), (None, None)]


async def test_an_assignment_row_by_id_is_update_assignment(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    account = await create_account(session, name="Acme")
    rep = await create_user(session, actor=SYSTEM, email="rep@x.de", name="Rep", role=Role.REP)
    row, _ = await assign_account(
        session,
        actor=SYSTEM,
        account_id=account.id,
        user_id=rep.id,
        manager_type=ManagerType.SALES,
        contact_frequency_days=30,
    )
    await session.commit()
    content = f"id,contactFrequencyDays\n{global_id('Assignment', row.id)},14\n"
    result, errors = await _import(
        database_url, tmp_path, ImportKind.ASSIGNMENTS, content, ImportMode.ALL_OR_NOTHING
    )
    assert (result.updated, errors) == (1, [])
    assert await _actions(session, "Assignment") == ["assignment.create", "assignment.update"]
    changed = await outbox(session, EventType.ASSIGNMENT_CHANGED)
    assert [(e.data["change"], e.data["contactFrequencyDays"]) for e in changed] == [
        ("created", 30),
        ("frequency", 14),
    ]
