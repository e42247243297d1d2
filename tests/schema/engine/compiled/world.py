"""A small data set with known variety, written through the services, for both read paths.

Everything time-dependent is placed relative to `CLOCK`, the instant both apps pin for
every request: cadence statuses on each side of "due within 7 days" (and exactly on it),
stays in stage, activities with and without microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lifecycle, merge
from app.accounts import service as accounts
from app.activities import ingest, voiding
from app.assignments import service as assignments
from app.auth import service as auth
from app.auth import tokens
from app.handoff import service as handoff
from app.handoff.definition import StageDef, StageKind, TransitionDef
from app.kit.actor import Actor
from app.leads import conversion
from app.leads import service as leads
from app.models.accounts import AccountSource, BuyingRole, Classification
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.auth import Role
from app.models.leads import LeadStatus
from app.planning import items
from app.planning import service as planning
from app.teams import service as teams

# The pinned request instant: a whole minute ahead of the data, with microseconds.
CLOCK = (datetime.now(UTC) + timedelta(hours=1)).replace(second=7, microsecond=654321)
SECOND_PIPELINE = "field_sales"

# Strings every text column gets a share of: unicode, quotes, backslashes, control characters.
NASTY = [
    "Café Müller & Söhne",
    "北京农业机械有限公司",
    "Tractor 🚜 Depot",
    'Say "hi" to O\'Brien',
    "back\\slash\\\\double",
    "line\nbreak\tand tab",
    "ctrl\u0001char\u001f",
    "path/to/thing </script>",
    "zero\u200bwidth \u2028sep\u2029",
    "\U0001d518\U0001d52b\U0001d526 astral",  # outside the BMP
]
ATTRIBUTES: list[dict[str, Any]] = [
    {},
    {"budget": 1.5, "timeline": "Q3", "nested": {"a": [1, 2, {"b": None}], "c": True}},
    {"tiny": 1e-7, "tenth": 0.1, "big": 12345678.0, "negzero": -0.0, "huge": 2**62},
    {"u64": 2**64 - 1, "i64": -(2**63), "neg": -(2**53) - 1, "exp": 1.0e15, "small": 5e-324},
    {"ünïcødé": "✓", "日本": ["东京", "大阪"], "emoji 🐄": {"moo": False}},
    {"quotes": '"\\/', "ctrl": "\u0001\n\t", "empty": "", "list": [], "obj": {}},
    {"budget": 0, "timeline": None, "flags": [True, False, None], "pi": 3.141592653589793},
    {"deep": {"l1": {"l2": {"l3": {"l4": [[[1.25]]]}}}}, "float_int": 2.0, "e": 1e-100},
]
PHONES = ["+1 555 0100", None, "(555) 0101 ext. 7", "+49 30 1234567"]
WEBSITES = ["https://example.org/a/b?c=d&e=f", None, "http://例え.jp/パス"]
COUNTRIES = ["US", "DE", "CN", "FR", None, "JP", "BR"]
INDUSTRIES = ["Agriculture", "Construction", None, "Forestry", "Agriculture"]


# Global id type -> table: the rows generated documents name by id.
ID_TABLES = {
    "Account": "accounts",
    "Contact": "contacts",
    "User": "users",
    "Assignment": "assignments",
    "Activity": "activities",
    "StageEvent": "stage_events",
    "Lead": "leads",
    "AuditEntry": "audit_log",  # a Node the compiler does not cover
    "Team": "teams",  # the REP's team first (contract TeamCoverage)
}


@dataclass(repr=False)
class World:
    """What the generated documents reach for: real ids of each kind, cursors, keys."""

    users: dict[Role, int] = field(default_factory=dict)
    inactive_user: int = 0
    accounts: list[int] = field(default_factory=list)
    archived: list[int] = field(default_factory=list)
    merged: int = 0
    parents: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    ids: dict[str, list[int]] = field(default_factory=dict)
    cursors: dict[str, list[str]] = field(default_factory=dict)
    plans: list[int] = field(default_factory=list)
    # The REP's team (with `teammate`) and another (with `outsider`): record visibility.
    teammate: int = 0
    outsider: int = 0

    def __repr__(self) -> str:
        return f"World({len(self.accounts)} accounts)"  # hypothesis prints the strategy


def _integration(world: World) -> Actor:
    return Actor(user_id=world.users[Role.INTEGRATION], role=Role.INTEGRATION)


def _text(n: int, base: str) -> str:
    return f"{base} {NASTY[n % len(NASTY)]}"


def _at(days: float, *, micro: bool = True) -> datetime:
    moment = CLOCK - timedelta(days=days)
    return moment if micro else moment.replace(microsecond=0)


async def _users(session: AsyncSession, actor: Actor, world: World) -> None:
    people = [
        (Role.ADMIN, "Ada Ådmin", None),
        (Role.MANAGER, "Manny Mänager 经理", 40),
        (Role.REP, 'Rep "Quoted" \\ Person', 0),
        (Role.INTEGRATION, "Intégration\tBot 🤖", None),
    ]
    for role, name, limit in people:
        user = await auth.create_user(
            session,
            actor=actor,
            email=f"world.{role.value.lower()}@example.org",
            name=name,
            role=role,
            max_accounts=limit,
        )
        world.users[role] = user.id
    gone = await auth.create_user(
        session, actor=actor, email="gone@example.org", name="Gone Rep", role=Role.REP
    )
    await tokens.issue_token(session, actor=actor, user_id=gone.id)
    changes: auth.UserChanges = {"is_active": False}
    await auth.update_user(session, actor=actor, user_id=gone.id, changes=changes)
    world.inactive_user = gone.id
    await session.commit()


async def _accounts(session: AsyncSession, actor: Actor, world: World, count: int) -> None:
    sources = [*AccountSource, None]
    classes = [*Classification, None]
    for n in range(count):
        parent = None
        if world.parents and n % 4 == 3:
            parent = world.parents[n % len(world.parents)]
        elif world.parents and n % 12 == 6:  # a branch that has branches: a chain
            parent = world.parents[-1]
        sparse = n % 5 == 4  # every nullable column left empty
        fields: dict[str, Any] = {
            "name": _text(n, f"Account {n:02d}"),
            "parent_id": parent,
        }
        if not sparse:
            fields |= {
                "classification": classes[n % len(classes)],
                "industry": INDUSTRIES[n % len(INDUSTRIES)],
                "source": sources[n % len(sources)],
                "street": _text(n + 1, "Street"),
                "city": ["München", "Zürich", "São Paulo", "東京", None][n % 5],
                "region": None if n % 3 else "Région\\Nord",
                "postal_code": ["80331", None, "8001"][n % 3],
                "country_code": COUNTRIES[n % len(COUNTRIES)],
                "phone": PHONES[n % len(PHONES)],
                "email": None if n % 3 == 1 else f"acct{n}@example.com",
                "website": WEBSITES[n % len(WEBSITES)],
                "external_ref": None if n % 4 == 1 else f'EXT/{n}\\"ref',
                "attributes": ATTRIBUTES[n % len(ATTRIBUTES)],
            }
        # An integration creates the sparse ones: they sit in the default pipeline unowned.
        creator = _integration(world) if sparse else actor
        account = await accounts.create_account(session, actor=creator, **fields)
        world.accounts.append(account.id)
        if n % 6 == 0:
            world.parents.append(account.id)
        if n % 3 == 0:
            tags = ["vip", "ünïcode", "a/b", f"t{n % 4}"][: 1 + n % 4]
            await lifecycle.set_account_tags(session, actor=actor, account_id=account.id, add=tags)
        await session.commit()


async def _contacts(session: AsyncSession, actor: Actor, world: World) -> None:
    roles = [*BuyingRole, None]
    for n, account_id in enumerate(world.accounts):
        for k in range(n % 4):
            contact = await accounts.add_contact(
                session,
                actor=actor,
                account_id=account_id,
                name=_text(n + k, "Contact"),
                title=None if k % 2 else _text(k, "Title"),
                email=None if k == 1 else f"c{n}.{k}@example.net",
                phone=PHONES[(n + k) % len(PHONES)],
                buying_role=roles[(n + k) % len(roles)],
            )
            world.contacts.append(contact.id)
    await session.commit()
    removed = world.contacts[3]
    await lifecycle.remove_contact(session, actor=actor, contact_id=removed)
    await session.commit()


async def _log(session: AsyncSession, actor: Actor, items: list[ingest.ActivityInput]) -> None:
    result = await ingest.log_activities(session, actor=actor, items=items, max_batch=1000)
    assert result.rejected == [], result.rejected
    await session.commit()


async def _activities(session: AsyncSession, actor: Actor, world: World) -> None:
    kinds = list(ActivityKind)
    amounts = [None, Decimal("0.10"), Decimal("1234.50"), Decimal("999999999999.99"), Decimal(0)]
    staff = [world.users[Role.REP], world.users[Role.MANAGER], None]
    items: list[ingest.ActivityInput] = []
    for n, account_id in enumerate(world.accounts[:-3]):
        for k in range(n % 5):
            items.append(
                ingest.ActivityInput(
                    kind=kinds[(n + k) % len(kinds)],
                    occurred_at=_at(n + k * 9.5 + 0.25, micro=(n + k) % 2 == 0),
                    account_id=account_id,
                    user_id=staff[(n + k) % len(staff)],
                    summary=None if k == 2 else _text(n * 3 + k, "Summary"),
                    amount=amounts[(n + k) % len(amounts)],
                    source=None if k % 2 else "erp/feed",
                    external_id=None if k % 2 else f'ev-{n}-{k}\\"',
                )
            )
    # Contacts named on activities of their own account.
    items.append(
        ingest.ActivityInput(
            kind=ActivityKind.MEETING,
            occurred_at=_at(2, micro=False),
            account_id=world.accounts[1],
            contact_id=world.contacts[0],
            amount=Decimal("12.34"),
        )
    )
    # One in the future (within the day ingest allows) relative to the pinned clock.
    items.append(
        ingest.ActivityInput(
            kind=ActivityKind.CALL_INBOUND,
            occurred_at=CLOCK + timedelta(hours=2),
            account_id=world.accounts[2],
        )
    )
    await _log(session, actor, items)
    logged = await session.scalars(select(Activity.id).order_by(Activity.id))
    for activity_id in list(logged)[::7]:
        await voiding.void_activity(
            session, actor=actor, activity_id=activity_id, reason=_text(activity_id, "Void")
        )
    await session.commit()


async def _cadence(session: AsyncSession, actor: Actor, world: World) -> None:
    """Assignments due in the past, exactly 7 days ahead, inside and beyond 7 days."""
    holders = [world.users[Role.REP], world.users[Role.MANAGER], world.users[Role.ADMIN]]
    types = list(ManagerType)
    # Accounts without activities: the due date follows from the start alone.
    quiet = world.accounts[-3:]
    plans = [
        (quiet[0], 30, 23.0),  # due exactly 7 days after the clock
        (quiet[1], 10, 40.0),  # overdue
        (quiet[2], 14, 10.0),  # due in 4 days
        (quiet[2], 60, 1.5),  # due in 58.5 days
    ]
    for n, (account_id, frequency, started) in enumerate(plans):
        await assignments.assign_account(
            session,
            actor=actor,
            account_id=account_id,
            user_id=holders[n % len(holders)],
            manager_type=types[n % len(types)],
            contact_frequency_days=frequency,
            started_at=_at(started, micro=n % 2 == 0),
        )
    for n, account_id in enumerate(world.accounts[:-3]):
        for k in range(n % 3):
            await assignments.assign_account(
                session,
                actor=actor,
                account_id=account_id,
                user_id=holders[(n + k) % len(holders)],
                manager_type=types[(n + k) % len(types)],
                contact_frequency_days=[7, 30, 90, 1][(n + k) % 4],
                started_at=_at(100 + n),
            )
        await session.commit()


async def _pipelines(session: AsyncSession, actor: Actor, world: World) -> None:
    await handoff.define_pipeline(
        session,
        actor=actor,
        key=SECOND_PIPELINE,
        name="Field sales 🚜",
        stages=[
            StageDef("LEAD", "Lead"),
            StageDef("VISITED", "Visited", recommended=("field:website", "attribute:budget")),
            StageDef("CLOSED", "Closed", kind=StageKind.WON),
        ],
        transitions=[
            TransitionDef("visit", ("LEAD",), "VISITED", handoff=True),
            TransitionDef("close", ("VISITED",), "CLOSED"),
        ],
    )
    await session.commit()
    rep, manager = world.users[Role.REP], world.users[Role.MANAGER]
    for n, account_id in enumerate(world.accounts[:14]):
        if n % 2 == 0:
            owner = None if n % 4 == 0 else rep
            await handoff.enter_pipeline(
                session,
                actor=actor if owner else _integration(world),
                account_id=account_id,
                pipeline_key=SECOND_PIPELINE,
                owner_id=owner,
            )
            await session.commit()
        if n % 4 == 2:
            move = handoff.MoveInput(
                trigger="visit",
                reason=_text(n, "Reason"),
                benefit=_text(n + 1, "Benefit"),
                to_owner_id=manager,
                note=None if n % 8 == 2 else _text(n + 2, "Note"),
            )
            done = await handoff.transition_account(
                session, actor=actor, account_id=account_id, pipeline_key=SECOND_PIPELINE, move=move
            )
            await session.commit()
            if n % 8 == 6:
                await handoff.accept_handoff(
                    session,
                    actor=actor,
                    event_id=done.event.id,
                    next_step=_text(n, "Next"),
                    next_step_due=_at(-3),
                )
                await session.commit()
    await _default_moves(session, actor, world)


async def _default_moves(session: AsyncSession, actor: Actor, world: World) -> None:
    """Moves in the default pipeline: qualify where an industry is set, then hand some off."""
    manager = world.users[Role.MANAGER]
    for n, account_id in enumerate(world.accounts[:12]):
        if n % 5 == 4 or INDUSTRIES[n % len(INDUSTRIES)] is None:
            continue
        move = handoff.MoveInput(trigger="qualify", note=None if n % 2 else _text(n, "Q"))
        await handoff.transition_account(
            session, actor=actor, account_id=account_id, pipeline_key="default", move=move
        )
        await session.commit()
        if n % 3 == 0:
            await accounts.add_contact(
                session,
                actor=actor,
                account_id=account_id,
                name="Decider",
                buying_role=BuyingRole.DECISION_MAKER,
            )
            await session.commit()
            move = handoff.MoveInput(
                trigger="handoff",
                reason=_text(n + 3, "Why"),
                benefit=_text(n + 4, "Gain"),
                to_owner_id=manager,
            )
            try:
                await handoff.transition_account(
                    session, actor=actor, account_id=account_id, pipeline_key="default", move=move
                )
            except Exception:
                await session.rollback()  # no recent activity: blocked, and that is data too
                continue
            await session.commit()


async def _lifecycle(session: AsyncSession, actor: Actor, world: World) -> None:
    survivor, duplicate = world.accounts[5], world.accounts[6]
    await merge.merge_accounts(session, actor=actor, survivor_id=survivor, duplicate_id=duplicate)
    world.merged = duplicate
    await session.commit()
    for account_id in (world.accounts[8], world.accounts[13]):
        await accounts.archive_account(session, actor=actor, account_id=account_id)
        world.archived.append(account_id)
    await session.commit()


async def _plans(session: AsyncSession, actor: Actor, world: World) -> None:
    for n, account_id in enumerate(world.accounts[:2]):
        plan = await planning.create_plan(
            session,
            actor=actor,
            account_id=account_id,
            period_start=date(CLOCK.year, 1, 1),
            period_end=date(CLOCK.year, 12, 31),
            owner_id=world.users[Role.MANAGER] if n else None,
            growth_target_pct=Decimal("12.5"),
        )
        await items.add_goal(session, actor=actor, plan_id=plan.id, title=_text(n, "Goal"))
        await items.add_action(session, actor=actor, plan_id=plan.id, title=_text(n, "Act"))
        world.plans.append(plan.id)
    await session.commit()


LEAD_STEPS = {
    LeadStatus.NEW: (),
    LeadStatus.WORKING: (LeadStatus.WORKING,),
    LeadStatus.QUALIFIED: (LeadStatus.WORKING, LeadStatus.QUALIFIED),
    LeadStatus.UNQUALIFIED: (LeadStatus.WORKING, LeadStatus.UNQUALIFIED),
}


async def _leads(session: AsyncSession, actor: Actor, world: World) -> None:
    """Leads in every status, one converted into a new account and one into an existing."""
    statuses = [LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED]
    statuses += [LeadStatus.UNQUALIFIED, LeadStatus.CONVERTED, LeadStatus.CONVERTED]
    for n, status in enumerate(statuses):
        sparse = n == 1
        fields: dict[str, Any] = {"company": _text(n + 4, f"Lead {n}")}
        if not sparse:
            fields |= {
                "contact_name": _text(n + 5, "Person"),
                "email": f"lead{n}@example.com",
                "phone": PHONES[n % len(PHONES)],
                "industry": INDUSTRIES[n % len(INDUSTRIES)],
                "street": _text(n, "Lane"),
                "city": "Zürich",
                "country_code": COUNTRIES[n % len(COUNTRIES)],
                "source": list(AccountSource)[n],
                "external_ref": f"LEAD/{n}\\x",
                "attributes": ATTRIBUTES[(n + 1) % len(ATTRIBUTES)],
                "owner_id": world.users[Role.REP] if n % 2 else None,
            }
        creator = _integration(world) if sparse else actor
        lead = await leads.create_lead(session, actor=creator, **fields)
        target = LeadStatus.QUALIFIED if status is LeadStatus.CONVERTED else status
        for step in LEAD_STEPS[target]:
            reason = _text(n, "Because") if step is LeadStatus.UNQUALIFIED else None
            await leads.set_lead_status(
                session, actor=actor, lead_id=lead.id, status=step, reason=reason
            )
        if status is LeadStatus.CONVERTED:
            existing = world.accounts[10] if n == 4 else None
            await conversion.convert_lead(
                session, actor=actor, lead_id=lead.id, existing_account_id=existing
            )
        await session.commit()


async def _teams(session: AsyncSession, actor: Actor, world: World) -> None:
    """Two more REPs holding a few accounts each: one in the REP's team, one in another."""
    for attribute, name, team, held in (
        ("teammate", "Tess Teammate", "Front 🚜", world.accounts[1:4]),
        ("outsider", "Otto Outsider", "Back", world.accounts[14:17]),
    ):
        email = f"world.{attribute}@example.org"
        user = await auth.create_user(session, actor=actor, email=email, name=name, role=Role.REP)
        setattr(world, attribute, user.id)
        for account_id in held:
            query = select(Assignment.manager_type).where(Assignment.account_id == account_id)
            taken = set(await session.scalars(query))
            await assignments.assign_account(
                session,
                actor=actor,
                account_id=account_id,
                user_id=user.id,
                manager_type=next(t for t in ManagerType if t not in taken),
                contact_frequency_days=45,
                started_at=_at(20),
            )
        members = [user.id, world.users[Role.REP]] if attribute == "teammate" else [user.id]
        await teams.define_team(
            session,
            actor=actor,
            team_id=None,
            name=team,
            lead_id=world.users[Role.MANAGER],
            member_ids=members,
        )
    await session.commit()


async def build_world(session: AsyncSession, *, accounts_count: int = 30) -> World:
    world = World()
    bootstrap = Actor(user_id=None, role=Role.ADMIN)
    await _users(session, bootstrap, world)
    actor = Actor(user_id=world.users[Role.ADMIN], role=Role.ADMIN)
    await _accounts(session, actor, world, accounts_count)
    await _contacts(session, actor, world)
    await _activities(session, actor, world)
    await _cadence(session, actor, world)
    await _pipelines(session, actor, world)
    await _lifecycle(session, actor, world)
    await _plans(session, actor, world)
    await _leads(session, actor, world)
    await _teams(session, actor, world)
    for type_name, table in ID_TABLES.items():
        found = await session.scalars(text(f"SELECT id FROM {table} ORDER BY id LIMIT 60"))
        world.ids[type_name] = list(found)
    return world
